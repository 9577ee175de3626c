/**
 * The buildspec (`components/buildspec/`), pure: the docker-container builder (builder.sh) and its image.
 */
import { strict as assert } from "assert";
import { BUILDER_NAME, BuildspecOptions, shellWord } from "../../../components/buildspec";
import { DEFAULTS } from "../../../components/resolveArgs";
import { BUILDKIT_V0_32_2 } from "../../../components/builderImage";
import { runBash } from "../../helpers/bash";
import { flagValues } from "../../helpers/shell";
import { REGISTRY, options, runnable, allCommands } from "./shared";

describe("buildspec (pure)", () => {
    describe("builder", () => {
        /**
         * Runs the builder command in bash, docker stubbed (every call succeeds, unless `docker` says otherwise);
         * returns the create call, the calls before it, the config file it names and what the command printed.
         */
        function runBuilder(
            o: BuildspecOptions,
            docker?: string,
        ): { create: string[]; before: string[][]; config: string | undefined; stdout: string } {
            const buildId = `ecr-layer-cache:${Math.random().toString(16).slice(2)}`;
            const r = runBash(
                `${runnable(o, "builder")}\necho "--- config"; for f in /tmp/layer-cache-buildkitd."\${CODEBUILD_BUILD_ID##*:}".toml; do [ -f "$f" ] && cat "$f" && rm -f "$f"; done; true`,
                { env: { CODEBUILD_BUILD_ID: buildId }, stubs: { docker } },
            );
            assert.equal(r.status, 0, r.stderr);
            const creates = r.calls.filter((c) => c[2] === "create");
            assert.equal(creates.length, 1, "one docker buildx create");
            assert.deepEqual(r.calls.at(-1), creates[0], "the create comes last");
            const [stdout, config] = r.stdout.split("--- config\n");
            return {
                create: creates[0],
                before: r.calls.slice(0, -1),
                config: creates[0].includes("--buildkitd-config") ? config : undefined,
                stdout,
            };
        }
        const LOCAL_PINNED = `localhost/layer-cache-builder:sha256-${BUILDKIT_V0_32_2.slice("sha256:".length)}`;

        it("a pinned image: pulled from its first source by digest, named on localhost, and the builder started from that name", () => {
            const o = options({
                cacheStrategy: "registry",
                builderImage: DEFAULTS.builderImage,
                builderImageMirrors: DEFAULTS.builderImageMirrors,
            });
            // The stub's `docker image inspect` fails: the image is not on this host yet.
            const { create, before, stdout } = runBuilder(o, 'if [ "$2" = inspect ]; then return 1; fi');
            assert.deepEqual(before, [
                ["docker", "image", "inspect", LOCAL_PINNED],
                ["docker", "pull", "--quiet", DEFAULTS.builderImage],
                ["docker", "tag", DEFAULTS.builderImage, LOCAL_PINNED],
            ]);
            assert.deepEqual(flagValues(create, "--driver-opt"), [`image=${LOCAL_PINNED}`]);
            assert.equal(stdout, `layer cache: the builder image came from ${DEFAULTS.builderImage}\n`);
        });

        it("a pinned image already on this host under its local name (a Docker server's earlier build): no pull", () => {
            const o = options({ cacheStrategy: "registry", builderImage: DEFAULTS.builderImage });
            const { create, before, stdout } = runBuilder(o);
            assert.deepEqual(before, [["docker", "image", "inspect", LOCAL_PINNED]]);
            assert.deepEqual(flagValues(create, "--driver-opt"), [`image=${LOCAL_PINNED}`]);
            assert.equal(stdout, "layer cache: the builder image is already on this host\n");
        });

        it("the sources in order: a missing reference and bytes that don't match the digest move on; the next serves it", () => {
            const o = options({
                cacheStrategy: "registry",
                builderImage: DEFAULTS.builderImage,
                builderImageMirrors: ["docker.io/moby/buildkit", "quay.io/mirror/buildkit"],
            });
            const [ecrPublic, hub, quay] = [
                DEFAULTS.builderImage,
                `docker.io/moby/buildkit@${BUILDKIT_V0_32_2}`,
                `quay.io/mirror/buildkit@${BUILDKIT_V0_32_2}`,
            ];
            const { before, stdout } = runBuilder(
                o,
                [
                    'if [ "$2" = inspect ]; then return 1; fi',
                    `if [ "$3" = ${shellWord(ecrPublic)} ]; then echo "Error response from daemon: manifest for $3 not found: manifest unknown: manifest unknown" >&2; return 1; fi`,
                    `if [ "$3" = ${shellWord(hub)} ]; then echo "manifest verification failed for digest ${BUILDKIT_V0_32_2}" >&2; return 1; fi`,
                ].join("\n"),
            );
            assert.deepEqual(
                before.map((c) => c.slice(0, 2).join(" ") + " " + c.at(-1)),
                [
                    `docker image ${LOCAL_PINNED}`,
                    `docker pull ${ecrPublic}`,
                    `docker pull ${hub}`,
                    `docker pull ${quay}`,
                    `docker tag ${LOCAL_PINNED}`,
                ],
                "each source pulled once (neither failure is transient), the third tagged",
            );
            assert.match(
                stdout,
                new RegExp(`layer cache: the builder image came from ${quay.replace(/\./g, "\\.")}\n$`),
            );
        });
        it("registry + docker-container: an unpinned image is pulled as it is, then a docker-container builder starts from its local name", () => {
            const o = options({ cacheStrategy: "registry", registryBuilder: "docker-container" });
            const { create, before, config, stdout } = runBuilder(o);
            const local = "localhost/layer-cache-builder:unpinned";
            // No `docker image inspect`: an unpinned image's local name says nothing of what it holds.
            assert.deepEqual(before, [
                ["docker", "pull", "--quiet", "public.ecr.aws/vend/moby/buildkit:buildx-stable-1"],
                ["docker", "tag", "public.ecr.aws/vend/moby/buildkit:buildx-stable-1", local],
            ]);
            assert.deepEqual(create, [
                "docker",
                "buildx",
                "create",
                "--name",
                BUILDER_NAME,
                "--driver",
                "docker-container",
                "--driver-opt",
                `image=${local}`,
                "--use",
                "--bootstrap",
            ]);
            assert.equal(config, undefined, "no buildkitd config without pull-through caches");
            assert.equal(
                stdout,
                "layer cache: the builder image came from public.ecr.aws/vend/moby/buildkit:buildx-stable-1\n",
            );
            const hostNet = runBuilder({ ...o, buildNetwork: "host" });
            assert.deepEqual(flagValues(hostNet.create, "--driver-opt"), [`image=${local}`, "network=host"]);
        });

        it("with pull-through caches: the builder image comes through the ECR Public cache first, and a buildkitd.toml of this build mirrors each upstream", () => {
            const o = options({
                cacheStrategy: "registry",
                registryBuilder: "docker-container",
                builderImage: DEFAULTS.builderImage,
                builderImageMirrors: DEFAULTS.builderImageMirrors,
                upstreamCaches: [
                    { upstream: "ecr-public", prefix: "ecr-public" },
                    { upstream: "docker-hub", prefix: "hub" },
                ],
            });
            // Nothing on the host yet, and only `ref` serves it.
            const only = (ref: string) =>
                `if [ "$2" = inspect ]; then return 1; fi\nif [ "$1" = pull ] && [ "$3" != ${shellWord(ref)} ]; then echo "manifest unknown" >&2; return 1; fi`;
            const hubCache = `${REGISTRY}/hub/moby/buildkit@${BUILDKIT_V0_32_2}`;
            const { create, before, config, stdout } = runBuilder(o, only(hubCache));
            assert.deepEqual(
                before.filter((c) => c[1] === "pull").map((c) => c[3]),
                [`${REGISTRY}/ecr-public/vend/moby/buildkit@${BUILDKIT_V0_32_2}`, hubCache],
                "the caches' routes, in the sources' order: ECR Public's, then Docker Hub's",
            );
            const file = create[create.indexOf("--buildkitd-config") + 1];
            assert.match(
                file,
                /^\/tmp\/layer-cache-buildkitd\.[0-9a-f]+\.toml$/,
                "one file per build (the build ID's UUID part)",
            );
            assert.deepEqual(create, [
                "docker",
                "buildx",
                "create",
                "--name",
                BUILDER_NAME,
                "--driver",
                "docker-container",
                "--driver-opt",
                `image=${LOCAL_PINNED}`,
                "--buildkitd-config",
                file,
                "--use",
                "--bootstrap",
            ]);
            assert.equal(
                config,
                `[registry."public.ecr.aws"]\n  mirrors = ["${REGISTRY}/ecr-public"]\n\n` +
                    `[registry."docker.io"]\n  mirrors = ["${REGISTRY}/hub"]\n`,
            );
            assert.match(
                stdout,
                /^layer cache: the builder pulls through the pull-through caches \(registry mirrors in /,
            );
            assert.match(
                stdout,
                new RegExp(`\nlayer cache: the builder image came from ${hubCache.replace(/\./g, "\\.")}\n$`),
            );
            // Docker Hub's cache alone: Docker Hub through it first, then ECR Public, then Docker Hub itself.
            const hubOnly = runBuilder(
                { ...o, upstreamCaches: [{ upstream: "docker-hub", prefix: "hub" }] },
                only(`docker.io/moby/buildkit@${BUILDKIT_V0_32_2}`),
            );
            assert.deepEqual(
                hubOnly.before.filter((c) => c[1] === "pull").map((c) => c[3]),
                [hubCache, DEFAULTS.builderImage, `docker.io/moby/buildkit@${BUILDKIT_V0_32_2}`],
            );
            assert.equal(hubOnly.config, `[registry."docker.io"]\n  mirrors = ["${REGISTRY}/hub"]\n`);
        });

        for (const [strategy, builder] of [
            ["registry", "docker"],
            ["inline", "docker-container"],
            ["pull", "docker-container"],
        ] as const) {
            it(`${strategy} + ${builder}: creates no builder and pulls no BuildKit image`, () => {
                const o = options({ cacheStrategy: strategy, registryBuilder: builder });
                const all = allCommands(o);
                assert.ok(!all.some((c) => c.words[0] === "docker" && c.words[2] === "create"));
                // Not in any word of any command (the fragments' comments may speak of BuildKit).
                assert.ok(!all.some((c) => c.words.some((w) => w?.includes("buildkit"))));
            });
        }
    });
});
