/**
 * The package entry (`package.json` "main"): serves `CachedDockerBuild` to Pulumi programs in any language.
 *
 * `pulumi package add <this repository>` finds `PulumiPlugin.yaml` (runtime nodejs), installs the dependencies and
 * runs this file, which answers the engine with the package schema (inferred from the TypeScript, see
 * `components/provider.ts`) and constructs the component for each consumer's registration. The Pulumi program of
 * this repository has its own entry, `index.ts` (`main` in `Pulumi.yaml`).
 */
import { main } from "@pulumi/pulumi/provider";
import { CachedDockerBuildProvider } from "./components/provider";

void main(new CachedDockerBuildProvider(__dirname), process.argv.slice(2));
