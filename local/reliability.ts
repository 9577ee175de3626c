/**
 * `npx tsx local/reliability.ts`: the reliability table of issue 14, measured on the project as built. For each
 * cache strategy (and, for `registry`, CodeBuild's docker-container builder) and each transient fault (503, 429
 * with an empty body, 500, a dropped connection), it runs change builds of a small synthetic Dockerfile on fresh
 * local hosts while the registry's front (faults.ts) fails 10 % of the blob and manifest requests with that
 * fault, one seed per run, then one healthy build, and writes `results/reliability.md` and `.json`.
 *
 * A build "survived" if it succeeded. It would have survived without the retries only if its first attempt of
 * every command succeeded: registry_retry runs a second attempt only after a first one failed, so a build that
 * printed a retry line would have failed without them. The healthy build afterwards checks that the cache is
 * hit as before (every step, except for `pull`, which gets no hit under BuildKit by design).
 *
 *   npx tsx local/reliability.ts                       # all strategies, 3 runs per cell
 *   npx tsx local/reliability.ts --strategy inline --runs 5
 */
import * as fs from "fs";
import * as path from "path";
import { singleStage } from "../bench/dockerfile";
import type { CacheStrategy } from "../components/args";
import type { FaultKind } from "./faults";
import { Command, runCommand, strategyFlag, wholeNumber } from "./flags";
import { LocalBuildResult, LocalHost, startLocalHost } from "./host";
import { chooseRegistryMode, RegistryMode, runScenario } from "./scenario";

const KINDS: { kind: FaultKind; title: string }[] = [
    { kind: "503", title: "503" },
    { kind: "429", title: "429 (empty body, as on a HEAD)" },
    { kind: "500", title: "500" },
    { kind: "reset", title: "connection reset" },
];
const RATE = 0.1;

export interface Trial {
    strategy: CacheStrategy;
    builder: string;
    kind: FaultKind;
    seed: number;
    survived: boolean;
    /** Retry lines the build printed: > 0 means it would have failed without the retries. */
    retries: number;
    faults: number;
    requests: number;
    buildSeconds: number;
    /** The build's last ERROR line, if it failed. */
    error?: string;
}

const RETRY_LINE = / failed on a transient registry error \(attempt \d+ of \d+\)/;
const printed = (r: LocalBuildResult) => r.lines.filter((l) => l.stream !== "runner").map((l) => l.text);

/** Runs the trials of one strategy in its own repository; returns them and whether the healthy build then hit as before. */
export async function measureStrategy(
    host: LocalHost,
    strategy: CacheStrategy,
    registryMode: RegistryMode | undefined,
    runs: number,
    log: (line: string) => void,
): Promise<{ trials: Trial[]; healthyAfter: string }> {
    const repo = `reliability/${strategy}`;
    const o = { baseImage: host.base.ref, steps: 3, mbPerStep: 1, hashRounds: 1 };
    const builder = strategy === "registry" ? (registryMode ?? "docker-container") : "daemon's builder";
    const one = (dockerfile: string, label: string) =>
        runScenario({ host, strategy, repo, dockerfile, registryMode, quiet: true, printReport: false, label });
    const cold = await one(singleStage(o), `${strategy} cold`);
    if (!cold.succeeded) throw new Error(`the healthy cold build of ${strategy} failed:\n${cold.output.slice(-3000)}`);
    const trials: Trial[] = [];
    let last = "";
    for (const { kind } of KINDS) {
        for (let seed = 1; seed <= runs; seed++) {
            // A new change each time, so every trial is a change build against the cache the previous one left.
            last = singleStage({ ...o, changeAt: 2, changeMarker: `${kind}-${seed}` });
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
                survived: r.succeeded,
                retries: lines.filter((l) => RETRY_LINE.test(l)).length,
                faults: s.log.length,
                requests: s.matched,
                buildSeconds: r.timings.buildMs / 1000,
                ...(r.succeeded ? {} : { error: lines.filter((l) => /^ERROR: /.test(l)).at(-1) }),
            };
            trials.push(t);
            log(
                `${strategy} ${kind} seed ${seed}: ${t.survived ? "survived" : "FAILED"}, ${t.faults} faults of ${t.requests} requests, ${t.retries} retries, ${t.buildSeconds.toFixed(1)} s${t.error ? `: ${t.error}` : ""}`,
            );
        }
    }
    const healthy = await one(last, `${strategy} healthy`);
    const b = healthy.steps.builds[0];
    const expected = strategy === "pull" ? [0, 4] : [4, 0];
    const healthyAfter =
        healthy.succeeded && b && b.cached === expected[0] && b.rebuilt === expected[1]
            ? `hits as before (${b.cached} of 4 steps cached)`
            : `NOT as before: ${healthy.succeeded ? `${b?.cached} cached, ${b?.rebuilt} rebuilt` : "failed"}`;
    log(`${strategy} healthy build afterwards: ${healthyAfter}`);
    return { trials, healthyAfter };
}

