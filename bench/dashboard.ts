/**
 * A picture of the CloudWatch dashboard (components/buildEvent.ts `dashboardBody`), drawn from real builds' JSON lines.
 *
 *     npm run dashboard                       # runs a sequence of local builds, writes results/dashboard-events.jsonl and results/dashboard.svg
 *     npm run dashboard -- --from results/dashboard-events.jsonl   # only re-renders
 *
 * The builds are the component's own buildspec on the local stand-in (standIn/, one fresh Docker daemon per build,
 * inline strategy): cold, warm, a change, warm, a pull request, a failing build, another change, warm. The values
 * drawn are what the deployed metric filters would publish for those lines (`dataPoints`, the same patterns and
 * paths), one point per build instead of one per period; duration is the event's own `seconds.total` (CodeBuild's
 * `Duration` also counts provisioning, which the stand-in has none of), and a failed build is one whose line says
 * `succeeded: false` (CodeBuild's `FailedBuilds`). Rendered with vega-lite to SVG headless, as bench/results.ts does.
 */
import * as fs from "fs";
import * as path from "path";
import { MONITORING_DEFAULTS } from "../components/monitoring";
import { BuildEvent, buildEvents, dataPoints, WIDGET_TITLES } from "../components/buildEvent";
import { startLocalHost } from "../standIn/host";
import { runScenario } from "../standIn/scenario";
import { singleStage } from "../localBuild/dockerfile";
import { vegaLiteSvg } from "./results";

const RESULTS = path.join(__dirname, "..", "results");
export const EVENTS_FILE = path.join(RESULTS, "dashboard-events.jsonl");
export const SVG_FILE = path.join(RESULTS, "dashboard.svg");

/** One build's values on the dashboard, as the filters publish them (undefined: the filter published nothing). */
export interface BuildRow {
    readonly build: number;
    readonly label: string;
    readonly hitRatio?: number;
    readonly seconds?: number;
    readonly coldSeconds?: number;
    readonly mbPushed?: number;
    readonly cached?: number;
    readonly rebuilt?: number;
    readonly failed: number;
}

/** The dashboard's values per build, from the JSON lines through the deployed filters. */
export function rows(lines: readonly string[], labels: readonly string[] = []): BuildRow[] {
    const events = lines.filter((l) => l.startsWith('{"layerCache":'));
    return events.map((line, i) => {
        const p = Object.fromEntries(dataPoints([line]).map((d) => [d.metricName, d.value]));
        const e = JSON.parse(line) as BuildEvent;
        return {
            build: i + 1,
            label: labels[i] ?? `build ${i + 1}`,
            hitRatio: p.CacheHitRatio,
            seconds: p.BuildSeconds ?? e.seconds.total,
            coldSeconds: p.ColdBuildSeconds,
            mbPushed: p.MegabytesPushed,
            cached: p.StepsCached,
            rebuilt: p.StepsRebuilt,
            failed: e.succeeded ? 0 : 1,
        };
    });
}

/** The vega-lite spec: the dashboard's metric widgets, one panel each, builds along the x axis. */
export function dashboardSpec(r: readonly BuildRow[], project: string): Record<string, unknown> {
    const x = {
        field: "label",
        type: "ordinal",
        sort: r.map((b) => b.label),
        title: null,
        axis: { labelAngle: -30, labelLimit: 120 },
    };
    const values = r.map((b) => ({ ...b }));
    const cold = r.find((b) => b.coldSeconds !== undefined)?.coldSeconds;
    const panel = (title: string, layers: Record<string, unknown>[]) => ({
        title,
        width: 360,
        height: 150,
        layer: layers,
    });
    const line = (field: string, color: string, extra: Record<string, unknown> = {}) => ({
        mark: { type: "line", point: true, color, ...extra },
        transform: [{ filter: `isValid(datum.${field})` }],
        encoding: { x, y: { field, type: "quantitative", title: null } },
    });
    const rule = (value: number, color: string, label: string) => ({
        data: { values: [{ v: value, label }] },
        layer: [
            {
                mark: { type: "rule", color, strokeDash: [4, 3] },
                encoding: { y: { field: "v", type: "quantitative" } },
            },
            {
                mark: { type: "text", align: "left", dx: 4, dy: -6, color },
                encoding: { y: { field: "v", type: "quantitative" }, text: { field: "label" }, x: { value: 0 } },
            },
        ],
    });
    return {
        $schema: "https://vega.github.io/schema/vega-lite/v5.json",
        title: {
            text: `CloudWatch dashboard "${project}", drawn from ${r.length} local builds' JSON lines`,
            subtitle:
                "the deployed metric filters applied to each build's line; one point per build (CloudWatch: one per period)",
        },
        background: "white",
        data: { values },
        columns: 2,
        concat: [
            panel(WIDGET_TITLES.hitRatio, [
                {
                    ...line("hitRatio", "#1f77b4"),
                    encoding: {
                        x,
                        y: { field: "hitRatio", type: "quantitative", title: null, scale: { domain: [0, 1] } },
                    },
                },
                rule(MONITORING_DEFAULTS.hitRatioThreshold, "#d62728", "alarm threshold"),
            ]),
            panel(WIDGET_TITLES.duration, [
                line("seconds", "#1f77b4"),
                ...(cold === undefined ? [] : [rule(cold, "#7f7f7f", "cold baseline")]),
            ]),
            panel(WIDGET_TITLES.mbPushed, [
                {
                    mark: { type: "bar", color: "#2ca02c" },
                    transform: [{ filter: "isValid(datum.mbPushed)" }],
                    encoding: { x, y: { field: "mbPushed", type: "quantitative", title: null } },
                },
            ]),
            panel("Failed builds", [
                {
                    mark: { type: "bar", color: "#d62728" },
                    encoding: {
                        x,
                        y: { field: "failed", type: "quantitative", title: null, scale: { domain: [0, 1] } },
                    },
                },
            ]),
            panel(WIDGET_TITLES.steps, [
                {
                    mark: { type: "bar" },
                    transform: [
                        { filter: "isValid(datum.cached)" },
                        { fold: ["cached", "rebuilt"], as: ["kind", "steps"] },
                    ],
                    encoding: {
                        x,
                        y: { field: "steps", type: "quantitative", title: null, stack: true },
                        color: {
                            field: "kind",
                            type: "nominal",
                            title: null,
                            scale: { domain: ["cached", "rebuilt"], range: ["#2ca02c", "#ff7f0e"] },
                        },
                    },
                },
            ]),
        ],
        resolve: { scale: { color: "independent" } },
    };
}

