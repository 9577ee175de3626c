// A bench run's records read back from its progress log (bench/logRecords.ts): pure, no Docker. The lines are
// bench/run.ts's own format, copied from a real run's log.
import { strict as assert } from "assert";
import { recordsFromLog } from "../../bench/logRecords";

const LOG = [
    "network profile: writeup (17 MB/s down, 17 MB/s up, 10 ms per request, +100 ms per blob GET)",
    "[bench 3/94, 121 s] inline warm, skip on ... heavy 0.9 s (skipped, 0 cached, 0 rebuilt, 0 MB pulled, 0 MB pushed)",
    "[bench 4/94, 125 s] inline change ... heavy 121.8 s (12 cached, 13 rebuilt, 47 MB pulled, 55 MB pushed)",
    "[bench 5/94, 252 s] registry (docker-container) cold ... heavy 201.2 s (0 cached, 25 rebuilt, 1 MB pulled, 119 MB pushed; builder: image 4.4 s, create 1.2 s; export 12.9 s)",
    "[bench 40/94, 2000 s] pull change 3 ... light-96 30.5 s (48 cached, 49 rebuilt, 190 MB pulled, 192 MB pushed)",
    "[bench 41/94, 2031 s] inline cold ... ",
].join("\n");

describe("bench records from a progress log (bench/logRecords.ts)", () => {
    it("reads every finished build with its numbers, and passes over a build that did not finish", () => {
        const r = recordsFromLog(LOG);
        assert.equal(r.length, 4);
        assert.deepEqual(
            r.map((x) => [x.variant, x.run, x.workload, x.buildSeconds, x.skipped]),
            [
                ["inline", "warm, skip on", "heavy", 0.9, true],
                ["inline", "change", "heavy", 121.8, false],
                ["registry (docker-container)", "cold", "heavy", 201.2, false],
                ["pull", "change 3", "light-96", 30.5, false],
            ],
        );
        const reg = r[2];
        assert.equal(reg.strategy, "registry");
        assert.equal(reg.registryMode, "docker-container");
        assert.deepEqual([reg.builderImageSeconds, reg.builderCreateSeconds, reg.exportSeconds], [4.4, 1.2, 12.9]);
        assert.deepEqual([reg.cachedSteps, reg.rebuiltSteps, reg.pulledMB, reg.pushedMB], [0, 25, 1, 119]);
        assert.equal(r[3].steps, 96);
        assert.equal(r[1].steps, undefined);
    });
});
