// One build of a Dockerfile with the component's buildspec on a fresh local host: the piece the
// end-to-end tests, `npm run local-build` and the benchmark share.
//
// WHICH BUILDER RUNS THE `registry` STRATEGY (`registryMode`, env CBCACHE_LOCAL_REGISTRY_MODE):
// - `docker-container` (default): CodeBuild's path. The buildspec is the one CodeBuild gets, nothing
//   rewritten: its pre_build creates a `docker-container` buildx builder from the component's `builderImage`.
//   Each fresh host gets that image first (the real pull, else a `docker save` archive, loaded and tagged
//   with that reference: buildkitImage.ts). The one component argument the stand-in adds is
//   `buildNetwork: "host"`: this machine's daemons have no bridge network, so the builder's container needs
//   the host network to reach the registry on 127.0.0.1 (`--driver-opt network=host`, `--network=host`).
// - `containerd-store`: the documented alternative where no BuildKit image can be had: the daemon's own
//   builder (`registryBuilder: "docker"`) on a daemon with the containerd image store, which exports a
//   registry cache with the default driver. It is not CodeBuild's path, and its timings differ from it
//   (a warm build took 4 times as long, relative to cold, in issue 8's measurement).
// `chooseRegistryMode()` picks the default and falls back, saying so in one line, where no image is available.
// Inline and pull builds always run on the overlay2 store with the daemon's builder, as on CodeBuild's images.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { CachedDockerBuildArgs, CacheStrategy } from "../components/args";
import { DEFAULTS } from "../components/resolveArgs";
import { componentBuildspecYaml } from "./componentBuildspec";
import { builderImageOf, fallbackLine } from "./buildkitImage";
import { LocalBuildOptions, LocalBuildResult, LocalHost, runLocalBuild } from "./host";
import * as YAML from "yaml";
import type { Buildspec } from "./runner";

export const REGISTRY_MODES = ["docker-container", "containerd-store"] as const;
export type RegistryMode = (typeof REGISTRY_MODES)[number];
export const DEFAULT_REGISTRY_MODE: RegistryMode = "docker-container";

/** The switch as set in the environment, or undefined when unset (or empty). */
export function registryModeSetInEnv(env: NodeJS.ProcessEnv = process.env): RegistryMode | undefined {
    const v = env.CBCACHE_LOCAL_REGISTRY_MODE;
    if (v === undefined || v === "") return undefined;
    if (!(REGISTRY_MODES as readonly string[]).includes(v)) {
        throw new Error(
            `Invalid value for 'CBCACHE_LOCAL_REGISTRY_MODE': ${JSON.stringify(v)}. Allowed: ${REGISTRY_MODES.join(", ")}.`,
        );
    }
    return v as RegistryMode;
}

/** The switch, from the environment; `docker-container` (CodeBuild's path) unless told otherwise. */
export function registryModeFromEnv(env: NodeJS.ProcessEnv = process.env): RegistryMode {
    return registryModeSetInEnv(env) ?? DEFAULT_REGISTRY_MODE;
}

/**
 * The mode `npm run local-build` and `npm run bench` use: the environment's if set; else `docker-container`
 * when a fresh host can get the builder image, and otherwise `containerd-store`, said in one line.
 */
export async function chooseRegistryMode(
    host: LocalHost,
    log: (line: string) => void = console.log,
    env: NodeJS.ProcessEnv = process.env,
): Promise<RegistryMode> {
    const set = registryModeSetInEnv(env);
    if (set) return set;
    const image = await host.buildkitImage();
    if (image.available) return "docker-container";
    log(fallbackLine(DEFAULTS.builderImage, image.pullError ?? image.how));
    return "containerd-store";
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
    /** Builder of the `registry` strategy; default: registryModeFromEnv(). */
    registryMode?: RegistryMode;
    /** false: the host gets no builder image before the buildspec runs (a host that can't pull it). */
    provideBuilderImage?: boolean;
    /** Passed to runLocalBuild: the `aws` stand-in prints this instead of the registry's password. */
    passwordOverride?: string;
    label?: string;
    quiet?: boolean;
    printReport?: boolean;
    /** How the build host is had (runLocalBuild's `startHost`): default a fresh daemon; dockerServer.ts's survives. */
    startHost?: LocalBuildOptions["startHost"];
    /** Rewrites the generated buildspec's YAML before it runs (the bench's variants without the cache read). */
    rewriteBuildspec?: (yaml: string) => string;
}

