/**
 * `npm run bench:skip`: the skip measurement on its own, small and quick (skip unchanged builds,
 * components/buildspec/key.sh): per strategy that skips (`inline`, `registry`), a cold build and a rebuild with no
 * change, both with `skipUnchanged` on, each on a fresh local build host against the same registry, with the
 * buildspec the component generates. The warm build must run no docker build at all (runExperiment fails otherwise):
 * its ratio to cold, and the layer MB and blob GETs it pulled, are the numbers.
 *
 * `npm run bench` measures the same (`warm, skip on`, after `warm`) in its main table, in the same run as the cold
 * build, on both workloads, with issue 12's target lines: that is the table of record. This command reuses its code
 * (localBuild/experiment.ts runExperiment with the runs `cold` and `warm, skip on`, RUN_PLAN's arguments).
 *
 *   npm run bench:skip                                          # the bench's default workload, both strategies
 *   npm run bench:skip -- --steps 4 --mb 1 --rounds 1           # small
 *
 * Writes `<out>/bench-skip.json` and `<out>/bench-skip.md`.
 */
import * as fs from "fs";
import * as path from "path";
import type { CacheStrategy } from "../components/args";
import { SKIP_STRATEGIES } from "../components/skip";
import type { LocalHost } from "../standIn/host";
import { startLocalHost } from "../standIn/host";
import { Command, mbFlag, roundsFlag, runCommand, stepsFlag, strategyFlag, text } from "../localBuild/flags";
import { chooseRegistryMode, RegistryMode } from "../standIn/scenario";
import type { ExperimentConfig, RunName } from "../localBuild/experiment";
import { runExperiment, RunRecord } from "../localBuild/experiment";

/** The runs of this command: a cold build, then the no-change rebuild that must be skipped. */
export const SKIP_RUNS: readonly RunName[] = ["cold", "warm, skip on"];

/** Cold, then warm with no change, both with skipUnchanged on (RUN_PLAN), for one strategy. */
export async function runSkipExperiment(
    host: LocalHost,
    strategy: CacheStrategy,
    cfg: Pick<ExperimentConfig, "steps" | "mbPerStep" | "hashRounds">,
    opts: { repo: string; registryMode?: RegistryMode; quiet?: boolean },
): Promise<RunRecord[]> {
    return runExperiment(host, strategy, cfg, {
        repo: opts.repo,
        registryMode: opts.registryMode,
        quiet: opts.quiet ?? true,
        runs: SKIP_RUNS,
    });
}

/** The table: per variant, cold and warm with skip on, the warm one as a share of cold. */
export function skipMarkdown(records: readonly RunRecord[]): string {
    const rows = records.map((r) => {
        const cold = records.find((x) => x.variant === r.variant && x.run === "cold")!;
        return `| ${r.variant} | ${r.run} | ${r.buildSeconds.toFixed(1)} | ${((100 * r.buildSeconds) / cold.buildSeconds).toFixed(1)} % | ${r.skipped ? "yes" : "no"} | ${r.dockerBuilds ?? ""} | ${r.pulledMB.toFixed(2)} | ${r.blobGets ?? ""} | ${r.pushedMB.toFixed(2)} |`;
    });
    return [
        "| variant | run | build s | of cold | skipped | docker builds | layer MB pulled | blob GETs | MB pushed |",
        "|---|---|---:|---:|---|---:|---:|---:|---:|",
        ...rows,
    ].join("\n");
}

const flags = {
    strategy: strategyFlag,
    steps: stepsFlag({ min: 2, default: 24 }),
    mb: mbFlag({ min: 0, default: 12 }),
    rounds: roundsFlag({ min: 0, default: 80 }),
    out: text({ default: "results", help: "Folder for bench-skip.json and bench-skip.md.", placeholder: "DIR" }),
};

const command: Command<typeof flags> = {
    name: "npm run bench:skip --",
    summary:
        "Skip unchanged builds: a cold build, then a rebuild with no change, both with skipUnchanged on, for each\n" +
        "strategy that skips, on a fresh local Docker host per build. Writes bench-skip.json and bench-skip.md.",
    flags,
    examples: ["npm run bench:skip", "npm run bench:skip -- --steps 4 --mb 1 --rounds 1 --strategy registry"],
};

if (require.main === module) {
    runCommand(command, async (values) => {
        const cfg = { steps: values.steps, mbPerStep: values.mb, hashRounds: values.rounds };
        const host = await startLocalHost();
        const records: RunRecord[] = [];
        try {
            const mode = values.strategy.includes("registry") ? await chooseRegistryMode(host) : undefined;
            for (const strategy of values.strategy.filter((s) => SKIP_STRATEGIES.includes(s))) {
                records.push(
                    ...(await runSkipExperiment(host, strategy, cfg, {
                        repo: `bench/skip-${strategy}-${Date.now().toString(36)}`,
                        registryMode: mode,
                    })),
                );
                console.log(skipMarkdown(records.filter((r) => r.strategy === strategy)));
            }
        } finally {
            await host.stop();
        }
        const out = path.resolve(values.out);
        fs.mkdirSync(out, { recursive: true });
        const md = `# Skip unchanged builds: warm with skip on\n\n${cfg.steps} steps of ${cfg.mbPerStep} MB, ${cfg.hashRounds} hash rounds; ${new Date().toISOString()}\n\n${skipMarkdown(records)}\n`;
        fs.writeFileSync(path.join(out, "bench-skip.json"), JSON.stringify({ config: cfg, records }, null, 2) + "\n");
        fs.writeFileSync(path.join(out, "bench-skip.md"), md);
        console.log(`\n${skipMarkdown(records)}\n\nwrote ${path.join(out, "bench-skip.json")} and bench-skip.md`);
    });
}
