/**
 * The original write-up's three-run experiment, in miniature, for one cache strategy:
 * a cold build, a rebuild with no change, and a rebuild after a change halfway down the Dockerfile,
 * each on a fresh local build host (empty Docker data root) against the same registry, with the
 * buildspec the component generates. Shared by `npm run local-build` and `npm run bench`.
 *
 * What each run builds and with which `skipUnchanged` is one table, {@link RUN_PLAN}: the strategies that skip
 * (components/skip.ts SKIP_STRATEGIES) build `cold` and `change` with skip on, the component's default (both are key
 * misses, so they build); `warm` has skip off (the engine's no-change rebuild); `warm, skip on` must be skipped.
 * Every build's JSON line is checked against the plan: a build that should skip and didn't, or one that should
 * build and skipped, fails the experiment ({@link skipMismatch}).
 */
import type { CacheStrategy } from "../components/args";
import { SKIP_STRATEGIES } from "../components/skip";
import type { LocalBuildResult, LocalHost } from "../standIn/host";
import { registryModeFromEnv, runScenario, RegistryMode, ScenarioOptions } from "../standIn/scenario";
import { singleStage } from "./dockerfile";

/** The default runs of {@link runExperiment} (`npm run local-build`). */
export const RUNS = ["cold", "warm", "change"] as const;
/**
 * Every run the bench knows: the three above, `warm, skip on` (the main table), `change 2` … `change 4` (more change
 * builds, the scale series) and the Docker server's `recycled` (a warm build after its daemon was recycled).
 */
export type RunName = (typeof RUNS)[number] | "warm, skip on" | "change 2" | "change 3" | "change 4" | "recycled";

/** One run of the experiment: what it builds, with which `skipUnchanged`, and whether it must be skipped. */
export interface RunPlan {
    /**
     * The Dockerfile: `base` is the workload's; `change` has one step changed (halfway); `change 2` … `change 4` change
     * the same step again, each with another marker, so each is a real change against the build before it.
     */
    readonly dockerfile: "base" | "change" | "change 2" | "change 3" | "change 4";
    /** `skipUnchanged` for the strategies that skip (SKIP_STRATEGIES); `pull` has it off in every run. */
    readonly skip: boolean;
    /** With skip on, the build's JSON line must say `"skipped":true` (else it must not). */
    readonly skipped: boolean;
    /** One line for the results' Markdown. */
    readonly doc: string;
}

/**
 * The per-run arguments, in one place. `skip: true` is the component's default for `inline` and `registry`
 * (components/skip.ts resolveSkipUnchanged), so cold and change builds measure what a user gets by default; the
 * no-change rebuilds are measured both ways. Run in this order, each run sees the previous one's registry state:
 * cold, warm, warm skip on, change (and change 2).
 */
export const RUN_PLAN: Readonly<Record<RunName, RunPlan>> = {
    cold: {
        dockerfile: "base",
        skip: true,
        skipped: false,
        doc: "an empty registry; skip on (the default): a key miss, so it builds, and pushes the key tag",
    },
    warm: {
        dockerfile: "base",
        skip: false,
        skipped: false,
        doc: "no change, skip off: the engine's no-change rebuild from the layer cache",
    },
    "warm, skip on": {
        dockerfile: "base",
        skip: true,
        skipped: true,
        doc: "no change, skip on (the default): the key exists, so nothing is built; the bench fails if it built",
    },
    change: {
        dockerfile: "change",
        skip: true,
        skipped: false,
        doc: "one step changed halfway, skip on (the default): a key miss, so it builds",
    },
    "change 2": {
        dockerfile: "change 2",
        skip: true,
        skipped: false,
        doc: "the same step changed again (another marker), skip on: a key miss, so it builds",
    },
    "change 3": {
        dockerfile: "change 3",
        skip: true,
        skipped: false,
        doc: "the same step changed a third time, skip on: a key miss, so it builds",
    },
    "change 4": {
        dockerfile: "change 4",
        skip: true,
        skipped: false,
        doc: "the same step changed a fourth time, skip on: a key miss, so it builds",
    },
    recycled: {
        dockerfile: "change",
        skip: false,
        skipped: false,
        doc: "no change after `change`, on a recycled daemon, skip off: what the layer cache gives back",
    },
};

