// Portable mode of `npm run local-build -- --context DIR --portable`: the user's builds on an EXISTING Docker
// daemon (Docker Engine on Linux, rootful or not; Docker Desktop is designed for, see below), without root and
// without installing engines. What a build gets, and what is removed afterwards:
//
// - The buildspec is the component's, for the `registry` strategy on CodeBuild's `docker-container` builder: its
//   pre_build creates the builder `layer-cache` (container `buildx_buildkit_layer-cache0`, state volume
//   `buildx_buildkit_layer-cache0_state`). After each build both are removed by name, so the next build's builder
//   starts with an empty state volume: as cold as a fresh CodeBuild host for BuildKit's cache. Before each build
//   the two names must be free; if a container or volume of that name exists (a builder of the user's, or another
//   run's), the run stops with an error and touches nothing.
// - Each build (and each step here) uses its own DOCKER_CONFIG (login state, buildx's builder list), with the
//   buildx plugin copied in; the user's ~/.docker is only read, for the current context's endpoint.
// - A throwaway registry plays ECR: a container (`registry:2` by default, or `debian-binary`: an image made here
//   from Debian's `docker-registry` binary, as no public registry is reachable on this machine) named
//   `cbcache-registry-<random>`, on the host network at 127.0.0.1:<free port>, behind the counting proxy of
//   registry.ts. It has no login (ECR's is emulated by the local stand-in only); `docker login` still runs.
//   It is removed with its anonymous volume (`docker rm -f -v`) at the end.
// - Images: the builder's BuildKit image (pulled by buildx, or, where that fails, loaded from the archive of
//   buildkitImage.ts) and the registry image are removed at the end if they were not there before (the image
//   list is compared before and after the setup); images that were there are left alone.
//
// Network: the builder's container and the registry container run with `--network host`, and the counting proxy
// listens on this machine's 127.0.0.1, so the daemon must share this machine's loopback. That holds for a rootful
// Linux daemon (tested here, on a dockerd this repo starts). Docker Desktop (macOS, Windows) with "host
// networking" turned on, and rootless Docker, are designed for, not tested here.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DEFAULTS } from "../components/resolveArgs";
import { BUILDER_NAME } from "../components/buildspec";
import { localBuilderImage } from "../components/builderImage";
import { ArchiveSource, DockerRunner, dockerRunner } from "../standIn/buildkitImage";
import { BaseImage, ensureBaseImage } from "../standIn/baseImage";
import { makeDockerConfig } from "../standIn/daemon";
import type { DockerEnv } from "../standIn/engine";
import { BuilderInfo, checkBuilder, checkTools, missingBuildx, PreflightError } from "./preflight";
import { canConnect, startLocalRegistry } from "../standIn/registry";
import type { UserBuildHost } from "./userBuild";
import { run, runOk, sleep, which } from "../standIn/util";

/** `--registry-image debian-binary`: make the registry image here from Debian's `docker-registry` binary. */
export const DEBIAN_REGISTRY_IMAGE = "debian-binary";
const DEBIAN_REGISTRY_TAG = "cbcache-local/registry:debian";

export interface PortableOptions {
    /** The docker client; default: `docker` on PATH. */
    client?: string;
    /** The buildx plugin; default: the first in the standard cli-plugins folders. */
    buildxPlugin?: string;
    /** The daemon's address; default: $DOCKER_HOST, else the current docker context's endpoint. */
    dockerHost?: string;
    /** Image of the throwaway registry, or `debian-binary`. @default "registry:2" */
    registryImage?: string;
    /** The builder image the buildspec starts (`--driver-opt image=`). @default the local name of DEFAULTS.builderImage */
    builderImage?: string;
    /** Loaded when the builder image can't be pulled (findBuildkitArchive()). */
    archive?: ArchiveSource;
    log?: (line: string) => void;
}