/** The sequence of builds the picture is drawn from. */
const SEQUENCE: readonly { label: string; changeAt?: number; marker?: string; pr?: boolean; failAt?: number }[] = [
    { label: "1 cold" },
    { label: "2 warm" },
    { label: "3 change at step 4", changeAt: 4, marker: "a" },
    { label: "4 warm", changeAt: 4, marker: "a" },
    { label: "5 pull request", changeAt: 2, marker: "pr", pr: true },
    { label: "6 failing step 5", changeAt: 4, marker: "a", failAt: 5 },
    { label: "7 change at step 2", changeAt: 2, marker: "b" },
    { label: "8 warm", changeAt: 2, marker: "b" },
];

async function runBuilds(): Promise<{ lines: string[]; labels: string[] }> {
    const host = await startLocalHost();
    const lines: string[] = [];
    try {
        for (const b of SEQUENCE) {
            const dockerfile = singleStage({
                baseImage: host.base.ref,
                steps: 6,
                mbPerStep: 2,
                hashRounds: 2,
                changeAt: b.changeAt,
                changeMarker: b.marker,
                failAt: b.failAt,
            });
            const r = await runScenario({
                host,
                strategy: "inline",
                repo: "dashboard/app",
                dockerfile,
                env: b.pr ? { CODEBUILD_WEBHOOK_TRIGGER: "pr/1", CODEBUILD_SOURCE_VERSION: "pr/1" } : undefined,
                label: b.label,
                quiet: true,
            });
            const events = r.lines.filter((l) => l.stream !== "runner" && l.text.startsWith('{"layerCache":'));
            if (events.length !== 1) {
                throw new Error(`${b.label}: ${events.length} JSON lines, expected 1:\n${r.output}`);
            }
            lines.push(events[0].text);
            console.log(`${b.label}: ${events[0].text}`);
        }
    } finally {
        await host.stop();
    }
    return { lines, labels: SEQUENCE.map((b) => b.label) };
}

async function main(): Promise<void> {
    const argv = process.argv.slice(2);
    const from = argv[0] === "--from" ? argv[1] : undefined;
    if (argv.length > 0 && from === undefined) {
        throw new Error("usage: npm run dashboard [-- --from <events.jsonl>]");
    }
    let lines: string[];
    let labels: string[] = SEQUENCE.map((b) => b.label);
    if (from !== undefined) {
        lines = fs.readFileSync(from, "utf8").split("\n").filter(Boolean);
        labels = lines.length === SEQUENCE.length ? labels : [];
    } else {
        ({ lines, labels } = await runBuilds());
        fs.writeFileSync(EVENTS_FILE, `${lines.join("\n")}\n`);
        console.log(`wrote ${path.relative(process.cwd(), EVENTS_FILE)}`);
    }
    const project = buildEvents(lines.join("\n"))[0]?.project ?? "?";
    fs.writeFileSync(SVG_FILE, await vegaLiteSvg(dashboardSpec(rows(lines, labels), project)));
    console.log(`wrote ${path.relative(process.cwd(), SVG_FILE)}`);
}

if (require.main === module) {
    main().catch((e: unknown) => {
        console.error(e instanceof Error ? e.message : e);
        process.exit(1);
    });
}
