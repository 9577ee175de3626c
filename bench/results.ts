/**
 * Benchmark results: the JSON record, a Markdown table, and a chart (vega-lite, rendered to SVG
 * headless by vega). Pure apart from the chart renderer, which is loaded on demand.
 *
 * Issue 12's targets are read from one run's records ({@link issue12Targets}): warm with skip on against the cold
 * build of the same strategy and workload (main table), warm without skip on the light workload (main table), and
 * `registry` change against `inline` change at the scale series' largest step count (its mean of four change builds).
 */
import {
    builderStart,
    ExperimentConfig,
    overheadShare,
    ratioToCold,
    RUN_PLAN,
    RunName,
    RunRecord,
} from "../localBuild/experiment";
import { registryVsInlineChange, scaleRows } from "./scaleRows";
import type { Workload } from "../localBuild/dockerfile";
import type { RegistryLimit } from "./limit";

/** The original write-up's numbers (CodeBuild, amazonlinux2 standard 3.0 image, almost 5 GB). */
export const ORIGINAL = {
    source: "AWS DevOps blog, 'external Docker layer cache for CodeBuild' (the project's seed write-up)",
    coldMinutes: 39,
    warmMinutes: 6,
    changeMinutes: 31,
    imageGB: 5,
} as const;

export interface Targets {
    /** Warm no-change rebuild at most this share of the cold build. */
    readonly warmMaxRatio: number;
    /** Change halfway: at most the work share after the change plus this share of the cold build. */
    readonly changeSlack: number;
    /** Issue 12: warm at most this share of cold for `registry` on CodeBuild's path, on the light workload. */
    readonly lightWarmMaxRatio: number;
    /** Issue 12: `registry` change at the scale series' largest step count at most this many times `inline` change. */
    readonly registryChangeVsInline: number;
    /** Issue 12: warm with skip on at most this share of cold, for every strategy that skips, on both workloads. */
    readonly skipWarmMaxRatio: number;
    /**
     * Issue 12: and no layer blob pulled: less than this many MB. The proxy counts every blob GET, and a skipped build
     * makes one, the image's config (10–40 kB here, which `imagetools create` reads); every layer of the bench's
     * workloads is 1 MB or more.
     */
    readonly skipWarmMaxPulledMB: number;
}

export const TARGETS: Targets = {
    warmMaxRatio: 0.05,
    changeSlack: 0.1,
    lightWarmMaxRatio: 0.15,
    registryChangeVsInline: 1.1,
    skipWarmMaxRatio: 0.02,
    skipWarmMaxPulledMB: 0.05,
};

export interface BenchResults {
    readonly date: string;
    /** `registryModes`: the builders the `registry` strategy ran on in this run. */
    readonly machine: { cpus: number; memoryGB: number; docker: Record<string, string>; registryModes: string[] };
    /** The first workload's configuration (the original write-up's shape); every workload is in `workloads`. */
    readonly config: ExperimentConfig & { changeAt: number; imageMB: number };
    readonly workloads?: readonly Workload[];
    /** The main table's builds: every strategy on every workload (RunRecord.workload). */
    readonly records: readonly RunRecord[];
    /** One registry round-trip and the floor of a no-change rebuild (bench/limit.ts). */
    readonly limit?: RegistryLimit;
    /** The extra sections that ran (scale, docker-server, ...), each with its own records. */
    readonly sections?: readonly { key: string; title: string; records: readonly RunRecord[]; extra?: unknown }[];
    readonly original: typeof ORIGINAL;
    readonly targets: Targets & { changeMaxRatio: number };
}

export interface Verdict {
    /** The strategy, and for `registry` its builder (RunRecord.variant). */
    readonly strategy: string;
    /** The workload (RunRecord.workload), if the run named one. */
    readonly workload?: string;
    readonly warmRatio: number;
    readonly changeRatio: number;
    readonly warmPulledMB: number;
    readonly warmMeetsTarget: boolean;
    readonly changeMeetsTarget: boolean;
    readonly warmFasterThanPull: boolean;
    /** `warm, skip on` against cold, and its layer MB pulled, for the strategies that skip (absent for `pull`). */
    readonly skipWarmRatio?: number;
    readonly skipWarmPulledMB?: number;
    /** Issue 12's skip target: ratio and MB pulled both within it. */
    readonly skipWarmMeetsTarget?: boolean;
}

