// Checks `npm run local-build -- --context DIR` runs before its first build, on the daemon the builds will use (the
// user's, with `--portable`; else a throwaway one of the stand-in's): the docker-buildx plugin, the daemon, the BuildKit
// image of CodeBuild's `docker-container` builder, and that the daemon can run a container (it runs the BuildKit
// image's `buildkitd --version`, which also gives the version the report names). Each failure is a PreflightError: one
// line that says what is missing and what to do, and the command exits 1 before any build starts.
//
// What "the BuildKit image" is: CodeBuild's `registry` strategy runs `docker buildx create --driver docker-container
// --driver-opt image=<builderImage>` (the component's `builderImage`, public.ecr.aws/vend/moby/buildkit:<version>) in
// every build's pre_build: BuildKit runs in a container of that image (docs.docker.com/build/builders/drivers/
// docker-container/). A machine gets it by a pull, or, where it can't pull, from a `docker save` archive
// (buildkitImage.ts). Without it, the numbers can only come from the daemon's own builder, which CodeBuild doesn't
// use for that strategy: fallbackLine (buildkitImage.ts).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DEFAULTS } from "../components/resolveArgs";
import { localBuilderImage } from "../components/builderImage";
import {
    ArchiveSource,
    archiveHowTo,
    BUILDKIT_ARCHIVE_ENV,
    DockerRunner,
    dockerRunner,
    fallbackLine,
    findBuildkitArchive,
    provideBuilderImage,
} from "../standIn/buildkitImage";
import { startBuildHost } from "../standIn/daemon";
import type { LocalHost } from "../standIn/host";
import type { RegistryMode } from "../standIn/scenario";
import { run } from "../standIn/util";

/** A check that failed before any build: its message is one line, with what to do. */
export class PreflightError extends Error {
    constructor(message: string) {
        super(message.replace(/\s*\n\s*/g, " "));
        this.name = "PreflightError";
    }
}

const firstLine = (s: string) =>
    s
        .trim()
        .split("\n")
        .map((l) => l.trim())
        .find((l) => l) ?? "no output";

/** What ran the builds, for the report's `builder:` line. */
export interface BuilderInfo {
    /** buildx's version line (`github.com/docker/buildx v0.29.1 …`). */
    buildx: string;
    /** The daemon's version. */
    daemon: string;
    /** CodeBuild's docker-container builder, when its image was had. */
    buildkit?: {
        ref: string;
        /** Where the image came from, in words: pulled, loaded from an archive, already on the daemon. */
        source: string;
        /** `buildkitd --version`'s version, e.g. `v0.32.2`. */
        version: string;
    };
}

export interface PreflightOptions {
    /** The docker client, with the builds' DOCKER_HOST and DOCKER_CONFIG (its cli-plugins folder has the plugin). */
    docker: DockerRunner;
    /** Names the daemon in messages, e.g. `the daemon at unix:///run/docker.sock`. */
    where: string;
    /** The docker-buildx plugin's path, or undefined when none was found (`lookedIn` says where it was looked for). */
    buildxPlugin: string | undefined;
    lookedIn: readonly string[];
    /**
     * CodeBuild's builder image and the archive to load when the pull fails. `required`: no image is an error (the
     * portable mode, or CBCACHE_LOCAL_REGISTRY_MODE=docker-container); else {@link runPreflight} returns without
     * `buildkit`, and the caller falls back, saying {@link fallbackLine}.
     */
    builderImage?: { ref: string; archive: ArchiveSource | undefined; required: boolean; flag: string };
    /** An image the daemon has or can pull, to test a container run with when there is no BuildKit image. */
    containerImage?: () => Promise<string>;
}

/** The result: what the report says about the builder, and why there is no BuildKit image (if there is none). */
export interface PreflightResult {
    builder: BuilderInfo;
    /** Set when the BuildKit image couldn't be had (and wasn't required): the pull's error, in one line. */
    noBuildkitImage?: string;
}

/** The error for a missing docker-buildx plugin. */
export const missingBuildx = (lookedIn: readonly string[]) =>
    new PreflightError(
        `no docker-buildx plugin (looked in ${lookedIn.join(", ")}): install Docker's buildx plugin ` +
            `(Debian and Ubuntu: apt-get install docker-buildx; else docs.docker.com/build/concepts/overview/#install-buildx), ` +
            `then run this again`,
    );

