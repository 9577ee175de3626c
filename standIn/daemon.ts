// Running Docker daemons: a brand-new dockerd per build (empty data root, like a fresh CodeBuild host),
// and the per-build client side (a DOCKER_CONFIG with the buildx plugin). The binaries come from
// engine.ts; the process itself is run with detached.ts.
//
// `startBuildHost()` is the one place where a fresh host is prepared for a build: it starts the daemon
// and makes the client config, and times each step. Anything a fresh host must have before the
// buildspec runs (for example an image loaded with `docker load`) belongs there, so that every build
// pays for it, as a fresh CodeBuild host does.
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { ArchiveSource, BuilderImageResult, dockerRunner, provideBuilderImage } from "./buildkitImage";
import { DockerEnv, ensureDockerEnv } from "./engine";
import { DetachedProcess, startDetached, stopPid } from "./detached";
import { onInterrupt } from "./interrupt";
import { mkdirp, run } from "./util";

export interface Daemon {
    /** DOCKER_HOST value, e.g. unix:///tmp/cbd-XXXX/docker.sock */
    host: string;
    socket: string;
    pid: number;
    /** Folder holding data root, exec root, config, socket and log; deleted by stop(). */
    dir: string;
    logFile: string;
    containerdStore: boolean;
    /** Milliseconds from spawn until the API answered /_ping. */
    startMs: number;
    /** Ends dockerd (and its managed containerd) by PID, unmounts leftovers, deletes the folder. Idempotent. */
    stop(): Promise<{ stopMs: number }>;
}

export interface StartDaemonOptions {
    containerdStore: boolean;
    env?: DockerEnv;
    /** Keep the daemon log after stop() (copied to this path). */
    keepLogAt?: string;
    /** More dockerd flags (a test's broken default runtime, say). */
    extraArgs?: readonly string[];
}

/**
 * Start a brand-new dockerd: new empty data root, own exec root, unix socket, pidfile, no bridge,
 * no iptables. dockerd (>= 26) starts its own managed containerd (its state lives under the exec root),
 * so no separate containerd is started here. With `containerdStore` the containerd image store
 * ("containerd-snapshotter" feature) is enabled; without it the classic overlay2 store is used,
 * as on CodeBuild's current images.
 */
export async function startDaemon(opts: StartDaemonOptions): Promise<Daemon> {
    const env = opts.env ?? (await ensureDockerEnv());
    // Short path: unix socket paths are limited to 108 bytes.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cbd-"));
    const socket = path.join(dir, "docker.sock");
    const logFile = path.join(dir, "dockerd.log");
    const config = path.join(dir, "daemon.json");
    fs.writeFileSync(config, JSON.stringify({ features: { "containerd-snapshotter": opts.containerdStore } }, null, 2));
    const args = [
        "--config-file",
        config,
        "--data-root",
        path.join(dir, "data"),
        "--exec-root",
        path.join(dir, "exec"),
        "--host",
        `unix://${socket}`,
        "--pidfile",
        path.join(dir, "dockerd.pid"),
        "--bridge=none",
        "--iptables=false",
        "--ip6tables=false",
        "--ip-masq=false",
        "--userland-proxy=false",
        ...(env.initPath ? ["--init-path", env.initPath] : []),
        ...(opts.extraArgs ?? []),
    ];

    const removeDir = async () => {
        await unmountUnder(dir);
        if (opts.keepLogAt) {
            try {
                fs.copyFileSync(logFile, opts.keepLogAt);
            } catch {
                /* no log */
            }
        }
        fs.rmSync(dir, { recursive: true, force: true });
    };

    let daemon: DetachedProcess;
    try {
        daemon = await startDetached({
            name: "dockerd",
            command: env.dockerd,
            args,
            cwd: dir,
            env: { PATH: env.daemonPath, HOME: dir, TMPDIR: os.tmpdir() },
            logFile,
            ready: () => ping(socket),
            readyTimeoutMs: 60_000,
            stopGraceMs: 20_000,
        });
    } catch (e) {
        await stopManagedContainerd(dir);
        await removeDir();
        throw e;
    }

    let stopped: Promise<{ stopMs: number }> | undefined;
    const stop = async () => {
        const s = Date.now();
        const containerd = managedContainerdPid(dir);
        await daemon.stop();
        // dockerd normally ends its containerd; if it was killed, containerd outlives it.
        if (containerd) await stopPid(containerd, 10_000);
        await removeDir();
        offInterrupt();
        return { stopMs: Date.now() - s };
    };
    // On SIGINT or SIGTERM: dockerd, the containerd it started and its directory (interrupt.ts).
    const offInterrupt = onInterrupt(`dockerd's containerd and ${dir}`, () => (stopped ??= stop()));
    return {
        host: `unix://${socket}`,
        socket,
        pid: daemon.pid,
        dir,
        logFile,
        containerdStore: opts.containerdStore,
        startMs: daemon.startMs,
        stop: () => (stopped ??= stop()),
    };
}

