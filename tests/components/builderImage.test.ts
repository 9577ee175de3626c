/**
 * The builder image (`components/builderImage.ts`): the sources a build pulls it from, in order, its local name, and
 * the warning for a reference without a digest, as pure functions (no mocks); then the component's wiring of them,
 * under Pulumi's mock runtime (scripts/mockRuntime.ts: the engine and AWS are mocked; `pulumi.log.warn` is replaced
 * to record what `pulumi up` would print).
 */
import { strict as assert } from "assert";
import fc from "fast-check";
import * as pulumi from "@pulumi/pulumi";
import { CachedDockerBuildArgs } from "../../components/args";
import { DEFAULTS, resolveArgs } from "../../components/resolveArgs";
import { CachedDockerBuild } from "../../components/cachedDockerBuild";
import {
    BUILDKIT_V0_32_2,
    builderImageSources,
    builderSettings,
    digestOf,
    localBuilderImage,
    unpinnedBuilderImageWarning,
} from "../../components/builderImage";
import { installMocks, settle, valueOf } from "../../scripts/mockRuntime";

const ECR = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
const ECR_PUBLIC = { upstream: "ecr-public", prefix: "ecr-public" } as const;
const DOCKER_HUB = { upstream: "docker-hub", prefix: "docker-hub" } as const;
const D = BUILDKIT_V0_32_2;