export interface PortableHost extends UserBuildHost {
    dockerHost: string;
    /** What the checks before the first build found: buildx, the daemon, the BuildKit image's source and version. */
    builder: BuilderInfo;
    /** Removes the registry container, the images this run added, and its temp folder; returns what it removed. */
    stop(): Promise<string[]>;
}

const PLUGIN_DIRS = [
    path.join(process.env.DOCKER_CONFIG ?? path.join(os.homedir(), ".docker"), "cli-plugins"),
    "/usr/local/lib/docker/cli-plugins",
    "/usr/local/libexec/docker/cli-plugins",
    "/usr/lib/docker/cli-plugins",
    "/usr/libexec/docker/cli-plugins",
    "/Applications/Docker.app/Contents/Resources/cli-plugins",
];

/** The builder container and state volume the buildspec's `buildx create --name layer-cache` makes. */
export function builderNames(name: string = BUILDER_NAME): { container: string; volume: string } {
    return { container: `buildx_buildkit_${name}0`, volume: `buildx_buildkit_${name}0_state` };
}

async function exists(docker: DockerRunner, kind: "container" | "volume" | "image", name: string): Promise<boolean> {
    return (await docker([kind, "inspect", name])).code === 0;
}

async function imageRefs(docker: DockerRunner): Promise<Set<string>> {
    const r = await docker(["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"]);
    if (r.code !== 0) throw new Error(`docker image ls failed: ${r.stderr.trim()}`);
    return new Set(
        r.stdout
            .split("\n")
            .map((s) => s.trim())
            .filter((s) => s && !s.includes("<none>")),
    );
}

/**
 * A registry image made from Debian's `docker-registry` binary (and the libraries `ldd` lists) with `docker
 * import`: for machines without a public registry. Its config listens on :5000, storage in /var/lib/registry.
 */
export async function importDebianRegistryImage(
    docker: DockerRunner,
    tag: string = DEBIAN_REGISTRY_TAG,
): Promise<string> {
    const bin = which("docker-registry", "/usr/bin:/usr/sbin:/usr/local/bin");
    if (!bin)
        throw new PreflightError(
            "--registry-image debian-binary needs Debian's docker-registry package: apt-get install docker-registry, or name an image the daemon can pull",
        );
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "cbregimg-"));
    try {
        const root = path.join(work, "rootfs");
        const put = (src: string, dest: string) => {
            fs.mkdirSync(path.dirname(path.join(root, dest)), { recursive: true });
            fs.copyFileSync(src, path.join(root, dest));
        };
        put(bin, "bin/registry");
        fs.chmodSync(path.join(root, "bin/registry"), 0o755);
        const ldd = await run("ldd", [bin]);
        for (const m of ldd.stdout.matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x/g)) put(fs.realpathSync(m[1]), m[1]);
        fs.mkdirSync(path.join(root, "etc/docker/registry"), { recursive: true });
        fs.writeFileSync(
            path.join(root, "etc/docker/registry/config.yml"),
            "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /var/lib/registry\nhttp:\n  addr: :5000\n",
        );
        fs.mkdirSync(path.join(root, "var/lib/registry"), { recursive: true });
        fs.mkdirSync(path.join(root, "tmp"), { recursive: true, mode: 0o1777 });
        const tar = path.join(work, "rootfs.tar");
        await runOk("tar", [
            "--sort=name",
            "--mtime=@0",
            "--owner=0",
            "--group=0",
            "--numeric-owner",
            "-C",
            root,
            "-cf",
            tar,
            ".",
        ]);
        const r = await docker([
            "import",
            "--change",
            'ENTRYPOINT ["/bin/registry"]',
            "--change",
            'CMD ["serve", "/etc/docker/registry/config.yml"]',
            "--change",
            "VOLUME /var/lib/registry",
            tar,
            tag,
        ]);
        if (r.code !== 0) throw new Error(`docker import of the registry image failed: ${r.stderr.trim()}`);
        return tag;
    } finally {
        fs.rmSync(work, { recursive: true, force: true });
    }
}

