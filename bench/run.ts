/**
 * `npm run bench`: the original write-up's experiment (cold, warm with no change, change halfway)
 * for every cache strategy in one run, on a synthetic Dockerfile large enough to matter. The `registry`
 * strategy runs on both builders: CodeBuild's `docker-container` builder (where a fresh host can get its
 * BuildKit image; the run says so in one line otherwise) and the daemon's own builder on the containerd
 * store; CBCACHE_LOCAL_REGISTRY_MODE limits it to one. The docker-container builder's start (image, create
 * and bootstrap) is reported per build.
 * Writes results/bench.json, results/bench.md and results/bench.svg. Numbers are ratios to the
 * cold build of the same strategy in the same run, because this machine is shared and noisy.
 *
 *   npm run bench
 *   npm run bench -- --steps 24 --mb 12 --rounds 80 --strategy inline,registry,pull
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { CacheStrategy } from "../components/args";
import { startLocalHost } from "../local/host";
import { chooseRegistryMode, RegistryMode, registryModeSetInEnv } from "../local/scenario";
import {
    Command,
    invalidValue,
    mbFlag,
    roundsFlag,
    runCommand,
    stepsFlag,
    strategyFlag,
    text,
    wholeNumber,
} from "../local/flags";
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

const flags = {
    strategy: strategyFlag,
    steps: stepsFlag({ min: 2, default: 24 }),
    mb: mbFlag({ min: 0, default: 12 }),
    // 80 hash passes over 12 MB take about 6 s here: about 0.5 s of work per MB of image, the original's
    // ratio (39 min cold for an image of almost 5 GB).
    rounds: roundsFlag({ min: 0, default: 80 }),
    "change-at": wholeNumber({
        min: 1,
        help: "Step that changes in the third run, at most --steps.",
        defaultText: "the middle step",
    }),
    out: text({ default: "results", help: "Folder for bench.json, bench.md and bench.svg.", placeholder: "DIR" }),
};

const command: Command<typeof flags> = {
    name: "npm run bench --",
    summary:
        "The original write-up's experiment (cold, warm with no change, change halfway) for each cache strategy,\n" +
        "on a fresh local Docker host per build. Writes bench.json, bench.md and bench.svg.",
    flags,
    examples: ["npm run bench", "npm run bench -- --steps 24 --mb 12 --rounds 80 --strategy inline,registry,pull"],
};

runCommand(command, async (values) => {
    const strategies = values.strategy;
    const steps = values.steps;
    const cfg: ExperimentConfig = {
        steps,
        mbPerStep: values.mb,
        hashRounds: values.rounds,
        changeAt: values["change-at"],
    };
    if (cfg.changeAt !== undefined && cfg.changeAt > steps)
        throw invalidValue("change-at", String(cfg.changeAt), `1 to ${steps} (the value of --steps)`);

    const t0 = Date.now();
    const host = await startLocalHost();
    const records: RunRecord[] = [];
    let registryModes: RegistryMode[] = [];
    try {
        if (strategies.includes("registry")) {
            // Both builders, unless the environment names one; docker-container only where its image can be had.
            const mode = await chooseRegistryMode(host);
            registryModes =
                registryModeSetInEnv() || mode === "containerd-store"
                    ? [mode]
                    : ["docker-container", "containerd-store"];
        }
        const runs = strategies.flatMap((strategy): Array<{ strategy: CacheStrategy; registryMode?: RegistryMode }> =>
            strategy === "registry"
                ? registryModes.map((registryMode) => ({ strategy, registryMode }))
                : [{ strategy }],
        );
        const total = runs.length * RUNS.length;
        let done = 0;
        for (const { strategy, registryMode } of runs) {
            records.push(
                ...(await runExperiment(host, strategy, cfg, {
                    repo: `bench/${strategy}${registryMode ? `-${registryMode}` : ""}-${Date.now().toString(36)}`,
                    registryMode,
                    quiet: true,
                    progress: (e) => {
                        const elapsed = ((Date.now() - t0) / 1000).toFixed(0);
                        if (e.phase === "start") {
                            process.stdout.write(
                                `[bench ${done + 1}/${total}, ${elapsed} s] ${e.variant} ${e.run} on a fresh host ... `,
                            );
                        } else if (e.record) {
                            done++;
                            const r = e.record;
                            const builder =
                                r.builderImageSeconds !== undefined
                                    ? `; builder: image ${r.builderImageSeconds.toFixed(1)} s, create ${(r.builderCreateSeconds ?? 0).toFixed(1)} s`
                                    : "";
                            console.log(
                                `${r.buildSeconds.toFixed(1)} s (${r.cachedSteps} cached, ${r.rebuiltSteps} rebuilt, ${r.pulledMB.toFixed(0)} MB pulled, ${r.pushedMB.toFixed(0)} MB pushed${builder})`,
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
            registryModes,
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
    const starts = records.filter((r) => r.builderImageSeconds !== undefined);
    if (starts.length) {
        const avg = (f: (r: RunRecord) => number) => starts.reduce((n, r) => n + f(r), 0) / starts.length;
        console.log(
            `docker-container builder start, paid on every build: image ${avg((r) => r.builderImageSeconds ?? 0).toFixed(1)} s (pull attempt + load) + create/bootstrap ${avg((r) => r.builderCreateSeconds ?? 0).toFixed(1)} s, mean of ${starts.length} builds\n`,
        );
    }
    for (const v of verdicts(results)) {
        console.log(
            `${v.strategy}: warm ${(v.warmRatio * 100).toFixed(1)} % of cold (target ≤ ${TARGETS.warmMaxRatio * 100} %), change ${(v.changeRatio * 100).toFixed(1)} % (target ≤ ${(results.targets.changeMaxRatio * 100).toFixed(1)} %)`,
        );
    }
    console.log(
        `\nwrote ${path.join(out, "bench.json")}, bench.md, bench.svg in ${((Date.now() - t0) / 1000).toFixed(0)} s`,
    );
});
