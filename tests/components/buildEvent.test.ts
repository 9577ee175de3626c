/**
 * Issue #11: the build's one machine-readable line (`components/buildspec/metrics.sh`) and what the log metric filters
 * make of it (`components/buildEvent.ts`).
 *
 * The line is produced by the whole buildspec run in real bash under CodeBuild's phase semantics
 * (tests/helpers/bash.ts: only `docker` and `aws` are stubbed; the docker stub prints BuildKit-shaped progress),
 * then validated with ajv (a JSON-schema validator already in node_modules) against BUILD_EVENT_SCHEMA. The filter
 * patterns are evaluated by the subset evaluator, which is itself tested against hand-written events here.
 */
import { strict as assert } from "node:assert";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import Ajv from "ajv";
import {
    BUILD_EVENT_SCHEMA,
    BuildEvent,
    buildEvents,
    dataPoints,
    filterPatternMatches,
    jsonPath,
    METRIC_FILTERS,
    parseFilterPattern,
} from "../../components/buildEvent";
import { BuildspecOptions, BUILD_LOG, header, marker, markedFragments } from "../../components/buildspec";
import { buildspec } from "../../components/buildspec/render";
import { runBash, runPhases } from "../helpers/bash";
import { buildspecOptions, TEST_REPOSITORY_URL } from "../helpers/buildspecOptions";

const REPO = TEST_REPOSITORY_URL;

function options(over: Partial<BuildspecOptions> = {}): BuildspecOptions {
    return buildspecOptions(over);
}

/** BuildKit plain progress of a 3-step build: `cached` of them CACHED, the rest run; a pushed layer of 2.5 MB. */
function progress(cached: number): string {
    const lines = ["#1 [internal] load build definition from Dockerfile", "#1 DONE 0.0s", "#4 [1/4] FROM base"];
    for (let i = 0; i < 3; i++) {
        const v = 5 + i;
        lines.push(`#${v} [${i + 2}/4] RUN step ${i}`);
        lines.push(...(i < cached ? [`#${v} CACHED`] : [`#${v} 0.120 output`, `#${v} DONE 1.0s`]));
    }
    lines.push(
        "#9 pushing layer 82b5d00a31f8 1.05MB / 2.5MB 0.1s",
        "#9 pushing layer 82b5d00a31f8 2.5MB / 2.5MB 0.2s done",
    );
    return lines.join("\n");
}

const ajv = new Ajv({ allErrors: true });
const validate = ajv.compile(BUILD_EVENT_SCHEMA);

interface Scenario {
    readonly o: BuildspecOptions;
    readonly trusted: boolean;
    readonly cacheFound: boolean;
    readonly cached: number;
    readonly failBuild?: boolean;
}

/** Runs the whole buildspec; returns its output and the one event line. */
function run(s: Scenario): { stdout: string; event: BuildEvent; line: string } {
    const uuid = randomUUID();
    const log = BUILD_LOG.replace("${CODEBUILD_BUILD_ID##*:}", uuid);
    const out = `/tmp/progress-${uuid}`;
    fs.writeFileSync(out, progress(s.cached));
    try {
        const r = runPhases(buildspec(s.o).phases, {
            env: {
                CODEBUILD_BUILD_ID: `my-project:${uuid}`,
                ...(s.trusted ? {} : { CODEBUILD_WEBHOOK_TRIGGER: "pr/7" }),
                PROGRESS: out,
                CACHE_FOUND_STUB: s.cacheFound ? "1" : "0",
                FAIL_BUILD: s.failBuild ? "1" : "0",
            },
            stubs: {
                aws: "echo pw",
                docker: [
                    "cat >/dev/null",
                    'if [ "$1 $2" = "buildx imagetools" ] && [ "$CACHE_FOUND_STUB" = 0 ]; then echo "ERROR: not found" >&2; return 1; fi',
                    'if [ "$1" = pull ] && [ "$CACHE_FOUND_STUB" = 0 ]; then return 1; fi',
                    'if [ "$1 $2" = "buildx build" ]; then cat "$PROGRESS"; if [ "$FAIL_BUILD" = 1 ]; then return 1; fi; fi',
                ].join("\n"),
            },
        });
        const lines = r.stdout.split("\n").filter((l) => l.startsWith("{"));
        assert.equal(lines.length, 1, `exactly one JSON line:\n${r.stdout}\n${r.stderr}`);
        assert.equal(buildEvents(r.stdout).length, 1);
        return { stdout: r.stdout, event: JSON.parse(lines[0]) as BuildEvent, line: lines[0] };
    } finally {
        fs.rmSync(out, { force: true });
        fs.rmSync(log, { force: true });
    }
}