/** The component arguments of one run: `skipUnchanged` per {@link RUN_PLAN}, always off for `pull` (or when forced off). */
export function runArgs(strategy: CacheStrategy, run: RunName, skipOff = false): { skipUnchanged: boolean } {
    return { skipUnchanged: !skipOff && SKIP_STRATEGIES.includes(strategy) && RUN_PLAN[run].skip };
}

/** Whether the run must be skipped (else it must build). */
export function expectSkipped(strategy: CacheStrategy, run: RunName, skipOff = false): boolean {
    return runArgs(strategy, run, skipOff).skipUnchanged && RUN_PLAN[run].skipped;
}

/** The main table's runs: cold, warm, `warm, skip on` for the strategies that skip, change. */
export function mainRuns(strategy: CacheStrategy): RunName[] {
    return SKIP_STRATEGIES.includes(strategy)
        ? ["cold", "warm", "warm, skip on", "change"]
        : ["cold", "warm", "change"];
}

/**
 * The scale series' runs: cold, warm and four change builds (their mean is the change time). One change build is
 * noisy here: at 96 light steps, consecutive change builds of one strategy differed by up to 1 s (about 10 %),
 * as much as the issue's 10 % target between `registry` and `inline`.
 */
export const SCALE_RUNS: readonly RunName[] = ["cold", "warm", "change", "change 2", "change 3", "change 4"];

/**
 * Whether the build's JSON line (`{"layerCache":…}`) said `"skipped":true`; undefined when it printed none.
 */
export function skippedOf(lines: readonly { text: string; stream?: string }[]): boolean | undefined {
    const line = lines.find((l) => l.stream !== "runner" && l.text.startsWith('{"layerCache":'));
    if (line === undefined) return undefined;
    return (JSON.parse(line.text) as { skipped?: unknown }).skipped === true;
}

/** Why a build's skip did not match the plan, or undefined when it did. */
export function skipMismatch(label: string, expected: boolean, skipped: boolean | undefined): string | undefined {
    if (expected && skipped !== true)
        return skipped === undefined
            ? `${label} should have been skipped, but the build printed no JSON line to say so`
            : `${label} should have been skipped (no change, skip on), but it built ("skipped":false)`;
    if (!expected && skipped === true) return `${label} should have built, but it was skipped ("skipped":true)`;
    return undefined;
}

export interface ExperimentConfig {
    /** Work steps in the synthetic Dockerfile. */
    readonly steps: number;
    /** MB of random data per step (the image is about steps × this). */
    readonly mbPerStep: number;
    /** Hash passes over each step's data: the CPU part of each step. */
    readonly hashRounds: number;
    /** Step that changes in the third run. @default the middle step */
    readonly changeAt?: number;
}

