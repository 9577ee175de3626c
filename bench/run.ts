/**
 * `npm run bench`: the original write-up's experiment (cold, warm with no change, change halfway) for every cache
 * strategy in one run, plus `warm, skip on` for the strategies that skip unchanged builds, on two synthetic workloads: `heavy` (24 steps of real work, the original's ratio of work to
 * image size) and `light` (48 cheap steps, where fixed costs dominate). The `registry` strategy runs on both
 * builders: CodeBuild's `docker-container` builder (where a fresh host can get its BuildKit image; the run says so in
 * one line otherwise) and the daemon's own builder on the containerd store; CBCACHE_LOCAL_REGISTRY_MODE limits it to
 * one. The docker-container builder's start (image, create and bootstrap) is reported per build, and so are the
 * export's own time, the share of each build that is not Dockerfile work and how far a no-change rebuild is from
 * its floor (a few registry round-trips, measured: bench/limit.ts).
 *
 * The runs measure what a user gets by default (localBuild/experiment.ts RUN_PLAN, mainRuns): for `inline` and `registry`
 * (components/skip.ts SKIP_STRATEGIES) `cold` and `change` run with skipUnchanged on, the component's default (key
 * misses, so they build); `warm` with it off (the engine's no-change rebuild); `warm, skip on` with it on, after
 * `warm`, and it must be skipped (the bench fails if a build skips or builds against the plan). `pull` never skips:
 * cold, warm, change. Issue 12's targets, including warm with skip on against the cold build of the same run, are
 * lines under the table (bench/results.ts issue12Targets). `npm run bench:skip` (bench/skip.ts) runs only cold and
 * `warm, skip on`, with the same code, for a quick look.
 *
 * Opt-in sections (bench/section.ts), after the main table:
 * - `--scale`: the light workload at 12, 24, 48 and 96 steps per strategy, four change builds each (bench/scale.ts,
 *   chart bench-scale.svg); `--scale-steps 4,8` runs it small, for a smoke test;
 * - `--docker-server`: CodeBuild's Docker server modelled, beside inline and registry (bench/dockerServer.ts).
 * Writes bench.json, bench.md, bench.svg (and bench-<section>.svg) to `--out` (default results/). Numbers are ratios to the cold build of
 * the same strategy and workload in the same run, because this machine is shared and noisy.
 *
 *   npm run bench                                  # main table: both workloads, every strategy
 *   npm run bench -- --scale --docker-server       # and the two sections
 *   npm run bench -- --workload custom --steps 24 --mb 12 --rounds 80 --strategy inline,registry,pull
 *   npm run bench -- --workload custom --steps 4 --mb 1 --rounds 1 --scale --scale-steps 4,8 --out /tmp/bench-smoke
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { CacheStrategy } from "../components/args";
import { startLocalHost } from "../standIn/host";
import { chooseRegistryMode, RegistryMode, registryModeSetInEnv } from "../standIn/scenario";
import {
    booleanFlag,
    Command,
    invalidValue,
    mbFlag,
    roundsFlag,
    runCommand,
    stepsFlag,
    strategyFlag,
    text,
    wholeNumber,
} from "../localBuild/flags";
import {
    changeStep,
    mainRuns,
    Progress,
    runExperiment,
    RunRecord,
    summaryTable,
    workShareAfterChange,
} from "../localBuild/experiment";
import { BenchResults, chartSvg, issue12Targets, markdown, ORIGINAL, TARGETS, verdicts } from "./results";
import { scaleStepsFlag, selectedWorkloads, workloadFlag } from "./options";
import { measureRegistryLimit } from "./limit";
import { scaleSection } from "./scale";
import { dockerServerSection } from "./dockerServer";
import type { BenchContext, BenchSection, SectionResult } from "./section";

const flags = {
    strategy: strategyFlag,
    workload: workloadFlag,
    steps: stepsFlag({ min: 2, default: 24 }),
    mb: mbFlag({ min: 0, default: 12 }),
    // 80 hash passes over 12 MB take about 6 s here: about 0.5 s of work per MB of image, the original's
    // ratio (39 min cold for an image of almost 5 GB).
    rounds: roundsFlag({ min: 0, default: 80 }),
    "change-at": wholeNumber({
        min: 1,
        help: "Step that changes in the third run of the custom workload, at most --steps.",
        defaultText: "the middle step",
    }),
    scale: booleanFlag("Also run the scale series: the light workload at 12, 24, 48 and 96 steps per strategy."),
    "scale-steps": scaleStepsFlag,
    "docker-server": booleanFlag(
        "Also run CodeBuild's Docker server, modelled: cold, warm, change and warm after a recycle, per workload.",
    ),
    "idle-seconds": wholeNumber({
        min: 1,
        default: 5,
        help: "The modelled Docker server's idle time before it recycles.",
    }),
    out: text({ default: "results", help: "Folder for bench.json, bench.md and the SVG charts.", placeholder: "DIR" }),
};

const command: Command<typeof flags> = {
    name: "npm run bench --",
    summary:
        "The original write-up's experiment (cold, warm with no change, change halfway) for each cache strategy and\n" +
        "workload, on a fresh local Docker host per build; optionally the scale series and the Docker server.\n" +
        "Writes bench.json, bench.md and SVG charts.",
    flags,
    examples: [
        "npm run bench",
        "npm run bench -- --scale --docker-server",
        "npm run bench -- --workload custom --steps 24 --mb 12 --rounds 80 --strategy inline,registry,pull",
    ],
};

runCommand(command, async (values) => {
    const strategies = values.strategy;
    const custom = { steps: values.steps, mbPerStep: values.mb, hashRounds: values.rounds };
    const workloads = selectedWorkloads(values.workload, custom);
    if (values["change-at"] !== undefined && values["change-at"] > values.steps)
        throw invalidValue("change-at", String(values["change-at"]), `1 to ${values.steps} (the value of --steps)`);

    // The sections switched on, in order. Another measurement hooks in here with one line.
    const sections: BenchSection[] = [
        ...(values.scale ? [scaleSection(values["scale-steps"])] : []),
        ...(values["docker-server"] ? [dockerServerSection(workloads, values["idle-seconds"])] : []),
    ];

    const t0 = Date.now();
    const host = await startLocalHost();
    const records: RunRecord[] = [];
    const sectionResults: SectionResult[] = [];
    let registryModes: RegistryMode[] = [];
    let registryMode: RegistryMode = "docker-container";
    let limit: BenchResults["limit"];
    try {
        if (strategies.includes("registry")) {
            // Both builders, unless the environment names one; docker-container only where its image can be had.
            registryMode = await chooseRegistryMode(host);
            registryModes =
                registryModeSetInEnv() || registryMode === "containerd-store"
                    ? [registryMode]
                    : ["docker-container", "containerd-store"];
        }
        const runs = strategies.flatMap((strategy): Array<{ strategy: CacheStrategy; registryMode?: RegistryMode }> =>
            strategy === "registry"
                ? registryModes.map((registryMode) => ({ strategy, registryMode }))
                : [{ strategy }],
        );
        const ctxBase = { host, strategies, registryMode };
        const total =
            workloads.length * runs.reduce((n, r) => n + mainRuns(r.strategy).length, 0) +
            sections.reduce((n, s) => n + s.count(ctxBase), 0);
        let done = 0;
        const progress: Progress = (e) => {
            const elapsed = ((Date.now() - t0) / 1000).toFixed(0);
            if (e.phase === "start") {
                process.stdout.write(`[bench ${done + 1}/${total}, ${elapsed} s] ${e.variant} ${e.run} ... `);
            } else if (e.record) {
                done++;
                const r = e.record;
                const builder =
                    r.builderImageSeconds !== undefined
                        ? `; builder: image ${r.builderImageSeconds.toFixed(1)} s, create ${(r.builderCreateSeconds ?? 0).toFixed(1)} s`
                        : "";
                const exp = r.exportSeconds !== undefined ? `; export ${r.exportSeconds.toFixed(1)} s` : "";
                console.log(
                    `${r.workload ?? ""} ${r.buildSeconds.toFixed(1)} s (${r.skipped ? "skipped, " : ""}${r.cachedSteps} cached, ${r.rebuiltSteps} rebuilt, ${r.pulledMB.toFixed(0)} MB pulled, ${r.pushedMB.toFixed(0)} MB pushed${builder}${exp})`,
                );
            }
        };
        const stamp = Date.now().toString(36);
        const ctx: BenchContext = { ...ctxBase, progress, repo: (label) => `bench/${label}-${stamp}` };

        for (const w of workloads) {
            for (const { strategy, registryMode } of runs) {
                records.push(
                    ...(await runExperiment(
                        host,
                        strategy,
                        {
                            steps: w.steps,
                            mbPerStep: w.mbPerStep,
                            hashRounds: w.hashRounds,
                            changeAt: w.name === "custom" ? values["change-at"] : undefined,
                        },
                        {
                            repo: ctx.repo(`${w.name}-${strategy}${registryMode ? `-${registryMode}` : ""}`),
                            registryMode,
                            quiet: true,
                            workload: w.name,
                            progress,
                            runs: mainRuns(strategy),
                        },
                    )),
                );
            }
        }
        // The floor of a no-change rebuild: registry round-trips against an image that exists (the base image).
        const baseRef = host.base.ref.slice(host.registry.address.length + 1);
        const [baseRepo, baseTag] = [
            baseRef.slice(0, baseRef.lastIndexOf(":")),
            baseRef.slice(baseRef.lastIndexOf(":") + 1),
        ];
        limit = await measureRegistryLimit(host.registry, baseRepo, baseTag);
        for (const s of sections) sectionResults.push(await s.run(ctx));
    } finally {
        await host.stop();
    }

    const first = workloads[0];
    const firstCfg = { steps: first.steps, mbPerStep: first.mbPerStep, hashRounds: first.hashRounds };
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
        config: { ...firstCfg, changeAt: changeStep(firstCfg), imageMB: first.steps * first.mbPerStep },
        workloads,
        records,
        limit,
        sections: sectionResults,
        original: ORIGINAL,
        targets: { ...TARGETS, changeMaxRatio: workShareAfterChange(firstCfg) + TARGETS.changeSlack },
    };
    const out = path.resolve(values.out);
    fs.mkdirSync(out, { recursive: true });
    const bySection = new Map(sections.map((s) => [s.key, s]));
    const md = [markdown(results), ...sectionResults.map((r) => bySection.get(r.key)!.markdown(r))].join("\n");
    fs.writeFileSync(path.join(out, "bench.json"), JSON.stringify(results, null, 2) + "\n");
    fs.writeFileSync(path.join(out, "bench.md"), md);
    fs.writeFileSync(path.join(out, "bench.svg"), await chartSvg(results));
    for (const r of sectionResults) {
        const svg = bySection.get(r.key)!.svg;
        if (svg) fs.writeFileSync(path.join(out, `bench-${r.key}.svg`), await svg(r));
    }
    console.log(`\n${summaryTable([...records, ...sectionResults.flatMap((r) => r.records)])}\n`);
    // A skipped build starts no builder: not counted.
    const starts = records.filter((r) => r.builderImageSeconds !== undefined && !r.skipped);
    if (starts.length) {
        const avg = (f: (r: RunRecord) => number) => starts.reduce((n, r) => n + f(r), 0) / starts.length;
        console.log(
            `docker-container builder start, paid on every build that is not skipped: image ${avg((r) => r.builderImageSeconds ?? 0).toFixed(1)} s (pull attempt + load) + create/bootstrap ${avg((r) => r.builderCreateSeconds ?? 0).toFixed(1)} s, mean of ${starts.length} builds\n`,
        );
    }
    for (const v of verdicts(results)) {
        const skip =
            v.skipWarmRatio === undefined
                ? ""
                : `, warm with skip on ${(v.skipWarmRatio * 100).toFixed(1)} % (${(v.skipWarmPulledMB ?? 0).toFixed(1)} MB pulled)`;
        console.log(
            `${v.workload ?? ""} ${v.strategy}: warm ${(v.warmRatio * 100).toFixed(1)} % of cold${skip}, change ${(v.changeRatio * 100).toFixed(1)} %`,
        );
    }
    console.log(`\n${issue12Targets(results).join("\n")}`);
    console.log(
        `\nwrote ${path.join(out, "bench.json")}, bench.md and the charts in ${((Date.now() - t0) / 1000).toFixed(0)} s`,
    );
});
