// The buildspec exactly as CodeBuild gets it from the component: the `aws.codebuild.Project` that
// `CachedDockerBuild` registers names an S3 object in `source.buildspec` (components/buildspecObject.ts), and this
// is that object's content as registered, taken from a run of the component under the repository's one mock runtime
// (scripts/mockRuntime.ts, `projectBuildspec`), with the repository's URL and ARN those of the local registry. So the
// stand-in runs the same YAML string `pulumi up` would upload and CodeBuild would read, not a copy built another way.
import * as YAML from "yaml";
import type { CachedDockerBuildArgs } from "../components/args";
import { CachedDockerBuild } from "../components/cachedDockerBuild";
import { findResource, installMocks, projectBuildspec, settle } from "../scripts/mockRuntime";
import type { Buildspec } from "./runner";

let counter = 0;
/** Renders run one at a time: each installs the mocks afresh, which would orphan a render still in flight. */
let queue: Promise<unknown> = Promise.resolve();

async function render(args: CachedDockerBuildArgs, repositoryUrl: string, region: string): Promise<string> {
    const slash = repositoryUrl.indexOf("/");
    if (slash <= 0) {
        throw new Error(`repositoryUrl must be <registry>/<name>, got ${JSON.stringify(repositoryUrl)}`);
    }
    installMocks({ stack: "local", region, registryHost: repositoryUrl.slice(0, slash) });
    const name = `local-${++counter}`;
    new CachedDockerBuild(name, { repositoryName: repositoryUrl.slice(slash + 1), ...args });
    await settle();
    return projectBuildspec(findResource("aws:codebuild/project:Project", `${name}-project`));
}

/**
 * Renders the component's buildspec YAML for a repository at `repositoryUrl` (`<registry>/<name>`) in `region`.
 * Each call registers a fresh component (named `local-<n>`).
 */
export function componentBuildspecYaml(
    args: CachedDockerBuildArgs,
    repositoryUrl: string,
    region = "us-east-1",
): Promise<string> {
    const run = queue.then(() => render(args, repositoryUrl, region));
    queue = run.catch(() => undefined);
    return run;
}

/** The same, parsed: the object the local runner executes. */
export async function componentBuildspec(
    args: CachedDockerBuildArgs,
    repositoryUrl: string,
    region?: string,
): Promise<Buildspec> {
    return YAML.parse(await componentBuildspecYaml(args, repositoryUrl, region)) as Buildspec;
}