/** Runs the checks in order ({@link checkTools}, then {@link checkBuilder}); the first failure throws a {@link PreflightError}. */
export async function runPreflight(o: PreflightOptions): Promise<PreflightResult> {
    return checkBuilder(o, await checkTools(o));
}

/** The buildx plugin runs and the daemon answers. */
export async function checkTools(
    o: Pick<PreflightOptions, "docker" | "where" | "buildxPlugin" | "lookedIn">,
): Promise<BuilderInfo> {
    if (!o.buildxPlugin) throw missingBuildx(o.lookedIn);
    const bx = await o.docker(["buildx", "version"]);
    if (bx.code !== 0) {
        throw new PreflightError(
            `the docker-buildx plugin at ${o.buildxPlugin} doesn't run (${firstLine(bx.stderr || bx.stdout)}): reinstall it`,
        );
    }
    const v = await o.docker(["version", "--format", "{{.Server.Version}}"]);
    if (v.code !== 0) {
        throw new PreflightError(
            `no Docker daemon answers at ${o.where.replace(/^the daemon at /, "")} (${firstLine(v.stderr || v.stdout)}): ` +
                `start it, or point DOCKER_HOST (or the docker context) at one that runs`,
        );
    }
    return { buildx: firstLine(bx.stdout), daemon: v.stdout.trim() };
}

/**
 * The BuildKit image is on the daemon (already, pulled, or loaded from the archive), and the daemon runs a container
 * of it (else of `containerImage`). `tools` is {@link checkTools}'s result.
 */
export async function checkBuilder(
    o: Pick<PreflightOptions, "docker" | "where" | "builderImage" | "containerImage">,
    tools: BuilderInfo,
): Promise<PreflightResult> {
    const builder: BuilderInfo = { ...tools };
    let noBuildkitImage: string | undefined;
    let runImage: string | undefined;
    if (o.builderImage) {
        const { ref, archive } = o.builderImage;
        let source: string | undefined;
        if ((await o.docker(["image", "inspect", ref])).code === 0) source = "already on the daemon";
        else {
            let got;
            try {
                got = await provideBuilderImage(o.docker, ref, archive);
            } catch (e) {
                throw new PreflightError(
                    `${o.builderImage.flag}the BuildKit image archive ${archive?.path} doesn't load (${firstLine(e instanceof Error ? e.message : String(e))}): ` +
                        `make it again with \`docker save ${ref} | gzip > buildkit.tar.gz\``,
                );
            }
            if (got.source === "pull") source = "pulled";
            else if (got.source === "archive")
                source = `loaded from ${got.archive} (${archive?.from === BUILDKIT_ARCHIVE_ENV ? BUILDKIT_ARCHIVE_ENV : "the archive in the shared folder beside the repository"})`;
            else {
                const why = got.pullError ?? got.detail;
                if (o.builderImage.required) {
                    throw new PreflightError(
                        `${o.builderImage.flag}no BuildKit image for CodeBuild's docker-container builder: ${o.where} can't pull ${ref} (${why}) ` +
                            `and ${BUILDKIT_ARCHIVE_ENV} names no archive: ${archiveHowTo(ref)}`,
                    );
                }
                noBuildkitImage = why;
            }
        }
        if (source) {
            builder.buildkit = { ref, source, version: "" };
            runImage = ref;
        }
    }
    // The daemon runs a container: the BuildKit image's buildkitd (which says its version), else a small image.
    const image = runImage ?? (o.containerImage ? await o.containerImage() : undefined);
    if (image) {
        const args = runImage
            ? ["run", "--rm", "--network", "none", "--entrypoint", "buildkitd", image, "--version"]
            : ["run", "--rm", "--network", "none", image, "true"];
        const r = await o.docker(args);
        if (r.code !== 0) {
            const err = (r.stderr || r.stdout).split("\n").find((l) => /error|fail/i.test(l)) ?? firstLine(r.stderr);
            throw new PreflightError(
                `${o.where} can't run a container (docker ${args.join(" ")}: ${err.trim()}): every build runs its steps in ` +
                    `containers, so fix the daemon's container runtime first (e.g. \`docker run --rm ${image}${runImage ? " --version" : " true"}\` must work)`,
            );
        }
        if (builder.buildkit) builder.buildkit.version = /\bv\d+\.\d+\S*/.exec(r.stdout)?.[0] ?? firstLine(r.stdout);
    }
    return { builder, ...(noBuildkitImage !== undefined ? { noBuildkitImage } : {}) };
}