function assertValid(line: string): void {
    const ok = validate(JSON.parse(line));
    assert.ok(ok, `${line}\n${ajv.errorsText(validate.errors)}`);
}

describe("the build's JSON line (metrics.sh)", () => {
    it("the schema refuses a line missing a field, with an extra field, or with a wrong type (validator control)", () => {
        const { line } = run({ o: options(), trusted: true, cacheFound: true, cached: 2 });
        assertValid(line);
        const event = JSON.parse(line) as Record<string, unknown>;
        const { hitRatio: _dropped, ...missing } = event;
        assert.equal(validate(missing), false);
        assert.equal(validate({ ...event, extra: 1 }), false);
        assert.equal(validate({ ...event, steps: "3" }), false);
        assert.equal(validate({ ...event, export: "maybe" }), false);
    });

    it("is one line, starts with its version field, and keeps its field order (an interface)", () => {
        const { line } = run({ o: options(), trusted: true, cacheFound: true, cached: 2 });
        assert.ok(!line.includes("\n"));
        assert.deepEqual(Object.keys(JSON.parse(line) as object), BUILD_EVENT_SCHEMA.required);
        assert.ok(line.startsWith('{"layerCache":1,'));
    });

    it("inline, trusted, warm: counts, ratio, push, the cache written with the image, MB pushed, refs", () => {
        const { line, event } = run({ o: options(), trusted: true, cacheFound: true, cached: 2 });
        assertValid(line);
        assert.equal(event.project, "my-project");
        assert.equal(event.strategy, "inline");
        assert.deepEqual([event.steps, event.cached, event.rebuilt, event.hitRatio], [3, 2, 1, 0.667]);
        assert.deepEqual([event.trusted, event.succeeded, event.cacheFound, event.pushed], [true, true, true, true]);
        assert.equal(event.export, "written");
        assert.equal(event.mbPushed, 2.5);
        assert.equal(event.image, `${REPO}:latest`);
        assert.equal(event.cacheRef, `${REPO}:latest`);
        assert.equal(event.seconds.export, null, "inline has no export command");
        for (const k of ["preBuild", "build", "total"] as const) {
            assert.equal(typeof event.seconds[k], "number", k);
        }
        // Milliseconds apart, to 3 decimals: compared in whole milliseconds (no float rounding).
        const ms = (v: number | null) => Math.round(v! * 1000);
        assert.ok(ms(event.seconds.total) >= ms(event.seconds.preBuild) + ms(event.seconds.build));
    });

    it("seconds: exact to the millisecond from the command markers, 3 decimals", () => {
        const o = options({ cacheStrategy: "registry" });
        const spec = buildspec(o);
        const metrics = spec.phases.post_build.commands.at(-1)!;
        // Its header (a comment), then its marker, then the rest.
        const start = `${header("metrics")}\n${marker("metrics")}\n`;
        assert.ok(metrics.startsWith(start));
        const r = runBash(metrics.slice(start.length), {
            env: {
                CODEBUILD_BUILD_ID: "my-project:b",
                TRUSTED: "1",
                CACHE_FOUND: "0",
                BRANCH_SH: "/dev/null",
                IMAGE_REF: "r:latest",
                CACHE_REF: "r:buildcache",
                CODEBUILD_BUILD_SUCCEEDING: "1",
                LAYER_CACHE_T_trust: "1795970000001",
                LAYER_CACHE_T_build: "1795970002501",
                LAYER_CACHE_T_report: "1795970003751",
                LAYER_CACHE_T_export: "1795970003800",
                LAYER_CACHE_T_post_build: "1795970065034",
                LAYER_CACHE_T_metrics: "1795970065433",
            },
        });
        assert.equal(r.status, 0, r.stderr);
        const line = r.stdout.split("\n").find((l) => l.startsWith('{"layerCache"'))!;
        assert.ok(line.includes('"seconds":{"preBuild":2.500,"build":1.250,"export":61.234,"total":65.432}'), line);
    });

    it("registry: a full hit skips the export, a partial hit and a cold build write it (export.sh's rule)", () => {
        const o = options({ cacheStrategy: "registry" });
        const full = run({ o, trusted: true, cacheFound: true, cached: 3 });
        assertValid(full.line);
        assert.equal(full.event.export, "skipped");
        assert.match(full.stdout, /already complete: not exported again/, "export.sh agrees: skipped");
        assert.equal(full.event.hitRatio, 1);
        assert.equal(full.event.cacheRef, `${REPO}:buildcache`);
        assert.equal(typeof full.event.seconds.export, "number");
        const partial = run({ o, trusted: true, cacheFound: true, cached: 1 });
        assert.equal(partial.event.export, "written");
        assert.doesNotMatch(partial.stdout, /not exported again/);
        const cold = run({ o, trusted: true, cacheFound: false, cached: 0 });
        assertValid(cold.line);
        assert.deepEqual([cold.event.cacheFound, cold.event.export, cold.event.hitRatio], [false, "written", 0]);
    });

    it("untrusted: nothing pushed or written; pull: never writes a cache", () => {
        const pr = run({ o: options({ cacheStrategy: "registry" }), trusted: false, cacheFound: true, cached: 3 });
        assertValid(pr.line);
        assert.deepEqual([pr.event.trusted, pr.event.pushed, pr.event.export], [false, false, "none"]);
        const pull = run({ o: options({ cacheStrategy: "pull" }), trusted: true, cacheFound: true, cached: 0 });
        assertValid(pull.line);
        assert.deepEqual([pull.event.pushed, pull.event.export, pull.event.strategy], [true, "none", "pull"]);
    });

    it("a failed build still prints a valid line: counts and build-end times it never reached are null", () => {
        const { line, event } = run({ o: options(), trusted: true, cacheFound: true, cached: 2, failBuild: true });
        assertValid(line);
        assert.deepEqual([event.succeeded, event.pushed, event.export], [false, false, "none"]);
        assert.deepEqual([event.steps, event.cached, event.rebuilt, event.hitRatio], [null, null, null, null]);
        assert.equal(typeof event.seconds.build, "number", "the build ran until post_build");
    });
});

