// A model of CodeBuild's Docker server (2025): one Docker daemon per project that survives between the project's
// builds, so a build finds every layer the builds before it left, and that is recycled (restarts empty) after it
// has been idle for a while. AWS: "the provisioned instance is active while builds are actively run for the
// project, and the instance is stopped when builds are not running. The provisioned instance is stored for up to a
// month before it is recycled" (CodeBuild user guide, "Docker image build server sample",
// https://docs.aws.amazon.com/codebuild/latest/userguide/sample-docker-server.html). The idle time here is a
// parameter, so a benchmark can show both a warm daemon and a recycled one.
//
// `server.startHost` plugs into runLocalBuild's `startHost`: each build gets its own client side (a fresh
// DOCKER_CONFIG, so no login leaks between builds, as each CodeBuild build has its own container) and the shared
// daemon as DOCKER_HOST; the build's `stop()` only marks the daemon idle. Every build of the project shares that
// daemon, so whatever one build leaves on it (layers, builders, `RUN --mount=type=cache` contents) the next sees.
import * as path from "path";
import { dockerRunner, provideBuilderImage, BuilderImageResult } from "./buildkitImage";
import { BuildHost, BuildHostOptions, Daemon, makeDockerConfig, startDaemon } from "./daemon";

/** Whether a daemon last used at `lastUsedAt` (ms) must be recycled at `now`, after `idleMs` of idleness. */
export function shouldRecycle(lastUsedAt: number | undefined, now: number, idleMs: number): boolean {
    return lastUsedAt !== undefined && now - lastUsedAt >= idleMs;
}

export interface DockerServerOptions {
    /** Milliseconds without a build after which the daemon restarts empty at the next build. */
    readonly idleMs: number;
    /** Starts a daemon (default: startDaemon on the overlay2 store, as CodeBuild's images). Injected by tests. */
    readonly start?: (o: BuildHostOptions) => Promise<Pick<Daemon, "host" | "stop" | "startMs">>;
    /** The clock (ms). Injected by tests. */
    readonly now?: () => number;
}

export interface DockerServerEvent {
    readonly kind: "started" | "reused" | "recycled";
    readonly at: number;
}

export class LocalDockerServer {
    private daemon: Pick<Daemon, "host" | "stop" | "startMs"> | undefined;
    private lastUsedAt: number | undefined;
    private busy = 0;
    private images = new Map<string, BuilderImageResult>();
    /** What each build found: a daemon started for it, reused, or recycled first. */
    readonly events: DockerServerEvent[] = [];

    constructor(private readonly o: DockerServerOptions) {}

    private now(): number {
        return (this.o.now ?? Date.now)();
    }

    /** runLocalBuild's `startHost`: the shared daemon (recycled first if it was idle too long), a fresh client side. */
    readonly startHost = async (
        bo: BuildHostOptions,
    ): Promise<Pick<BuildHost, "variables" | "timings" | "builderImage" | "stop">> => {
        const t0 = this.now();
        let kind: DockerServerEvent["kind"] = "reused";
        if (this.daemon && this.busy === 0 && shouldRecycle(this.lastUsedAt, t0, this.o.idleMs)) {
            await this.daemon.stop();
            this.daemon = undefined;
            this.images.clear();
            kind = "recycled";
        }
        if (!this.daemon) {
            const start =
                this.o.start ?? ((x: BuildHostOptions) => startDaemon({ containerdStore: false, env: x.env }));
            this.daemon = await start(bo);
            if (kind !== "recycled") kind = "started";
        }
        this.events.push({ kind, at: t0 });
        this.busy++;
        const daemon = this.daemon;
        const variables = {
            DOCKER_HOST: daemon.host,
            DOCKER_CONFIG: makeDockerConfig(bo.env, path.join(bo.workDir, "docker-config")),
        };
        const timings: Record<string, number> = { daemonStart: kind === "reused" ? 0 : daemon.startMs };
        let builderImage: BuilderImageResult | undefined;
        if (bo.builderImage) {
            // Once per daemon: the image stays on it, as on the Docker server.
            builderImage = this.images.get(bo.builderImage.ref);
            if (!builderImage) {
                builderImage = await provideBuilderImage(
                    dockerRunner(bo.env.client, variables),
                    bo.builderImage.ref,
                    bo.builderImage.archive,
                );
                this.images.set(bo.builderImage.ref, builderImage);
            } else {
                builderImage = { ...builderImage, pullMs: 0, loadMs: 0, detail: `already on the Docker server` };
            }
        }
        let released = false;
        const stop = () => {
            if (!released) {
                released = true;
                this.busy--;
                this.lastUsedAt = this.now();
            }
            return Promise.resolve({ stopMs: 0 });
        };
        return { variables, timings, builderImage, stop };
    };

    /** Stops the daemon for good (end of the benchmark). */
    async close(): Promise<void> {
        const d = this.daemon;
        this.daemon = undefined;
        if (d) await d.stop();
    }
}
