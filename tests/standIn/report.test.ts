// BuildKit plain-progress parsing (standIn/report.ts), on output shaped like BuildKit's: the local
// stand-in's "N cached / M rebuilt" numbers, and so the e2e tests and the benchmark, rest on it.
import * as assert from "assert";
import { parseBuildkitPlain } from "../../standIn/report";

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

    it("splits the output into one build per `#0 building with`, strips the runner's [phase] prefix, and keys repeated headers by vertex", () => {
        const text = [
            '#0 building with "default" instance using docker driver',
            "#1 [internal] load build definition from Dockerfile",
            "#1 DONE 0.0s",
            "#5 [1/3] FROM r/base@sha256:abc",
            "#6 [2/3] RUN echo a",
            "#5 DONE 0.2s",
            "#6 0.100 a",
            "#7 [builder 3/3] COPY x /x",
            "#6 [2/3] RUN echo a",
            "#6 DONE 1.5s",
            "#7 CACHED",
            "#8 exporting to image",
            "#8 DONE 0.1s",
            '[build] #0 building with "default" instance using docker driver',
            "[build] #4 [1/2] FROM r/base",
            "[build] #4 CACHED",
            "[build] #5 [2/2] RUN false",
            "[build] #5 ERROR: process did not complete successfully",
        ].join("\n");
        const r = parseBuildkitPlain(text);
        assert.strictEqual(r.builds.length, 2);
        assert.strictEqual(r.builds[0].builder, 'building with "default" instance using docker driver');
        assert.deepStrictEqual(
            [r.builds[0].cached, r.builds[0].rebuilt, r.builds[0].fromDone, r.builds[0].fromCached],
            [1, 1, 1, 0],
        );
        assert.strictEqual(r.builds[0].steps.find((s) => s.id === 7)!.stage, "builder");
        assert.deepStrictEqual(r.builds[0].internal, [
            "[internal] load build definition from Dockerfile",
            "exporting to image",
        ]);
        assert.deepStrictEqual(
            [r.builds[1].cached, r.builds[1].rebuilt, r.builds[1].errored, r.builds[1].fromCached],
            [0, 0, 1, 1],
        );
        assert.deepStrictEqual([r.cached, r.rebuilt, r.errored], [1, 1, 1]);
    });

    it("counts a cache hit printed as DONE while its layer is fetched as CACHED (fetchedFromCache), and a step that ran as DONE", () => {
        // Trimmed from a real build here (buildx 0.13, dockerd 26, containerd store): `RUN mkdir` came from
        // the registry cache but BuildKit printed no `#7 CACHED`; `#8` ran.
        const log = [
            '#0 building with "default" instance using docker driver',
            "#5 importing cache manifest from 127.0.0.1:1/e2e/x:buildcache",
            "#5 DONE 0.1s",
            "#6 [1/3] FROM 127.0.0.1:1/base/busybox:latest@sha256:756e",
            "#6 DONE 0.1s",
            "#7 [2/3] RUN mkdir -p /data",
            `#7 sha256:${"d".repeat(64)} 92B / 92B 0.0s done`,
            "#7 DONE 0.1s",
            "#7 [2/3] RUN mkdir -p /data",
            `#7 extracting sha256:${"d".repeat(64)} 0.0s done`,
            "#7 DONE 0.4s",
            "#8 [3/3] RUN echo hi && dd if=/dev/urandom of=/r bs=1M count=1",
            "#8 0.105 hi",
            "#8 DONE 0.2s",
        ].join("\n");
        const [b] = parseBuildkitPlain(log).builds;
        assert.deepStrictEqual(
            b.steps.map((x) => [x.index, x.status, !!x.fetchedFromCache]),
            [
                [1, "DONE", false],
                [2, "CACHED", true],
                [3, "DONE", false],
            ],
        );
        assert.deepStrictEqual([b.cached, b.rebuilt], [1, 1]);
        assert.deepStrictEqual(b.cacheVertices, ["importing cache manifest from 127.0.0.1:1/e2e/x:buildcache"]);
    });

    it("on a docker-container builder, a hit printed CACHED and then DONE with its layer's download stays CACHED (not rebuilt)", () => {
        // Trimmed from a change build on the docker-container builder (BuildKit v0.32.2): the step before the
        // change prints `#9 CACHED`, then its header again with the download of the layers the next step needs.
        const log = [
            '#0 building with "layer-cache" instance using docker-container driver',
            "#9 [4/7] RUN step 2",
            "#9 CACHED",
            "#9 [4/7] RUN step 2",
            `#9 sha256:${"a".repeat(64)} 1.05MB / 1.05MB 0.0s done`,
            `#9 extracting sha256:${"a".repeat(64)} 0.2s done`,
            "#9 DONE 0.5s",
            "#10 [5/7] RUN step 3 (changed)",
            "#10 0.167 step 3: 1 MB hashed 1 times",
            "#10 DONE 0.2s",
        ].join("\n");
        const [b] = parseBuildkitPlain(log).builds;
        assert.deepStrictEqual(
            b.steps.map((x) => [x.index, x.status, x.seconds]),
            [
                [4, "CACHED", undefined],
                [5, "DONE", 0.2],
            ],
        );
        assert.deepStrictEqual([b.cached, b.rebuilt], [1, 1]);
    });

    it("a DONE step that printed process output is rebuilt even if layers were downloaded on its vertex", () => {
        const log = [
            '#0 building with "default" instance using docker driver',
            "#7 [2/3] RUN make",
            `#7 sha256:${"b".repeat(64)} 92B / 92B 0.0s done`,
            "#7 0.201 compiling",
            "#7 DONE 1.4s",
        ].join("\n");
        const [b] = parseBuildkitPlain(log).builds;
        assert.deepStrictEqual([b.cached, b.rebuilt, !!b.steps[0].fetchedFromCache], [0, 1, false]);
    });

    it("the builder's start (`buildx create --bootstrap`, no `#0 building with` line) is not a build", () => {
        const log = [
            "#1 [internal] booting buildkit",
            "#1 pulling image public.ecr.aws/vend/moby/buildkit:v0.32.2 done",
            "#1 pulling failed, using local image public.ecr.aws/vend/moby/buildkit:v0.32.2 done",
            "#1 creating container buildx_buildkit_layer-cache0 0.4s done",
            "#1 DONE 0.4s",
            '#0 building with "layer-cache" instance using docker-container driver',
            "#1 [internal] load build definition from Dockerfile",
            "#1 DONE 0.0s",
            "#5 [2/2] RUN true",
            "#5 CACHED",
        ].join("\n");
        const r = parseBuildkitPlain(log);
        assert.equal(r.builds.length, 1);
        assert.equal(r.builds[0].builder, 'building with "layer-cache" instance using docker-container driver');
        assert.deepStrictEqual(r.builds[0].internal, ["[internal] load build definition from Dockerfile"]);
        assert.equal(r.cached, 1);
    });

    it("a registry-side tag (`buildx imagetools create`, no `#0 building with` line) is not a build", () => {
        const ref = "127.0.0.1:5000/app";
        const log = [
            `#1 [internal] pushing ${ref}:latest`,
            `#1 0.000 copying sha256:${"a".repeat(64)} from ${ref}:key-${"b".repeat(64)} to ${ref}:latest`,
            `#1 0.014 pushing sha256:${"a".repeat(64)} to ${ref}:latest`,
            "#1 DONE 0.0s",
        ].join("\n");
        assert.deepEqual(parseBuildkitPlain(log).builds, []);
        // After a build has started, the same name is one of its vertices.
        const within = parseBuildkitPlain(['#0 building with "x" instance using docker driver', log].join("\n"));
        assert.equal(within.builds.length, 1);
    });
});