export interface RunRecord {
    readonly strategy: CacheStrategy;
    /** The strategy, and for `registry` the builder it ran on: what the tables and ratios are keyed by. */
    readonly variant: string;
    /** `registry` only: the builder (CodeBuild's `docker-container`, or the daemon's own on the containerd store). */
    readonly registryMode?: RegistryMode;
    readonly run: RunName;
    readonly succeeded: boolean;
    /** Seconds the buildspec ran (login to post_build): what a CodeBuild build would bill, less provisioning. */
    readonly buildSeconds: number;
    /** Seconds of each phase. */
    readonly phaseSeconds: Record<string, number>;
    /** Seconds to start and stop the fresh Docker host (CodeBuild's provisioning, not counted above). */
    readonly hostSeconds: number;
    /**
     * The docker-container builder's start, which CodeBuild pays on every build: getting its image (here the
     * failed pull and the archive's load, on the host, not counted in buildSeconds) and `buildx create
     * --bootstrap` (the pre_build command, part of buildSeconds).
     */
    readonly builderImageSeconds?: number;
    readonly builderCreateSeconds?: number;
    readonly cachedSteps: number;
    readonly rebuiltSteps: number;
    readonly pulledMB: number;
    readonly pushedMB: number;
    /** Blob GETs from the registry (layer downloads, and config blobs). */
    readonly blobGets?: number;
    /** The build's JSON line said `"skipped":true`: nothing was built, the tag was pointed at the key's image. */
    readonly skipped?: boolean;
    /** `docker buildx build` invocations with Dockerfile steps (0 when skipped). */
    readonly dockerBuilds?: number;
    /** The workload (localBuild/dockerfile.ts WORKLOADS, or a scale point such as `light-96`), when the bench names one. */
    readonly workload?: string;
    /** Work steps of the Dockerfile this record built. */
    readonly steps?: number;
    /** Seconds of the `registry` strategy's cache export command (export.sh), when it ran; 0 when it skipped. */
    readonly exportSeconds?: number;
    /** Seconds of Dockerfile work: the sum of the rebuilt steps' own times as BuildKit prints them (`DONE n s`). */
    readonly dockerfileSeconds?: number;
}

export interface Progress {
    (event: {
        strategy: CacheStrategy;
        variant: string;
        run: RunName;
        phase: "start" | "done";
        record?: RunRecord;
    }): void;
}

/** A record's variant: the strategy, and for `registry` its builder. */
export function variantName(strategy: CacheStrategy, mode: RegistryMode | undefined): string {
    return strategy === "registry" && mode ? `registry (${mode})` : strategy;
}

/** The step that changes: halfway down, as in the original (line 291 of a ~580-line Dockerfile). */
export function changeStep(cfg: ExperimentConfig): number {
    return cfg.changeAt ?? Math.ceil(cfg.steps / 2);
}

/**
 * Share of the cold build's step work that a change at `changeAt` forces again: the changed step and
 * every step after it. Steps do equal work, and the `mkdir` step before them is negligible.
 */
export function workShareAfterChange(cfg: ExperimentConfig): number {
    return (cfg.steps - changeStep(cfg) + 1) / cfg.steps;
}

export async function runExperiment(
    host: LocalHost,
    strategy: CacheStrategy,
    cfg: ExperimentConfig,
    opts: {
        repo: string;
        registryMode?: RegistryMode;
        quiet?: boolean;
        progress?: Progress;
        nonce?: string;
        workload?: string;
        /** Passed to runScenario: the host of each build (default a fresh one) and a rewrite of the buildspec. */
        startHost?: ScenarioOptions["startHost"];
        rewriteBuildspec?: ScenarioOptions["rewriteBuildspec"];
        /** A label for the variant other than the strategy's (e.g. `docker server, inline`). */
        variant?: string;
        /** The runs, in order (default RUNS); each builds and skips as {@link RUN_PLAN} says. */
        runs?: readonly RunName[];
        /** skipUnchanged off in every run, whatever RUN_PLAN says (the Docker server on its own: a plain build). */
        skipOff?: boolean;
        /** Called before each run (the Docker server's idle wait before `recycled`). */
        before?: (run: RunName) => Promise<void>;
    },
): Promise<RunRecord[]> {
    const base = { baseImage: host.base.ref, steps: cfg.steps, mbPerStep: cfg.mbPerStep, hashRounds: cfg.hashRounds };
    const nonce = opts.nonce ?? Date.now().toString(36);
    const changed = (marker: string) =>
        singleStage({ ...base, changeAt: changeStep(cfg), changeMarker: `${marker}-${nonce}` });
    const dockerfiles: Record<RunPlan["dockerfile"], string> = {
        base: singleStage(base),
        change: changed("change"),
        "change 2": changed("change2"),
        "change 3": changed("change3"),
        "change 4": changed("change4"),
    };
    const mode = strategy === "registry" ? (opts.registryMode ?? registryModeFromEnv()) : undefined;
    const variant = opts.variant ?? variantName(strategy, mode);
    const records: RunRecord[] = [];
    for (const run of opts.runs ?? RUNS) {
        await opts.before?.(run);
        opts.progress?.({ strategy, variant, run, phase: "start" });
        const r = await runScenario({
            host,
            strategy,
            repo: opts.repo,
            dockerfile: dockerfiles[RUN_PLAN[run].dockerfile],
            registryMode: mode,
            args: runArgs(strategy, run, opts.skipOff),
            label: `${variant} ${run}`,
            quiet: opts.quiet,
            printReport: !opts.quiet,
            startHost: opts.startHost,
            rewriteBuildspec: opts.rewriteBuildspec,
        });
        const record = recordOf(r, {
            strategy,
            variant,
            registryMode: mode,
            run,
            steps: cfg.steps,
            workload: opts.workload,
        });
        records.push(record);
        opts.progress?.({ strategy, variant, run, phase: "done", record });
        if (!r.succeeded) {
            throw new Error(`${variant} ${run} build failed:\n${r.output.split("\n").slice(-40).join("\n")}`);
        }
        const wrong = skipMismatch(
            `${variant} ${run}${opts.workload ? ` (${opts.workload})` : ""}`,
            expectSkipped(strategy, run, opts.skipOff),
            skippedOf(r.lines),
        );
        if (wrong) throw new Error(`${wrong}:\n${r.output.split("\n").slice(-40).join("\n")}`);
    }
    return records;
}