/** Each variant's ratios against the targets, all from the same run. */
export function verdicts(res: BenchResults): Verdict[] {
    const keys = [...new Set(res.records.map((r) => `${r.workload ?? ""}\u0000${r.variant}`))];
    return keys.map((k) => {
        const [workload, s] = k.split("\u0000");
        const get = (v: string, run: string) =>
            res.records.find((r) => r.variant === v && (r.workload ?? "") === workload && r.run === run);
        const pullWarm = get("pull", "warm");
        const warm = get(s, "warm")!;
        const change = get(s, "change")!;
        const warmRatio = ratioToCold(res.records, warm);
        const changeRatio = ratioToCold(res.records, change);
        const skipWarm = get(s, "warm, skip on");
        const skipWarmRatio = skipWarm && ratioToCold(res.records, skipWarm);
        return {
            strategy: s,
            ...(workload ? { workload } : {}),
            warmRatio,
            changeRatio,
            warmPulledMB: warm.pulledMB,
            warmMeetsTarget: warmRatio <= res.targets.warmMaxRatio,
            changeMeetsTarget: changeRatio <= res.targets.changeMaxRatio,
            warmFasterThanPull: pullWarm === undefined ? false : warm.buildSeconds < pullWarm.buildSeconds,
            ...(skipWarm && skipWarmRatio !== undefined
                ? {
                      skipWarmRatio,
                      skipWarmPulledMB: skipWarm.pulledMB,
                      skipWarmMeetsTarget:
                          skipWarmRatio <= (res.targets.skipWarmMaxRatio ?? TARGETS.skipWarmMaxRatio) &&
                          skipWarm.pulledMB < (res.targets.skipWarmMaxPulledMB ?? TARGETS.skipWarmMaxPulledMB),
                  }
                : {}),
        };
    });
}

/** "12 %" of a build that is not Dockerfile work; "" when unknown. */
export function overheadText(r: RunRecord): string {
    const share = overheadShare(r);
    return share === undefined ? "" : `${(share * 100).toFixed(0)} %`;
}

