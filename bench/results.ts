/**
 * Benchmark results: the JSON record, a Markdown table, and a chart (vega-lite, rendered to SVG
 * headless by vega). Pure apart from the chart renderer, which is loaded on demand.
 */
import { builderStart, ExperimentConfig, ratioToCold, RunRecord } from "./experiment";

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
}

export const TARGETS: Targets = { warmMaxRatio: 0.05, changeSlack: 0.1 };

export interface BenchResults {
    readonly date: string;
    /** `registryModes`: the builders the `registry` strategy ran on in this run. */
    readonly machine: { cpus: number; memoryGB: number; docker: Record<string, string>; registryModes: string[] };
    readonly config: ExperimentConfig & { changeAt: number; imageMB: number };
    readonly records: readonly RunRecord[];
    readonly original: typeof ORIGINAL;
    readonly targets: Targets & { changeMaxRatio: number };
}

export interface Verdict {
    /** The strategy, and for `registry` its builder (RunRecord.variant). */
    readonly strategy: string;
    readonly warmRatio: number;
    readonly changeRatio: number;
    readonly warmPulledMB: number;
    readonly warmMeetsTarget: boolean;
    readonly changeMeetsTarget: boolean;
    readonly warmFasterThanPull: boolean;
}

/** Each variant's ratios against the targets, all from the same run. */
export function verdicts(res: BenchResults): Verdict[] {
    const strategies = [...new Set(res.records.map((r) => r.variant))];
    const get = (s: string, run: string) => res.records.find((r) => r.variant === s && r.run === run);
    const pullWarm = get("pull", "warm");
    return strategies.map((s) => {
        const warm = get(s, "warm")!;
        const change = get(s, "change")!;
        const warmRatio = ratioToCold(res.records, warm);
        const changeRatio = ratioToCold(res.records, change);
        return {
            strategy: s,
            warmRatio,
            changeRatio,
            warmPulledMB: warm.pulledMB,
            warmMeetsTarget: warmRatio <= res.targets.warmMaxRatio,
            changeMeetsTarget: changeRatio <= res.targets.changeMaxRatio,
            warmFasterThanPull: pullWarm === undefined ? false : warm.buildSeconds < pullWarm.buildSeconds,
        };
    });
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
        `Dockerfile: ${res.config.steps} work steps × ${res.config.mbPerStep} MB of random data, each hashed ${res.config.hashRounds} times (image ≈ ${res.config.imageMB} MB); the change is at step ${res.config.changeAt}. Every build runs on a fresh Docker host; only the registry survives between builds.`,
        ``,
        `| strategy | run | build s | × cold | cached steps | rebuilt steps | MB pulled | MB pushed | builder start s (image + create) |`,
        `|---|---|---:|---:|---:|---:|---:|---:|---:|`,
        ...res.records.map(
            (r) =>
                `| ${r.variant} | ${r.run} | ${r.buildSeconds.toFixed(1)} | ${ratioToCold(res.records, r).toFixed(3)} | ${r.cachedSteps} | ${r.rebuiltSteps} | ${r.pulledMB.toFixed(1)} | ${r.pushedMB.toFixed(1)} | ${builderStart(r)} |`,
        ),
        `| original recipe on CodeBuild (blog) | cold / warm / change | ${o.coldMinutes * 60} / ${o.warmMinutes * 60} / ${o.changeMinutes * 60} | 1 / ${(o.warmMinutes / o.coldMinutes).toFixed(3)} / ${(o.changeMinutes / o.coldMinutes).toFixed(3)} | | | ≈ ${o.imageGB} GB on warm | | |`,
        ``,
        `Build s runs from the login to post_build, as CodeBuild bills it less provisioning; for the \`docker-container\` builder it includes \`buildx create --bootstrap\` (the second builder number) but not the image (the first: here a failed pull and a \`docker load\` of the archive, on CodeBuild the pull inside \`buildx create\`).`,
        ``,
        `Targets: warm ≤ ${pct(res.targets.warmMaxRatio)} of cold; change ≤ ${pct(res.targets.changeMaxRatio)} of cold (the ${pct(res.targets.changeMaxRatio - res.targets.changeSlack)} of the work after the change, plus ${pct(res.targets.changeSlack)}).`,
        ``,
        `| strategy | warm × cold | meets warm target | warm faster than pull (original recipe) | change × cold | meets change target | warm MB pulled (image ≈ ${res.config.imageMB} MB) |`,
        `|---|---:|---|---|---:|---|---:|`,
        ...verdicts(res).map(
            (v) =>
                `| ${v.strategy} | ${v.warmRatio.toFixed(3)} | ${v.warmMeetsTarget ? "yes" : "no"} | ${v.strategy === "pull" ? "—" : v.warmFasterThanPull ? "yes" : "no"} | ${v.changeRatio.toFixed(3)} | ${v.changeMeetsTarget ? "yes" : "no"} | ${v.warmPulledMB.toFixed(1)} |`,
        ),
        ``,
    ];
    return lines.join("\n");
}

const GROUP_LABEL: Record<string, string> = {
    inline: "inline (here)",
    "registry (docker-container)": "registry, docker-container (here)",
    "registry (containerd-store)": "registry, containerd store (here)",
    pull: "pull (here)",
};
const ORIGINAL_LABEL = "blog (CodeBuild)";

/** The vega-lite spec of the chart: build time as a share of the cold build, per strategy and run. */
export function chartSpec(res: BenchResults): Record<string, unknown> {
    const o = res.original;
    const values = [
        ...res.records.map((r) => ({
            group: GROUP_LABEL[r.variant] ?? `${r.variant} (here)`,
            run: r.run,
            ratio: ratioToCold(res.records, r),
        })),
        { group: ORIGINAL_LABEL, run: "cold", ratio: 1 },
        { group: ORIGINAL_LABEL, run: "warm", ratio: o.warmMinutes / o.coldMinutes },
        { group: ORIGINAL_LABEL, run: "change", ratio: o.changeMinutes / o.coldMinutes },
    ];
    const order = [...Object.values(GROUP_LABEL).filter((g) => values.some((v) => v.group === g)), ORIGINAL_LABEL];
    return {
        $schema: "https://vega.github.io/schema/vega-lite/v5.json",
        title: {
            text: "Build time as a share of the cold build (lower is better)",
            subtitle: [
                `here: every strategy (registry on both builders) in one run on fresh hosts; change at step ${res.config.changeAt} of ${res.config.steps}`,
                "pull = the original recipe run under BuildKit; blog = the original write-up on CodeBuild (39 / 6 / 31 min)",
            ],
        },
        width: 760,
        height: 260,
        background: "white",
        data: { values },
        mark: { type: "bar", tooltip: true },
        encoding: {
            x: { field: "group", type: "nominal", title: null, sort: order, axis: { labelAngle: 0, labelLimit: 170 } },
            xOffset: { field: "run", sort: ["cold", "warm", "change"] },
            y: { field: "ratio", type: "quantitative", title: "× cold build", scale: { domain: [0, 1.6] } },
            color: { field: "run", type: "nominal", sort: ["cold", "warm", "change"], title: "run" },
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