/**
 * The `registry` export's own seconds. Usually export.sh's command (the second `buildx build`, 0.0 when it skipped);
 * when the build wrote the cache itself (a key that missed, build.sh's CACHE_IN_BUILD: export.sh then only says so),
 * BuildKit's own time for its `exporting cache to registry` step in the build, which ran beside the image push.
 */
export function exportCommandSeconds(r: Pick<LocalBuildResult, "phases"> & { output?: string }): number | undefined {
    const cmd = r.phases.find((p) => p.name === "build")?.commands.find((c) => /export_once/.test(c.command));
    if (cmd === undefined) return undefined;
    if (r.output?.includes(IN_BUILD_EXPORT_LINE)) {
        const id = /^\[build\] #(\d+) exporting cache to registry$/m.exec(r.output)?.[1];
        const done = id && new RegExp(`^\\[build\\] #${id} DONE (\\d+(?:\\.\\d+)?)s$`, "m").exec(r.output)?.[1];
        if (done) return Number(done);
    }
    return cmd.durationMs / 1000;
}

/** What export.sh prints when the build wrote the cache itself. */
export const IN_BUILD_EXPORT_LINE = "layer cache: the build wrote the cache (a new key)";

/** Sum of the rebuilt steps' own times in the first build (BuildKit's `DONE n s`); cache hits count 0. */
export function dockerfileWorkSeconds(r: Pick<LocalBuildResult, "steps">): number {
    const b = r.steps.builds[0];
    if (!b) return 0;
    return b.steps
        .filter((s) => s.status === "DONE" && !s.fetchedFromCache && s.instruction !== "FROM")
        .reduce((n, s) => n + (s.seconds ?? 0), 0);
}

