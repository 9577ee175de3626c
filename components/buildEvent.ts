/**
 * The build's machine-readable line and what CloudWatch makes of it, as pure data and functions (no resources):
 *
 * - {@link BUILD_EVENT_SCHEMA}: the JSON schema of the one line `buildspec/metrics.sh` prints per build. It is an
 *   interface (dashboards, filters and users' own queries read it): fields are added, never renamed or retyped.
 * - {@link METRIC_FILTERS}: the log metric filters that turn that line into metrics in {@link METRIC_NAMESPACE},
 *   each with a JSON filter pattern, the JSON path of its value and the `Project` dimension.
 * - {@link filterPatternMatches} / {@link jsonPath}: an evaluator of exactly the subset of CloudWatch's filter
 *   pattern syntax those patterns use, so tests can apply the deployed patterns to real build logs.
 * - {@link dashboardBody}: the CloudWatch dashboard's body, and {@link CODEBUILD_NAMESPACE}'s metrics it reads.
 *
 * The filter-pattern subset (CloudWatch Logs "Metric filter syntax for JSON log events"):
 * `{ <term> && <term> … }` where a term is `$.a.b = "text"` (string equality, no wildcards), `$.a.b IS TRUE`,
 * `$.a.b IS FALSE`, `$.a.b = <number>`, `$.a.b > <number>` or `$.a.b >= <number>`, and a selector is a dotted path
 * of plain field names (no arrays, no `*`, no `||`, no parentheses). A metric value is `$.a.b` or a constant number.
 * CloudWatch evaluates a JSON pattern only on a log event that is a JSON object; so does this evaluator. No JSON-path
 * library is installed here, and a dotted path needs none: {@link jsonPath} is six lines.
 */

/** The value of `layerCache` in the line: the schema version, raised only for an incompatible change. */
export const BUILD_EVENT_VERSION = 1;

/** Namespace of the metrics the log metric filters publish. */
export const METRIC_NAMESPACE = "EcrLayerCache";
/** CodeBuild's own per-project metrics (`Builds`, `FailedBuilds`, `Duration`, `QueuedDuration`), dimension `ProjectName`. */
export const CODEBUILD_NAMESPACE = "AWS/CodeBuild";
/** The dimension of every metric in {@link METRIC_NAMESPACE}: the CodeBuild project, from the line's `project`. */
export const PROJECT_DIMENSION = "Project";

const nullable = (type: string) => ({ type: [type, "null"] });
const seconds = { ...nullable("number"), minimum: 0 };

/** JSON Schema (draft-07) of the line. Every field is required; a field that a failed build can't know is null. */
export const BUILD_EVENT_SCHEMA = {
    $schema: "http://json-schema.org/draft-07/schema#",
    title: "ecr-layer-cache build event",
    type: "object",
    additionalProperties: false,
    required: [
        "layerCache",
        "project",
        "buildId",
        "strategy",
        "trusted",
        "succeeded",
        "cacheFound",
        "steps",
        "cached",
        "rebuilt",
        "hitRatio",
        "pushed",
        "export",
        "mbPushed",
        "seconds",
        "image",
        "cacheRef",
        // ---- Skip unchanged builds (buildspec/key.sh) ----
        "skipped",
        "key",
    ],
    properties: {
        layerCache: { const: BUILD_EVENT_VERSION },
        project: { type: "string", minLength: 1 },
        buildId: { type: "string", minLength: 1 },
        strategy: { enum: ["inline", "registry", "pull"] },
        trusted: { type: "boolean" },
        succeeded: { type: "boolean" },
        cacheFound: { type: "boolean" },
        steps: { ...nullable("integer"), minimum: 0 },
        cached: { ...nullable("integer"), minimum: 0 },
        rebuilt: { ...nullable("integer"), minimum: 0 },
        hitRatio: { ...nullable("number"), minimum: 0, maximum: 1 },
        pushed: { type: "boolean" },
        export: { enum: ["written", "skipped", "none"] },
        mbPushed: { ...nullable("number"), minimum: 0 },
        seconds: {
            type: "object",
            additionalProperties: false,
            required: ["preBuild", "build", "export", "total"],
            properties: { preBuild: seconds, build: seconds, export: seconds, total: { type: "number", minimum: 0 } },
        },
        image: { type: "string", minLength: 1 },
        cacheRef: { type: "string", minLength: 1 },
        // ---- Skip unchanged builds (buildspec/key.sh) ----
        skipped: { type: "boolean" },
        key: { ...nullable("string"), minLength: 1 },
    },
} as const;

