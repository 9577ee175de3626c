// The buildspec exactly as the component hands it to CodeBuild: the `source.buildspec` input of the
// `aws.codebuild.Project` that `CachedDockerBuild` registers, taken from a run of the component under
// Pulumi's mock runtime, where the repository's URL and ARN are those of the local registry.
// So the stand-in runs the same YAML string `pulumi up` would send, not a copy built another way.
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import type { CachedDockerBuildArgs } from "../components/args";
import { CachedDockerBuild } from "../components/cachedDockerBuild";
import type { Buildspec } from "./runner";

let counter = 0;
let installed = false;

interface Pending {
    repositoryUrl: string;
    region: string;
    resolve(yaml: string): void;
    reject(e: unknown): void;
}
/** Renders in flight, by repository name (the mocks see the repository's `name` and the project's inputs). */
const pending = new Map<string, Pending>();

/**
 * One mock runtime for the whole process: replacing it while an earlier component still registers its
 * outputs would orphan that component. Resources are routed to their render by repository name.
 */
async function installMocks(): Promise<void> {
    if (installed) return;
    installed = true;
    await pulumi.runtime.setMocks(
        {
            newResource(a: pulumi.runtime.MockResourceArgs) {
                const inputs = a.inputs as Record<string, unknown>;
                const state: Record<string, unknown> = { ...inputs };
                if (a.type === "aws:ecr/repository:Repository") {
                    const p = pending.get(String(inputs.name));
                    if (!p) throw new Error(`no render waits for repository ${String(inputs.name)}`);
                    state.arn = `arn:aws:ecr:${p.region}:000000000000:repository/${String(inputs.name)}`;
                    state.repositoryUrl = p.repositoryUrl;
                } else {
                    state.arn = `arn:aws:local:us-east-1:000000000000:${a.type}/${a.name}`;
                }
                if (a.type === "aws:codebuild/project:Project") {
                    const source = inputs.source as { buildspec?: string } | undefined;
                    const spec = source?.buildspec;
                    const owner = [...pending.values()].find(
                        (p) => typeof spec === "string" && spec.includes(p.repositoryUrl),
                    );
                    if (owner && typeof spec === "string") owner.resolve(spec);
                    else
                        for (const p of pending.values())
                            p.reject(
                                new Error("a CodeBuild project was registered without the expected inline buildspec"),
                            );
                }
                return { id: `${a.name}-id`, state };
            },
            call(c) {
                throw new Error(`unexpected invoke ${c.token}`);
            },
        },
        "ecr-layer-cache",
        "local",
    );
}

/**
 * Renders the component's buildspec YAML for a repository at `repositoryUrl` (`<registry>/<name>`).
 * Each call registers a fresh component (named `local-<n>`). Renders run one at a time.
 */
export async function componentBuildspecYaml(
    args: CachedDockerBuildArgs,
    repositoryUrl: string,
    region = "us-east-1",
): Promise<string> {
    await installMocks();
    const repoName = repositoryUrl.slice(repositoryUrl.indexOf("/") + 1);
    const yaml = new Promise<string>((resolve, reject) =>
        pending.set(repoName, { repositoryUrl, region, resolve, reject }),
    );
    try {
        new CachedDockerBuild(`local-${++counter}`, { repositoryName: repoName, ...args });
        return await yaml;
    } finally {
        pending.delete(repoName);
    }
}

/** The same, parsed: the object the local runner executes. */
export async function componentBuildspec(
    args: CachedDockerBuildArgs,
    repositoryUrl: string,
    region?: string,
): Promise<Buildspec> {
    return YAML.parse(await componentBuildspecYaml(args, repositoryUrl, region)) as Buildspec;
}