describe("the filter-pattern subset (buildEvent.ts)", () => {
    const e = JSON.stringify({ layerCache: 1, a: { b: "x", n: 3, t: true, f: false }, z: null });

    it("jsonPath reads dotted paths and refuses anything else", () => {
        const ev = JSON.parse(e) as unknown;
        assert.equal(jsonPath(ev, "$.a.b"), "x");
        assert.equal(jsonPath(ev, "$.a.missing.deeper"), undefined);
        assert.throws(() => jsonPath(ev, "$.a[0]"), /subset/);
        assert.throws(() => jsonPath(ev, "$.*"), /subset/);
    });

    it("string =, IS TRUE/FALSE, numeric =, >, >=, joined by &&", () => {
        assert.ok(filterPatternMatches('{ $.a.b = "x" && $.a.t IS TRUE && $.a.f IS FALSE && $.a.n = 3 }', e));
        assert.ok(filterPatternMatches("{ $.a.n > 2 && $.a.n >= 3 }", e));
        assert.ok(!filterPatternMatches("{ $.a.n > 3 }", e));
        assert.ok(!filterPatternMatches('{ $.a.b = "y" }', e));
        assert.ok(!filterPatternMatches("{ $.a.f IS TRUE }", e));
        assert.ok(!filterPatternMatches("{ $.z > 0 }", e), "null is not a number");
        assert.ok(!filterPatternMatches("{ $.a.missing IS FALSE }", e), "a missing field matches nothing");
        assert.ok(!filterPatternMatches("{ $.layerCache = 1 }", "layer cache: 2 of 3 steps cached"), "not JSON");
        assert.ok(!filterPatternMatches("{ $.layerCache = 1 }", "[1]"), "not an object");
    });

    it("refuses what is outside the subset, so no pattern is deployed untested", () => {
        for (const p of ["$.a = 1", '{ $.a = "x" || $.b = 1 }', "{ $.a != 1 }", "{ ($.a = 1) }", '{ $.a = "x*" && }']) {
            assert.throws(() => parseFilterPattern(p), /subset|Not a JSON filter pattern/, p);
        }
    });

    it("every deployed pattern is in the subset, selects only v1 events, and its value path exists in the schema", () => {
        for (const f of METRIC_FILTERS) {
            parseFilterPattern(f.pattern);
            assert.match(f.pattern, /^\{ \$\.layerCache = 1 && /, f.id);
            if (f.value.startsWith("$")) {
                const [top, sub] = f.value.slice(2).split(".");
                const props = BUILD_EVENT_SCHEMA.properties as Record<string, { properties?: Record<string, unknown> }>;
                assert.ok(top in props, `${f.id}: ${f.value}`);
                assert.ok(sub === undefined || sub in (props[top].properties ?? {}), `${f.id}: ${f.value}`);
            } else {
                assert.ok(Number.isFinite(Number(f.value)), f.id);
            }
        }
    });

    it("data points from real lines of the buildspec: a trusted warm build, an untrusted one, a cold one", () => {
        const warm = run({ o: options(), trusted: true, cacheFound: true, cached: 2 }).line;
        const pr = run({ o: options(), trusted: false, cacheFound: true, cached: 3 }).line;
        const cold = run({ o: options(), trusted: true, cacheFound: false, cached: 0 }).line;
        const points = (line: string) =>
            Object.fromEntries(
                dataPoints(["layer cache: 2 of 3 steps cached", line]).map((p) => [p.metricName, p.value]),
            );
        assert.deepEqual(points(warm), {
            CacheHitRatio: 0.667,
            StepsCached: 2,
            StepsRebuilt: 1,
            BuildSeconds: JSON.parse(warm).seconds.total,
            MegabytesPushed: 2.5,
        });
        // Untrusted builds don't count towards the hit ratio (the alarm watches trusted builds) and push nothing.
        assert.deepEqual(Object.keys(points(pr)).sort(), ["BuildSeconds", "StepsCached", "StepsRebuilt"]);
        const c = points(cold);
        assert.equal(c.CacheMissing, 1);
        assert.equal(c.ColdBuildSeconds, JSON.parse(cold).seconds.total);
        assert.equal(c.CacheHitRatio, 0);
        assert.ok(dataPoints([warm]).every((p) => p.project === "my-project"));
    });
});

describe("command markers (buildspec/index.ts)", () => {
    it("mark exactly the commands whose start metrics.sh reads, and each marker runs date once", () => {
        assert.deepEqual([...markedFragments()].sort(), [
            "build",
            "export",
            "metrics",
            "post_build",
            "report",
            "trust",
        ]);
        assert.equal(marker("login"), undefined);
        assert.equal(marker("build"), "LAYER_CACHE_T_build=$(date +%s%3N)");
        const spec = buildspec(options({ cacheStrategy: "registry" }));
        assert.ok(spec.phases.build.commands[0].startsWith(`${header("build")}\nLAYER_CACHE_T_build=$(date +%s%3N)\n`));
        assert.ok(!spec.phases.pre_build.commands[1].includes("LAYER_CACHE_T_"), "login has no marker");
    });
});