/** One build's record. */
export function recordOf(
    r: Pick<LocalBuildResult, "phases" | "timings" | "steps" | "bytes" | "succeeded" | "lines">,
    o: {
        strategy: CacheStrategy;
        variant: string;
        registryMode?: RegistryMode;
        run: RunName;
        steps?: number;
        workload?: string;
    },
): RunRecord {
    const phaseSeconds: Record<string, number> = {};
    for (const p of r.phases) if (p.status !== "ABSENT") phaseSeconds[p.name] = p.durationMs / 1000;
    const exportSeconds = exportCommandSeconds({
        phases: r.phases,
        output: r.lines.map((l) => `[${l.phase}] ${l.text}`).join("\n"),
    });
    return {
        strategy: o.strategy,
        variant: o.variant,
        ...(o.registryMode ? { registryMode: o.registryMode } : {}),
        run: o.run,
        succeeded: r.succeeded,
        buildSeconds: r.timings.buildMs / 1000,
        phaseSeconds,
        hostSeconds: (r.timings.daemonStartMs + r.timings.daemonStopMs) / 1000,
        ...(r.timings.builderImageMs !== undefined ? { builderImageSeconds: r.timings.builderImageMs / 1000 } : {}),
        ...(r.timings.builderCreateMs !== undefined ? { builderCreateSeconds: r.timings.builderCreateMs / 1000 } : {}),
        // The first `docker buildx build` is the build; the registry strategy's second one only exports
        // the cache from the builder's local cache, and its all-local hits are not cache hits from ECR.
        cachedSteps: r.steps.builds[0]?.cached ?? 0,
        rebuiltSteps: r.steps.builds[0]?.rebuilt ?? 0,
        pulledMB: r.bytes.pulledMB,
        pushedMB: r.bytes.pushedMB,
        blobGets: r.bytes.blobGets,
        skipped: skippedOf(r.lines) === true,
        // Builds with Dockerfile steps: `imagetools create` on the daemon's builder can print a build header of its own.
        dockerBuilds: r.steps.builds.filter((b) => b.steps.length > 0).length,
        ...(o.workload !== undefined ? { workload: o.workload } : {}),
        ...(o.steps !== undefined ? { steps: o.steps } : {}),
        ...(o.strategy === "registry" ? { exportSeconds: exportSeconds ?? 0 } : {}),
        dockerfileSeconds: dockerfileWorkSeconds(r),
    };
}

/** Share of a build that is not Dockerfile work (probe, login, builder start, manifest round-trips, export). */
export function overheadShare(r: Pick<RunRecord, "buildSeconds" | "dockerfileSeconds">): number | undefined {
    if (r.dockerfileSeconds === undefined || r.buildSeconds <= 0) return undefined;
    return Math.min(1, Math.max(0, (r.buildSeconds - r.dockerfileSeconds) / r.buildSeconds));
}

/** Ratio of a run's build time to the cold build of the same variant in the same run. */
export function ratioToCold(records: readonly RunRecord[], r: RunRecord): number {
    const cold = records.find((x) => x.variant === r.variant && x.workload === r.workload && x.run === "cold");
    if (!cold) throw new Error(`no cold run for ${r.variant}${r.workload ? ` (${r.workload})` : ""}`);
    return r.buildSeconds / cold.buildSeconds;
}

/**
 * The builder's start of a record, e.g. "1.0 + 0.6": image (pull attempt + load) + create/bootstrap, in seconds; "" if
 * none. A skipped build starts no builder (key.sh runs before builder.sh): "none (skipped)", although the stand-in's
 * host loaded the image before the buildspec ran (builderImageSeconds, not part of the build's time).
 */
export function builderStart(r: RunRecord): string {
    if (r.skipped && r.builderImageSeconds !== undefined) return "none (skipped)";
    if (r.builderImageSeconds === undefined && r.builderCreateSeconds === undefined) return "";
    return `${(r.builderImageSeconds ?? 0).toFixed(1)} + ${(r.builderCreateSeconds ?? 0).toFixed(1)}`;
}

/** A plain-text table of the runs, for the terminal. */
export function summaryTable(records: readonly RunRecord[]): string {
    const head = [
        "workload",
        "variant",
        "run",
        "build s",
        "x cold",
        "cached",
        "rebuilt",
        "MB pulled",
        "MB pushed",
        "builder s",
    ];
    const rows = records.map((r) => [
        r.workload ?? "",
        r.variant,
        r.run,
        r.buildSeconds.toFixed(1),
        ratioToCold(records, r).toFixed(3),
        String(r.cachedSteps),
        String(r.rebuiltSteps),
        r.pulledMB.toFixed(1),
        r.pushedMB.toFixed(1),
        builderStart(r),
    ]);
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
    const line = (cells: string[]) =>
        cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
    return [line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
