/**
 * Issue #11: the dashboard picture (bench/dashboard.ts): its values come from the deployed filters applied to real
 * JSON lines (results/dashboard-events.jsonl, written by `npm run dashboard` from local builds), and it renders.
 * Nothing is mocked; the SVG is rendered headless by vega.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import Ajv from "ajv";
import { dashboardSpec, EVENTS_FILE, rows } from "../../bench/dashboard";
import { vegaLiteSvg } from "../../bench/results";
import { BUILD_EVENT_SCHEMA, WIDGET_TITLES } from "../../components/buildEvent";

describe("the dashboard picture (bench/dashboard.ts)", () => {
    const lines = fs.readFileSync(EVENTS_FILE, "utf8").split("\n").filter(Boolean);

    it("the committed events are valid lines of the current schema", () => {
        const validate = new Ajv({ allErrors: true }).compile(BUILD_EVENT_SCHEMA);
        assert.ok(lines.length >= 5);
        for (const l of lines) {
            assert.ok(validate(JSON.parse(l)), `${l}\n${JSON.stringify(validate.errors)}`);
        }
    });

    it("per build, what the filters publish: no hit ratio for an untrusted build, nothing but a failure for a failed one", () => {
        const r = rows(lines);
        const events = lines.map(
            (l) =>
                JSON.parse(l) as { trusted: boolean; succeeded: boolean; hitRatio: number | null; cacheFound: boolean },
        );
        r.forEach((b, i) => {
            const e = events[i];
            assert.equal(b.hitRatio, e.trusted && e.hitRatio !== null ? e.hitRatio : undefined, `build ${i + 1}`);
            assert.equal(b.failed, e.succeeded ? 0 : 1);
            assert.equal(b.coldSeconds !== undefined, !e.cacheFound && e.succeeded);
        });
        assert.ok(
            r.some((b) => b.failed === 1),
            "the sequence has a failed build",
        );
        assert.ok(
            events.some((e) => !e.trusted),
            "and an untrusted one",
        );
    });

    it("renders every metric widget of the dashboard as a panel, to SVG", async () => {
        const spec = dashboardSpec(rows(lines), "local-project") as { concat: { title: string }[] };
        const titles = spec.concat.map((p) => p.title);
        for (const t of [WIDGET_TITLES.hitRatio, WIDGET_TITLES.duration, WIDGET_TITLES.mbPushed, WIDGET_TITLES.steps]) {
            assert.ok(titles.includes(t), t);
        }
        const svg = await vegaLiteSvg(spec);
        assert.ok(svg.startsWith("<svg"));
        for (const t of titles) {
            assert.ok(svg.includes(t.replace(/&/g, "&amp;")), t);
        }
        assert.ok(svg.includes("cold baseline") && svg.includes("alarm threshold"));
    });
});
