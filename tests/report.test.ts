// BuildKit plain-progress parsing (local/report.ts), on output shaped like BuildKit's: the local
// stand-in's "N cached / M rebuilt" numbers, and so the e2e tests and the benchmark, rest on it.
import * as assert from "assert";
import { parseBuildkitPlain } from "../local/report";

describe("parseBuildkitPlain", () => {
    it("reads padded step indexes ([ 2/10]) and stage names, and counts by vertex number", () => {
        const text = [
            `#0 building with "default" instance using docker driver`,
            `#1 [internal] load build definition from Dockerfile`,
            `#1 DONE 0.0s`,
            `#4 [ 1/10] FROM 127.0.0.1:5000/base/busybox:latest@sha256:abc`,
            `#4 DONE 0.1s`,
            `#5 [ 2/10] RUN mkdir -p /data`,
            `#6 [ 3/10] RUN dd if=/dev/urandom of=/data/step-001.bin`,
            `#5 CACHED`,
            `#6 0.512 some output`,
            `#6 DONE 1.2s`,
            `#7 [builder 10/10] RUN cat /data/*.bin`,
            `#7 CACHED`,
            `#8 [stage-1  2/2] COPY --from=builder /out/artifact.sha256 /artifact.sha256`,
            `#8 DONE 0.1s`,
            `#9 exporting to image`,
            `#9 DONE 0.3s`,
        ].join("\n");
        const r = parseBuildkitPlain(text);
        assert.strictEqual(r.builds.length, 1);
        const steps = r.builds[0].steps.map((s) => [s.stage ?? "", s.index, s.total, s.instruction, s.status]);
        assert.deepStrictEqual(steps, [
            ["", 1, 10, "FROM", "DONE"],
            ["", 2, 10, "RUN", "CACHED"],
            ["", 3, 10, "RUN", "DONE"],
            ["builder", 10, 10, "RUN", "CACHED"],
            ["stage-1", 2, 2, "COPY", "DONE"],
        ]);
        // FROM is not a cache hit or a rebuild; the internal vertices are not steps.
        assert.strictEqual(r.cached, 2);
        assert.strictEqual(r.rebuilt, 2);
    });
});
