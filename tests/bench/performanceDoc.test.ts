// docs/performance.md and its generator (bench/performanceDoc.ts): pure, no Docker. The first test reads the committed
// results/bench.json and docs/performance.md: it fails when the page no longer says what the results say.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { BenchFile, parseBenchFile, withRun } from "../../bench/benchFile";
import type { RunRecord } from "../../localBuild/experiment";
import { chooseDefault, claimTable, performanceMarkdown, targetLines, usd } from "../../bench/performanceDoc";
import { buildDollars } from "../../bench/prices";
import { BenchResults, ORIGINAL, TARGETS } from "../../bench/results";
import { WORKLOADS } from "../../localBuild/dockerfile";
import { NETWORK_PROFILES } from "../../standIn/networkProfiles";
import { benchRecord } from "../helpers/benchRecords";

const root = path.resolve(__dirname, "..", "..");
const REG = "registry (docker-container)";

type Row = [workload: string, variant: string, run: RunRecord["run"], seconds: number, pulledMB?: number];

function run(network: keyof typeof NETWORK_PROFILES, rows: Row[]): BenchResults {
    return {
        date: "2026-12-06T23:00:00.000Z",
        network: NETWORK_PROFILES[network],
        machine: { cpus: 2, memoryGB: 1, docker: {}, registryModes: ["docker-container"] },
        config: { steps: 24, mbPerStep: 4, hashRounds: 80, changeAt: 12, imageMB: 96 },
        workloads: [WORKLOADS.heavy, WORKLOADS.light],
        records: rows.map(([workload, variant, name, s, mb]) => benchRecord(workload, variant, name, s, mb)),
        original: ORIGINAL,
        targets: { ...TARGETS, changeMaxRatio: 0.64 },
    };
}

/** Both workloads, inline and registry: cold 100, then the given warm / skip / change seconds. */
function rows(inline: [number, number, number], registry: [number, number, number], regWarmMB = 0): Row[] {
    return ["heavy", "light"].flatMap((w): Row[] => [
        [w, "inline", "cold", 100],
        [w, "inline", "warm", inline[0], 100],
        [w, "inline", "warm, skip on", inline[1]],
        [w, "inline", "change", inline[2]],
        [w, REG, "cold", 100],
        [w, REG, "warm", registry[0], regWarmMB],
        [w, REG, "warm, skip on", registry[1]],
        [w, REG, "change", registry[2]],
        [w, "pull", "cold", 100],
        [w, "pull", "warm", 100],
        [w, "pull", "change", 100],
    ]);
}