/** How many times the floor of a no-change rebuild a warm build took, e.g. "41×"; "" for other runs or no limit. */
export function limitText(r: RunRecord, limit: RegistryLimit | undefined): string {
    if (!limit || (r.run !== "warm" && r.run !== "warm, skip on" && r.run !== "recycled")) return "";
    return `${(r.buildSeconds / limit.limitSeconds).toFixed(0)}×`;
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

export function markdown(res: BenchResults): string {
    const o = res.original;
    const lines = [
        `# Benchmark: cold, warm (no change) and change-halfway rebuilds, per cache strategy`,
        ``,
        `Run ${res.date} on ${res.machine.cpus} cores, ${res.machine.memoryGB} GB; ${Object.entries(res.machine.docker)
            .map(([k, v]) => `${k} ${v}`)
            .join(", ")}; the registry strategy on ${res.machine.registryModes.map((m) => `\`${m}\``).join(" and ")}.`,
        ...(
            res.workloads ?? [
                {
                    name: "",
                    ...res.config,
                    description: `${res.config.steps} work steps × ${res.config.mbPerStep} MB, ${res.config.hashRounds} hash passes`,
                },
            ]
        ).map(
            (w) =>
                `Workload${w.name ? ` \`${w.name}\`` : ""}: ${w.description} of random data per step (image ≈ ${w.steps * w.mbPerStep} MB); the change is at step ${Math.ceil(w.steps / 2)}.`,
        ),
        `Every build runs on a fresh Docker host; only the registry survives between builds. The runs, in this order (localBuild/experiment.ts RUN_PLAN; skip applies to \`inline\` and \`registry\`, \`pull\` never skips and has no \`warm, skip on\`):`,
        ...runsInTable(res.records).map((run) => `- \`${run}\`: ${RUN_PLAN[run].doc}.`),
        ...(res.limit
            ? [
                  ``,
                  `The limit: one authenticated manifest HEAD against the local registry takes ${res.limit.roundTripMs.toFixed(1)} ms (median of ${res.limit.samples}); a no-change rebuild needs about 3 such round-trips (login, lookup, tag), a floor of ${(res.limit.limitSeconds * 1000).toFixed(0)} ms. "× limit" is a warm build's time over that floor.`,
              ]
            : []),
        ``,
        `| workload | strategy | run | build s | × cold | cached steps | rebuilt steps | MB pulled | MB pushed | builder start s (image + create) | export s | Dockerfile work s | not Dockerfile work | × limit |`,
        `|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|`,
        ...res.records.map(
            (r) =>
                `| ${r.workload ?? ""} | ${r.variant} | ${r.run} | ${r.buildSeconds.toFixed(1)} | ${ratioToCold(res.records, r).toFixed(3)} | ${r.cachedSteps} | ${r.rebuiltSteps} | ${r.pulledMB.toFixed(1)} | ${r.pushedMB.toFixed(1)} | ${builderStart(r)} | ${r.exportSeconds === undefined ? "" : r.exportSeconds.toFixed(1)} | ${r.dockerfileSeconds === undefined ? "" : r.dockerfileSeconds.toFixed(1)} | ${overheadText(r)} | ${limitText(r, res.limit)} |`,
        ),
        `| | original recipe on CodeBuild (blog) | cold / warm / change | ${o.coldMinutes * 60} / ${o.warmMinutes * 60} / ${o.changeMinutes * 60} | 1 / ${(o.warmMinutes / o.coldMinutes).toFixed(3)} / ${(o.changeMinutes / o.coldMinutes).toFixed(3)} | | | ≈ ${o.imageGB} GB on warm | | | | | | |`,
        ``,
        `Build s runs from the login to post_build, as CodeBuild bills it less provisioning; for the \`docker-container\` builder it includes \`buildx create --bootstrap\` (the second builder number) but not the image (the first: here a failed pull and a \`docker load\` of the archive, on CodeBuild the pull inside \`buildx create\`). Export s: export.sh's command (0 when it skipped). Dockerfile work s: the rebuilt steps' own times (BuildKit's \`DONE n s\`); "not Dockerfile work" is the rest of the build (probe, login, builder start, cache and manifest round-trips, layer transfers, export) as a share of it.`,
        ``,
        `Targets: warm ≤ ${pct(res.targets.warmMaxRatio)} of cold; change ≤ ${pct(res.targets.changeMaxRatio)} of cold (the ${pct(res.targets.changeMaxRatio - res.targets.changeSlack)} of the work after the change, plus ${pct(res.targets.changeSlack)}).`,
        ``,
        `| workload | strategy | warm × cold | meets warm target | warm faster than pull (original recipe) | change × cold | meets change target | warm MB pulled | warm, skip on × cold | warm, skip on MB pulled |`,
        `|---|---|---:|---|---|---:|---|---:|---:|---:|`,
        ...verdicts(res).map(
            (v) =>
                `| ${v.workload ?? ""} | ${v.strategy} | ${v.warmRatio.toFixed(3)} | ${v.warmMeetsTarget ? "yes" : "no"} | ${v.strategy === "pull" ? "—" : v.warmFasterThanPull ? "yes" : "no"} | ${v.changeRatio.toFixed(3)} | ${v.changeMeetsTarget ? "yes" : "no"} | ${v.warmPulledMB.toFixed(1)} | ${v.skipWarmRatio === undefined ? "—" : v.skipWarmRatio.toFixed(3)} | ${v.skipWarmPulledMB === undefined ? "—" : v.skipWarmPulledMB.toFixed(1)} |`,
        ),
        ``,
        ...issue12Targets(res),
    ];
    return lines.join("\n");
}

/** The run names present in the records, in RUN_PLAN's order. */
function runsInTable(records: readonly RunRecord[]): RunName[] {
    const present = new Set(records.map((r) => r.run));
    return (Object.keys(RUN_PLAN) as RunName[]).filter((r) => present.has(r));
}

