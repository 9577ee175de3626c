/**
 * `npx tsx bench/reliability.ts`: the reliability table of issues 14 and 25, measured on the project as built. For
 * each cache strategy and builder (`registry` on CodeBuild's docker-container builder and on the daemon's builder
 * with the containerd store) and each transient fault (503, 429 with an empty body and with ECR's JSON body, 500, a
 * dropped connection), it runs change builds of a small synthetic Dockerfile on fresh local hosts while the
 * registry's front (faults.ts) fails 10 % of the blob and manifest requests with that fault, one seed per run, and
 * writes `results/<out>.md` and `.json`.
 *
 * Per run it records whether the build succeeded and its hits: the Dockerfile's steps that no attempt of the run had
 * to run (a step an interrupted attempt ran and a retry took from the builder's local cache counts as run once). A
 * run "kept its hits" when they equal the hits of the same change build without faults (the baseline: one healthy
 * change build per strategy and builder before the faulty ones; every change build has the same shape, only its
 * marker differs). A run "needed a retry" when it printed a retry line (registry_retry runs a second attempt only
 * after a first one failed); its cost is {@link retryCost}. The next healthy build afterwards
 * checks that the cache is hit as before.
 *
 *   npx tsx bench/reliability.ts                               # every strategy and builder, 10 runs per cell
 *   npx tsx bench/reliability.ts --strategy inline --runs 5 --out reliability-inline
 *   npx tsx bench/reliability.ts --from reliability-a --from reliability-b   # earlier runs' JSON, merged
 */
import * as fs from "fs";
import * as path from "path";
import { singleStage } from "../localBuild/dockerfile";
import type { CacheStrategy } from "../components/args";
import type { FaultKind } from "../standIn/faults";
import { Command, runCommand, strategyFlag, text, textList, wholeNumber } from "../localBuild/flags";
import { LocalBuildResult, LocalHost, startLocalHost } from "../standIn/host";
import { RegistryMode, registryModeSetInEnv, REGISTRY_MODES, runScenario } from "../standIn/scenario";

export const KINDS: { kind: FaultKind; title: string }[] = [
    { kind: "503", title: "503" },
    { kind: "429", title: "429, empty body (as on a HEAD)" },
    { kind: "429json", title: "429, ECR's JSON body" },
    { kind: "500", title: "500" },
    { kind: "reset", title: "connection reset" },
];
const RATE = 0.1;
const DIR = path.join(__dirname, "..", "results");

export interface Trial {
    strategy: CacheStrategy;
    builder: string;
    kind: FaultKind;
    seed: number;
    /** Work steps of the Dockerfile (the change is halfway). */
    steps: number;
    survived: boolean;
    /** Steps no attempt had to run ({@link cacheHits}), and the same for the baseline (the change build without faults). */
    hits: number;
    baselineHits: number;
    /** Retry lines the build printed: > 0 means it would have failed, or built without its cache, without the retries. */
    retries: number;
    /** Of those attempts, the ones build.sh stopped because the cache import failed on a transient error. */
    importRestarts: number;
    faults: number;
    requests: number;
    buildSeconds: number;
    baselineSeconds: number;
    /** What the retries cost ({@link retryCost}), 0 without a retry. */
    retrySeconds: number;
    /** The build's last ERROR line, if it failed. */
    error?: string;
}

const RETRY_LINE = / failed on a transient registry error \(attempt \d+ of \d+\): .*; next try in (\d+) s$/;
const IMPORT_STOP = /^layer cache: stopped the build before it built without its cache: /;
const printed = (r: LocalBuildResult) => r.lines.filter((l) => l.stream !== "runner").map((l) => l.text);

/**
 * The cache hits of a run of a Dockerfile of `steps` non-FROM steps: the steps that no BuildKit invocation of the run
 * ran (`steps` minus every invocation's rebuilt steps). An attempt stopped at its cache import ran none; a retry after a
 * failed push takes every step from the builder's local cache; the registry strategy's separate export runs none: so
 * a run keeps its hits exactly when it ran no more steps than the same build without faults.
 */
export function cacheHits(r: Pick<LocalBuildResult, "steps">, steps: number): number {
    return steps - r.steps.builds.reduce((n, b) => n + b.rebuilt, 0);
}

/**
 * What the retries of a run cost, in seconds: per buildspec command that printed a retry line, the time from the
 * command's start to the start of its last attempt (its failed attempts and the waits between them). Read from the
 * lines' own times, so a slow machine lengthens it only as much as it lengthened those attempts.
 */
export function retryCost(r: Pick<LocalBuildResult, "lines">): number {
    let start = 0;
    let next: number | undefined;
    let total = 0;
    for (const l of r.lines) {
        if (l.stream === "runner" && l.text.startsWith("Running command ")) {
            if (next !== undefined) total += next - start;
            start = l.t;
            next = undefined;
            continue;
        }
        const m = l.stream === "runner" ? null : RETRY_LINE.exec(l.text);
        if (m) next = l.t + Number(m[1]) * 1000;
    }
    if (next !== undefined) total += next - start;
    return total / 1000;
}

