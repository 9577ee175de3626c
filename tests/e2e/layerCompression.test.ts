// End-to-end: a zstd layer cache round-trips on CodeBuild's path (layerCompression: "zstd", registry strategy, the
// docker-container builder), and dockerd 28 pulls the zstd image. What is real: the component's buildspec, BuildKit
// v0.32.2 in the builder's container, a fresh dockerd per build, the registry (distribution 2.8) playing ECR; what a
// build did is read from BuildKit's per-step statuses, the bytes through the registry and the registry's manifests.
//
// 1. cold (skip on, the default: the build writes the cache beside its push): every layer of the image and of the
//    cache manifest is zstd (OCI media type), the base image's included (force-compression), the image's layers are
//    blobs of the cache (shared: one copy in the repository);
// 2. warm, on a fresh host: every step is a hit from that cache, and no layer is downloaded;
// 3. a fresh dockerd (the stand-in's, 28.5 as on CodeBuild's images) pulls the image: Docker reads zstd layers.
import { strict as assert } from "assert";
import { singleStage } from "../../localBuild/dockerfile";
import type { LocalBuildResult } from "../../standIn/host";
import { runSpecOnDockerfile } from "../../standIn/scenario";
import type { Buildspec } from "../../standIn/runner";
import { componentBuild, ready, REGISTRY, SharedHost, SMALL, why } from "./helpers";

const REPO = "e2e/zstd-registry";
const ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd";
const shared = new SharedHost();

/** BuildKit's status of each Dockerfile step after FROM, in the build (the first docker build). */
function statuses(r: LocalBuildResult): string[] {
    return r.steps.builds[0].steps
        .filter((s) => s.index >= 2)
        .sort((a, b) => a.index - b.index)
        .map((s) => s.status);
}

describe("layerCompression zstd, end to end (registry strategy, docker-container builder, fresh host per build)", function () {
    this.timeout(300_000);
    shared.hooks();

    it("a zstd cache round-trips: cold writes zstd layers shared by the image and the cache; warm hits every step, pulling no layer; dockerd pulls the image", async function () {
        const host = await ready(this, shared.host, REGISTRY);
        const dockerfile = singleStage({ baseImage: host.base.ref, ...SMALL });
        const build = (label: string, skipUnchanged: boolean) =>
            componentBuild(host, label, REGISTRY, {
                repo: REPO,
                dockerfile,
                args: { layerCompression: "zstd", skipUnchanged },
            });

        const cold = await build("zstd cold", true);
        assert.equal(cold.succeeded, true, why(cold));
        const image = await shared.api.manifest(REPO, "latest");
        const cache = await shared.api.manifest(REPO, "buildcache");
        assert.ok(image && cache, `image ${!!image}, cache ${!!cache}`);
        const imageLayers = image.json.layers ?? [];
        const cacheLayers = cache.json.layers ?? [];
        // The base image's layer and one per step (SMALL: 3 steps, plus `mkdir`).
        assert.equal(imageLayers.length, SMALL.steps + 2, JSON.stringify(image.json));
        assert.deepEqual([...new Set(imageLayers.map((l) => l.mediaType))], [ZSTD], JSON.stringify(image.json));
        assert.deepEqual([...new Set(cacheLayers.map((l) => l.mediaType))], [ZSTD], JSON.stringify(cache.json));
        const inCache = new Set(cacheLayers.map((l) => l.digest));
        assert.deepEqual(
            imageLayers.filter((l) => !inCache.has(l.digest)),
            [],
            "every image layer is a blob of the cache (one copy in the repository)",
        );

        const warm = await build("zstd warm", false);
        assert.equal(warm.succeeded, true, why(warm));
        const s = statuses(warm);
        assert.ok(s.length === SMALL.steps + 1 && s.every((x) => x === "CACHED"), `${s.join(" ")}${why(warm)}`);
        // The cache manifest and its config are read; no layer is (the step layers are 1 MB each; as cache.test.ts).
        const imageBytes = imageLayers.reduce((n, l) => n + l.size, 0);
        assert.ok(
            warm.bytes.pulledBytes < 0.02 * imageBytes,
            `a warm registry build pulls (almost) nothing: ${warm.bytes.pulledBytes} B pulled for a ${imageBytes} B image${why(warm)}`,
        );

        const pull: Buildspec = {
            version: 0.2,
            env: { shell: "bash" },
            phases: {
                build: {
                    commands: [
                        `aws ecr get-login-password | docker login --username AWS --password-stdin ${host.registry.address}`,
                        `docker pull ${host.registry.address}/${REPO}:latest`,
                        `docker image inspect --format '{{len .RootFS.Layers}} layers' ${host.registry.address}/${REPO}:latest`,
                    ],
                },
            },
        };
        const pulled = await runSpecOnDockerfile(host, pull, dockerfile, {
            label: "dockerd pulls the zstd image",
            quiet: !process.env.E2E_VERBOSE,
            printReport: false,
            provideBuilderImage: false,
        });
        assert.equal(pulled.succeeded, true, why(pulled));
        assert.ok(
            pulled.lines.some((l) => l.text === `${SMALL.steps + 2} layers`),
            `dockerd unpacked every layer${why(pulled)}`,
        );
    });
});