/** Issue 12's targets that this run measured, one line each (a target whose builds did not run is said so). */
export function issue12Targets(res: BenchResults): string[] {
    const t = { ...TARGETS, ...res.targets };
    const all = verdicts(res);
    const lightWarm = all.find((v) => v.workload === "light" && v.strategy === "registry (docker-container)");
    const skipLines = all
        .filter((v) => v.skipWarmRatio !== undefined)
        .map(
            (v) =>
                `- warm with skip on, ${v.workload ? `${v.workload} workload, ` : ""}\`${v.strategy}\`: ${pct(v.skipWarmRatio!)} of cold (target ≤ ${pct(t.skipWarmMaxRatio)}), MB pulled ${v.skipWarmPulledMB!.toFixed(2)} (target: no layer, under ${t.skipWarmMaxPulledMB} MB; a config GET is allowed): ${v.skipWarmMeetsTarget ? "met" : "not met"}.`,
        );
    const scale = res.sections?.find((s) => s.key === "scale");
    const target = scale ? registryVsInlineChange(scaleRows(scale.records)) : undefined;
    return [
        `Issue 12's targets in this run:`,
        ``,
        ...(skipLines.length
            ? skipLines
            : [`- warm with skip on: not measured in this run (it needs \`inline\` or \`registry\`).`]),
        lightWarm
            ? `- warm without skip, light workload, \`registry\` on CodeBuild's path: ${pct(lightWarm.warmRatio)} of cold (target ≤ ${pct(t.lightWarmMaxRatio)}): ${lightWarm.warmRatio <= t.lightWarmMaxRatio ? "met" : "not met"}.`
            : `- warm without skip, light workload, \`registry\`: not measured in this run.`,
        target
            ? `- \`registry\` change at ${target.steps} steps${target.steps === 96 ? "" : " (the target is set at 96)"}: ${target.registry.toFixed(1)} s, ${pct(target.ratio)} of \`inline\` change (${target.inline.toFixed(1)} s; each the mean of four change builds; target ≤ ${pct(t.registryChangeVsInline)}): ${target.ratio <= t.registryChangeVsInline ? "met" : "not met"}.`
            : `- \`registry\` change against \`inline\` change at 96 steps: not measured in this run (\`--scale\`).`,
        ``,
    ];
}

const GROUP_LABEL: Record<string, string> = {
    inline: "inline (here)",
    "registry (docker-container)": "registry, docker-container (here)",
    "registry (containerd-store)": "registry, containerd store (here)",
    pull: "pull (here)",
};
const ORIGINAL_LABEL = "blog (CodeBuild)";
/** The chart's runs, in their order (the main table's). */
const CHART_RUNS: readonly RunName[] = ["cold", "warm", "warm, skip on", "change"];

/** The vega-lite spec of the chart: build time as a share of the cold build, per strategy and run. */
export function chartSpec(res: BenchResults): Record<string, unknown> {
    const o = res.original;
    const values = [
        ...res.records.map((r) => ({
            group: `${GROUP_LABEL[r.variant] ?? `${r.variant} (here)`}${r.workload && r.workload !== "heavy" ? `, ${r.workload}` : ""}`,
            run: r.run,
            ratio: ratioToCold(res.records, r),
        })),
        { group: ORIGINAL_LABEL, run: "cold", ratio: 1 },
        { group: ORIGINAL_LABEL, run: "warm", ratio: o.warmMinutes / o.coldMinutes },
        { group: ORIGINAL_LABEL, run: "change", ratio: o.changeMinutes / o.coldMinutes },
    ];
    const groups = [...new Set(values.map((v) => v.group))];
    const order = [...groups.filter((g) => g !== ORIGINAL_LABEL), ORIGINAL_LABEL];
    return {
        $schema: "https://vega.github.io/schema/vega-lite/v5.json",
        title: {
            text: "Build time as a share of the cold build (lower is better)",
            subtitle: [
                `here: every strategy (registry on both builders) in one run on fresh hosts; change at step ${res.config.changeAt} of ${res.config.steps}`,
                "warm, skip on: the key matched, nothing built (inline and registry); warm: skip off, the layer cache",
                "pull = the original recipe run under BuildKit; blog = the original write-up on CodeBuild (39 / 6 / 31 min)",
            ],
        },
        width: Math.max(760, 95 * order.length),
        height: 260,
        background: "white",
        data: { values },
        mark: { type: "bar", tooltip: true },
        encoding: {
            x: { field: "group", type: "nominal", title: null, sort: order, axis: { labelAngle: 0, labelLimit: 170 } },
            xOffset: { field: "run", sort: CHART_RUNS },
            y: { field: "ratio", type: "quantitative", title: "× cold build", scale: { domain: [0, 1.6] } },
            color: { field: "run", type: "nominal", sort: CHART_RUNS, title: "run" },
        },
    };
}

/** Renders the chart to SVG with vega (no browser, no canvas). */
export async function chartSvg(res: BenchResults): Promise<string> {
    return vegaLiteSvg(chartSpec(res));
}

/** Renders any vega-lite spec to SVG with vega, headless (also bench/dashboard.ts's renderer). */
export async function vegaLiteSvg(liteSpec: Record<string, unknown>): Promise<string> {
    const vl = await import("vega-lite");
    const vega = await import("vega");
    const spec = vl.compile(liteSpec as unknown as Parameters<typeof vl.compile>[0]).spec;
    const view = new vega.View(vega.parse(spec), { renderer: "none" });
    const svg = await view.toSVG();
    view.finalize();
    return svg;
}