/** A strategy on a builder: `registry` runs on either; `inline` and `pull` on the daemon's builder. */
export interface Cell {
    strategy: CacheStrategy;
    registryMode?: RegistryMode;
}
const builderName = (c: Cell) =>
    c.strategy !== "registry"
        ? "daemon's builder"
        : c.registryMode === "containerd-store"
          ? "daemon's builder, containerd store"
          : "docker-container";

/** Runs the trials of one cell in its own repository; returns them and whether the healthy build then hit as before. */
export async function measureCell(
    host: LocalHost,
    cell: Cell,
    runs: number,
    log: (line: string) => void,
    steps = 3,
): Promise<{ trials: Trial[]; healthyAfter: string }> {
    const { strategy, registryMode } = cell;
    const builder = builderName(cell);
    const repo = `reliability/${strategy}${registryMode ? `-${registryMode}` : ""}`;
    const o = { baseImage: host.base.ref, steps, mbPerStep: 1, hashRounds: 1 };
    const STEPS = steps + 1; // the work steps and the change marker's step (localBuild/dockerfile.ts)
    const changeAt = Math.ceil(steps / 2);
    const one = (dockerfile: string, label: string) =>
        runScenario({ host, strategy, repo, dockerfile, registryMode, quiet: true, printReport: false, label });
    const cold = await one(singleStage(o), `${strategy} cold`);
    if (!cold.succeeded) throw new Error(`the healthy cold build of ${strategy} failed:\n${cold.output.slice(-3000)}`);
    const base = await one(singleStage({ ...o, changeAt, changeMarker: "baseline" }), `${strategy} baseline`);
    if (!base.succeeded)
        throw new Error(`the healthy change build of ${strategy} failed:\n${base.output.slice(-3000)}`);
    const baselineHits = cacheHits(base, STEPS);
    const baselineSeconds = base.timings.buildMs / 1000;
    log(`${strategy} on ${builder}: baseline change build without faults: ${baselineHits} hits, ${baselineSeconds} s`);
    const trials: Trial[] = [];
    let last = "";
    for (const { kind } of KINDS) {
        for (let seed = 1; seed <= runs; seed++) {
            // A new change each time, so every trial is a change build against the cache the previous one left.
            last = singleStage({ ...o, changeAt, changeMarker: `${kind}-${seed}` });
            host.registry.faults.set({ rate: RATE, kinds: [kind], repo, seed });
            let r: LocalBuildResult;
            try {
                r = await one(last, `${strategy} ${kind} seed ${seed}`);
            } finally {
                host.registry.faults.clear();
            }
            const s = host.registry.faults.stats();
            const lines = printed(r);
            const t: Trial = {
                strategy,
                builder,
                kind,
                seed,
                steps,
                survived: r.succeeded,
                hits: cacheHits(r, STEPS),
                baselineHits,
                retries: lines.filter((l) => RETRY_LINE.test(l)).length,
                importRestarts: lines.filter((l) => IMPORT_STOP.test(l)).length,
                faults: s.log.length,
                requests: s.matched,
                buildSeconds: r.timings.buildMs / 1000,
                baselineSeconds,
                retrySeconds: retryCost(r),
                ...(r.succeeded ? {} : { error: lines.filter((l) => /^ERROR: /.test(l)).at(-1) }),
            };
            trials.push(t);
            log(
                `${strategy} on ${builder}, ${kind} seed ${seed}: ${t.survived ? "survived" : "FAILED"}, ${t.hits} hits (${t.baselineHits} without faults), ${t.faults} faults of ${t.requests} requests, ${t.retries} retries (${t.importRestarts} at the cache import; ${t.retrySeconds.toFixed(1)} s), ${t.buildSeconds.toFixed(1)} s${t.error ? `: ${t.error}` : ""}`,
            );
        }
    }
    const healthy = await one(last, `${strategy} healthy`);
    const b = healthy.steps.builds[0];
    const expected = strategy === "pull" ? [0, STEPS] : [STEPS, 0];
    const healthyAfter =
        healthy.succeeded && b && b.cached === expected[0] && b.rebuilt === expected[1]
            ? `hits as before (${b.cached} of ${STEPS} steps cached)`
            : `NOT as before: ${healthy.succeeded ? `${b?.cached} cached, ${b?.rebuilt} rebuilt` : "failed"}`;
    log(`${strategy} on ${builder}: healthy build afterwards: ${healthyAfter}`);
    return { trials, healthyAfter };
}

