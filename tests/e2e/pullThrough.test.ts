// End to end: with `pullThroughCache` on, a Dockerfile's Docker Hub base image comes through the account's
// ECR (issue 8, item 5: "a second registry standing in for the upstream is enough to show that a base image
// comes through the cache path").
//
// The pieces, all on 127.0.0.1:
// - "Docker Hub": a second local registry (`startLocalRegistry`) holding `library/busybox:<TAG>`, the same
//   reproducible busybox image the other tests use, under a tag that Docker Hub doesn't have;
// - "ECR": the shared local registry behind `startPullThroughFront` (standIn/pullThrough.ts), which plays ECR's
//   pull-through cache rule `docker-hub` → "Docker Hub": a miss under `docker-hub/` imports the image from the
//   upstream into `docker-hub/library/busybox`, a hit is served from there;
// - the component's own buildspec (`pullThroughCache: "existing"`, both upstreams), rendered for that "ECR" and
//   run on a fresh Docker host per build on the docker-container builder, with the builder image the buildspec
//   starts (its local name `localhost/layer-cache-builder:sha256-…`: the host loads the BuildKit archive under that
//   name, so builder.sh pulls nothing; tests/e2e/builderImage.test.ts covers the pull from its sources).
//
// The Dockerfile says `FROM busybox:<TAG>`, i.e. `docker.io/library/busybox:<TAG>`. The builder's only way to it
// is the mirror that the buildspec's buildkitd.toml gives docker.io: Docker Hub itself is unreachable from here
// (loopback only), and doesn't have the tag anyway. The control build shows it: with no cache rule behind the
// mirror, the same build fails. What counts as proof: the build succeeds, the upstream registry's own proxy
// counted the manifest and blob GETs of exactly that image, and the image's repository now exists in "ECR"
// under the cache prefix with the upstream's digest. A second build on a fresh host is served from there with
// no request to the upstream.
import { strict as assert } from "assert";
import * as dns from "dns";
import * as YAML from "yaml";
import type { CachedDockerBuildArgs } from "../../components/args";
import { ensureBaseImage, BaseImage } from "../../standIn/baseImage";
import { DEFAULTS } from "../../components/resolveArgs";
import { BUILDKIT_V0_32_2, localBuilderImage } from "../../components/builderImage";
import { builderImageOf } from "../../standIn/buildkitImage";
import { componentBuildspecYaml } from "../../standIn/componentBuildspec";
import { LocalBuildResult, LocalHost, startLocalHost } from "../../standIn/host";
import { PullThroughFront, startPullThroughFront } from "../../standIn/pullThrough";
import { LocalRegistry, startLocalRegistry } from "../../standIn/registry";
import type { Buildspec } from "../../standIn/runner";
import { localArgs, runScenario, ScenarioResult } from "../../standIn/scenario";
import { RegistryApi } from "./registryApi";
import { canRunDocker, SKIP_REASON } from "./helpers";

/** A tag Docker Hub's busybox doesn't have: even with internet, only the cache path can resolve it. */
const TAG = "cbcache-pull-through";
const UPSTREAM_REPO = "library/busybox";
const CACHED_REPO = `docker-hub/${UPSTREAM_REPO}`;
const DOCKERFILE = [`FROM busybox:${TAG}`, 'RUN echo "came through the cache" > /proof.txt', ""].join("\n");
const ARGS: CachedDockerBuildArgs = {
    ...localArgs("registry", "docker-container"),
    pullThroughCache: "existing",
    pullThroughUpstreams: ["ecr-public", "docker-hub"],
};

