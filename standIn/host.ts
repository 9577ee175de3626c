// The local CodeBuild stand-in: one call runs a buildspec on a brand-new Docker daemon (no local
// layer cache, like a fresh CodeBuild host) against the long-lived local registry (playing ECR).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { shellWord } from "../components/buildspec";
import { DEFAULTS } from "../components/resolveArgs";
import { localBuilderImage } from "../components/builderImage";
import { BuilderImageResult, dockerRunner, findBuildkitArchive, provideBuilderImage } from "./buildkitImage";
import { BuildHost, BuildHostOptions, startBuildHost } from "./daemon";
import { DockerEnv, ensureDockerEnv } from "./engine";
import { ByteCounters, LocalRegistry, StartRegistryOptions, startLocalRegistry } from "./registry";
import { BaseImage, ensureBaseImage } from "./baseImage";
import { BuildKitReport, formatReport, parseBuildkitPlain } from "./report";
import { Buildspec, OutputLine, PhaseResult, runBuildspec } from "./runner";

export { LocalRegistry } from "./registry";

export interface LocalBuildOptions {
    buildspec: Buildspec;
    /** Source folder of the build ($CODEBUILD_SRC_DIR, cwd at start). Not copied: the build may write to it. */
    sourceDir: string;
    registry: LocalRegistry;
    /** Project / start-build environment (wins over buildspec env.variables), e.g.
     *  { CODEBUILD_WEBHOOK_TRIGGER: "pr/7", CODEBUILD_SOURCE_VERSION: "pr/7", REGISTRY: registry.address }.
     *  DOCKER_HOST and DOCKER_CONFIG are set by the build host and win over this. */
    env?: Record<string, string>;
    /** true: containerd image store (registry cache export works with the default docker driver);
     *  false (default): overlay2 store as on CodeBuild's current images (inline cache only). */
    containerdStore?: boolean;
    label?: string;
    /** Don't stream build output (it is still captured). */
    quiet?: boolean;
    /** Print the per-build table at the end (default true). */
    printReport?: boolean;
    dockerEnv?: DockerEnv;
    timeoutMs?: number;
    /** What the `aws ecr get-login-password` stand-in prints instead of the registry's password
     *  (e.g. a wrong one, to test how a build fails when it can't log in). */
    passwordOverride?: string;
    /**
     * The `docker-container` builder's image the buildspec starts (`builderImageOf(buildspec)`): the fresh host
     * gets it before the buildspec runs, from the real pull, else the archive of `findBuildkitArchive()`,
     * loaded and tagged with this reference. Unset: no image is provided (a `buildx create` then fails,
     * as on a CodeBuild host that can't pull it).
     */
    builderImage?: string;
    /**
     * How the build host is had: default `startBuildHost` (a fresh dockerd); portable.ts passes one that uses an
     * existing daemon with a fresh `docker-container` builder per build.
     */
    startHost?: (o: BuildHostOptions) => Promise<Pick<BuildHost, "variables" | "timings" | "builderImage" | "stop">>;
}

/**
 * The builder's start, which CodeBuild pays on every build of the `registry` strategy: getting the image
 * (here before the buildspec, on the host) and `docker buildx create --bootstrap` (in the buildspec's pre_build).
 */
export interface BuilderStart {
    image: BuilderImageResult;
    /** Milliseconds of the pre_build command `docker buildx create … --bootstrap`, if it ran. */
    createMs?: number;
}

export interface LocalBuildResult {
    succeeded: boolean;
    phases: PhaseResult[];
    /** `builderImageMs` (pull attempt + load, before the buildspec) and `builderCreateMs` (the pre_build
     *  `buildx create --bootstrap`, part of `buildMs`) only when a builder image was asked for. */
    timings: {
        daemonStartMs: number;
        builderImageMs?: number;
        buildMs: number;
        builderCreateMs?: number;
        daemonStopMs: number;
        totalMs: number;
    };
    /** The builder's start, when a builder image was asked for. */
    builder?: BuilderStart;
    steps: BuildKitReport;
    bytes: ByteCounters & { pulledMB: number; pushedMB: number };
    output: string;
    lines: OutputLine[];
    exportedVariables: Record<string, string>;
    /** The printed table. */
    report: string;
}

/** `aws` stand-in: only `aws ecr get-login-password [--region R]`. */
function awsStandIn(password: string): string {
    return `#!/bin/sh
# Local stand-in for the AWS CLI: implements ONLY "aws ecr get-login-password [--region R]".
if [ "$1" = ecr ] && [ "$2" = get-login-password ]; then
  shift 2
  while [ $# -gt 0 ]; do
    case "$1" in
      --region) [ $# -ge 2 ] || { echo "aws (local stand-in): --region needs a value" >&2; exit 252; }; shift 2 ;;
      --region=*) shift ;;
      *) echo "aws (local stand-in): unsupported option for ecr get-login-password: $1" >&2; exit 252 ;;
    esac
  done
  printf '%s\\n' ${shellWord(password)}
  exit 0
fi
echo "aws (local stand-in): only 'aws ecr get-login-password [--region R]' is implemented here; got: aws $*" >&2
exit 252
`;
}

/**
 * Run one buildspec on a fresh build host (`startBuildHost`: a new dockerd and a per-build DOCKER_CONFIG
 * with the buildx plugin), with the docker client and the `aws` stand-in first on PATH, then stop the
 * daemon (deleting its data root). The registry's byte counters are reset at the start, so run one
 * build at a time per registry.
 */
