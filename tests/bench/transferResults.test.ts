// bench/transferResults.ts: what the transfer bench computes from manifests and BuildKit's plain progress. Pure: the
// manifests' descriptors and the progress lines are written here.
import { strict as assert } from "assert";
import { newBlobBytes, subStepSeconds } from "../../bench/transferResults";

const D1 = `sha256:${"1".repeat(64)}`;
const D2 = `sha256:${"2".repeat(64)}`;

describe("transferResults", () => {
    describe("newBlobBytes", () => {
        it("counts each digest the registry lacked once, across the image's and the cache's manifests", () => {
            const image = [
                { digest: D1, size: 10 },
                { digest: D2, size: 20 },
            ];
            const cache = [{ digest: D2, size: 20 }];
            assert.equal(newBlobBytes([...image, ...cache], new Set()), 30);
            assert.equal(newBlobBytes([...image, ...cache], new Set([D1])), 20);
            assert.equal(newBlobBytes(image, new Set([D1, D2])), 0);
        });
    });

    describe("subStepSeconds (BuildKit's plain progress)", () => {
        it("sums a sub-step's times over every export, a sub-step with no time counting 0, and reads no other sub-step", () => {
            const out = [
                "[build] #14 exporting to image",
                "[build] #14 exporting layers",
                "[build] #14 exporting layers 2.3s done",
                "[build] #14 pushing layers 0.4s done",
                "[build] #15 exporting layers done",
                "[build] #16 exporting layers 0.7s done",
                "[build] #16 exporting layers and more 9.0s done",
            ].join("\n");
            assert.equal(subStepSeconds(out, "exporting layers"), 3);
            assert.equal(subStepSeconds(out, "pushing layers"), 0.4);
        });
    });
});