describe("pull-through cache end to end: a Docker Hub base image comes through ECR's cache path", function () {
    this.timeout(300_000);
    let host: LocalHost | undefined;
    /** Plays Docker Hub. */
    let hub: LocalRegistry | undefined;
    let hubImage: BaseImage;
    /** "ECR" with the rule docker-hub → hub. */
    let front: PullThroughFront | undefined;
    /** "ECR" with no rule: the control. */
    let bare: PullThroughFront | undefined;
    let api: RegistryApi;
    let pending: string | undefined;

    before(async function () {
        if (!canRunDocker) {
            pending = SKIP_REASON;
            return;
        }
        this.timeout(600_000); // the first run on a new machine installs packages
        host = await startLocalHost();
        hub = await startLocalRegistry();
        hubImage = await ensureBaseImage(hub, { repo: UPSTREAM_REPO, tag: TAG });
        front = await startPullThroughFront(host.registry, [{ prefix: "docker-hub", upstream: hub }]);
        bare = await startPullThroughFront(host.registry, []);
        api = new RegistryApi(host.registry);
        const spec = await render(front, "e2e/pull-through-a");
        const image = await host.buildkitImage(builderImageOf(spec));
        if (!image.available) pending = `no BuildKit image for the docker-container builder: ${image.how}`;
        const hubLookup = await dns.promises.lookup("registry-1.docker.io").then(
            (a) => `resolves to ${a.address}`,
            (e: NodeJS.ErrnoException) => `does not resolve (${e.code})`,
        );
        console.log(`      registry-1.docker.io ${hubLookup} here`);
    });
    after(async () => {
        await front?.stop();
        await bare?.stop();
        await hub?.stop();
        await host?.stop();
    });

    function ready(ctx: Mocha.Context): void {
        if (pending) {
            console.log(`      PENDING: ${pending}`);
            ctx.skip();
        }
    }

    /** The component's buildspec for `repo` in the "ECR" `ecr` stands for. */
    async function render(ecr: PullThroughFront, repo: string): Promise<Buildspec> {
        return YAML.parse(await componentBuildspecYaml(ARGS, `${ecr.address}/${repo}`)) as Buildspec;
    }

    /** One build of DOCKERFILE into `repo` on a fresh host, against "ECR" `ecr`, with both counters reset. */
    async function build(label: string, ecr: PullThroughFront, repo: string): Promise<ScenarioResult> {
        ecr.resetStats();
        hub!.resetCounters();
        const r = await runScenario({
            host: { ...host!, registry: ecr.registry },
            strategy: "registry",
            registryMode: "docker-container",
            repo,
            dockerfile: DOCKERFILE,
            args: ARGS,
            label,
            quiet: !process.env.E2E_VERBOSE,
            printReport: false,
        });
        const s = ecr.stats();
        console.log(
            `      [${label}] ${r.succeeded ? "SUCCEEDED" : "FAILED"}: upstream ${hub!.counters().requests} requests ` +
                `(${hub!.counters().blobGets} blob GETs), ${s.servedFromCache.length} cache-prefix requests served ` +
                `from ECR, ${s.imported.length} imported; build ${(r.timings.buildMs / 1000).toFixed(1)} s`,
        );
        if (process.env.E2E_VERBOSE) {
            for (const q of s.upstreamRequests) console.log(`        upstream: ${q.method} ${q.path} ${q.status}`);
            for (const q of s.servedFromCache) console.log(`        from ECR: ${q.method} ${q.path} ${q.status}`);
        }
        return r;
    }

    const why = (r: LocalBuildResult) =>
        `\n${r.report}\n--- last lines ---\n${r.output.split("\n").slice(-40).join("\n")}`;
    /** The digest BuildKit resolved `FROM busybox:<TAG>` to (`#N [1/2] FROM docker.io/library/busybox:<TAG>@sha256:…`). */
    const resolvedBase = (r: LocalBuildResult) =>
        new RegExp(`#\\d+ \\[\\d+/\\d+\\] FROM docker\\.io/${UPSTREAM_REPO}:${TAG}@(sha256:[0-9a-f]{64})$`, "m").exec(
            r.output,
        )?.[1];

    it("the buildspec mirrors docker.io to ECR's docker-hub prefix and starts the builder from the ecr-public prefix", async function () {
        ready(this);
        const spec = await render(front!, "e2e/pull-through-a");
        const text = (spec.phases?.pre_build?.commands ?? []).join("\n");
        assert.ok(text.includes(`[registry."docker.io"]\n  mirrors = ["${front!.address}/docker-hub"]`), text);
        // The builder image is pulled through the ECR Public cache first (its sources), and started from its local name.
        assert.equal(builderImageOf(spec), localBuilderImage(DEFAULTS.builderImage));
        assert.equal(
            text.match(/^BUILDER_SOURCES=\((\S+) /m)?.[1],
            `${front!.address}/ecr-public/vend/moby/buildkit@${BUILDKIT_V0_32_2}`,
        );
    });

    it("control: with no cache rule behind the mirror, the build can't get busybox (Docker Hub is no way here)", async function () {
        ready(this);
        const r = await build("no rule", bare!, "e2e/pull-through-control");
        assert.equal(r.succeeded, false, why(r));
        assert.match(r.output, new RegExp(`docker\\.io/${UPSTREAM_REPO}:${TAG}`), why(r));
        assert.equal(resolvedBase(r), undefined, why(r));
        assert.equal(hub!.counters().requests, 0, "nothing reached the upstream");
        assert.deepEqual(await api.tags(CACHED_REPO), [], "nothing was cached");
    });

    it("first build: busybox comes from the upstream through the cache prefix, and is stored there", async function () {
        ready(this);
        const r = await build("first", front!, "e2e/pull-through-a");
        assert.equal(r.succeeded, true, why(r));
        assert.ok(
            r.output.includes("layer cache: the builder pulls through the pull-through caches (registry mirrors in"),
            why(r),
        );
        assert.equal(r.builder?.image.ref, localBuilderImage(DEFAULTS.builderImage));
        assert.equal(resolvedBase(r), hubImage.digest, why(r));

        // The upstream got exactly one manifest GET and the image's two blobs (config, layer), counted both by
        // the front and by the upstream registry's own proxy.
        const manifest = await api.manifest(CACHED_REPO, TAG);
        assert.ok(manifest, `${CACHED_REPO}:${TAG} is not in ECR`);
        const config = manifest.json.config?.digest;
        const s = front!.stats();
        assert.deepEqual(
            s.upstreamRequests.map((q) => `${q.method} ${q.path} ${q.status}`).sort(),
            [
                `GET /v2/${UPSTREAM_REPO}/blobs/${config} 200`,
                `GET /v2/${UPSTREAM_REPO}/blobs/${hubImage.layerDigest} 200`,
                `GET /v2/${UPSTREAM_REPO}/manifests/${TAG} 200`,
            ].sort(),
        );
        assert.deepEqual([hub!.counters().requests, hub!.counters().blobGets], [3, 2]);
        assert.deepEqual(
            s.imported.sort(),
            [`${CACHED_REPO}:${TAG}`, `${CACHED_REPO}@${config}`, `${CACHED_REPO}@${hubImage.layerDigest}`].sort(),
        );

        // ECR now has the repository under the cache prefix, holding the upstream's image.
        assert.deepEqual(await api.tags(CACHED_REPO), [TAG]);
        assert.equal(manifest.digest, hubImage.digest);
    });

    it("second build on a fresh host (another repository, no layer cache): served from the cached repository, nothing from the upstream", async function () {
        ready(this);
        assert.deepEqual(await api.tags(CACHED_REPO), [TAG], "the first build cached busybox");
        const r = await build("second", front!, "e2e/pull-through-b");
        assert.equal(r.succeeded, true, why(r));
        assert.equal(resolvedBase(r), hubImage.digest, why(r));
        const s = front!.stats();
        assert.deepEqual([s.upstreamRequests, s.imported, hub!.counters().requests], [[], [], 0]);
        // The RUN step needs the base layer: its blob came from ECR's cached repository.
        const served = s.servedFromCache.map((q) => `${q.method} ${q.path.replace(/\?.*$/, "")}`);
        assert.ok(served.includes(`GET /v2/${CACHED_REPO}/blobs/${hubImage.layerDigest}`), served.join("\n"));
        assert.ok(
            served.some(
                (p) =>
                    p.startsWith(`HEAD /v2/${CACHED_REPO}/manifests/`) ||
                    p.startsWith(`GET /v2/${CACHED_REPO}/manifests/`),
            ),
            served.join("\n"),
        );
    });
});
