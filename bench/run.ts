/**
 * `npm run bench`: the original write-up's experiment (cold, warm with no change, change halfway)
 * for every cache strategy in one run, on a synthetic Dockerfile large enough to matter.
 * Writes results/bench.json, results/bench.md and results/bench.svg. Numbers are ratios to the
 * cold build of the same strategy in the same run, because this machine is shared and noisy.
 *
 *   npm run bench
 *   npm run bench -- --steps 24 --mb 12 --rounds 80 --strategy inline,registry,pull
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseArgs } from "util";
import { CACHE_STRATEGIES, CacheStrategy } from "../components/args";
import { startLocalHost } from "../local/host";
import { registryModeFromEnv } from "../local/scenario";
import {
    changeStep,
    ExperimentConfig,
    runExperiment,
    RunRecord,
    summaryTable,
    workShareAfterChange,
    RUNS,
} from "./experiment";
import { BenchResults, chartSvg, markdown, ORIGINAL, TARGETS, verdicts } from "./results";

function whole(name: string, v: string | undefined, dflt: number, min: number): number {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min)
        throw new Error(`Invalid value for '--${name}': ${JSON.stringify(v)}. Allowed: a whole number >= ${min}.`);
    return n;
}

async function main(): Promise<void> {
    const { values } = parseArgs({
        options: {
            steps: { type: "string" },
            mb: { type: "string" },
            rounds: { type: "string" },
            "change-at": { type: "string" },
            strategy: { type: "string", default: CACHE_STRATEGIES.join(",") },
            out: { type: "string", default: "results" },
        },
    });
    const strategies = values.strategy.split(",") as CacheStrategy[];
    for (const s of strategies) {
        if (!(CACHE_STRATEGIES as readonly string[]).includes(s)) {
            throw new Error(
                `Invalid value for '--strategy': ${JSON.stringify(s)}. Allowed: a comma-separated list of ${CACHE_STRATEGIES.join(", ")}.`,
            );
        }
    }
    const steps = whole("steps", values.steps, 24, 2);
    const cfg: ExperimentConfig = {
        steps,
        mbPerStep: whole("mb", values.mb, 12, 0),
        // 80 hash passes over 12 MB take about 6 s here: about 0.5 s of work per MB of image, the original's
        // ratio (39 min cold for an image of almost 5 GB).
        hashRounds: whole("rounds", values.rounds, 80, 0),
        changeAt: values["change-at"] === undefined ? undefined : whole("change-at", values["change-at"], 1, 1),
    };
    if (cfg.changeAt !== undefined && cfg.changeAt > steps)
        throw new Error(`Invalid value for '--change-at': ${cfg.changeAt}. Allowed: 1 to ${steps}.`);

    const total = strategies.length * RUNS.length;
    let done = 0;
    const t0 = Date.now();
    const host = await startLocalHost();
    const records: RunRecord[] = [];
    try {
        for (const strategy of strategies) {
            records.push(
                ...(await runExperiment(host, strategy, cfg, {
                    repo: `bench/${strategy}-${Date.now().toString(36)}`,
                    quiet: true,
                    progress: (e) => {
                        const elapsed = ((Date.now() - t0) / 1000).toFixed(0);
                        if (e.phase === "start") {
                            process.stdout.write(
                                `[bench ${done + 1}/${total}, ${elapsed} s] ${strategy} ${e.run} on a fresh host ... `,
                            );
                        } else if (e.record) {
                            done++;
                            const r = e.record;
                            console.log(
                                `${r.buildSeconds.toFixed(1)} s (${r.cachedSteps} cached, ${r.rebuiltSteps} rebuilt, ${r.pulledMB.toFixed(0)} MB pulled, ${r.pushedMB.toFixed(0)} MB pushed)`,
                            );
                        }
                    },
                })),
            );
        }
    } finally {
        await host.stop();
    }

    const results: BenchResults = {
        date: new Date().toISOString(),
        machine: {
            cpus: os.cpus().length,
            memoryGB: Math.round(os.totalmem() / 2 ** 30),
            docker: {
                dockerd: host.dockerEnv.versions.dockerd,
                buildx: host.dockerEnv.versions.buildx,
                client: host.dockerEnv.versions.client,
            },
            registryMode: registryModeFromEnv(),
        },
        config: { ...cfg, changeAt: changeStep(cfg), imageMB: cfg.steps * cfg.mbPerStep },
        records,
        original: ORIGINAL,
        targets: { ...TARGETS, changeMaxRatio: workShareAfterChange(cfg) + TARGETS.changeSlack },
    };
    const out = path.resolve(values.out);
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, "bench.json"), JSON.stringify(results, null, 2) + "\n");
    fs.writeFileSync(path.join(out, "bench.md"), markdown(results));
    fs.writeFileSync(path.join(out, "bench.svg"), await chartSvg(results));
    console.log(`\n${summaryTable(records)}\n`);
    for (const v of verdicts(results)) {
        console.log(
            `${v.strategy}: warm ${(v.warmRatio * 100).toFixed(1)} % of cold (target ≤ ${TARGETS.warmMaxRatio * 100} %), change ${(v.changeRatio * 100).toFixed(1)} % (target ≤ ${(results.targets.changeMaxRatio * 100).toFixed(1)} %)`,
        );
    }
    console.log(
        `\nwrote ${path.join(out, "bench.json")}, bench.md, bench.svg in ${((Date.now() - t0) / 1000).toFixed(0)} s`,
    );
}

main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
});