describe("docs/performance.md (bench/performanceDoc.ts)", () => {
    it("the committed page is what results/bench.json gives (run `npm run performance` after a bench run)", () => {
        const file = parseBenchFile(fs.readFileSync(path.join(root, "results", "bench.json"), "utf8"));
        const page = fs.readFileSync(path.join(root, "docs", "performance.md"), "utf8");
        const block = `<!-- generated:performance -->\n${performanceMarkdown(file).trimEnd()}\n<!-- /generated:performance -->`;
        assert.ok(page.includes(block), "docs/performance.md is stale: run npm run performance");
    });

    it("results/bench.json records the network profile of every run, each profile once", () => {
        const file = parseBenchFile(fs.readFileSync(path.join(root, "results", "bench.json"), "utf8"));
        const raw = JSON.parse(fs.readFileSync(path.join(root, "results", "bench.json"), "utf8")) as {
            runs?: { network?: { name?: string } }[];
        };
        assert.ok(Array.isArray(raw.runs), "bench.json is a list of runs");
        for (const r of raw.runs) assert.ok(r.network?.name, "a run without its network profile");
        const names = file.runs.map((r) => r.network.name);
        assert.equal(new Set(names).size, names.length);
    });

    it("a conclusion that holds under one profile and not another is reported as a flip, naming the profile", () => {
        let file: BenchFile = withRun(undefined, run("loopback", rows([10, 1, 50], [5, 1, 60])));
        file = withRun(file, run("writeup", rows([20, 1, 55], [25, 1, 50])));
        const t = claimTable(file);
        const warm = t.find((c) => c.text.startsWith("heavy: `registry` warm"))!;
        assert.deepEqual(
            warm.cells.map((c) => c.holds),
            [true, false],
        );
        assert.equal(warm.verdict, "flips: false under `writeup`");
        const pull = t.find((c) => c.text.startsWith("heavy: the cache (best of `inline`, `registry`) beats"))!;
        assert.equal(pull.verdict, "holds under every profile");
    });

    it("the default is the strategy with the fewest warm + change seconds over both workloads", () => {
        const r = run("writeup", rows([20, 1, 55], [5, 1, 60]));
        const c = chooseDefault(withRun(undefined, r).runs[0])!;
        assert.deepEqual(c.totals, { inline: 150, registry: 130 });
        assert.equal(c.strategy, "registry");
        assert.equal(c.basis, "whole build");
        const other = chooseDefault(withRun(undefined, run("writeup", rows([5, 1, 50], [20, 1, 60]))).runs[0])!;
        assert.equal(other.strategy, "inline");
    });

    it("where step times are recorded, the default counts only the seconds that are not Dockerfile work", () => {
        // registry's change is slower in whole seconds (its Dockerfile steps ran on a busier machine), faster outside them.
        const r = run("writeup", rows([20, 1, 55], [20, 1, 70]));
        const withSteps = {
            ...r,
            records: r.records.map((x) => ({
                ...x,
                dockerfileSeconds: x.run === "change" ? (x.variant === "inline" ? 40 : 60) : 0,
            })),
        };
        const c = chooseDefault(withRun(undefined, withSteps).runs[0])!;
        assert.equal(c.basis, "not Dockerfile work");
        assert.deepEqual(c.totals, { inline: 2 * (20 + 15), registry: 2 * (20 + 10) });
        assert.equal(c.strategy, "registry");
    });

    it("issue 23's targets: change within the work after it + 10 %, skip ≤ 2 %, registry warm pulls no layer", () => {
        // heavy: 24 steps, change at 12: 13/24 = 54.2 % + 10 % = 64.2 %; light: 48 steps, 25/48 + 10 % = 62.1 %.
        const r = withRun(undefined, run("writeup", rows([20, 2, 64], [5, 3, 65], 0.2))).runs[0];
        const lines = targetLines(r).join("\n");
        assert.match(lines, /heavy, `inline`: 64\.0 % of cold \(target ≤ 64\.2 %\): \*\*met\*\*/);
        assert.match(lines, /light, `inline`: 64\.0 % of cold \(target ≤ 62\.1 %\): \*\*not met\*\*/);
        assert.match(
            lines,
            /heavy, `registry \(docker-container\)`: 65\.0 % of cold \(target ≤ 64\.2 %\): \*\*not met\*\*/,
        );
        assert.match(
            lines,
            /skip ≤ 2\.0 % of cold, heavy, `inline`: 2\.0 s, 2\.0 % of cold, 0\.00 MB pulled: \*\*met\*\*/,
        );
        assert.match(
            lines,
            /skip ≤ 2\.0 % of cold, heavy, `registry \(docker-container\)`: 3\.0 s, 3\.0 % .*\*\*not met\*\*/,
        );
        assert.match(lines, /`registry` warm pulls no layer bytes, heavy: 0\.20 MB pulled .*\*\*not met\*\*/);
        assert.match(lines, /at 96 steps: not measured \(no scale series in this run\)/);
        assert.match(
            lines,
            /dropped \(issue 23\), still measured: the light no-change rebuild without skip, `registry`: 5\.0 %/,
        );
    });

    it("dollars: seconds at the per-minute price, and small sums keep their digits", () => {
        assert.equal(buildDollars(60, "BUILD_GENERAL1_MEDIUM"), 0.01);
        assert.equal(buildDollars(30, "BUILD_GENERAL1_LARGE"), 0.01);
        assert.equal(usd(234), "$234.00");
        assert.equal(usd(0.226), "$0.226");
        assert.equal(usd(0.0031), "$0.00310");
        assert.equal(usd(-6.7), "−$6.70");
    });
});