export interface ScenarioResult extends LocalBuildResult {
    /** The YAML the component generated and the stand-in ran. */
    buildspecYaml: string;
}

/** The component arguments the stand-in needs for a strategy; see the switch above. */
export function localArgs(strategy: CacheStrategy, mode: RegistryMode): CachedDockerBuildArgs {
    // sourceVersion "main" is the branch the stand-in builds unless a scenario says otherwise
    // (CODEBUILD_SOURCE_VERSION defaults to refs/heads/main in runner.ts), so by default builds are trusted.
    const args: CachedDockerBuildArgs = {
        cacheStrategy: strategy,
        buildNetwork: "none",
        dockerfileDir: SCENARIO_DOCKERFILE_DIR,
        sourceVersion: "main",
        // Skip unchanged builds is off here: the stand-in measures the layer cache, and a skipped warm build would
        // measure nothing of it. tests/e2e/skip.test.ts turns it on; the bench sets it per run (localBuild/experiment.ts
        // RUN_PLAN: on for cold and change builds, the component's default, and for `warm, skip on`).
        skipUnchanged: false,
    };
    if (strategy !== "registry") return args;
    return mode === "containerd-store"
        ? { ...args, registryBuilder: "docker" }
        : // The component's own builderImage; only the network differs (no bridge here, see the top).
          { ...args, registryBuilder: "docker-container", buildNetwork: "host" };
}

export async function runScenario(o: ScenarioOptions): Promise<ScenarioResult> {
    const mode = o.registryMode ?? registryModeFromEnv();
    const repositoryUrl = `${o.host.registry.address}/${o.repo}`;
    const generated = await componentBuildspecYaml({ ...localArgs(o.strategy, mode), ...o.args }, repositoryUrl);
    const buildspecYaml = o.rewriteBuildspec ? o.rewriteBuildspec(generated) : generated;
    const buildspec = YAML.parse(buildspecYaml) as Buildspec;
    const r = await runSpecOnDockerfile(o.host, buildspec, o.dockerfile, {
        env: o.env,
        containerdStore: o.strategy === "registry" && mode === "containerd-store",
        label: o.label ?? `${o.strategy} ${o.repo}`,
        quiet: o.quiet,
        printReport: o.printReport,
        passwordOverride: o.passwordOverride,
        provideBuilderImage: o.provideBuilderImage,
        startHost: o.startHost,
    });
    return { ...r, buildspecYaml };
}

/**
 * Runs a buildspec object on a fresh host of `host`, with `dockerfile` as the source's only file (in
 * {@link SCENARIO_DOCKERFILE_DIR}); the docker-container builder's image is provided unless told not to.
 */
export async function runSpecOnDockerfile(
    host: LocalHost,
    buildspec: Buildspec,
    dockerfile: string,
    o: Pick<
        LocalBuildOptions,
        "env" | "containerdStore" | "label" | "quiet" | "printReport" | "passwordOverride" | "startHost"
    > & {
        readonly provideBuilderImage?: boolean;
    },
): Promise<LocalBuildResult> {
    const src = fs.mkdtempSync(path.join(os.tmpdir(), "cbsrc-"));
    try {
        fs.mkdirSync(path.join(src, SCENARIO_DOCKERFILE_DIR));
        fs.writeFileSync(path.join(src, SCENARIO_DOCKERFILE_DIR, "Dockerfile"), dockerfile);
        return await runLocalBuild({
            buildspec,
            sourceDir: src,
            registry: host.registry,
            env: o.env,
            containerdStore: o.containerdStore,
            dockerEnv: host.dockerEnv,
            label: o.label,
            quiet: o.quiet,
            printReport: o.printReport,
            passwordOverride: o.passwordOverride,
            builderImage: o.provideBuilderImage === false ? undefined : builderImageOf(buildspec),
            startHost: o.startHost,
        });
    } finally {
        fs.rmSync(src, { recursive: true, force: true });
    }
}
