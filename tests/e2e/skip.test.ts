// End-to-end tests of skipping unchanged builds (components/buildspec/key.sh): the component's own buildspec
// (skipUnchanged on) runs on a brand-new Docker daemon per build against a real registry on 127.0.0.1 playing ECR,
// as in cache.test.ts. What is real: docker, buildx, BuildKit, the registry, tar and sha256sum. What a build did is
// read from the lines it printed, its JSON line, the registry's HTTP API (tags, digests) and the registry front's
// counters (blob GETs, bytes pulled).
//
// Small on purpose: one 1 MB step. One LocalHost for the whole file; each test has its own repositories.
import { IN_BUILD_EXPORT_LINE } from "../../localBuild/experiment";
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { CacheStrategy, CachedDockerBuildArgs } from "../../components/args";
import { builderImageOf } from "../../standIn/buildkitImage";
import { componentBuildspec } from "../../standIn/componentBuildspec";
import { LocalBuildResult, runLocalBuild } from "../../standIn/host";
import { localArgs, SCENARIO_DOCKERFILE_DIR } from "../../standIn/scenario";
import { ready, REGISTRY, SharedHost } from "./helpers";

const shared = new SharedHost();

/** The source: the Dockerfile and any other files of the build context (the scenario's `app` folder). */
type Files = Record<string, string>;

const dockerfile = (base: string) =>
    [
        `FROM ${base}`,
        "COPY file.txt /file.txt",
        "ARG V",
        'RUN dd if=/dev/urandom of=/data bs=1M count=1 2>/dev/null && echo "$V" > /v',
    ].join("\n");

interface Build extends LocalBuildResult {
    /** The build's JSON line (metrics.sh). */
    event: { skipped: boolean; key: string | null; succeeded: boolean; pushed: boolean; export: string };
    said: string[];
}

/** The component's buildspec (skipUnchanged on) for `repo`, on a fresh host, with `files` as the context. */
async function build(
    label: string,
    strategy: CacheStrategy,
    repo: string,
    files: Files,
    args: CachedDockerBuildArgs = {},
    env: Record<string, string> = {},
): Promise<Build> {
    const h = shared.host!;
    const spec = await componentBuildspec(
        { ...localArgs(strategy, "docker-container"), ...args, skipUnchanged: true },
        `${h.registry.address}/${repo}`,
    );
    const src = fs.mkdtempSync(path.join(os.tmpdir(), "cbskip-"));
    try {
        fs.mkdirSync(path.join(src, SCENARIO_DOCKERFILE_DIR));
        for (const [name, text] of Object.entries(files)) {
            fs.writeFileSync(path.join(src, SCENARIO_DOCKERFILE_DIR, name), text);
        }
        const r = await runLocalBuild({
            buildspec: spec,
            sourceDir: src,
            registry: h.registry,
            env,
            dockerEnv: h.dockerEnv,
            label,
            quiet: !process.env.E2E_VERBOSE,
            printReport: false,
            builderImage: builderImageOf(spec),
        });
        const texts = r.lines.filter((l) => l.stream !== "runner").map((l) => l.text);
        const line = texts.find((t) => t.startsWith('{"layerCache":'));
        assert.ok(line, `no JSON line\n${r.output.split("\n").slice(-40).join("\n")}`);
        const said = texts.filter((t) => /^layer cache: (skipped|building): /.test(t));
        console.log(
            `      [${label}] ${r.succeeded ? "SUCCEEDED" : "FAILED"}: ${said.join(" / ")}; ${r.steps.builds.length} docker build(s); ` +
                `${r.bytes.blobGets} blob GETs, pulled ${r.bytes.pulledMB.toFixed(2)} MB; build ${(r.timings.buildMs / 1000).toFixed(1)} s`,
        );
        return { ...r, event: JSON.parse(line), said };
    } finally {
        fs.rmSync(src, { recursive: true, force: true });
    }
}

