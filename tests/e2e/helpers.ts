// What the e2e suites share: whether this machine can run their Docker daemons, the cache strategies and builders
// they run (variants), the shared host's readiness (a test is pending, with its reason printed, when the host or the
// docker-container builder's BuildKit image is missing: never a silent pass), and how a build's result is read and
// shown when an assertion fails; the one LocalHost a suite shares (SharedHost) and the quiet component build the
// suites run on it (componentBuild).
import type { CacheStrategy } from "../../components/args";
import { LocalBuildResult, LocalHost, startLocalHost } from "../../standIn/host";
import { RegistryMode, runScenario, ScenarioOptions, ScenarioResult } from "../../standIn/scenario";
import { RegistryApi } from "./registryApi";

/** Docker daemons need root; `CBCACHE_LOCAL_SKIP_DOCKER` turns the e2e suites off on purpose. */
export const canRunDocker = process.getuid?.() === 0 && !process.env.CBCACHE_LOCAL_SKIP_DOCKER;
export const SKIP_REASON = "needs root to run Docker daemons (and CBCACHE_LOCAL_SKIP_DOCKER unset)";

/** Marks the running test pending, with the reason in the log. */
export function pending(ctx: Mocha.Context, reason: string): never {
    console.log(`      PENDING: ${reason}`);
    ctx.skip();
}

/** A cache strategy and, for `registry`, the builder it runs on. */
export interface Variant {
    readonly strategy: CacheStrategy;
    readonly mode?: RegistryMode;
    /** Test titles and repository names. */
    readonly name: string;
}
export const INLINE: Variant = { strategy: "inline", name: "inline" };
export const PULL: Variant = { strategy: "pull", name: "pull" };
/** CodeBuild's path. */
export const REGISTRY: Variant = { strategy: "registry", mode: "docker-container", name: "registry" };
/** The documented alternative: the daemon's own builder on the containerd image store. */
export const REGISTRY_CS: Variant = {
    strategy: "registry",
    mode: "containerd-store",
    name: "registry on the containerd store",
};

/**
 * The shared host, or the test is pending with the reason printed; for a `docker-container` variant also when no
 * fresh host can get the builder's BuildKit image.
 */
export async function ready(ctx: Mocha.Context, host: LocalHost | undefined, v?: Variant): Promise<LocalHost> {
    if (!host) {
        pending(ctx, SKIP_REASON);
    }
    if (v?.mode === "docker-container") {
        const image = await host.buildkitImage();
        if (!image.available) {
            pending(ctx, `no BuildKit image for the docker-container builder: ${image.how}`);
        }
    }
    return host;
}

/**
 * One LocalHost (registry + base image) for a whole suite: {@link SharedHost.hooks}, called in the suite's `describe`,
 * starts it before the suite's tests and stops it after them. Where Docker can't run ({@link canRunDocker}) it starts
 * none and the suite's tests are pending through {@link ready}, with the reason printed. Made at module level, so that
 * a suite's helpers outside its `describe` can reach the host.
 */
export class SharedHost {
    private hooked = false;
    private started: LocalHost | undefined;
    private client: RegistryApi | undefined;

    /** Registers the `before` (start; up to 10 minutes) and `after` (stop) hooks in the calling `describe`. */
    hooks(): this {
        this.hooked = true;
        const start = async () => {
            this.started = await startLocalHost();
            this.client = new RegistryApi(this.started.registry);
        };
        before(async function () {
            if (!canRunDocker) return; // every test then prints the reason and is pending (ready())
            this.timeout(600_000); // the first run on a new machine installs packages
            await start();
        });
        after(async () => {
            await this.started?.stop();
        });
        return this;
    }

    /** The host, between the hooks; undefined where Docker can't run (pass it to {@link ready}). */
    get host(): LocalHost | undefined {
        if (!this.hooked) throw new Error("SharedHost: call hooks() in the suite's describe");
        return this.started;
    }

    /** The registry's own HTTP API (not the byte-counting front the builds use), once the host runs. */
    get api(): RegistryApi {
        if (!this.client) throw new Error("SharedHost: no host (call ready() first)");
        return this.client;
    }
}

/** What a suite gives {@link componentBuild}; the variant, host, label and quiet run are set there. */
export type BuildOptions = Omit<
    ScenarioOptions,
    "host" | "label" | "quiet" | "printReport" | "strategy" | "registryMode"
>;

/**
 * The component's buildspec for variant `v` and `o.repo` on a fresh Docker host of `host` (runScenario): its output
 * shown only with `E2E_VERBOSE` set, no report printed (a failed assertion shows it, {@link why}).
 */
export function componentBuild(host: LocalHost, label: string, v: Variant, o: BuildOptions): Promise<ScenarioResult> {
    return runScenario({
        ...o,
        strategy: v.strategy,
        registryMode: v.mode,
        host,
        label,
        quiet: !process.env.E2E_VERBOSE,
        printReport: false,
    });
}

/** Small builds: 3 steps of 1 MB each. */
export const SMALL = { steps: 3, mbPerStep: 1, hashRounds: 1 } as const;

/**
 * Lines the buildspec's commands printed (not the runner's own), optionally of one phase, without the build's JSON
 * line (metrics.sh), which metrics.test.ts tests on real builds.
 */
export function printed(r: LocalBuildResult, phase?: string): string[] {
    return r.lines
        .filter((l) => l.stream !== "runner" && (phase === undefined || l.phase === phase))
        .map((l) => l.text)
        .filter((t) => !t.startsWith('{"layerCache":'));
}

/** What a failed assertion shows: the build's table and the end of its output. */
export function why(r: LocalBuildResult, lines = 60): string {
    return `\n${r.report}\n--- last lines ---\n${r.output.split("\n").slice(-lines).join("\n")}`;
}