/** The line, parsed. */
export interface BuildEvent {
    readonly layerCache: typeof BUILD_EVENT_VERSION;
    readonly project: string;
    readonly buildId: string;
    readonly strategy: "inline" | "registry" | "pull";
    readonly trusted: boolean;
    readonly succeeded: boolean;
    readonly cacheFound: boolean;
    readonly steps: number | null;
    readonly cached: number | null;
    readonly rebuilt: number | null;
    readonly hitRatio: number | null;
    readonly pushed: boolean;
    readonly export: "written" | "skipped" | "none";
    readonly mbPushed: number | null;
    readonly seconds: {
        readonly preBuild: number | null;
        readonly build: number | null;
        readonly export: number | null;
        readonly total: number;
    };
    readonly image: string;
    /** The build's cache ref; with a cache per platform (two platforms emulated), their base: each is `<cacheRef>-<arch>`. */
    readonly cacheRef: string;
    /** The build was skipped: an image of the same content key existed, and the requested tag was pointed at it. */
    readonly skipped: boolean;
    /** The content key's tag (`<repository>:key-<hex>`), null when there was none (skip off, or no key computable). */
    readonly key: string | null;
}

/** The pattern every filter starts with: the line's version, so that no other JSON log event is counted. */
const IS_EVENT = `$.layerCache = ${BUILD_EVENT_VERSION}`;

/** One log metric filter: its metric, the pattern that selects log events and the value published per event. */
export interface MetricFilterSpec {
    /** Suffix of the filter's resource and AWS name. */
    readonly id: string;
    readonly metricName: string;
    readonly pattern: string;
    /** `$.path` of the published value, or a constant number as text. */
    readonly value: string;
    readonly unit: "None" | "Count" | "Seconds" | "Megabytes";
    readonly description: string;
}

/** The metric filters the component deploys on the project's log group (dimension {@link PROJECT_DIMENSION} = `$.project`). */
export const METRIC_FILTERS: readonly MetricFilterSpec[] = [
    {
        id: "hit-ratio",
        metricName: "CacheHitRatio",
        pattern: `{ ${IS_EVENT} && $.trusted IS TRUE && $.steps > 0 }`,
        value: "$.hitRatio",
        unit: "None",
        description: "Share of Dockerfile steps taken from the layer cache (0 to 1), trusted builds that counted steps",
    },
    {
        id: "steps-cached",
        metricName: "StepsCached",
        pattern: `{ ${IS_EVENT} && $.steps > 0 }`,
        value: "$.cached",
        unit: "Count",
        description: "Steps taken from the layer cache, every build that counted steps",
    },
    {
        id: "steps-rebuilt",
        metricName: "StepsRebuilt",
        pattern: `{ ${IS_EVENT} && $.steps > 0 }`,
        value: "$.rebuilt",
        unit: "Count",
        description: "Steps rebuilt, every build that counted steps",
    },
    {
        id: "cold-seconds",
        metricName: "ColdBuildSeconds",
        pattern: `{ ${IS_EVENT} && $.cacheFound IS FALSE && $.succeeded IS TRUE }`,
        value: "$.seconds.total",
        unit: "Seconds",
        description: "Commands' time of a successful build that found no cache: the cold baseline",
    },
    {
        id: "build-seconds",
        metricName: "BuildSeconds",
        pattern: `{ ${IS_EVENT} && $.succeeded IS TRUE }`,
        value: "$.seconds.total",
        unit: "Seconds",
        description: "Commands' time of a successful build (pre_build to post_build)",
    },
    {
        id: "mb-pushed",
        metricName: "MegabytesPushed",
        pattern: `{ ${IS_EVENT} && $.pushed IS TRUE && $.mbPushed >= 0 }`,
        value: "$.mbPushed",
        unit: "Megabytes",
        description: "Layer megabytes a trusted build pushed, where BuildKit printed them",
    },
    {
        id: "cache-missing",
        metricName: "CacheMissing",
        pattern: `{ ${IS_EVENT} && $.cacheFound IS FALSE }`,
        value: "1",
        unit: "Count",
        description: "Builds that found no layer cache in ECR (expected on the first build only)",
    },
];

