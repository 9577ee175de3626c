// One build of a Dockerfile with the component's buildspec on a fresh local host: the piece the
// end-to-end tests, `npm run local-build` and the benchmark share.
//
// THE ONE DOCUMENTED DIFFERENCE FROM CODEBUILD (`registryMode`, env CBCACHE_LOCAL_REGISTRY_MODE):
// on CodeBuild the `registry` strategy runs in a `docker-container` buildx builder whose BuildKit image
// comes from ECR Public. That image can't be pulled here (no public registry, and Debian ships no
// BuildKit to make one), so by default the stand-in runs the `registry` strategy with
// `registryBuilder: "docker"` on a daemon with the containerd image store, which exports a registry
// cache with the default driver. `registryMode: "docker-container"` keeps CodeBuild's exact buildspec;
// here its builder image points at the local registry, where it does not exist, so the build fails
// in pre_build, loudly and before anything is pushed. Inline and pull builds always run on the
// overlay2 store, as on CodeBuild's current images.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { CachedDockerBuildArgs, CacheStrategy } from "../components/args";
import { componentBuildspecYaml } from "./component-buildspec";
import { LocalBuildResult, LocalHost, runLocalBuild } from "./host";
import * as YAML from "yaml";
import type { Buildspec } from "./runner";

export const REGISTRY_MODES = ["containerd-store", "docker-container"] as const;
export type RegistryMode = (typeof REGISTRY_MODES)[number];

/** The switch, from the environment; `containerd-store` unless told otherwise. */
export function registryModeFromEnv(env: NodeJS.ProcessEnv = process.env): RegistryMode {
    const v = env.CBCACHE_LOCAL_REGISTRY_MODE ?? "containerd-store";
    if (!(REGISTRY_MODES as readonly string[]).includes(v)) {
        throw new Error(
            `Invalid value for 'CBCACHE_LOCAL_REGISTRY_MODE': ${JSON.stringify(v)}. Allowed: ${REGISTRY_MODES.join(", ")}.`,
        );
    }
    return v as RegistryMode;
}

/** Folder of the Dockerfile inside the scenario's source (the component's `dockerfileDir`). */
export const SCENARIO_DOCKERFILE_DIR = "app";

export interface ScenarioOptions {
    host: LocalHost;
    strategy: CacheStrategy;
    /** Repository name in the local registry; one per strategy keeps their caches apart. */
    repo: string;
    /** Dockerfile contents. */
    dockerfile: string;
    /** More component arguments (trustedRefs, buildArgs, imageTag, ...). */
    args?: CachedDockerBuildArgs;
    /** CodeBuild variables of this build (e.g. a pull-request trigger). */
    env?: Record<string, string>;
    registryMode?: RegistryMode;
    /** Passed to runLocalBuild: the `aws` stand-in prints this instead of the registry's password. */
    passwordOverride?: string;
    label?: string;
    quiet?: boolean;
    printReport?: boolean;
}

export interface ScenarioResult extends LocalBuildResult {
    /** The YAML the component generated and the stand-in ran. */
    buildspecYaml: string;
}

/** The component arguments the stand-in needs for a strategy; see the switch above. */
export function localArgs(strategy: CacheStrategy, mode: RegistryMode, registryAddress: string): CachedDockerBuildArgs {
    // sourceVersion "main" is the branch the stand-in builds unless a scenario says otherwise
    // (CODEBUILD_SOURCE_VERSION defaults to refs/heads/main in runner.ts), so by default builds are trusted.
    const args: CachedDockerBuildArgs = {
        cacheStrategy: strategy,
        buildNetwork: "none",
        dockerfileDir: SCENARIO_DOCKERFILE_DIR,
        sourceVersion: "main",
    };
    if (strategy !== "registry") return args;
    return mode === "containerd-store"
        ? { ...args, registryBuilder: "docker" }
        : {
              ...args,
              registryBuilder: "docker-container",
              builderImage: `${registryAddress}/moby/buildkit:buildx-stable-1`,
          };
}

export async function runScenario(o: ScenarioOptions): Promise<ScenarioResult> {
    const mode = o.registryMode ?? registryModeFromEnv();
    const repositoryUrl = `${o.host.registry.address}/${o.repo}`;
    const buildspecYaml = await componentBuildspecYaml(
        { ...localArgs(o.strategy, mode, o.host.registry.address), ...o.args },
        repositoryUrl,
    );
    const src = fs.mkdtempSync(path.join(os.tmpdir(), "cbsrc-"));
    try {
        fs.mkdirSync(path.join(src, SCENARIO_DOCKERFILE_DIR));
        fs.writeFileSync(path.join(src, SCENARIO_DOCKERFILE_DIR, "Dockerfile"), o.dockerfile);
        const r = await runLocalBuild({
            buildspec: YAML.parse(buildspecYaml) as Buildspec,
            sourceDir: src,
            registry: o.host.registry,
            env: o.env,
            containerdStore: o.strategy === "registry" && mode === "containerd-store",
            dockerEnv: o.host.dockerEnv,
            label: o.label ?? `${o.strategy} ${o.repo}`,
            quiet: o.quiet,
            printReport: o.printReport,
            passwordOverride: o.passwordOverride,
        });
        return { ...r, buildspecYaml };
    } finally {
        fs.rmSync(src, { recursive: true, force: true });
    }
}