describe("builder image (pure)", () => {
    describe("the default", () => {
        it("is BuildKit v0.32.2's index digest on ECR Public's mirror, with Docker Hub's moby/buildkit as the mirror", () => {
            assert.equal(D, "sha256:28a898719c18a33f4e8000685287fa36fd0dd9560c6440227d3a732d79bb41d8");
            assert.equal(DEFAULTS.builderImage, `public.ecr.aws/vend/moby/buildkit@${D}`);
            assert.deepEqual(DEFAULTS.builderImageMirrors, ["docker.io/moby/buildkit"]);
        });
    });

    describe("builderImageSources: where a build pulls it from, in order", () => {
        it("no cache: ECR Public's mirror, then Docker Hub, each by the same digest", () => {
            assert.deepEqual(builderImageSources(DEFAULTS.builderImage, DEFAULTS.builderImageMirrors, ECR, []), [
                `public.ecr.aws/vend/moby/buildkit@${D}`,
                `docker.io/moby/buildkit@${D}`,
            ]);
        });

        it("the ECR Public cache: through it first, then ECR Public, then Docker Hub", () => {
            assert.deepEqual(
                builderImageSources(DEFAULTS.builderImage, DEFAULTS.builderImageMirrors, ECR, [ECR_PUBLIC]),
                [
                    `${ECR}/ecr-public/vend/moby/buildkit@${D}`,
                    `public.ecr.aws/vend/moby/buildkit@${D}`,
                    `docker.io/moby/buildkit@${D}`,
                ],
            );
        });

        it("both caches: each cached route first, in the sources' order, then the sources themselves", () => {
            assert.deepEqual(
                builderImageSources(DEFAULTS.builderImage, DEFAULTS.builderImageMirrors, ECR, [DOCKER_HUB, ECR_PUBLIC]),
                [
                    `${ECR}/ecr-public/vend/moby/buildkit@${D}`,
                    `${ECR}/docker-hub/moby/buildkit@${D}`,
                    `public.ecr.aws/vend/moby/buildkit@${D}`,
                    `docker.io/moby/buildkit@${D}`,
                ],
            );
        });

        it("a tag beside the digest stays on the image's own reference; mirrors get the digest alone", () => {
            assert.deepEqual(builderImageSources(`moby/buildkit:v0.32.2@${D}`, ["quay.io/x/buildkit"], ECR, []), [
                `moby/buildkit:v0.32.2@${D}`,
                `quay.io/x/buildkit@${D}`,
            ]);
        });

        it("a mirror that is the image's own repository is tried once", () => {
            assert.deepEqual(
                builderImageSources(
                    `moby/buildkit@${D}`,
                    ["docker.io/moby/buildkit", "index.docker.io/moby/buildkit"],
                    ECR,
                    [],
                ),
                [`moby/buildkit@${D}`],
            );
        });

        it("a reference without a digest: itself only (no mirror can be held to its bytes), through its cache first", () => {
            assert.deepEqual(builderImageSources("moby/buildkit:v0.32.2", ["quay.io/x/buildkit"], ECR, []), [
                "moby/buildkit:v0.32.2",
            ]);
            assert.deepEqual(
                builderImageSources("public.ecr.aws/vend/moby/buildkit:buildx-stable-1", ["quay.io/x"], ECR, [
                    ECR_PUBLIC,
                ]),
                [
                    `${ECR}/ecr-public/vend/moby/buildkit:buildx-stable-1`,
                    "public.ecr.aws/vend/moby/buildkit:buildx-stable-1",
                ],
            );
        });

        it("property: every source carries the image's digest, none twice, and the image itself is among them", () => {
            const segment = fc.stringMatching(/^[a-z0-9]{1,8}$/);
            const repo = fc
                .tuple(
                    fc.constantFrom("docker.io", "public.ecr.aws", "quay.io", "127.0.0.1:5000"),
                    fc.array(segment, { minLength: 1, maxLength: 3 }),
                )
                .map(([h, p]) => `${h}/${p.join("/")}`);
            const digest = fc.stringMatching(/^[0-9a-f]{64}$/).map((h) => `sha256:${h}`);
            fc.assert(
                fc.property(
                    repo,
                    fc.array(repo, { maxLength: 4 }),
                    digest,
                    fc.subarray([ECR_PUBLIC, DOCKER_HUB]),
                    (image, mirrors, d, caches) => {
                        const sources = builderImageSources(`${image}@${d}`, mirrors, ECR, caches);
                        assert.ok(
                            sources.every((s) => digestOf(s) === d),
                            sources.join(" "),
                        );
                        assert.equal(new Set(sources).size, sources.length);
                        assert.ok(sources.includes(`${image}@${d}`));
                    },
                ),
            );
        });
    });

    describe("localBuilderImage: the name buildx starts the pulled image from", () => {
        it("on localhost, with the digest as its tag when pinned, `unpinned` otherwise", () => {
            assert.equal(
                localBuilderImage(DEFAULTS.builderImage),
                `localhost/layer-cache-builder:sha256-${D.slice(7)}`,
            );
            assert.equal(localBuilderImage("moby/buildkit:v0.32.2"), "localhost/layer-cache-builder:unpinned");
        });

        it("is a valid Docker tag (at most 128 characters)", () => {
            const tag = localBuilderImage(DEFAULTS.builderImage).split(":")[1];
            assert.match(tag, /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/);
        });
    });

    describe("builderSettings", () => {
        it("sources, local name and the caches' buildkitd.toml together", () => {
            assert.deepEqual(builderSettings(ECR, DEFAULTS.builderImage, [], [ECR_PUBLIC]), {
                sources: [`${ECR}/ecr-public/vend/moby/buildkit@${D}`, DEFAULTS.builderImage],
                localImage: localBuilderImage(DEFAULTS.builderImage),
                buildkitdConfig: `[registry."public.ecr.aws"]\n  mirrors = ["${ECR}/ecr-public"]\n`,
            });
            assert.deepEqual(builderSettings(ECR, DEFAULTS.builderImage, [], []).buildkitdConfig, "");
        });
    });

    describe("unpinnedBuilderImageWarning", () => {
        it("none for a pinned image", () => {
            assert.equal(unpinnedBuilderImageWarning(DEFAULTS.builderImage), undefined);
            assert.equal(unpinnedBuilderImageWarning(`moby/buildkit:v0.32.2@${D}`), undefined);
        });

        it("names the reference and the risk, and how to pin it", () => {
            assert.equal(
                unpinnedBuilderImageWarning("moby/buildkit:v0.32.2"),
                'builderImage "moby/buildkit:v0.32.2" has no digest: every build runs whatever that tag points to at the ' +
                    "time (the tag can move, or be deleted, and the bytes are not checked), and builderImageMirrors are not " +
                    "tried. Pin it: moby/buildkit:v0.32.2@sha256:<digest>, the digest from " +
                    "`docker buildx imagetools inspect <image>` (README: the builder image).",
            );
        });
    });

    describe("builderImageMirrors is validated", () => {
        it("a mirror with a tag or a digest is refused, naming the key, the value and what is allowed", () => {
            for (const bad of [
                "docker.io/moby/buildkit:v0.32.2",
                `docker.io/moby/buildkit@${D}`,
                "Docker.io/x",
                "a b",
            ]) {
                assert.throws(
                    () => resolveArgs("app", "dev", { builderImageMirrors: [bad] }),
                    (e: Error) =>
                        e.message.includes("builderImageMirrors") &&
                        e.message.includes(JSON.stringify(bad)) &&
                        e.message.includes("a repository reference without tag or digest"),
                    bad,
                );
            }
        });

        it("repositories are accepted, and none at all", () => {
            assert.deepEqual(
                resolveArgs("app", "dev", {
                    builderImageMirrors: ["quay.io/x/buildkit", "127.0.0.1:5000/moby/buildkit"],
                }).builderImageMirrors,
                ["quay.io/x/buildkit", "127.0.0.1:5000/moby/buildkit"],
            );
            assert.deepEqual(resolveArgs("app", "dev", { builderImageMirrors: [] }).builderImageMirrors, []);
        });
    });
});