/** The report's `builder:` line. */
export function builderLine(
    b: BuilderInfo | undefined,
    mode: "docker-container" | "containerd-store" | "daemon",
): string {
    // `docker buildx version` prints `github.com/docker/buildx <version> <revision>`.
    const tools = b ? `; Docker ${b.daemon}, buildx ${b.buildx.split(/\s+/)[1] ?? b.buildx}` : "";
    if (mode === "docker-container" && b?.buildkit) {
        return `CodeBuild's docker-container builder: BuildKit ${b.buildkit.version} from the image ${b.buildkit.ref}, ${b.buildkit.source}${tools}`;
    }
    if (mode === "containerd-store") {
        return `the daemon's own builder on the containerd image store: NOT CodeBuild's builder, whose numbers differ (see the line above the builds)${tools}`;
    }
    return `the daemon's own builder, as CodeBuild's inline and pull strategies use${tools}`;
}

/**
 * The checks of the default mode (this machine's stand-in, a fresh daemon per build), on one throwaway daemon like
 * the builds': buildx, the daemon, the BuildKit image and a container run. The `registry` strategy's builder: the
 * environment's CBCACHE_LOCAL_REGISTRY_MODE if set (docker-container then needs the image); else CodeBuild's
 * docker-container builder when the image can be had, and otherwise the containerd-store mode, said with
 * {@link fallbackLine}.
 */
export async function preflightStandIn(
    local: Pick<LocalHost, "dockerEnv" | "registry" | "base">,
    o: { registry: boolean; modeSet?: RegistryMode; log?: (line: string) => void },
): Promise<{ mode: RegistryMode; builder: BuilderInfo }> {
    const log = o.log ?? ((l: string) => console.log(l));
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "cbpreflight-"));
    try {
        let h;
        try {
            h = await startBuildHost({ env: local.dockerEnv, containerdStore: false, workDir: work });
        } catch (e) {
            throw new PreflightError(
                `the stand-in's Docker daemon doesn't start (${firstLine(e instanceof Error ? e.message : String(e))}): run as root on Linux, or use --portable on a machine where Docker runs`,
            );
        }
        try {
            const env = local.dockerEnv;
            const docker = dockerRunner(env.client, h.variables);
            const where = "the stand-in's fresh Docker daemon";
            const tools = await checkTools({
                docker,
                where,
                buildxPlugin: env.buildxPlugin,
                lookedIn: [env.buildxPlugin],
            });
            const wantImage = o.registry && o.modeSet !== "containerd-store";
            // The name the buildspec's builder starts from (builder.sh finds it on the host and pulls nothing).
            const ref = localBuilderImage(DEFAULTS.builderImage);
            const r = await checkBuilder(
                {
                    docker,
                    where,
                    builderImage: wantImage
                        ? { ref, archive: findBuildkitArchive(), required: o.modeSet === "docker-container", flag: "" }
                        : undefined,
                    containerImage: async () => {
                        const reg = local.registry;
                        const login = await run(
                            env.client,
                            ["login", "--username", reg.username, "--password-stdin", reg.address],
                            {
                                env: { ...process.env, ...h.variables },
                                input: reg.password + "\n",
                            },
                        );
                        if (login.code !== 0)
                            throw new PreflightError(`docker login ${reg.address} failed: ${firstLine(login.stderr)}`);
                        return local.base.ref;
                    },
                },
                tools,
            );
            if (!o.registry) return { mode: o.modeSet ?? "docker-container", builder: r.builder };
            if (r.builder.buildkit) return { mode: "docker-container", builder: r.builder };
            if (r.noBuildkitImage !== undefined) log(fallbackLine(ref, r.noBuildkitImage));
            return { mode: "containerd-store", builder: r.builder };
        } finally {
            await h.stop();
        }
    } finally {
        fs.rmSync(work, { recursive: true, force: true });
    }
}