/** The daemon's address: $DOCKER_HOST, else the current context's endpoint (read with the user's own config). */
async function daemonAddress(client: string): Promise<string> {
    if (process.env.DOCKER_HOST) return process.env.DOCKER_HOST;
    const r = await run(client, ["context", "inspect", "--format", "{{.Endpoints.docker.Host}}"]);
    const host = r.stdout.trim();
    if (r.code !== 0 || !host)
        throw new PreflightError(
            `--portable: cannot tell which Docker daemon to use (docker context inspect: ${r.stderr.trim() || "no endpoint"}): set DOCKER_HOST, or select a docker context`,
        );
    return host;
}

/**
 * Starts the portable host: checks, before anything is built, the buildx plugin, the daemon, the BuildKit image (the
 * pull, else the archive), that the daemon runs a container of it, and the registry image (preflight.ts; each failure
 * one line); then starts the registry container.
 */
export async function startPortableHost(o: PortableOptions = {}): Promise<PortableHost> {
    const log = o.log ?? ((l: string) => console.log(l));
    const client = o.client ?? which("docker");
    if (!client)
        throw new PreflightError(
            "--portable: no docker client on PATH: install Docker's CLI (docs.docker.com/engine/install/), or use the default mode (as root, without --portable)",
        );
    const buildxPlugin =
        o.buildxPlugin ?? PLUGIN_DIRS.map((d) => path.join(d, "docker-buildx")).find((p) => fs.existsSync(p));
    if (!buildxPlugin) throw missingBuildx(PLUGIN_DIRS);
    const dockerHost = o.dockerHost ?? (await daemonAddress(client));
    const dockerEnv: DockerEnv = {
        source: "system",
        dockerd: "",
        daemonPath: "",
        client,
        buildxPlugin,
        versions: { dockerd: "", client: "", buildx: "", runc: "", containerd: "" },
        cacheDir: os.tmpdir(),
    };
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "cbportable-"));
    const removed: string[] = [];
    const cleanups: Array<() => Promise<void>> = [];
    const cleanup = async () => {
        for (const c of cleanups.reverse()) await c();
        cleanups.length = 0;
        fs.rmSync(work, { recursive: true, force: true });
    };
    try {
        const docker = dockerRunner(client, {
            DOCKER_HOST: dockerHost,
            DOCKER_CONFIG: makeDockerConfig(dockerEnv, path.join(work, "config")),
        });
        const where = `the daemon at ${dockerHost}`;
        const tools = await checkTools({ docker, where, buildxPlugin, lookedIn: PLUGIN_DIRS });
        const names = builderNames();
        for (const [kind, name] of [
            ["container", names.container],
            ["volume", names.volume],
        ] as const) {
            if (await exists(docker, kind, name)) {
                throw new PreflightError(
                    `the daemon at ${dockerHost} already has a ${kind} named ${name} (a builder named ${BUILDER_NAME} of yours, or another run's); ` +
                        `the portable mode uses that name for its throwaway builder and never touches yours: remove it, or run elsewhere`,
                );
            }
        }
        log(`portable mode: Docker ${tools.daemon} at ${dockerHost}`);

        // Images: remember what was there; remove at the end what this run added.
        const before = await imageRefs(docker);
        cleanups.push(async () => {
            const added = [...(await imageRefs(docker))].filter((r) => !before.has(r));
            for (const ref of added) {
                const r = await docker(["image", "rm", ref]);
                if (r.code === 0) removed.push(`image ${ref}`);
            }
        });
        // CodeBuild's builder: its BuildKit image, and a container of it (also: the daemon can run containers).
        // The name the buildspec's builder starts from (builder.sh finds it on the host and pulls nothing).
        const builderImage = o.builderImage ?? localBuilderImage(DEFAULTS.builderImage);
        const { builder } = await checkBuilder(
            {
                docker,
                where,
                builderImage: { ref: builderImage, archive: o.archive, required: true, flag: "--portable: " },
            },
            tools,
        );
        log(
            `portable mode: ${builder.buildkit?.ref} ${builder.buildkit?.source}, BuildKit ${builder.buildkit?.version}`,
        );
        let registryImage = o.registryImage ?? "registry:2";
        if (registryImage === DEBIAN_REGISTRY_IMAGE) registryImage = await importDebianRegistryImage(docker);
        else if (!(await exists(docker, "image", registryImage))) {
            const pull = await docker(["pull", "--quiet", registryImage]);
            if (pull.code !== 0) {
                throw new PreflightError(
                    `Invalid value for '--registry-image': ${JSON.stringify(registryImage)} (the daemon can't pull it: ${pull.stderr.trim().split("\n")[0]}). ` +
                        `Allowed: an image of the distribution registry the daemon has or can pull, or ${DEBIAN_REGISTRY_IMAGE}.`,
                );
            }
        }

        // The throwaway registry.
        const container = `cbcache-registry-${Math.random().toString(36).slice(2, 10)}`;
        const registry = await startLocalRegistry({
            launch: async (port) => {
                const r = await docker([
                    "run",
                    "--detach",
                    "--name",
                    container,
                    "--network",
                    "host",
                    "--env",
                    `REGISTRY_HTTP_ADDR=127.0.0.1:${port}`,
                    "--env",
                    "REGISTRY_LOG_LEVEL=warn",
                    "--env",
                    "REGISTRY_LOG_ACCESSLOG_DISABLED=true",
                    "--env",
                    "REGISTRY_STORAGE_DELETE_ENABLED=true",
                    registryImage,
                ]);
                if (r.code !== 0) throw new Error(`the registry container didn't start: ${r.stderr.trim()}`);
                const stop = async () => {
                    const rm = await docker(["rm", "--force", "--volumes", container]);
                    if (rm.code === 0) removed.push(`container ${container} (and its volume)`);
                };
                for (let t = Date.now(); Date.now() - t < 15_000; await sleep(100)) {
                    if (await canConnect(port)) return { stop };
                }
                const logs = await docker(["logs", container]);
                await stop();
                throw new Error(
                    `the registry container didn't listen on 127.0.0.1:${port}:\n${logs.stdout}${logs.stderr}`,
                );
            },
        });
        cleanups.push(() => registry.stop());

        let base: Promise<BaseImage> | undefined;
        const host: PortableHost = {
            dockerHost,
            dockerEnv,
            builder,
            registry,
            describe: `a fresh docker-container builder per build on the daemon at ${dockerHost} (portable mode)`,
            provideBuilderImage: false,
            baseImage: () => (base ??= ensureBaseImage(registry)),
            startHost: async (bo) => {
                const variables = {
                    DOCKER_HOST: dockerHost,
                    DOCKER_CONFIG: makeDockerConfig(dockerEnv, path.join(bo.workDir, "docker-config")),
                };
                for (const [kind, name] of [
                    ["container", names.container],
                    ["volume", names.volume],
                ] as const) {
                    if (await exists(docker, kind, name)) {
                        throw new Error(`a ${kind} named ${name} appeared on the daemon: not touching it; stopping`);
                    }
                }
                let stopped: Promise<{ stopMs: number }> | undefined;
                const stop = async () => {
                    const t = Date.now();
                    // Both names were free before this build: whatever has them now is this build's builder.
                    await docker(["rm", "--force", "--volumes", names.container]);
                    await docker(["volume", "rm", "--force", names.volume]);
                    return { stopMs: Date.now() - t };
                };
                return { variables, timings: { daemonStart: 0 }, stop: () => (stopped ??= stop()) };
            },
            stop: async () => {
                await cleanup();
                return removed;
            },
        };
        return host;
    } catch (e) {
        await cleanup();
        throw e;
    }
}
