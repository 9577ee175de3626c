/**
 * The scale series (`npm run bench -- --scale`): the light workload at 12, 24, 48 and 96 steps (the same work per
 * step, the change halfway), cold, warm and change, for each strategy on CodeBuild's path (`registry` on the
 * `docker-container` builder). It shows how fixed costs per step and the `registry` export grow with the layer
 * count. Chart: results/bench-scale.svg.
 */
import { runExperiment, RunRecord } from "./experiment";
import { SCALE_STEPS, scaleWorkload } from "./dockerfile";
import { vegaLiteSvg } from "./results";
import type { BenchContext, BenchSection, SectionResult } from "./section";

const f1 = (x: number | undefined) => (x === undefined ? "" : x.toFixed(1));

/** One row per strategy and step count: cold, warm, change and the change build's export, in seconds. */
export interface ScaleRow {
    readonly variant: string;
    readonly steps: number;
    readonly cold: number;
    readonly warm: number;
    readonly change: number;
    readonly changeExport?: number;
    readonly coldExport?: number;
}

export function scaleRows(records: readonly RunRecord[]): ScaleRow[] {
    const keys = [...new Set(records.map((r) => `${r.variant}\u0000${r.steps}`))];
    return keys.flatMap((k) => {
        const [variant, stepsText] = k.split("\u0000");
        const steps = Number(stepsText);
        const get = (run: string) => records.find((r) => r.variant === variant && r.steps === steps && r.run === run);
        const cold = get("cold");
        const warm = get("warm");
        const change = get("change");
        if (!cold || !warm || !change) return [];
        return [
            {
                variant,
                steps,
                cold: cold.buildSeconds,
                warm: warm.buildSeconds,
                change: change.buildSeconds,
                ...(change.exportSeconds !== undefined ? { changeExport: change.exportSeconds } : {}),
                ...(cold.exportSeconds !== undefined ? { coldExport: cold.exportSeconds } : {}),
            },
        ];
    });
}

/** `registry` change at the largest step count against `inline` change at the same count: the 10 % target. */
export function registryVsInlineChange(rows: readonly ScaleRow[]): { steps: number; ratio: number } | undefined {
    const steps = Math.max(...rows.map((r) => r.steps));
    const reg = rows.find((r) => r.steps === steps && r.variant.startsWith("registry"));
    const inl = rows.find((r) => r.steps === steps && r.variant === "inline");
    return reg && inl ? { steps, ratio: reg.change / inl.change } : undefined;
}

export function scaleMarkdown(res: SectionResult): string {
    const rows = scaleRows(res.records);
    const target = registryVsInlineChange(rows);
    return [
        `## Scale: the light workload at ${SCALE_STEPS.join(", ")} steps`,
        ``,
        `Same work per step (${scaleWorkload(1).mbPerStep} MB, ${scaleWorkload(1).hashRounds} hash pass), the change halfway; \`registry\` on CodeBuild's path. Export s is export.sh's command alone (the second \`buildx build\`, writing the cache manifest), part of the build s before it. Chart: [bench-scale.svg](bench-scale.svg).`,
        ``,
        `| strategy | steps | cold s | warm s | change s | warm × cold | change × cold | export s (cold) | export s (change) |`,
        `|---|---:|---:|---:|---:|---:|---:|---:|---:|`,
        ...rows.map(
            (r) =>
                `| ${r.variant} | ${r.steps} | ${f1(r.cold)} | ${f1(r.warm)} | ${f1(r.change)} | ${(r.warm / r.cold).toFixed(3)} | ${(r.change / r.cold).toFixed(3)} | ${f1(r.coldExport)} | ${f1(r.changeExport)} |`,
        ),
        ``,
        target
            ? `Target: \`registry\` change at ${target.steps} steps within 10 % of \`inline\` change: ${(target.ratio * 100).toFixed(0)} % of it (${target.ratio <= 1.1 ? "met" : "not met"}).`
            : `Target: \`registry\` change within 10 % of \`inline\` change at the largest step count: not measured (both strategies are needed).`,
        ``,
    ].join("\n");
}

/** The chart: seconds against steps, one panel per strategy, a line per run and one for the change build's export. */
export function scaleChartSpec(res: SectionResult): Record<string, unknown> {
    const values = scaleRows(res.records).flatMap((r) => [
        { variant: r.variant, steps: r.steps, series: "cold", seconds: r.cold },
        { variant: r.variant, steps: r.steps, series: "warm", seconds: r.warm },
        { variant: r.variant, steps: r.steps, series: "change", seconds: r.change },
        ...(r.changeExport !== undefined
            ? [{ variant: r.variant, steps: r.steps, series: "export (in change)", seconds: r.changeExport }]
            : []),
    ]);
    return {
        $schema: "https://vega.github.io/schema/vega-lite/v5.json",
        title: {
            text: "Build seconds against Dockerfile steps (light workload, fresh host per build)",
            subtitle: "export = the registry strategy's cache export alone, within the change build",
        },
        background: "white",
        data: { values },
        facet: { column: { field: "variant", type: "nominal", title: null } },
        spec: {
            width: 220,
            height: 200,
            mark: { type: "line", point: true, tooltip: true },
            encoding: {
                x: {
                    field: "steps",
                    type: "quantitative",
                    scale: { type: "log", base: 2 },
                    axis: { values: [...SCALE_STEPS] },
                },
                y: { field: "seconds", type: "quantitative", title: "seconds" },
                color: {
                    field: "series",
                    type: "nominal",
                    sort: ["cold", "warm", "change", "export (in change)"],
                    title: null,
                },
            },
        },
    };
}

export const scaleSection: BenchSection = {
    key: "scale",
    title: "Scale series",
    count: (ctx) => ctx.strategies.length * SCALE_STEPS.length * 3,
    run: async (ctx: BenchContext): Promise<SectionResult> => {
        const records: RunRecord[] = [];
        for (const strategy of ctx.strategies) {
            for (const steps of SCALE_STEPS) {
                const w = scaleWorkload(steps);
                records.push(
                    ...(await runExperiment(
                        ctx.host,
                        strategy,
                        { steps: w.steps, mbPerStep: w.mbPerStep, hashRounds: w.hashRounds },
                        {
                            repo: ctx.repo(`scale-${strategy}-${steps}`),
                            registryMode: strategy === "registry" ? ctx.registryMode : undefined,
                            quiet: true,
                            workload: w.name,
                            progress: ctx.progress,
                        },
                    )),
                );
            }
        }
        return { key: "scale", title: "Scale series", records };
    },
    markdown: scaleMarkdown,
    svg: (res) => vegaLiteSvg(scaleChartSpec(res)),
};