/** The metric filter of a metric name; throws on a name no filter publishes. */
export function metricFilter(metricName: string): MetricFilterSpec {
    const f = METRIC_FILTERS.find((m) => m.metricName === metricName);
    if (f === undefined) {
        throw new Error(`No metric filter publishes ${metricName}`);
    }
    return f;
}

// ------------------------------------------------------------------------------------------------------------
// The filter-pattern subset, evaluated.

/** The value at a dotted JSON path (`$.a.b`) of a parsed event; undefined when any part is missing. */
export function jsonPath(event: unknown, path: string): unknown {
    if (!/^\$(\.[A-Za-z_][A-Za-z0-9_]*)+$/.test(path)) {
        throw new Error(`Not a dotted JSON path of the supported subset: ${path}`);
    }
    return path
        .slice(2)
        .split(".")
        .reduce<unknown>(
            (v, k) => (v !== null && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined),
            event,
        );
}

const TERM =
    /^(\$(?:\.[A-Za-z_][A-Za-z0-9_]*)+)\s*(?:(IS)\s+(TRUE|FALSE)|(=|>=|>)\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?))$/;

/** A pattern's terms; throws on anything outside the supported subset, so a pattern the tests can't check is not deployed. */
export function parseFilterPattern(pattern: string): ((event: unknown) => boolean)[] {
    const m = /^\{\s*(.*?)\s*\}$/.exec(pattern.trim());
    if (!m) {
        throw new Error(`Not a JSON filter pattern ({ … }): ${pattern}`);
    }
    return m[1].split(/\s*&&\s*/).map((term) => {
        const t = TERM.exec(term);
        if (!t) {
            throw new Error(`Term outside the supported subset: ${JSON.stringify(term)} in ${pattern}`);
        }
        const [, path, is, bool, op, literal] = t;
        if (is !== undefined) {
            return (e) => jsonPath(e, path) === (bool === "TRUE");
        }
        const value = jsonPath.bind(undefined);
        if (literal.startsWith('"')) {
            const s = JSON.parse(literal) as string;
            if (op !== "=") {
                throw new Error(`Only = compares strings in the supported subset: ${term}`);
            }
            return (e) => value(e, path) === s;
        }
        const n = Number(literal);
        return (e) => {
            const v = value(e, path);
            return typeof v === "number" && (op === "=" ? v === n : op === ">" ? v > n : v >= n);
        };
    });
}

/** Whether a log event (one line of text) matches a JSON filter pattern of the supported subset. */
export function filterPatternMatches(pattern: string, logEvent: string): boolean {
    const terms = parseFilterPattern(pattern);
    let event: unknown;
    try {
        event = JSON.parse(logEvent);
    } catch {
        return false;
    }
    if (event === null || typeof event !== "object" || Array.isArray(event)) {
        return false;
    }
    return terms.every((t) => t(event));
}

/** One metric data point a filter publishes for a log event. */
export interface DataPoint {
    readonly metricName: string;
    readonly project: string;
    readonly value: number;
}

/**
 * What the deployed filters publish for a list of log lines, as CloudWatch would: per matching event and filter, the
 * value at the filter's path (an event whose value is not a number publishes nothing), with the dimension.
 */
export function dataPoints(
    lines: readonly string[],
    filters: readonly MetricFilterSpec[] = METRIC_FILTERS,
): DataPoint[] {
    const out: DataPoint[] = [];
    for (const line of lines) {
        for (const f of filters) {
            if (!filterPatternMatches(f.pattern, line)) {
                continue;
            }
            const event: unknown = JSON.parse(line);
            const value = f.value.startsWith("$") ? jsonPath(event, f.value) : Number(f.value);
            const project = jsonPath(event, "$.project");
            if (typeof value === "number" && typeof project === "string") {
                out.push({ metricName: f.metricName, project, value });
            }
        }
    }
    return out;
}

/** The build event lines of a build's output: lines that parse as a JSON object with `layerCache`. */
export function buildEvents(output: string): BuildEvent[] {
    return output
        .split("\n")
        .filter((l) => l.startsWith('{"layerCache":'))
        .map((l) => JSON.parse(l) as BuildEvent);
}

// ------------------------------------------------------------------------------------------------------------
// The dashboard.