const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** The markdown table: one row per strategy, builder and fault. */
export function reliabilityTable(trials: readonly Trial[], healthy: Record<string, string>): string {
    const head =
        "| strategy and builder | fault (10 % of requests) | succeeded | hits kept | runs needing a retry (of which at the cache import) | the retries' cost per run: median, max | next healthy build |";
    const sep = "|---|---|---|---|---|---|---|";
    const rows: string[] = [];
    for (const cell of [...new Set(trials.map((t) => `${t.strategy}|${t.builder}`))]) {
        const [strategy, builder] = cell.split("|");
        for (const { kind, title } of KINDS) {
            const ts = trials.filter((t) => t.strategy === strategy && t.builder === builder && t.kind === kind);
            if (ts.length === 0) continue;
            const ok = ts.filter((t) => t.survived).length;
            const kept = ts.filter((t) => t.hits === t.baselineHits).length;
            const retried = ts.filter((t) => t.retries > 0);
            const atImport = ts.filter((t) => t.importRestarts > 0).length;
            const cost = retried.map((t) => t.retrySeconds);
            const n = ts.length;
            rows.push(
                `| \`${strategy}\`, ${builder === "docker-container" ? "`docker-container` builder" : builder} | ${title} | ` +
                    `${ok === n ? "" : "**"}${ok} of ${n}${ok === n ? "" : "**"} | ` +
                    `${kept === n ? "" : "**"}${kept} of ${n}${kept === n ? "" : "**"} (${ts[0].baselineHits} hits without faults) | ` +
                    `${retried.length} (${atImport}) | ` +
                    `${cost.length ? `${median(cost).toFixed(1)} s, ${Math.max(...cost).toFixed(1)} s` : "-"} | ` +
                    `${healthy[cell] ?? "-"} |`,
            );
        }
    }
    return [head, sep, ...rows].join("\n");
}

function write(out: string, runs: string, trials: Trial[], healthy: Record<string, string>): string {
    const steps = [...new Set(trials.map((t) => t.steps ?? 3))].join(" or ");
    const table = reliabilityTable(trials, healthy);
    fs.writeFileSync(path.join(DIR, `${out}.json`), JSON.stringify({ rate: RATE, trials, healthy }, null, 2) + "\n");
    fs.writeFileSync(
        path.join(DIR, `${out}.md`),
        [
            "# Reliability under transient registry errors",
            "",
            `Measured with \`npx tsx bench/reliability.ts\` (${runs}): per strategy, builder and fault, change builds (one seed per run) ` +
                `of a ${steps}-step Dockerfile (changed halfway) on fresh local hosts, while the registry's front failed ${RATE * 100} % of the blob and ` +
                "manifest requests with that fault; then one healthy build.",
            "",
            "- **hits kept**: the run's hits (steps no attempt had to run) equal those of the same change build without faults.",
            "- **runs needing a retry**: the run printed a retry line, so its first attempt of some registry operation failed: " +
                "without the retries it would have failed, or (at the cache import) built without its cache.",
            "- **the retries' cost**: per run that needed a retry, the time its retried commands spent before their last attempt " +
                "(the failed attempts and the waits), from the build log's own times.",
            "",
            table,
            "",
        ].join("\n"),
    );
    return table;
}

const flags = {
    strategy: strategyFlag,
    runs: wholeNumber({ min: 1, default: 10, help: "Runs (seeds) per strategy, builder and fault." }),
    steps: wholeNumber({ min: 2, default: 3, help: "Work steps of the synthetic Dockerfile; the change is halfway." }),
    out: text({ default: "reliability", help: "Name of the results: results/NAME.md and results/NAME.json." }),
    from: textList({
        help: "Measure nothing: merge earlier results (results/NAME.json; the flag repeated for more) into --out.",
        placeholder: "NAME",
    }),
};

const command: Command<typeof flags> = {
    name: "npx tsx bench/reliability.ts",
    summary:
        "Measures the reliability table of issues 14 and 25: change builds on fresh local hosts while the registry\n" +
        "fails 10 % of its blob and manifest requests with one transient fault, per strategy, builder and fault: whether\n" +
        "each succeeded and kept its cache hits; writes results/reliability.md and results/reliability.json.",
    flags,
    examples: [
        "npx tsx bench/reliability.ts",
        "npx tsx bench/reliability.ts --strategy inline --runs 5 --out reliability-inline",
        "npx tsx bench/reliability.ts --from reliability-inline --from reliability-registry",
    ],
};

if (require.main === module) {
    runCommand(command, async (values) => {
        if (values.from.length > 0) {
            const parts = values.from.map(
                (n) =>
                    JSON.parse(fs.readFileSync(path.join(DIR, `${n}.json`), "utf8")) as {
                        trials: Trial[];
                        healthy: Record<string, string>;
                    },
            );
            const trials = parts.flatMap((p) => p.trials);
            const healthy = Object.assign({}, ...parts.map((p) => p.healthy)) as Record<string, string>;
            console.log(write(values.out, `merged from ${values.from.join(", ")}`, trials, healthy));
            return;
        }
        const host = await startLocalHost();
        const trials: Trial[] = [];
        const healthy: Record<string, string> = {};
        const set = registryModeSetInEnv();
        const cells = values.strategy.flatMap((strategy): Cell[] =>
            strategy === "registry"
                ? (set ? [set] : REGISTRY_MODES).map((registryMode) => ({ strategy, registryMode }))
                : [{ strategy }],
        );
        try {
            for (const cell of cells) {
                const m = await measureCell(host, cell, values.runs, console.log, values.steps);
                trials.push(...m.trials);
                healthy[`${cell.strategy}|${builderName(cell)}`] = m.healthyAfter;
            }
        } finally {
            await host.stop();
        }
        console.log(`\n${write(values.out, `--runs ${values.runs} --steps ${values.steps}`, trials, healthy)}`);
    });
}