/** PID of the containerd that dockerd started for itself (from its pidfile under the exec root). */
function managedContainerdPid(dir: string): number | undefined {
    try {
        return Number(fs.readFileSync(path.join(dir, "exec/containerd/containerd.pid"), "utf8").trim()) || undefined;
    } catch {
        return undefined;
    }
}

async function stopManagedContainerd(dir: string): Promise<void> {
    const pid = managedContainerdPid(dir);
    if (pid) await stopPid(pid, 10_000);
}

function ping(socket: string): Promise<boolean> {
    return new Promise((resolve) => {
        const req = http.request({ socketPath: socket, path: "/_ping", method: "GET", timeout: 1000 }, (res) => {
            res.resume();
            resolve(res.statusCode === 200);
        });
        req.on("error", () => resolve(false));
        req.on("timeout", () => {
            req.destroy();
            resolve(false);
        });
        req.end();
    });
}

/** Lazily unmount anything still mounted below `dir` (deepest first). */
async function unmountUnder(dir: string): Promise<void> {
    let mounts: string[] = [];
    try {
        mounts = fs
            .readFileSync("/proc/self/mounts", "utf8")
            .split("\n")
            .map((l) => l.split(" ")[1])
            .filter((m) => m && (m === dir || m.startsWith(dir + "/")));
    } catch {
        return;
    }
    mounts.sort((a, b) => b.length - a.length);
    for (const m of mounts) await run("umount", ["-l", m]);
}

/**
 * Make a per-build DOCKER_CONFIG folder (so login state does not leak between builds) with the
 * buildx plugin copied to cli-plugins/docker-buildx.
 */
export function makeDockerConfig(env: DockerEnv, dir: string): string {
    mkdirp(path.join(dir, "cli-plugins"));
    const dest = path.join(dir, "cli-plugins/docker-buildx");
    fs.copyFileSync(env.buildxPlugin, dest);
    fs.chmodSync(dest, 0o755);
    fs.writeFileSync(path.join(dir, "config.json"), "{}\n", { mode: 0o600 });
    return dir;
}

// ---------------------------------------------------------------------------------------------
// A fresh build host

export interface BuildHostOptions {
    env: DockerEnv;
    /** true: containerd image store; false: overlay2, as on CodeBuild's current images. */
    containerdStore: boolean;
    /** Folder for the client side (DOCKER_CONFIG); the caller removes it. */
    workDir: string;
    /**
     * The `docker-container` builder's image, which the buildspec's `buildx create` starts: the host gets it
     * before the buildspec runs (the real pull, else `archive` loaded and tagged `ref`; see buildkitImage.ts).
     */
    builderImage?: { ref: string; archive?: ArchiveSource };
}

export interface BuildHost {
    daemon: Daemon;
    /** The per-build DOCKER_CONFIG folder (login state, cli-plugins/docker-buildx). */
    dockerConfig: string;
    /** Variables a build on this host needs: DOCKER_HOST and DOCKER_CONFIG. */
    variables: { DOCKER_HOST: string; DOCKER_CONFIG: string };
    /** Milliseconds of each preparation step, in order (`daemonStart`, `builderImagePull`, `builderImageLoad`). */
    timings: Record<string, number>;
    /** How the host got the builder image, if one was asked for. */
    builderImage?: BuilderImageResult;
    /** Stops the daemon and deletes its data root. Idempotent. */
    stop(): Promise<{ stopMs: number }>;
}

/**
 * Prepare a fresh host for one build: start a new daemon, make the client config, then give it the
 * builder image if one is asked for. If a later step fails, the daemon is stopped before the error is thrown.
 */
export async function startBuildHost(o: BuildHostOptions): Promise<BuildHost> {
    const daemon = await startDaemon({ containerdStore: o.containerdStore, env: o.env });
    const timings: Record<string, number> = { daemonStart: daemon.startMs };
    try {
        const dockerConfig = makeDockerConfig(o.env, path.join(o.workDir, "docker-config"));
        const variables = { DOCKER_HOST: daemon.host, DOCKER_CONFIG: dockerConfig };
        let builderImage: BuilderImageResult | undefined;
        if (o.builderImage) {
            const docker = dockerRunner(o.env.client, variables);
            builderImage = await provideBuilderImage(docker, o.builderImage.ref, o.builderImage.archive);
            timings.builderImagePull = builderImage.pullMs;
            timings.builderImageLoad = builderImage.loadMs;
        }
        return { daemon, dockerConfig, variables, timings, builderImage, stop: () => daemon.stop() };
    } catch (e) {
        await daemon.stop();
        throw e;
    }
}
