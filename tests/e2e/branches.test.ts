// End-to-end, issue #9: the component's real buildspec (registry strategy, CodeBuild's docker-container builder)
// runs on a fresh Docker host per build against the local registry, with each event's exact CodeBuild variables
// (tests/helpers/events.ts). What is real: the buildspec, BuildKit, the registry; what a build did is read from
// BuildKit's per-step statuses, the bytes through the registry and the registry's tags and manifest digests.
//
// One repository, one small Dockerfile (3 steps of 1 MB), builds in order:
// 1. a push to main (the default branch) writes the configured tags;
// 2. a pull request from a branch of the repository and one from a fork hit main's cache and push 0 bytes;
// 3. a second trusted branch's first build hits main's cache, then writes its own tags; main's are unchanged;
// 4. a tag push writes only if the tag is listed in trustedRefs.
import { strict as assert } from "assert";
import type { CachedDockerBuildArgs } from "../../components/args";
import type { LocalBuildResult } from "../../standIn/host";
import type { ScenarioResult } from "../../standIn/scenario";
import { singleStage } from "../../localBuild/dockerfile";
import { branchPush, BuildEvent, expectedBranchTag, pullRequest, tagPush } from "../helpers/events";
import { componentBuild, printed, ready, REGISTRY, SharedHost, SMALL, why } from "./helpers";

const REPO = "e2e/branches-registry";
const ARGS: CachedDockerBuildArgs = { trustedRefs: ["main", "release/1.x", "refs/tags/v1.0"], sourceVersion: "main" };

const shared = new SharedHost();

/** BuildKit's status of each Dockerfile step after FROM, of the build (the first docker build). */
function statuses(r: LocalBuildResult): string[] {
    return r.steps.builds[0].steps
        .filter((s) => s.index >= 2)
        .sort((a, b) => a.index - b.index)
        .map((s) => s.status);
}

/** Every step after FROM came from the cache (BuildKit printed CACHED). */
function assertAllCached(r: LocalBuildResult): void {
    const s = statuses(r);
    assert.ok(s.length >= 3 && s.every((x) => x === "CACHED"), `${s.join(" ")}${why(r)}`);
}

async function build(label: string, e: BuildEvent): Promise<ScenarioResult> {
    const host = shared.host!;
    const r = await componentBuild(host, label, REGISTRY, {
        repo: REPO,
        dockerfile: singleStage({ baseImage: host.base.ref, ...SMALL }),
        args: ARGS,
        env: { ...e.env },
    });
    console.log(
        `      [${label}] ${r.succeeded ? "SUCCEEDED" : "FAILED"}: ${statuses(r).join(" ")}; pulled ${r.bytes.pulledMB.toFixed(2)} MB, pushed ${r.bytes.pushedBytes} B`,
    );
    return r;
}

describe("a cache per trusted branch, end to end (issue #9; registry strategy, fresh host per build)", function () {
    this.timeout(300_000);
    const release = expectedBranchTag("refs/heads/release/1.x");
    const v10 = expectedBranchTag("refs/tags/v1.0");

    shared.hooks();
    beforeEach(async function () {
        await ready(this, shared.host, REGISTRY);
    });

    it("1. a push to main (the default branch) writes the configured tags, nothing else", async () => {
        const r = await build("push main", branchPush("main"));
        assert.equal(r.succeeded, true, why(r));
        assert.ok(
            printed(r).includes(
                "layer cache: ref 'refs/heads/main' is trusted: this build reads the cache and, if it succeeds, pushes the image and writes the cache",
            ),
            why(r),
        );
        assert.deepEqual((await shared.api.tags(REPO)).sort(), ["buildcache", "latest"]);
    });

    it("2. a pull request from the repository's branch and one from a fork's main hit main's cache and push 0 bytes", async () => {
        const before = await shared.api.digests(REPO);
        for (const e of [pullRequest(7, "feature/x", "main"), pullRequest(8, "main", "main", { fork: true })]) {
            const r = await build(e.what, e);
            assert.equal(r.succeeded, true, why(r));
            assertAllCached(r);
            assert.equal(r.bytes.pushedBytes, 0, why(r));
            assert.ok(
                printed(r).some((l) => l.endsWith(`found ${shared.host!.registry.address}/${REPO}:buildcache`)),
                why(r),
            );
        }
        assert.deepEqual(await shared.api.digests(REPO), before, "no tag moved");
    });

    it("3. a second trusted branch's first build hits main's cache, then writes its own; main's tags are unchanged", async () => {
        const before = await shared.api.digests(REPO);
        const r = await build("push release/1.x", branchPush("release/1.x"));
        assert.equal(r.succeeded, true, why(r));
        assertAllCached(r);
        const lines = printed(r);
        const ref = `${shared.host!.registry.address}/${REPO}`;
        assert.ok(lines.includes(`layer cache: ${ref}:buildcache${release} is not there yet`), why(r));
        assert.ok(lines.includes(`layer cache: found ${ref}:buildcache`), why(r));
        const after = await shared.api.digests(REPO);
        assert.deepEqual(
            Object.keys(after).sort(),
            ["buildcache", `buildcache${release}`, "latest", `latest${release}`].sort(),
        );
        assert.equal(after.buildcache, before.buildcache, "main's cache manifest is unchanged");
        assert.equal(after.latest, before.latest, "main's image tag is unchanged");

        // Its next build finds its own cache first.
        const again = await build("push release/1.x again", branchPush("release/1.x"));
        assert.equal(again.succeeded, true, why(again));
        assert.ok(printed(again).includes(`layer cache: found ${ref}:buildcache${release}`), why(again));
        assertAllCached(again);
        assert.equal((await shared.api.digests(REPO)).buildcache, before.buildcache);
    });

    it("4. a tag push writes only if the tag is listed: v2.0 (not listed) pushes 0 bytes, v1.0 (listed) writes its own tags", async () => {
        const before = await shared.api.digests(REPO);
        const unlisted = await build("push tag v2.0", tagPush("v2.0"));
        assert.equal(unlisted.succeeded, true, why(unlisted));
        assert.equal(unlisted.bytes.pushedBytes, 0, why(unlisted));
        assert.deepEqual(await shared.api.digests(REPO), before, "an unlisted tag moves nothing");

        const listed = await build("push tag v1.0", tagPush("v1.0"));
        assert.equal(listed.succeeded, true, why(listed));
        const after = await shared.api.digests(REPO);
        assert.ok(after[`buildcache${v10}`] !== undefined && after[`latest${v10}`] !== undefined, why(listed));
        assert.equal(after.buildcache, before.buildcache, "main's cache manifest is unchanged");
    });
});
