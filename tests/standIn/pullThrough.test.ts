/**
 * The pure part of the local pull-through cache front (`standIn/pullThrough.ts`): which requests it treats as
 * pulls through a cache rule, and what a manifest refers to. No Docker, no network; the front itself runs in
 * tests/e2e/pullThrough.test.ts.
 */
import { strict as assert } from "assert";
import { parseCacheRequest, referencedContent } from "../../standIn/pullThrough";

const D = `sha256:${"a".repeat(64)}`;
const PREFIXES = ["docker-hub", "ecr-public"];

describe("local pull-through front (pure)", () => {
    describe("parseCacheRequest", () => {
        it("a manifest by tag under a prefix: the local repository, the upstream one, the reference", () => {
            assert.deepEqual(parseCacheRequest("GET", "/v2/docker-hub/library/busybox/manifests/1.36", PREFIXES), {
                prefix: "docker-hub",
                repository: "docker-hub/library/busybox",
                upstreamRepository: "library/busybox",
                kind: "manifests",
                reference: "1.36",
            });
        });

        it("HEAD of a manifest by digest, and a blob by digest (query string ignored)", () => {
            assert.deepEqual(parseCacheRequest("HEAD", `/v2/ecr-public/vend/moby/buildkit/manifests/${D}`, PREFIXES), {
                prefix: "ecr-public",
                repository: "ecr-public/vend/moby/buildkit",
                upstreamRepository: "vend/moby/buildkit",
                kind: "manifests",
                reference: D,
            });
            assert.equal(
                parseCacheRequest("GET", `/v2/docker-hub/library/busybox/blobs/${D}?ns=docker.io`, PREFIXES)
                    ?.upstreamRepository,
                "library/busybox",
            );
        });

        it("the longest matching prefix wins (nested prefixes)", () => {
            const r = parseCacheRequest("GET", "/v2/cache/hub/library/node/manifests/22", ["cache", "cache/hub"]);
            assert.deepEqual([r?.prefix, r?.upstreamRepository], ["cache/hub", "library/node"]);
        });

        for (const [why, method, url] of [
            ["outside every prefix", "GET", "/v2/e2e/app/manifests/latest"],
            ["a repository that only starts like a prefix", "GET", "/v2/docker-hubx/library/busybox/manifests/1"],
            ["the prefix itself, with no upstream path", "GET", "/v2/docker-hub/manifests/1"],
            ["a push (PUT manifest)", "PUT", "/v2/docker-hub/library/busybox/manifests/1"],
            ["a blob upload", "POST", "/v2/docker-hub/library/busybox/blobs/uploads/"],
            ["an upload's status", "GET", "/v2/docker-hub/library/busybox/blobs/uploads/0f1e"],
            ["a blob by something that is no digest", "GET", "/v2/docker-hub/library/busybox/blobs/latest"],
            ["a tag list", "GET", "/v2/docker-hub/library/busybox/tags/list"],
            ["the API ping", "GET", "/v2/"],
            [
                "a manifest reference that is neither tag nor digest",
                "GET",
                "/v2/docker-hub/library/busybox/manifests/-x",
            ],
        ] as const) {
            it(`not a cache request: ${why}`, () => {
                assert.equal(parseCacheRequest(method, url, PREFIXES), undefined);
            });
        }
    });

    describe("referencedContent", () => {
        it("an image manifest: its config, then its layers", () => {
            const m = {
                schemaVersion: 2,
                config: { digest: "sha256:c" },
                layers: [{ digest: "sha256:l1" }, { digest: "sha256:l2" }],
            };
            assert.deepEqual(referencedContent(m), { manifests: [], blobs: ["sha256:c", "sha256:l1", "sha256:l2"] });
        });

        it("an index: its child manifests, no blobs", () => {
            const m = { schemaVersion: 2, manifests: [{ digest: "sha256:amd64" }, { digest: "sha256:arm64" }] };
            assert.deepEqual(referencedContent(m), { manifests: ["sha256:amd64", "sha256:arm64"], blobs: [] });
        });

        it("nothing from something that is no manifest", () => {
            assert.deepEqual(referencedContent(null), { manifests: [], blobs: [] });
            assert.deepEqual(referencedContent({ layers: [{ size: 3 }] }), { manifests: [], blobs: [] });
        });
    });
});