export interface DashboardOptions {
    readonly projectName: string;
    readonly region: string;
    /** The hit-ratio alarm's threshold, drawn on the hit-ratio widget. */
    readonly hitRatioThreshold: number;
    /** The duration alarm's bound in seconds, drawn on the duration widget; undefined when that alarm is off. */
    readonly durationAlarmSeconds?: number;
    /** ARNs of the alarms, for the alarm-status widget. */
    readonly alarmArns: readonly string[];
}

/** A metric line of a widget: `[namespace, name, dimension, value, {options}]`, CloudWatch's compact form. */
export type WidgetMetric = [string, string, string, string, Record<string, unknown>];

export interface DashboardWidget {
    readonly type: "metric" | "alarm";
    readonly x: number;
    readonly y: number;
    readonly width: number;
    readonly height: number;
    readonly properties: Record<string, unknown> & { readonly title: string; readonly metrics?: WidgetMetric[] };
}

/** Titles of the dashboard's widgets, in order. */
export const WIDGET_TITLES = {
    hitRatio: "Layer cache hit ratio (trusted builds)",
    duration: "Build duration vs cold baseline (s)",
    mbPushed: "MB pushed per build",
    failures: "Builds and failed builds",
    steps: "Steps cached vs rebuilt",
    alarms: "Alarms",
} as const;

/**
 * The dashboard body (`DashboardBody` JSON, as an object): hit ratio with the alarm's threshold; CodeBuild's
 * `Duration` against the cold baseline (`ColdBuildSeconds`, builds that found no cache) and the duration bound;
 * MB pushed; `Builds` and `FailedBuilds`; steps cached and rebuilt; and the alarms' states.
 */
export function dashboardBody(o: DashboardOptions): { widgets: DashboardWidget[] } {
    const ours = (metricName: string, stat: string, label: string): WidgetMetric => {
        metricFilter(metricName);
        return [METRIC_NAMESPACE, metricName, PROJECT_DIMENSION, o.projectName, { stat, label }];
    };
    const codebuild = (metricName: string, stat: string, label: string): WidgetMetric => [
        CODEBUILD_NAMESPACE,
        metricName,
        "ProjectName",
        o.projectName,
        { stat, label },
    ];
    const common = { region: o.region, view: "timeSeries", period: 3600 };
    const widget = (i: number, properties: DashboardWidget["properties"]): DashboardWidget => ({
        type: "metric",
        x: (i % 2) * 12,
        y: Math.floor(i / 2) * 6,
        width: 12,
        height: 6,
        properties: { ...common, ...properties },
    });
    const widgets: DashboardWidget[] = [
        widget(0, {
            title: WIDGET_TITLES.hitRatio,
            metrics: [ours("CacheHitRatio", "Average", "hit ratio")],
            yAxis: { left: { min: 0, max: 1 } },
            annotations: { horizontal: [{ label: "alarm threshold", value: o.hitRatioThreshold }] },
        }),
        widget(1, {
            title: WIDGET_TITLES.duration,
            metrics: [
                codebuild("Duration", "Average", "build duration (CodeBuild)"),
                ours("ColdBuildSeconds", "Maximum", "cold build (no cache found)"),
            ],
            yAxis: { left: { min: 0 } },
            ...(o.durationAlarmSeconds === undefined
                ? {}
                : { annotations: { horizontal: [{ label: "duration alarm", value: o.durationAlarmSeconds }] } }),
        }),
        widget(2, {
            title: WIDGET_TITLES.mbPushed,
            metrics: [ours("MegabytesPushed", "Sum", "MB pushed")],
            yAxis: { left: { min: 0 } },
        }),
        widget(3, {
            title: WIDGET_TITLES.failures,
            metrics: [codebuild("Builds", "Sum", "builds"), codebuild("FailedBuilds", "Sum", "failed builds")],
            yAxis: { left: { min: 0 } },
        }),
        widget(4, {
            title: WIDGET_TITLES.steps,
            metrics: [ours("StepsCached", "Sum", "cached"), ours("StepsRebuilt", "Sum", "rebuilt")],
            stacked: true,
        }),
        {
            type: "alarm",
            x: 12,
            y: 12,
            width: 12,
            height: 6,
            properties: { title: WIDGET_TITLES.alarms, alarms: [...o.alarmArns] },
        },
    ];
    return { widgets };
}
