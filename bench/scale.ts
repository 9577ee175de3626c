/**
 * The scale series (`npm run bench -- --scale`): the light workload at 12, 24, 48 and 96 steps (the same work per
 * step, the change halfway; `--scale-steps` picks other counts, e.g. small ones for a smoke test), for each strategy
 * on CodeBuild's path (`registry` on the `docker-container` builder). Runs per step count: cold, warm and four change
 * builds (localBuild/experiment.ts SCALE_RUNS, with RUN_PLAN's `skipUnchanged`: on for cold and the changes of the
 * strategies that skip, off for warm). The change time is the mean of the four change builds (bench/scaleRows.ts),
 * all shown. It shows how fixed costs per step and the `registry` export grow with the layer count. Chart:
 * bench-scale.svg.
 */
import { runExperiment, RunRecord, SCALE_RUNS } from "../localBuild/experiment";
import { SCALE_STEPS, scaleWorkload } from "../localBuild/dockerfile";
import { TARGETS, vegaLiteSvg } from "./results";
import { registryVsInlineChange, ScaleRow, scaleRows } from "./scaleRows";
import type { BenchContext, BenchSection, SectionResult } from "./section";

export { mean, registryVsInlineChange, scaleRows } from "./scaleRows";
export type { ScaleRow } from "./scaleRows";

const f1 = (x: number | undefined) => (x === undefined ? "" : x.toFixed(1));

export function scaleMarkdown(res: SectionResult): string {
    const rows = scaleRows(res.records);
    const target = registryVsInlineChange(rows);
    return [
        `## Scale: the light workload at ${stepCounts(rows).join(", ")} steps`,
        ``,
        `Same work per step (${scaleWorkload(1).mbPerStep} MB, ${scaleWorkload(1).hashRounds} hash pass), the change halfway; \`registry\` on CodeBuild's path. Cold and the change builds with skip on for \`inline\` and \`registry\` (the default; key misses, so they build), warm with skip off. Change s is the mean of four change builds, each a real change against the build before it (all in the next column): one change build is noisy here. Export s is export.sh's command alone, part of the build s before it (the change's: the mean of the four). Chart: [bench-scale.svg](bench-scale.svg).`,
        ``,
        `| strategy | steps | cold s | warm s | change s (mean) | change s (each) | warm × cold | change × cold | export s (cold) | export s (change) |`,
        `|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|`,
        ...rows.map(
            (r) =>
                `| ${r.variant} | ${r.steps} | ${f1(r.cold)} | ${f1(r.warm)} | ${f1(r.change)} | ${r.changes.map(f1).join(", ")} | ${(r.warm / r.cold).toFixed(3)} | ${(r.change / r.cold).toFixed(3)} | ${f1(r.coldExport)} | ${f1(r.changeExport)} |`,
        ),
        ``,
        target
            ? `Target: \`registry\` change at ${target.steps} steps within 10 % of \`inline\` change (means of four change builds): ${(target.ratio * 100).toFixed(0)} % of it (${target.ratio <= TARGETS.registryChangeVsInline ? "met" : "not met"}).`
            : `Target: \`registry\` change within 10 % of \`inline\` change at the largest step count: not measured (both strategies are needed).`,
        ``,
    ].join("\n");
}

/** The step counts of the rows, ascending. */
function stepCounts(rows: readonly ScaleRow[]): number[] {
    return [...new Set(rows.map((r) => r.steps))].sort((a, b) => a - b);
}

/** The chart's series, in order: the change line is the mean of the four change builds, as is its export. */
const SERIES = ["cold", "warm", "change (mean of 4)", "export (in change)"];

/** The chart: seconds against steps, one panel per strategy, a line per run and one for the change build's export. */
export function scaleChartSpec(res: SectionResult): Record<string, unknown> {
    const rows = scaleRows(res.records);
    const values = rows.flatMap((r) => [
        { variant: r.variant, steps: r.steps, series: SERIES[0], seconds: r.cold },
        { variant: r.variant, steps: r.steps, series: SERIES[1], seconds: r.warm },
        { variant: r.variant, steps: r.steps, series: SERIES[2], seconds: r.change },
        ...(r.changeExport !== undefined
            ? [{ variant: r.variant, steps: r.steps, series: SERIES[3], seconds: r.changeExport }]
            : []),
    ]);
    return {
        $schema: "https://vega.github.io/schema/vega-lite/v5.json",
        title: {
            text: "Build seconds against Dockerfile steps (light workload, fresh host per build)",
            subtitle:
                "change = the mean of four change builds; export = the registry strategy's cache export alone, within them",
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
                    axis: { values: stepCounts(rows) },
                },
                y: { field: "seconds", type: "quantitative", title: "seconds" },
                color: {
                    field: "series",
                    type: "nominal",
                    sort: SERIES,
                    title: null,
                },
            },
        },
    };
}

/** The scale series at these step counts (default {@link SCALE_STEPS}; `--scale-steps`). */
export function scaleSection(steps: readonly number[] = SCALE_STEPS): BenchSection {
    return {
        key: "scale",
        title: "Scale series",
        count: (ctx) => ctx.strategies.length * steps.length * SCALE_RUNS.length,
        run: async (ctx: BenchContext): Promise<SectionResult> => {
            const records: RunRecord[] = [];
            for (const strategy of ctx.strategies) {
                for (const n of steps) {
                    const w = scaleWorkload(n);
                    records.push(
                        ...(await runExperiment(
                            ctx.host,
                            strategy,
                            { steps: w.steps, mbPerStep: w.mbPerStep, hashRounds: w.hashRounds },
                            {
                                repo: ctx.repo(`scale-${strategy}-${n}`),
                                registryMode: strategy === "registry" ? ctx.registryMode : undefined,
                                quiet: true,
                                workload: w.name,
                                progress: ctx.progress,
                                runs: SCALE_RUNS,
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
}