const why = (r: LocalBuildResult) => `\n${r.output.split("\n").slice(-60).join("\n")}`;
const keyTags = async (repo: string) => (await shared.api.tags(repo)).filter((t) => t.startsWith("key-"));

/** A rebuild: it ran a docker build, said why, and pushed a new key tag. */
function assertBuilt(r: Build, keyBefore: string | null): void {
    assert.ok(r.succeeded, why(r));
    assert.equal(r.event.skipped, false, why(r));
    assert.equal(r.steps.builds.length >= 1, true, why(r));
    assert.match(r.said.join("\n"), /^layer cache: building: no image has these inputs yet/);
    assert.ok(r.event.key, "a key was computed");
    assert.notEqual(r.event.key, keyBefore, "the changed input changed the key");
}

describe("skip unchanged builds (e2e, local build host)", function () {
    this.timeout(900_000);

    shared.hooks();

    it("registry (CodeBuild's path): a no-change rebuild is skipped, pulls 0 layer blobs, and leaves the tag on the key's digest", async function () {
        const h = await ready(this, shared.host, REGISTRY);
        const repo = "e2e/skip-registry";
        const files = { Dockerfile: dockerfile(h.base.ref), "file.txt": "one\n" };
        const cold = await build("cold", "registry", repo, files);
        assert.ok(cold.succeeded, why(cold));
        assert.equal(cold.event.skipped, false);
        const key = cold.event.key!.split(":").pop()!;
        assert.deepEqual(await keyTags(repo), [key], "the build pushed its key tag");
        const built = (await shared.api.manifest(repo, "latest"))!.digest;
        assert.equal((await shared.api.manifest(repo, key))!.digest, built, "the key tag names the pushed image");

        const warm = await build("no change", "registry", repo, files);
        assert.ok(warm.succeeded, why(warm));
        assert.equal(warm.event.skipped, true, why(warm));
        assert.equal(warm.event.key, cold.event.key);
        assert.equal(warm.event.export, "none");
        assert.equal(warm.steps.builds.length, 0, "no docker build ran");
        // No blob at all: over HTTP (http.sh) the retag moves the manifest alone; nothing reads the image config.
        assert.deepEqual(
            [warm.bytes.blobGets, warm.bytes.pulledBytes],
            [0, 0],
            `${warm.bytes.blobGets} blob GETs, ${warm.bytes.pulledBytes} B pulled`,
        );
        assert.equal(
            warm.bytes.pushedBytes < 20_000,
            true,
            `only manifests were written (${warm.bytes.pushedBytes} B)`,
        );
        // http.sh: the skip's registry calls are three curl requests (the FROM, the key, the retag) beside the login's
        // (docker's); no buildx (containerd's resolver) or BuildKit request.
        assert.deepEqual(
            Object.keys(warm.bytes.clients).sort(),
            ["curl", "docker"],
            `requests by client: ${JSON.stringify(warm.bytes.clients)}`,
        );
        assert.equal(warm.bytes.clients.curl, 3, JSON.stringify(warm.bytes.clients));
        assert.match(warm.said.join("\n"), new RegExp(`^layer cache: skipped: ${cold.event.key} was built`));
        assert.equal(
            (await shared.api.manifest(repo, "latest"))!.digest,
            built,
            "the requested tag is on the key's image",
        );

        // The cold build's key missed, so it wrote the cache in its own invocation, beside the push (build.sh).
        assert.equal(cold.steps.builds.length, 1, "one docker build: the cache export was part of it");
        assert.equal(cold.event.export, "written");
        assert.ok(cold.output.includes(IN_BUILD_EXPORT_LINE), why(cold));
        // That cache is complete: a forced rebuild on a fresh host takes every step from it and, having changed
        // nothing, runs no second export (export.sh's rule, since a forced build may change nothing).
        const forced = await build("forced", "registry", repo, files, {}, { LAYER_CACHE_FORCE_BUILD: "1" });
        assert.ok(forced.succeeded, why(forced));
        assert.equal(forced.steps.rebuilt, 0, why(forced));
        assert.equal(forced.steps.cached, cold.steps.cached + cold.steps.rebuilt, why(forced));
        assert.equal(forced.steps.builds.length, 1, "no export invocation");
        assert.equal(forced.event.export, "skipped");
    });

    it("inline: each input changed alone rebuilds (context file, Dockerfile, build arg, a moved base tag, the strategy); a tag moved away is put back by a skip", async function () {
        // The strategy change builds with registry on the docker-container builder: it needs the BuildKit image too.
        const h = await ready(this, shared.host, REGISTRY);
        const repo = "e2e/skip-changes";
        // The base under a tag of this test's own, so that moving it touches no other test.
        const baseRepo = "e2e/skip-base";
        const baseManifest = await fetchManifest(h.base.ref);
        await putManifest(baseRepo, "1", baseManifest.body, baseManifest.type);
        const base = `${h.registry.address}/${baseRepo}:1`;
        const files = { Dockerfile: dockerfile(base), "file.txt": "one\n" };

        const first = await build("cold", "inline", repo, files);
        assert.ok(first.succeeded && first.event.key, why(first));

        // Each alone, against the first build's inputs.
        const changedFile = { ...files, "file.txt": "two\n" };
        const fileBuild = await build("context file", "inline", repo, changedFile);
        assertBuilt(fileBuild, first.event.key);
        const dfBuild = await build("Dockerfile", "inline", repo, {
            ...files,
            Dockerfile: `${files.Dockerfile}\nRUN echo more`,
        });
        assertBuilt(dfBuild, first.event.key);
        const argBuild = await build("build arg", "inline", repo, files, { buildArgs: { V: "x" } });
        assertBuilt(argBuild, first.event.key);

        // The context file's inputs again: skipped; the tag, moved meanwhile by the builds above, goes back to that image.
        const again = await build("context file again", "inline", repo, changedFile);
        assert.equal(again.event.skipped, true, why(again));
        assert.equal(again.event.key, fileBuild.event.key);
        assert.equal(
            (await shared.api.manifest(repo, "latest"))!.digest,
            (await shared.api.manifest(repo, fileBuild.event.key!.split(":").pop()!))!.digest,
        );

        // The same image's manifest with one more field: another digest under the same base tag.
        await putManifest(baseRepo, "1", moved(baseManifest.body), baseManifest.type);
        const movedBuild = await build("moved base tag", "inline", repo, files);
        assertBuilt(movedBuild, first.event.key);

        const strategy = await build("strategy registry", "registry", repo, files);
        assertBuilt(strategy, movedBuild.event.key);
    });

    it("an unresolvable FROM (an ARG) builds, pushing no key tag", async function () {
        const h = await ready(this, shared.host);
        const repo = "e2e/skip-arg";
        const files = {
            Dockerfile: dockerfile("$BASE").replace(/^/, `ARG BASE=${h.base.ref}\n`),
            "file.txt": "one\n",
        };
        for (const label of ["ARG FROM, first", "ARG FROM, again"]) {
            const r = await build(label, "inline", repo, files);
            assert.ok(r.succeeded, why(r));
            assert.equal(r.event.skipped, false);
            assert.equal(r.event.key, null);
            assert.deepEqual(r.said, ["layer cache: building: FROM $BASE uses an ARG"]);
            assert.ok(r.steps.builds.length >= 1);
        }
        assert.deepEqual(await keyTags(repo), []);
    });

    it("a forced rebuild (LAYER_CACHE_FORCE_BUILD=1 at start-build) builds though the key exists", async function () {
        const h = await ready(this, shared.host);
        const repo = "e2e/skip-force";
        const files = { Dockerfile: dockerfile(h.base.ref), "file.txt": "one\n" };
        const cold = await build("cold", "inline", repo, files);
        const forced = await build("forced", "inline", repo, files, {}, { LAYER_CACHE_FORCE_BUILD: "1" });
        assert.ok(forced.succeeded, why(forced));
        assert.equal(forced.event.skipped, false);
        assert.equal(forced.event.key, cold.event.key);
        assert.deepEqual(forced.said, ["layer cache: building: LAYER_CACHE_FORCE_BUILD=1"]);
    });

    it("two concurrent builds with the same key both succeed; the next build is skipped and puts the tag on the key's image", async function () {
        const h = await ready(this, shared.host);
        const repo = "e2e/skip-concurrent";
        const files = { Dockerfile: dockerfile(h.base.ref), "file.txt": "one\n" };
        const [a, b] = await Promise.all([
            build("concurrent a", "inline", repo, files),
            build("concurrent b", "inline", repo, files),
        ]);
        assert.ok(a.succeeded, why(a));
        assert.ok(b.succeeded, why(b));
        assert.equal(a.event.key, b.event.key);
        const key = a.event.key!.split(":").pop()!;
        // Both built (neither found the key) and both pushed the tag and the key tag; their pushes may interleave, so
        // the two tags can name the two builds' images (each a build of the same inputs) until the next build.
        assert.ok(await shared.api.manifest(repo, "latest"), "the tag exists");
        assert.ok(await shared.api.manifest(repo, key), "the key tag exists");
        const next = await build("after the race", "inline", repo, files);
        assert.ok(next.succeeded, why(next));
        assert.equal(next.event.skipped, true, why(next));
        assert.equal(
            (await shared.api.manifest(repo, "latest"))!.digest,
            (await shared.api.manifest(repo, key))!.digest,
        );
    });
});

