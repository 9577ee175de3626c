// Issue #11 end to end: the deployed metric filters, applied to real build logs. The component's own buildspec runs
// on a fresh Docker daemon per build against the local registry (standIn/, as in cache.test.ts); each build's output
// lines are its log events, as CloudWatch Logs would get them from CodeBuild. The filters' patterns and value paths
// (components/buildEvent.ts: the same objects monitoring.ts deploys) are evaluated on every line, and what they
// publish is compared with what the stand-in measured on its own (BuildKit's CACHED/DONE per step, bytes through
// the registry). Inline strategy: it needs no BuildKit image, so it runs wherever Docker does.
import { strict as assert } from "assert";
import Ajv from "ajv";
import { singleStage } from "../../localBuild/dockerfile";
import { BUILD_EVENT_SCHEMA, buildEvents, dataPoints, METRIC_FILTERS } from "../../components/buildEvent";
import { runScenario, ScenarioResult } from "../../standIn/scenario";
import { ready, REGISTRY, SharedHost } from "./helpers";

/** A build's log events: every line the buildspec's commands printed (the stand-in's own lines left out). */
const logEvents = (r: ScenarioResult) => r.lines.filter((l) => l.stream !== "runner").map((l) => l.text);

describe("metric filters on real build logs (local build host)", function () {
    this.timeout(600_000);
    const shared = new SharedHost().hooks();
    const validate = new Ajv({ allErrors: true }).compile(BUILD_EVENT_SCHEMA);

    it("cold, warm and a pull request: one valid event each; the filters publish exactly the stand-in's own counts", async function () {
        const h = await ready(this, shared.host);
        const dockerfile = singleStage({ baseImage: h.base.ref, steps: 3, mbPerStep: 1, hashRounds: 1 });
        const build = (label: string, env?: Record<string, string>) =>
            runScenario({
                host: h,
                strategy: "inline",
                repo: "e2e/metrics-inline",
                dockerfile,
                env,
                label,
                quiet: true,
            });
        const cold = await build("metrics cold");
        const warm = await build("metrics warm");
        const pr = await build("metrics pull request", {
            CODEBUILD_WEBHOOK_TRIGGER: "pr/7",
            CODEBUILD_SOURCE_VERSION: "pr/7",
        });
        for (const [name, r] of [
            ["cold", cold],
            ["warm", warm],
            ["pull request", pr],
        ] as const) {
            assert.equal(r.succeeded, true, `${name}: ${r.output}`);
            const lines = logEvents(r);
            const events = buildEvents(lines.join("\n"));
            assert.equal(events.length, 1, `${name}: one JSON line`);
            assert.ok(validate(events[0]), `${name}: ${JSON.stringify(validate.errors)}`);
            // The event agrees with the stand-in's own reading of BuildKit's output.
            assert.deepEqual(
                [events[0].steps, events[0].cached, events[0].rebuilt],
                [r.steps.cached + r.steps.rebuilt, r.steps.cached, r.steps.rebuilt],
                name,
            );
            // No other line of a real build log matches any filter.
            const others = lines.filter((l) => !l.startsWith('{"layerCache":'));
            assert.deepEqual(dataPoints(others), [], `${name}: a filter matched a line that is not the event`);
        }

        const points = (r: ScenarioResult) => {
            const all = dataPoints(logEvents(r));
            const project = buildEvents(logEvents(r).join("\n"))[0].project;
            assert.ok(all.every((p) => p.project === project));
            return Object.fromEntries(all.map((p) => [p.metricName, p.value]));
        };
        const c = points(cold);
        const w = points(warm);
        const p = points(pr);
        const steps = cold.steps.rebuilt;
        assert.ok(steps >= 4, `the cold build ran every step (${steps})`);
        assert.equal(c.CacheMissing, 1, "cold: no cache found");
        assert.equal(c.CacheHitRatio, 0);
        assert.equal(c.StepsRebuilt, steps);
        assert.ok(c.ColdBuildSeconds > 0 && c.ColdBuildSeconds === c.BuildSeconds);
        assert.equal(w.CacheHitRatio, 1, "warm: every step from the cache");
        assert.equal(w.StepsCached, steps);
        assert.equal(w.CacheMissing, undefined);
        assert.equal(w.ColdBuildSeconds, undefined);
        // A pull request reads the cache but counts towards no hit ratio (the alarm watches trusted builds) and pushes nothing.
        assert.equal(p.CacheHitRatio, undefined);
        assert.equal(p.MegabytesPushed, undefined);
        assert.equal(p.StepsCached, steps);
        for (const [name, r] of [
            ["cold", cold],
            ["warm", warm],
        ] as const) {
            const event = buildEvents(logEvents(r).join("\n"))[0];
            console.log(
                `      ${name}: ${event.seconds.total} s; MB pushed per BuildKit ${event.mbPushed ?? "(not printed)"}, per registry ${r.bytes.pushedMB.toFixed(2)}`,
            );
            if (event.mbPushed !== null) {
                // BuildKit's sizes are the compressed layers it pushed; the registry also counts manifests and config.
                assert.ok(
                    event.mbPushed <= r.bytes.pushedMB + 0.1,
                    `${name}: ${event.mbPushed} vs ${r.bytes.pushedMB}`,
                );
            }
        }
        assert.ok(cold.bytes.pushedMB > 2, "the cold build pushed its layers");
    });

    it("registry strategy on the docker-container builder: the export written cold, skipped on a full hit", async function () {
        const h = await ready(this, shared.host, REGISTRY);
        const dockerfile = singleStage({ baseImage: h.base.ref, steps: 3, mbPerStep: 1, hashRounds: 1 });
        const build = (label: string) =>
            runScenario({
                host: h,
                strategy: "registry",
                registryMode: "docker-container",
                repo: "e2e/metrics-registry",
                dockerfile,
                label,
                quiet: true,
            });
        const cold = await build("metrics registry cold");
        const warm = await build("metrics registry warm");
        const events = [cold, warm].map((r) => {
            assert.equal(r.succeeded, true, r.output);
            const e = buildEvents(logEvents(r).join("\n"));
            assert.equal(e.length, 1);
            assert.ok(validate(e[0]), JSON.stringify(validate.errors));
            return e[0];
        });
        assert.deepEqual(
            events.map((e) => [e.strategy, e.cacheFound, e.export, e.hitRatio]),
            [
                ["registry", false, "written", 0],
                ["registry", true, "skipped", 1],
            ],
        );
        assert.ok(events.every((e) => typeof e.seconds.export === "number"));
        assert.ok(events[1].cacheRef.endsWith(":buildcache"));
        assert.equal(dataPoints(logEvents(warm)).find((p) => p.metricName === "CacheHitRatio")?.value, 1);
        console.log(
            `      registry: cold ${events[0].seconds.total} s, warm ${events[1].seconds.total} s; MB pushed ${events.map((e) => e.mbPushed).join(", ")}`,
        );
        assert.ok(METRIC_FILTERS.length > 0);
    });
});