/** The markdown table: one row per strategy and builder, one column per fault. */
export function reliabilityTable(trials: readonly Trial[], healthy: Record<string, string>): string {
    const rows = [...new Set(trials.map((t) => `${t.strategy}|${t.builder}`))];
    const head = `| strategy and builder | ${KINDS.map((k) => k.title).join(" | ")} | next healthy build |`;
    const sep = `|---|${KINDS.map(() => "---").join("|")}|---|`;
    const body = rows.map((row) => {
        const [strategy, builder] = row.split("|");
        const cells = KINDS.map(({ kind }) => {
            const ts = trials.filter((t) => t.strategy === strategy && t.builder === builder && t.kind === kind);
            const ok = ts.filter((t) => t.survived).length;
            const retried = ts.filter((t) => t.survived && t.retries > 0).length;
            const word = ok === ts.length ? "survived" : "**failed**";
            return `${word} ${ok} of ${ts.length}${retried ? ` (${retried} only thanks to a retry)` : ""}`;
        });
        return `| \`${strategy}\`, ${builder === "daemon's builder" ? "on the daemon's builder" : `on a \`${builder}\` builder`} | ${cells.join(" | ")} | ${healthy[strategy]} |`;
    });
    return [head, sep, ...body].join("\n");
}

const flags = {
    strategy: strategyFlag,
    runs: wholeNumber({ min: 1, default: 3, help: "Runs (seeds) per strategy and fault." }),
};

const command: Command<typeof flags> = {
    name: "npx tsx local/reliability.ts",
    summary:
        "Measures the reliability table of issue 14: change builds on fresh local hosts while the registry fails\n" +
        "10 % of its blob and manifest requests with one transient fault, per strategy and fault; writes\n" +
        "results/reliability.md and results/reliability.json.",
    flags,
    examples: ["npx tsx local/reliability.ts", "npx tsx local/reliability.ts --strategy inline --runs 5"],
};

if (require.main === module) {
    runCommand(command, async (values) => {
        const host = await startLocalHost();
        const trials: Trial[] = [];
        const healthy: Record<string, string> = {};
        try {
            const registryMode = values.strategy.includes("registry") ? await chooseRegistryMode(host) : undefined;
            for (const strategy of values.strategy) {
                const m = await measureStrategy(host, strategy, registryMode, values.runs, console.log);
                trials.push(...m.trials);
                healthy[strategy] = m.healthyAfter;
            }
        } finally {
            await host.stop();
        }
        const table = reliabilityTable(trials, healthy);
        console.log(`\n${table}`);
        const dir = path.join(__dirname, "..", "results");
        fs.writeFileSync(
            path.join(dir, "reliability.json"),
            JSON.stringify({ rate: RATE, trials, healthy }, null, 2) + "\n",
        );
        fs.writeFileSync(
            path.join(dir, "reliability.md"),
            [
                "# Reliability under transient registry errors",
                "",
                `Measured with \`npx tsx local/reliability.ts --runs ${values.runs}\`: per strategy and fault, ${values.runs} change builds ` +
                    `(seeds 1 to ${values.runs}) of a 3-step Dockerfile on fresh local hosts, while the registry's front failed ` +
                    `${RATE * 100} % of the blob and manifest requests with that fault; then one healthy build.`,
                "A build that printed a retry line would have failed without the retries (its first attempt failed).",
                "",
                table,
                "",
            ].join("\n"),
        );
    });
}