// ---------- the registry, directly (the moved base tag)

function authHeader(): string {
    return (
        "Basic " + Buffer.from(`${shared.host!.registry.username}:${shared.host!.registry.password}`).toString("base64")
    );
}

/** The raw manifest of `ref` (`<address>/<repo>:<tag>`), as stored. */
async function fetchManifest(ref: string): Promise<{ body: string; type: string }> {
    const m = /^[^/]+\/(.+):([^:/]+)$/.exec(ref);
    assert.ok(m, ref);
    const r = await fetch(`http://${shared.host!.registry.upstream}/v2/${m[1]}/manifests/${m[2]}`, {
        headers: {
            authorization: authHeader(),
            accept: "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json",
        },
    });
    assert.equal(r.status, 200);
    return { body: await r.text(), type: r.headers.get("content-type") ?? "" };
}

/** Puts a manifest under `repo:tag`, mounting its blobs from the base image's repository first. */
async function putManifest(repo: string, tag: string, body: string, type: string): Promise<void> {
    const json = JSON.parse(body) as { config: { digest: string }; layers: { digest: string }[] };
    const from = /^[^/]+\/(.+):[^:/]+$/.exec(shared.host!.base.ref)![1];
    for (const d of [json.config.digest, ...json.layers.map((l) => l.digest)]) {
        const r = await fetch(
            `http://${shared.host!.registry.upstream}/v2/${repo}/blobs/uploads/?mount=${d}&from=${from}`,
            {
                method: "POST",
                headers: { authorization: authHeader() },
            },
        );
        assert.equal(r.status, 201, `mount ${d}: HTTP ${r.status}`);
    }
    const r = await fetch(`http://${shared.host!.registry.upstream}/v2/${repo}/manifests/${tag}`, {
        method: "PUT",
        headers: { authorization: authHeader(), "content-type": type },
        body,
    });
    assert.equal(r.status, 201, `PUT ${repo}:${tag}: HTTP ${r.status} ${await r.text()}`);
}

/** The same manifest with one more field, so another digest for the same image. */
function moved(body: string): string {
    return JSON.stringify({ ...JSON.parse(body), movedAt: "e2e" });
}