export async function runLocalBuild(opts: LocalBuildOptions): Promise<LocalBuildResult> {
    const t0 = Date.now();
    const env = opts.dockerEnv ?? (await ensureDockerEnv());
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "cbbuild-"));
    const bin = path.join(work, "bin");
    fs.mkdirSync(bin);
    fs.symlinkSync(env.client, path.join(bin, "docker"));
    fs.writeFileSync(path.join(bin, "aws"), awsStandIn(opts.passwordOverride ?? opts.registry.password), {
        mode: 0o700,
    });
    const home = path.join(work, "home");
    fs.mkdirSync(home);

    let buildHost: Pick<BuildHost, "variables" | "timings" | "builderImage" | "stop">;
    try {
        buildHost = await (opts.startHost ?? startBuildHost)({
            env,
            containerdStore: !!opts.containerdStore,
            workDir: work,
            builderImage: opts.builderImage ? { ref: opts.builderImage, archive: findBuildkitArchive() } : undefined,
        });
    } catch (e) {
        fs.rmSync(work, { recursive: true, force: true });
        throw e;
    }
    let daemonStopMs = 0;
    try {
        const image = buildHost.builderImage;
        if (image && !opts.quiet) process.stdout.write(`[host] builder image: ${image.detail}\n`);
        opts.registry.resetCounters();
        const b0 = Date.now();
        const r = await runBuildspec(opts.buildspec, {
            sourceDir: opts.sourceDir,
            env: { HOME: home, ...(opts.env ?? {}), ...buildHost.variables },
            pathPrepend: [bin],
            quiet: opts.quiet,
            timeoutMs: opts.timeoutMs,
        });
        const buildMs = Date.now() - b0;
        const c = opts.registry.counters();
        daemonStopMs = (await buildHost.stop()).stopMs;
        const steps = parseBuildkitPlain(r.output);
        const bytes = { ...c, pulledMB: c.pulledBytes / 1e6, pushedMB: c.pushedBytes / 1e6 };
        const createCommand = r.phases
            .find((p) => p.name === "pre_build")
            ?.commands.find((c) => /^\s*docker buildx create /m.test(c.command));
        const builder: BuilderStart | undefined = image ? { image, createMs: createCommand?.durationMs } : undefined;
        const timings: LocalBuildResult["timings"] = {
            daemonStartMs: buildHost.timings.daemonStart,
            ...(builder ? { builderImageMs: image!.pullMs + image!.loadMs } : {}),
            buildMs,
            ...(builder?.createMs !== undefined ? { builderCreateMs: builder.createMs } : {}),
            daemonStopMs,
            totalMs: Date.now() - t0,
        };
        const report = formatReport({
            label: `${opts.label ?? "local build"} (${opts.containerdStore ? "containerd store" : "overlay2 store"}${image ? `, docker-container builder, image: ${image.source}` : ""})`,
            succeeded: r.succeeded,
            phases: r.phases,
            timings,
            steps,
            bytes,
        });
        if (opts.printReport !== false) process.stdout.write(report + "\n");
        return {
            succeeded: r.succeeded,
            phases: r.phases,
            timings,
            builder,
            steps,
            bytes,
            output: r.output,
            lines: r.lines,
            exportedVariables: r.exportedVariables,
            report,
        };
    } finally {
        await buildHost.stop();
        fs.rmSync(work, { recursive: true, force: true });
    }
}

/** The long-lived pieces: Docker installed, the registry (plays ECR) and the busybox base image. */
export interface LocalHost {
    dockerEnv: DockerEnv;
    registry: LocalRegistry;
    base: BaseImage;
    /**
     * Whether a fresh host can get the `docker-container` builder's image `ref` (default: the local name the buildspec
     * starts the component's default `builderImage` from): an archive (findBuildkitArchive) is enough; without one, a real pull is tried
     * once on a throwaway daemon. Memoized per reference.
     */
    buildkitImage(ref?: string): Promise<BuildkitAvailability>;
    stop(): Promise<void>;
}

export interface BuildkitAvailability {
    available: boolean;
    /** One line: where the image comes from, or why there is none. */
    how: string;
    /** Why the pull failed, when there is no image. */
    pullError?: string;
}

/** Start once per test run / session; stop at the end. */
export async function startLocalHost(opts: { registry?: StartRegistryOptions } = {}): Promise<LocalHost> {
    const dockerEnv = await ensureDockerEnv();
    const registry = await startLocalRegistry(opts.registry);
    try {
        const base = await ensureBaseImage(registry);
        const known = new Map<string, Promise<BuildkitAvailability>>();
        const buildkitImage = (ref: string = localBuilderImage(DEFAULTS.builderImage)) => {
            let p = known.get(ref);
            if (!p) known.set(ref, (p = buildkitAvailability(dockerEnv, ref)));
            return p;
        };
        return { dockerEnv, registry, base, buildkitImage, stop: () => registry.stop() };
    } catch (e) {
        await registry.stop();
        throw e;
    }
}

async function buildkitAvailability(env: DockerEnv, ref: string): Promise<BuildkitAvailability> {
    const archive = findBuildkitArchive();
    if (archive) return { available: true, how: `the pull of ${ref}, else ${archive.path} (${archive.from})` };
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "cbprobe-"));
    try {
        const h = await startBuildHost({ env, containerdStore: false, workDir: work });
        try {
            const r = await provideBuilderImage(dockerRunner(env.client, h.variables), ref, undefined);
            return { available: r.source === "pull", how: r.detail, pullError: r.pullError };
        } finally {
            await h.stop();
        }
    } finally {
        fs.rmSync(work, { recursive: true, force: true });
    }
}
