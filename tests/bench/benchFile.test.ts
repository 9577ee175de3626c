// results/bench.json as one run per network profile (bench/benchFile.ts): pure, no Docker.
import { strict as assert } from "assert";
import { benchMarkdown, chartName, networkName, parseBenchFile, runOf, withRun } from "../../bench/benchFile";
import type { RunRecord } from "../../localBuild/experiment";
import { benchRecord } from "../helpers/benchRecords";
import { BenchResults, ORIGINAL, TARGETS } from "../../bench/results";
import { NETWORK_PROFILES } from "../../standIn/networkProfiles";

function run(network: keyof typeof NETWORK_PROFILES | undefined, date: string): BenchResults {
    const r = (variant: string, name: RunRecord["run"], s: number) => benchRecord("heavy", variant, name, s);
    return {
        date,
        ...(network ? { network: NETWORK_PROFILES[network] } : {}),
        machine: { cpus: 2, memoryGB: 1, docker: {}, registryModes: [] },
        config: { steps: 24, mbPerStep: 4, hashRounds: 80, changeAt: 12, imageMB: 96 },
        records: [r("inline", "cold", 30), r("inline", "warm", 3), r("inline", "change", 18)],
        original: ORIGINAL,
        targets: { ...TARGETS, changeMaxRatio: 0.64 },
    };
}

describe("bench.json: one run per network profile (bench/benchFile.ts)", () => {
    it("a file from before profiles (one run at the top level) reads as one loopback run", () => {
        const f = parseBenchFile(JSON.stringify(run(undefined, "old")));
        assert.equal(f.runs.length, 1);
        assert.equal(networkName(f.runs[0]), "loopback");
        assert.deepEqual(f.runs[0].network, NETWORK_PROFILES.loopback);
        assert.equal(f.runs[0].date, "old");
    });

    it("a run replaces its own profile's and keeps the others, in the profiles' order", () => {
        let f = parseBenchFile(JSON.stringify(run(undefined, "loop")));
        f = withRun(f, run("cross-region", "slow-1"));
        f = withRun(f, run("writeup", "w"));
        f = withRun(f, run("cross-region", "slow-2"));
        assert.deepEqual(
            f.runs.map((r) => [networkName(r), r.date]),
            [
                ["loopback", "loop"],
                ["writeup", "w"],
                ["cross-region", "slow-2"],
            ],
        );
        assert.equal(runOf(f, "writeup")?.date, "w");
        assert.equal(runOf(f, "in-region"), undefined);
        // Round trip through JSON, as bench/run.ts writes and reads it.
        assert.deepEqual(parseBenchFile(JSON.stringify(f)), f);
    });

    it("refuses JSON that is neither a list of runs nor one run", () => {
        assert.throws(() => parseBenchFile('{"date":"x"}'), /neither a list of runs/);
    });

    it("charts: loopback keeps the old names, another profile's end in its name", () => {
        assert.equal(chartName("loopback"), "bench.svg");
        assert.equal(chartName("loopback", "scale"), "bench-scale.svg");
        assert.equal(chartName("writeup"), "bench-writeup.svg");
        assert.equal(chartName("writeup", "scale"), "bench-scale-writeup.svg");
    });

    it("bench.md has each profile's heading with its numbers, and each run's table under it", () => {
        const f = withRun(withRun(undefined, run("loopback", "a")), run("writeup", "b"));
        const md = benchMarkdown(f);
        const loop = md.indexOf("## Network profile `loopback`: unshaped (loopback)");
        const w = md.indexOf("## Network profile `writeup`: 17 MB/s down, 17 MB/s up, 10 ms per request");
        assert.ok(loop > 0 && w > loop, md.slice(0, 400));
        assert.equal((md.match(/\| heavy \| inline \| cold \| 30\.0 \|/g) ?? []).length, 2);
    });
});