describe("builder image under mocks: the component's warning and outputs", () => {
    /** Creates the component with `args` under mocks; returns it and the warnings it logged, with the resource named. */
    async function create(args: CachedDockerBuildArgs): Promise<{
        build: CachedDockerBuild;
        warned: { msg: string; resource: pulumi.Resource | undefined }[];
    }> {
        const warned: { msg: string; resource: pulumi.Resource | undefined }[] = [];
        const log = pulumi.log as { warn: (msg: string, resource?: pulumi.Resource) => Promise<void> };
        const original = log.warn;
        log.warn = (msg, resource) => {
            warned.push({ msg, resource });
            return Promise.resolve();
        };
        try {
            installMocks();
            const build = new CachedDockerBuild("docker-cache", args);
            await settle();
            return { build, warned };
        } finally {
            log.warn = original;
        }
    }

    it("an unpinned builderImage: one warning at `pulumi up`, on the component, naming the image and the risk", async () => {
        const { build, warned } = await create({ builderImage: "moby/buildkit:v0.32.2" });
        assert.deepEqual(
            warned.map((w) => w.msg),
            [unpinnedBuilderImageWarning("moby/buildkit:v0.32.2")],
        );
        assert.equal(warned[0].resource, build);
        // A user's own image still works: it is the one source.
        assert.deepEqual(await valueOf(build.builderImageSources), ["moby/buildkit:v0.32.2"]);
    });

    it("the default: no warning; the outputs list ECR Public's mirror, then Docker Hub, by the digest", async () => {
        const { build, warned } = await create({});
        assert.deepEqual(warned, []);
        assert.deepEqual(await valueOf(build.builderImageSources), [
            `public.ecr.aws/vend/moby/buildkit@${D}`,
            `docker.io/moby/buildkit@${D}`,
        ]);
        assert.equal(await valueOf(build.builderImage), `public.ecr.aws/vend/moby/buildkit@${D}`);
    });

    it("no warning where no docker-container builder runs (inline strategy): the image is never pulled", async () => {
        const { warned } = await create({ builderImage: "moby/buildkit:v0.32.2", cacheStrategy: "inline" });
        assert.deepEqual(warned, []);
    });
});
