// End-to-end tests of the layer cache: the component's own buildspec (rendered under Pulumi mocks by
// standIn/scenario.ts) runs on a brand-new Docker daemon per build, like a fresh CodeBuild host, against a
// real registry with a login on 127.0.0.1 playing ECR. What a build did is read from the structured
// result (phases, BuildKit's per-step CACHED/DONE, bytes through the registry), from the lines the
// buildspec printed, and from the registry's HTTP API (tags, manifest digests before and after).
//
// Small on purpose: 3–5 steps of 1 MB each. One LocalHost (registry + base image) for the whole file;
// each test uses its own repositories, so caches never interfere.
//
// Every `registry` scenario runs on CodeBuild's path: the `docker-container` builder, from the BuildKit
// image each fresh host gets (standIn/buildkitImage.ts). Where no such image can be had, those tests are
// PENDING, with the reason printed. The daemon's own builder on the containerd store (the documented
// alternative, `CBCACHE_LOCAL_REGISTRY_MODE=containerd-store`) keeps the scenarios that cover what the
// container path doesn't: 1 (cold/warm: the mode `npm run local-build` falls back to works, and
// `store=false` keeps a warm build from downloading the image into the daemon's image store, which a
// docker-container builder doesn't have) and 2 (a change: on that builder BuildKit can print a hit
// whose layer it downloads as DONE without CACHED, which the counts must still get right).
import { strict as assert } from "assert";
import * as fs from "fs";
import * as YAML from "yaml";
import { multiStage, singleStage } from "../../localBuild/dockerfile";
import { DEFAULTS } from "../../components/resolveArgs";
import { localBuilderImage } from "../../components/builderImage";
import { componentBuildspec } from "../../standIn/componentBuildspec";
import type { LocalBuildResult } from "../../standIn/host";
import type { Buildspec } from "../../standIn/runner";
import { localArgs, ScenarioResult, runSpecOnDockerfile } from "../../standIn/scenario";
import { flagValues, parseShell } from "../helpers/shell";
import {
    BuildOptions,
    componentBuild,
    INLINE,
    printed,
    PULL,
    ready,
    REGISTRY,
    REGISTRY_CS,
    SharedHost,
    SMALL,
    Variant,
    why,
} from "./helpers";

/** One LocalHost for the whole file. */
const shared = new SharedHost();

const repoName = (prefix: string, v: Variant) =>
    `e2e/${prefix}-${v.strategy}${v.mode === "containerd-store" ? "-cs" : ""}`;

// ---------- builds

const MB = 1e6;

/** One line per build in the test log: the numbers the report quotes. */
function note(label: string, r: LocalBuildResult): void {
    const b = r.steps.builds[0];
    const steps = b
        ? `${b.cached} cached, ${b.rebuilt} rebuilt${b.errored ? `, ${b.errored} errored` : ""}`
        : "no docker build";
    const builder = r.builder
        ? `; builder image ${r.builder.image.source} ${((r.timings.builderImageMs ?? 0) / 1000).toFixed(1)} s, create ${((r.timings.builderCreateMs ?? 0) / 1000).toFixed(1)} s`
        : "";
    console.log(
        `      [${label}] ${r.succeeded ? "SUCCEEDED" : "FAILED"}: ${steps}; ` +
            `pulled ${r.bytes.pulledMB.toFixed(2)} MB, pushed ${r.bytes.pushedBytes < 0.1 * MB ? `${r.bytes.pushedBytes} B` : `${r.bytes.pushedMB.toFixed(2)} MB`}; ` +
            `build ${(r.timings.buildMs / 1000).toFixed(1)} s, total ${(r.timings.totalMs / 1000).toFixed(1)} s${builder}`,
    );
}

/** The component's buildspec for `o.repo` on a fresh host (componentBuild), quietly, noted in the log. */
async function build(label: string, v: Variant, o: BuildOptions): Promise<ScenarioResult> {
    const r = await componentBuild(shared.host!, label, v, o);
    note(label, r);
    return r;
}

/** The component's buildspec object for a variant and repository. */
async function renderSpec(v: Variant, repo: string): Promise<Buildspec> {
    const address = shared.host!.registry.address;
    return componentBuildspec(localArgs(v.strategy, v.mode ?? "docker-container"), `${address}/${repo}`);
}

/** Runs a given buildspec object of `v` on a fresh host with `dockerfile` as the scenario's source. */
async function runSpec(label: string, v: Variant, spec: Buildspec, dockerfile: string): Promise<LocalBuildResult> {
    const r = await runSpecOnDockerfile(shared.host!, spec, dockerfile, {
        containerdStore: v.mode === "containerd-store",
        label,
        quiet: !process.env.E2E_VERBOSE,
        printReport: false,
    });
    note(label, r);
    return r;
}

// ---------- reading a result

/** The buildspec's `layer cache: N of M steps cached` line, as [N, M]. */
function reported(r: LocalBuildResult): [number, number] {
    const m = printed(r, "build")
        .map((l) => /^layer cache: (\d+) of (\d+) steps cached$/.exec(l))
        .find((x) => x);
    assert.ok(m, `no "layer cache: N of M steps cached" line${why(r)}`);
    return [Number(m[1]), Number(m[2])];
}

/** The buildspec's own warnings (not docker login's "WARNING! Your credentials are stored unencrypted"). */
function cacheWarnings(r: LocalBuildResult): string[] {
    return printed(r).filter((l) => /^WARNING: /.test(l));
}

const NOT_RUN = "NOT RUN";

type ExportOutcome = "exported" | "not exported again" | "untrusted: not exported" | "no export step";

/**
 * What the `registry` strategy's cache export did (inline and pull have none): its own line for a skipped
 * or untrusted export, else a second `docker buildx build` in the log. Checked for consistency: an export
 * is a second build exactly when no line says it was skipped, and it re-runs nothing: every step it needs
 * is in the builder's local cache after the build (a DONE step there would mean new, different layers in
 * the cache than in the pushed image).
 */
function exportOutcome(r: LocalBuildResult): ExportOutcome {
    const lines = printed(r, "build");
    const skipped = lines.filter((l) =>
        /^layer cache: every step came from \S+:buildcache, which is already complete: not exported again$/.test(l),
    );
    const untrusted = lines.filter((l) => l === "layer cache: untrusted ref: the cache is not exported");
    assert.ok(skipped.length + untrusted.length <= 1, why(r));
    const builds = r.steps.builds.length;
    if (skipped.length || untrusted.length) {
        assert.equal(builds, 1, `a skipped export runs no second build${why(r)}`);
        return skipped.length ? "not exported again" : "untrusted: not exported";
    }
    if (builds === 2) {
        const e = r.steps.builds[1];
        assert.deepEqual([e.rebuilt, e.errored], [0, 0], `the export re-runs no step${why(r)}`);
        assert.ok(/#\d+ exporting cache to registry/.test(r.output), why(r));
        return "exported";
    }
    return "no export step";
}

/**
 * Status of each Dockerfile step of `stage` (FROM excluded), from index 2 to `total`: CACHED (taken
 * from the cache), DONE (executed), ERROR, or NOT RUN (BuildKit printed no vertex for it: it needed
 * neither its result nor its execution, e.g. a builder step behind a cached COPY --from).
 * `stage` is BuildKit's label: undefined for an unnamed single stage, "builder", "stage-1", ...
 */
function statuses(r: LocalBuildResult, total: number, stage?: string): string[] {
    // The build is the first docker build; a `registry` cache export, if it ran, is the second (exportOutcome).
    assert.equal(
        r.steps.builds.length,
        exportOutcome(r) === "exported" ? 2 : 1,
        `one docker build (and the registry export, if it ran) expected${why(r)}`,
    );
    const steps = r.steps.builds[0].steps.filter((s) => s.stage === stage);
    for (const s of steps)
        assert.equal(s.total, total, `stage ${stage ?? "(single)"} has ${s.total} steps, expected ${total}`);
    const out: string[] = [];
    for (let i = 2; i <= total; i++) out.push(steps.find((s) => s.index === i)?.status ?? NOT_RUN);
    return out;
}

const times = (n: number, s: string) => Array<string>(n).fill(s);

/** [cached, rebuilt] of the build itself: the first docker build (a registry cache export is a second one). */
function r1(r: LocalBuildResult): [number, number] {
    const b = r.steps.builds[0];
    assert.ok(b, `no docker build${why(r)}`);
    return [b.cached, b.rebuilt];
}

// ---------- tests

describe("layer cache end to end (component buildspec, fresh Docker host per build, local registry)", function () {
    this.timeout(300_000);

    shared.hooks();

    describe("1. cold build, then a rebuild with no change on a fresh host", () => {
        // singleStage(3 steps): FROM + `RUN mkdir` + 3 work steps = 4 counted steps (indices 2..5).
        const TOTAL = 5;
        for (const v of [INLINE, REGISTRY, REGISTRY_CS, PULL]) {
            it(`${v.name}: ${v.strategy === "pull" ? "ZERO hits and a WARNING (the original recipe under BuildKit)" : "every step CACHED"}`, async function () {
                const h = await ready(this, shared.host, v);
                const repo = repoName("warm", v);
                const dockerfile = singleStage({ baseImage: h.base.ref, ...SMALL });

                const cold = await build(`${v.name} cold`, v, { repo, dockerfile });
                assert.equal(cold.succeeded, true, why(cold));
                assert.deepEqual(statuses(cold, TOTAL), times(4, "DONE"), why(cold));
                assert.deepEqual(reported(cold), [0, 4]);
                assert.deepEqual(cacheWarnings(cold), [], why(cold));
                if (v.strategy !== "pull")
                    assert.ok(
                        printed(cold, "pre_build").some((l) => l.includes("is not there yet (first build)")),
                        why(cold),
                    );
                assert.ok(cold.bytes.pushedBytes > 3 * MB, `cold build pushed ${cold.bytes.pushedBytes} B`);
                const pushed = await shared.api.digests(repo);
                assert.deepEqual(
                    Object.keys(pushed),
                    v.strategy === "registry" ? ["buildcache", "latest"] : ["latest"],
                );
                assert.equal(exportOutcome(cold), v.strategy === "registry" ? "exported" : "no export step", why(cold));

                const warm = await build(`${v.name} warm`, v, { repo, dockerfile });
                assert.equal(warm.succeeded, true, why(warm));
                const after = await shared.api.digests(repo);
                if (v.strategy !== "pull")
                    assert.ok(
                        printed(warm, "pre_build").some((l) => /^layer cache: found /.test(l)),
                        why(warm),
                    );
                if (v.strategy === "pull") {
                    // `docker pull` + `--cache-from <image>`: BuildKit finds no cache metadata in a plain pulled
                    // image, so every step runs again, after the whole image was downloaded for nothing.
                    assert.deepEqual(statuses(warm, TOTAL), times(4, "DONE"), why(warm));
                    assert.deepEqual(reported(warm), [0, 4]);
                    assert.deepEqual(
                        cacheWarnings(warm),
                        ["WARNING: a layer cache was found in ECR but no step used it: every step was rebuilt"],
                        why(warm),
                    );
                    assert.ok(
                        warm.bytes.pulledBytes > 3 * MB,
                        `the pull downloaded the image: ${warm.bytes.pulledBytes} B`,
                    );
                    assert.ok(
                        warm.bytes.pushedBytes > 3 * MB,
                        `rebuilt layers are new layers: ${warm.bytes.pushedBytes} B pushed`,
                    );
                    assert.notEqual(after.latest, pushed.latest, "a rebuilt image is a new image");
                    return;
                }
                assert.deepEqual(statuses(warm, TOTAL), times(4, "CACHED"), why(warm));
                assert.deepEqual(reported(warm), [4, 4]);
                assert.deepEqual(cacheWarnings(warm), [], why(warm));
                assert.ok(
                    warm.bytes.pushedBytes < 0.1 * MB,
                    `a fully cached build pushes no layer: ${warm.bytes.pushedBytes} B pushed`,
                );
                // Every step writes random bytes, so only a build that took every layer from the cache pushes the very
                // same image again.
                assert.equal(after.latest, pushed.latest, `a fully cached rebuild pushes the same image${why(warm)}`);
                if (v.strategy === "registry") {
                    // Every step came from the cache in the registry, which is complete: no second export, the cache tag doesn't move.
                    assert.equal(exportOutcome(warm), "not exported again", why(warm));
                    assert.equal(
                        after.buildcache,
                        pushed.buildcache,
                        "a fully cached build leaves the cache tag's digest unchanged",
                    );
                    assert.deepEqual(printed(warm, "post_build"), [
                        `layer cache: pushed ${h.registry.address}/${repo}:latest; the layer cache in ${h.registry.address}/${repo}:buildcache is up to date`,
                    ]);
                    // Project target: a fully cached build leaves its cached layers lazy and downloads none of them
                    // (only the cache's small config blob), instead of the whole image. On the containerd store that
                    // takes store=false; a docker-container builder has no image store to fill.
                    const image = await shared.api.manifest(repo, "latest");
                    const imageBytes = (image?.json.layers ?? []).reduce((n, l) => n + l.size, 0);
                    assert.ok(imageBytes > 3 * MB, `image layers: ${imageBytes} B`);
                    assert.ok(
                        warm.bytes.pulledBytes < 0.02 * imageBytes,
                        `a warm registry build pulls (almost) nothing: ${warm.bytes.pulledBytes} B pulled for a ${imageBytes} B image${why(warm)}`,
                    );
                }
            });
        }
    });

    describe("2. a change in the middle: exact hit counts", () => {
        // singleStage(5 steps), change at work step 3 = Dockerfile index 5: indices 2..4 before it, 5..7 from it on.
        // The step just before the change (index 4) is a hit whose layer BuildKit downloads, because the changed
        // step runs on it: it must still count as a hit, in the parser and in the buildspec's own report (BuildKit
        // may print it DONE without CACHED; on the builders here it printed CACHED first, then the download).
        const TOTAL = 7;
        for (const v of [INLINE, REGISTRY, REGISTRY_CS]) {
            it(`${v.name}: every step before the change CACHED (the one just before it downloaded, still a hit), the changed step and every later one rebuilt`, async function () {
                const h = await ready(this, shared.host, v);
                const repo = repoName("change", v);
                const o = { baseImage: h.base.ref, steps: 5, mbPerStep: 1, hashRounds: 1 };
                const cold = await build(`${v.name} cold`, v, { repo, dockerfile: singleStage(o) });
                assert.equal(cold.succeeded, true, why(cold));
                const before = await shared.api.digests(repo);

                const changedDockerfile = singleStage({ ...o, changeAt: 3, changeMarker: "middle-1" });
                const changed = await build(`${v.name} change at step 3 of 5`, v, {
                    repo,
                    dockerfile: changedDockerfile,
                });
                assert.equal(changed.succeeded, true, why(changed));
                assert.deepEqual(statuses(changed, TOTAL), [...times(3, "CACHED"), ...times(3, "DONE")], why(changed));
                if (v.strategy === "registry") {
                    // With a registry cache the layers stay lazy until a step needs them: the changed step's parent is
                    // downloaded on its own vertex. (inline pulls the image's layers on other vertices.)
                    const justBefore = changed.steps.builds[0].steps.find((s) => s.index === 4);
                    assert.equal(
                        justBefore?.downloaded,
                        true,
                        `the step before the change was downloaded${why(changed)}`,
                    );
                }
                assert.deepEqual(r1(changed), [3, 3], "the build's own counts (the export is a second build)");
                assert.deepEqual(reported(changed), [3, 6], `the buildspec's count is exact${why(changed)}`);
                assert.deepEqual(cacheWarnings(changed), [], why(changed));
                // Three new 1 MB layers go up; the cached ones don't.
                assert.ok(
                    changed.bytes.pushedBytes > 3 * MB && changed.bytes.pushedBytes < 5 * MB,
                    `pushed ${changed.bytes.pushedBytes} B`,
                );
                const after = await shared.api.digests(repo);
                assert.notEqual(after.latest, before.latest, "the changed image is pushed");
                if (v.strategy !== "registry") return;

                // Not every step came from the cache: the export runs and moves the cache tag.
                assert.equal(exportOutcome(changed), "exported", why(changed));
                assert.notEqual(after.buildcache, before.buildcache, "the cache tag moves to the new cache");

                // The exported cache is complete: the next build of the changed Dockerfile hits every step and exports nothing.
                const warm = await build(`${v.name} warm after the change`, v, { repo, dockerfile: changedDockerfile });
                assert.equal(warm.succeeded, true, why(warm));
                assert.deepEqual(statuses(warm, TOTAL), times(6, "CACHED"), why(warm));
                assert.deepEqual(reported(warm), [6, 6]);
                assert.equal(exportOutcome(warm), "not exported again", why(warm));
                const again = await shared.api.digests(repo);
                assert.equal(again.buildcache, after.buildcache, "the cache tag stays where the change build put it");
                assert.equal(again.latest, after.latest, "an all-hit rebuild pushes the change build's very image");
            });
        }
    });

    describe("3. multi-stage: which strategy caches the builder stage", () => {
        // multiStage(3 steps): builder = FROM, mkdir, 3 work steps, `cat … > artifact` (indices 2..6);
        // final = FROM, COPY --from=builder (index 2). The "final-stage change" adds a RUN in the final
        // stage BEFORE the COPY (as a change of the runtime image's packages would): the COPY's parent
        // changes, so BuildKit needs the builder's last result itself, not just a cached COPY: that step is
        // a hit whose layers are downloaded, and counts as a hit.
        //
        // Observed here (buildx 0.29, dockerd 28.5, BuildKit v0.32.2 in the docker-container builder):
        // - no change: both strategies report every builder step CACHED (or not needed) and the COPY CACHED
        //   (inline: the min-mode cache keeps the builder steps' cache keys without their layers, which is
        //   enough when the COPY's own result is in the cache).
        // - final-stage change: registry (mode=max) keeps the builder's layers: builder steps CACHED, ≈ 4.2
        //   MB pulled (base + builder layers), only the two final-stage steps run. inline (min mode) has only
        //   the final image's layers: all 5 builder steps are rebuilt, and the build prints the "no step used
        //   it" WARNING (0 of 7 cached).
        const builderSteps = 5;
        for (const v of [INLINE, REGISTRY]) {
            it(`${v.name}: builder stage ${v.strategy === "registry" ? "CACHED (mode=max)" : "rebuilt (min mode)"} when the final stage changes`, async function () {
                const h = await ready(this, shared.host, v);
                const repo = repoName("multistage", v);
                const dockerfile = multiStage({ baseImage: h.base.ref, ...SMALL });
                const finalChange = dockerfile.replace(
                    /\nCOPY --from=builder /,
                    "\nRUN echo final-stage-change > /final.txt\nCOPY --from=builder ",
                );
                assert.notEqual(finalChange, dockerfile);

                const warmUp = await build(`${v.name} multi-stage warm-up`, v, { repo, dockerfile });
                assert.equal(warmUp.succeeded, true, why(warmUp));
                assert.deepEqual(statuses(warmUp, 6, "builder"), times(builderSteps, "DONE"), why(warmUp));

                const same = await build(`${v.name} multi-stage, no change`, v, { repo, dockerfile });
                assert.equal(same.succeeded, true, why(same));
                // No builder work is redone: CACHED, or not even needed.
                for (const s of statuses(same, 6, "builder"))
                    assert.ok(s === "CACHED" || s === NOT_RUN, `builder step ${s}${why(same)}`);
                assert.deepEqual(statuses(same, 2, "stage-1"), ["CACHED"], why(same));

                const changed = await build(`${v.name} multi-stage, final-stage change`, v, {
                    repo,
                    dockerfile: finalChange,
                });
                assert.equal(changed.succeeded, true, why(changed));
                assert.equal(
                    exportOutcome(changed),
                    v.strategy === "registry" ? "exported" : "no export step",
                    why(changed),
                );
                assert.deepEqual(statuses(changed, 3, "stage-1"), ["DONE", "DONE"], why(changed));
                const builder = statuses(changed, 6, "builder");
                if (v.strategy === "registry") {
                    assert.deepEqual(builder, times(builderSteps, "CACHED"), why(changed));
                    // The builder's last step is the one the COPY --from needs: downloaded, and a hit.
                    const last = changed.steps.builds[0].steps.find((s) => s.stage === "builder" && s.index === 6);
                    assert.equal(last?.downloaded, true, `the builder's last layer was downloaded${why(changed)}`);
                    assert.deepEqual(reported(changed), [5, 7], `the buildspec's count is exact${why(changed)}`);
                    assert.ok(
                        changed.bytes.pulledBytes > 3 * MB,
                        `the builder's layers come from the cache: ${changed.bytes.pulledBytes} B pulled`,
                    );
                } else {
                    assert.deepEqual(builder, times(builderSteps, "DONE"), why(changed));
                    assert.deepEqual(reported(changed), [0, 7]);
                    assert.ok(
                        cacheWarnings(changed).some((l) =>
                            l.startsWith("WARNING: a layer cache was found in ECR but no step used it"),
                        ),
                        why(changed),
                    );
                }
            });
        }
    });

    describe("3b. registry: an export after a change below a cached COPY --from keeps the builder stage", () => {
        it("the builder's records, taken from the cache without being loaded, stay in the exported cache; a later change above the COPY still hits them", async function () {
            // A change AFTER the COPY: the COPY comes CACHED from the cache in the registry, so BuildKit never loads
            // the builder's results; the export must still carry them (it reads the cache too). Without --cache-from
            // on the export, the cache written here had 3 layers instead of 8 and every builder step was rebuilt next.
            const h = await ready(this, shared.host, REGISTRY);
            const repo = "e2e/multistage-export";
            const dockerfile = multiStage({ baseImage: h.base.ref, ...SMALL });
            const afterCopy = dockerfile.replace(/\nCMD /, "\nRUN echo after-copy > /after.txt\nCMD ");
            const aboveCopy = afterCopy.replace(
                /\nCOPY --from=builder /,
                "\nRUN echo above-copy > /above.txt\nCOPY --from=builder ",
            );
            assert.ok(afterCopy !== dockerfile && aboveCopy !== afterCopy);
            const builderSteps = 5;

            const warmUp = await build("registry multi-stage warm-up", REGISTRY, { repo, dockerfile });
            assert.equal(warmUp.succeeded, true, why(warmUp));
            const seeded = (await shared.api.manifest(repo, "buildcache"))!;

            const below = await build("registry multi-stage, change below the COPY", REGISTRY, {
                repo,
                dockerfile: afterCopy,
            });
            assert.equal(below.succeeded, true, why(below));
            for (const s of statuses(below, 6, "builder"))
                assert.ok(s === "CACHED" || s === NOT_RUN, `builder step ${s}${why(below)}`);
            assert.deepEqual(statuses(below, 3, "stage-1"), ["CACHED", "DONE"], why(below));
            assert.equal(exportOutcome(below), "exported", why(below));
            const exported = (await shared.api.manifest(repo, "buildcache"))!;
            assert.notEqual(exported.digest, seeded.digest);
            const layers = (m: typeof seeded) => (m.json.layers ?? []).map((l) => l.digest);
            // The export keeps every earlier layer and adds the one of the new step.
            assert.deepEqual(
                layers(seeded).filter((d) => !layers(exported).includes(d)),
                [],
                "no layer of the earlier cache is dropped",
            );
            assert.equal(layers(exported).length, layers(seeded).length + 1, "one new layer: the new step's");

            const above = await build("registry multi-stage, change above the COPY", REGISTRY, {
                repo,
                dockerfile: aboveCopy,
            });
            assert.equal(above.succeeded, true, why(above));
            assert.deepEqual(statuses(above, 6, "builder"), times(builderSteps, "CACHED"), why(above));
            assert.deepEqual(statuses(above, 4, "stage-1"), ["DONE", "DONE", "DONE"], why(above));
        });
    });

    describe("4. a failed build", () => {
        // singleStage(3 steps) with failAt 2: work step 2 (index 4) fails; step 3 never runs.
        for (const v of [INLINE, REGISTRY]) {
            it(`${v.name}: pushes nothing, leaves the cache as it was; the next good build still hits it`, async function () {
                const h = await ready(this, shared.host, v);
                const repo = repoName("fail", v);
                const dockerfile = singleStage({ baseImage: h.base.ref, ...SMALL });
                const good = await build(`${v.name} good`, v, { repo, dockerfile });
                assert.equal(good.succeeded, true, why(good));
                const before = await shared.api.digests(repo);

                // The component's buildspec plus one observing command at the end of post_build.
                const spec = await renderSpec(v, repo);
                spec.phases!.post_build!.commands!.push(
                    'echo "observed: CODEBUILD_BUILD_SUCCEEDING=$CODEBUILD_BUILD_SUCCEEDING"',
                );
                const failed = await runSpec(
                    `${v.name} failing step`,
                    v,
                    spec,
                    singleStage({ baseImage: h.base.ref, ...SMALL, failAt: 2 }),
                );
                assert.equal(failed.succeeded, false, why(failed));
                assert.deepEqual(
                    failed.phases.map((p) => `${p.name} ${p.status}`),
                    ["install ABSENT", "pre_build SUCCEEDED", "build FAILED", "post_build SUCCEEDED"],
                );
                assert.deepEqual(statuses(failed, 5), ["CACHED", "CACHED", "ERROR", NOT_RUN], why(failed));
                assert.deepEqual(printed(failed, "post_build"), [
                    "layer cache: the build failed: nothing was pushed and the cache in ECR is unchanged",
                    "observed: CODEBUILD_BUILD_SUCCEEDING=0",
                ]);
                assert.equal(failed.bytes.pushedBytes, 0, "a failed build uploads nothing (login and probe are GETs)");
                assert.deepEqual(await shared.api.digests(repo), before, "tags and digests unchanged");

                const again = await build(`${v.name} good again`, v, { repo, dockerfile });
                assert.equal(again.succeeded, true, why(again));
                assert.deepEqual(statuses(again, 5), times(4, "CACHED"), why(again));
            });
        }
    });

    describe("4b. registry: the image is pushed, then the cache export fails", () => {
        it("post_build says the image was pushed but the cache was not updated; the cache tag stays; the next build recovers", async function () {
            // Realistic cause: the registry credentials expire or are revoked between the push and the export.
            // Here: `docker logout` between the build (which pushed) and the export command.
            const h = await ready(this, shared.host, REGISTRY);
            const repo = "e2e/export-fails";
            const o = { baseImage: h.base.ref, ...SMALL };
            const good = await build("registry good", REGISTRY, { repo, dockerfile: singleStage(o) });
            assert.equal(good.succeeded, true, why(good));
            const before = await shared.api.digests(repo);

            const spec = await renderSpec(REGISTRY, repo);
            const cmds = spec.phases!.build!.commands!;
            assert.equal(cmds.length, 3, "build, report, export");
            cmds.splice(2, 0, `docker logout ${h.registry.address}`);
            const changedDockerfile = singleStage({ ...o, changeAt: 2, changeMarker: "export-fails" });
            const failed = await runSpec("registry, export fails", REGISTRY, spec, changedDockerfile);
            assert.equal(failed.succeeded, false, why(failed));
            assert.deepEqual(
                failed.phases.map((p) => `${p.name} ${p.status}`),
                ["install ABSENT", "pre_build SUCCEEDED", "build FAILED", "post_build SUCCEEDED"],
            );
            const failedCommand = failed.phases.find((p) => p.name === "build")!.commands.find((c) => c.exitCode !== 0);
            // The command's docker call as bash runs it (the prelude's values resolved by the parser).
            const failedCall = parseShell(failedCommand?.command ?? "").commands.find((c) => c.words[2] === "build");
            // export.sh's command (its header line names the file), whose docker call exports to the registry, to the loop's
            // `$e_ref` (one ref per platform of CACHE_PLATFORMS; the parser can't resolve it, so the word is checked).
            assert.match(
                failedCommand?.command ?? "",
                /^# ---- components\/buildspec\/export\.sh,/,
                "the export is what failed",
            );
            assert.match(
                flagValues(failedCall?.words ?? [], "--cache-to").join(" "),
                /^type=registry,ref=\$\{e_ref\},mode=max/,
                "the export is what failed",
            );
            assert.deepEqual(printed(failed, "post_build"), [
                `layer cache: the build pushed ${h.registry.address}/${repo}:latest but then failed: the cache in ECR was not updated`,
            ]);
            const after = await shared.api.digests(repo);
            assert.notEqual(after.latest, before.latest, "the image was pushed");
            assert.equal(after.buildcache, before.buildcache, "the cache tag is unchanged");

            // The next trusted build of the same Dockerfile misses the changed steps, rebuilds them and exports.
            const again = await build("registry after the failed export", REGISTRY, {
                repo,
                dockerfile: changedDockerfile,
            });
            assert.equal(again.succeeded, true, why(again));
            assert.deepEqual(statuses(again, 5), ["CACHED", "CACHED", "DONE", "DONE"], why(again));
            assert.equal(exportOutcome(again), "exported", why(again));
            assert.notEqual((await shared.api.digests(repo)).buildcache, before.buildcache);
        });
    });

    describe("5. a wrong registry password", () => {
        it("fails the build in pre_build with the buildspec's login ERROR; build and post_build SKIPPED; nothing pushed", async function () {
            const h = await ready(this, shared.host, REGISTRY);
            const repo = "e2e/wrong-password";
            const r = await build("registry, wrong password", REGISTRY, {
                repo,
                dockerfile: singleStage({ baseImage: h.base.ref, ...SMALL }),
                passwordOverride: "not-the-registry-password",
            });
            assert.equal(r.succeeded, false);
            assert.deepEqual(
                r.phases.map((p) => `${p.name} ${p.status}`),
                ["install ABSENT", "pre_build FAILED", "build SKIPPED", "post_build SKIPPED"],
            );
            const pre = printed(r, "pre_build");
            assert.ok(
                pre.some((l) => /unauthorized|401/i.test(l)),
                why(r),
            );
            assert.ok(
                pre.includes(
                    `ERROR: docker login to ${h.registry.address} failed, so the layer cache can be neither read nor written. Check the role's ecr:GetAuthorizationToken permission and the registry address.`,
                ),
                why(r),
            );
            // It stopped at the login: no builder, no probe, no docker build, no cold build in disguise.
            assert.ok(!pre.some((l) => l.startsWith("layer cache: found") || l.includes("is not there yet")), why(r));
            assert.equal(r.timings.builderCreateMs, undefined, "the builder was not created");
            assert.equal(r.steps.builds.length, 0);
            assert.ok(r.bytes.unauthorized > 0, "the registry refused the credentials");
            assert.equal(r.bytes.pushedBytes, 0);
            assert.deepEqual(await shared.api.tags(repo), []);
        });
    });

    describe("6. cache poisoning (#4): untrusted builds read the cache but write nothing", () => {
        // singleStage(3 steps), the untrusted builds change work step 2 (index 4).
        const untrusted: Array<{ label: string; env: Record<string, string>; marker: string; says: RegExp }> = [
            {
                // A fork's pull request whose branch is named like the trusted one.
                label: "fork PR from a branch named main",
                env: {
                    CODEBUILD_WEBHOOK_TRIGGER: "pr/7",
                    CODEBUILD_SOURCE_VERSION: "pr/7",
                    CODEBUILD_WEBHOOK_HEAD_REF: "refs/heads/main",
                },
                marker: "poison-pr",
                says: /^layer cache: ref '(refs\/heads\/)?main' \(trigger 'pr\/7'\) is not trusted: this build reads the cache but pushes nothing$/,
            },
            {
                // A manual start-build whose source version was overridden to some commit.
                label: "manual source-version override",
                env: { CODEBUILD_SOURCE_VERSION: "0123456789abcdef0123456789abcdef01234567" },
                marker: "poison-manual",
                says: /^layer cache: ref '[a-z/]*0123456789abcdef0123456789abcdef01234567' \(trigger ''\) is not trusted: this build reads the cache but pushes nothing$/,
            },
        ];
        for (const v of [INLINE, REGISTRY]) {
            it(`${v.name}: a fork PR and a manual override with a changed Dockerfile push nothing; main still gets every hit`, async function () {
                const h = await ready(this, shared.host, v);
                const repo = repoName("poison", v);
                const dockerfile = singleStage({ baseImage: h.base.ref, ...SMALL });
                const seed = await build(`${v.name} trusted seed`, v, { repo, dockerfile });
                assert.equal(seed.succeeded, true, why(seed));
                const before = await shared.api.digests(repo);

                for (const u of untrusted) {
                    const r = await build(`${v.name} ${u.label}`, v, {
                        repo,
                        dockerfile: singleStage({
                            baseImage: h.base.ref,
                            ...SMALL,
                            changeAt: 2,
                            changeMarker: u.marker,
                        }),
                        env: u.env,
                    });
                    assert.equal(r.succeeded, true, why(r));
                    assert.ok(
                        printed(r, "pre_build").some((l) => u.says.test(l)),
                        why(r),
                    );
                    assert.deepEqual(statuses(r, 5), ["CACHED", "CACHED", "DONE", "DONE"], why(r)); // it did read the cache
                    assert.deepEqual(printed(r, "post_build"), ["layer cache: untrusted ref: nothing was pushed"]);
                    assert.equal(
                        exportOutcome(r),
                        v.strategy === "registry" ? "untrusted: not exported" : "no export step",
                        why(r),
                    );
                    assert.equal(
                        r.bytes.pushedBytes,
                        0,
                        "an untrusted build uploads nothing (login and probe are GETs)",
                    );
                    // --output type=cacheonly: BuildKit exports no image and no cache at all.
                    assert.deepEqual(
                        r.output
                            .split("\n")
                            .filter((l) =>
                                /#\d+ (exporting to image|exporting cache|pushing |exporting manifest|naming to )/.test(
                                    l,
                                ),
                            ),
                        [],
                        why(r),
                    );
                    assert.deepEqual(await shared.api.digests(repo), before, "tags and digests unchanged");
                }

                const main = await build(`${v.name} trusted after`, v, { repo, dockerfile });
                assert.equal(main.succeeded, true, why(main));
                assert.deepEqual(statuses(main, 5), times(4, "CACHED"), why(main));
                assert.equal(
                    exportOutcome(main),
                    v.strategy === "registry" ? "not exported again" : "no export step",
                    why(main),
                );
                assert.equal(
                    (await shared.api.digests(repo)).buildcache,
                    before.buildcache,
                    "the poisoning attempts left nothing for main to re-export",
                );
            });
        }
    });

    describe("7. no silent cache loss (#4): an unreadable cache fails the build or warns", () => {
        // With htpasswd auth every repository is readable by the one user, so an IAM-style denial can't be
        // made here. Two realistic failures of a cache that exists:
        it("registry answers the cache manifest with an error (not 'not found'): the probe retries it as transient, then fails the build", async function () {
            // What ECR does on a missing ecr:BatchGetImage (403) or an outage (5xx), reproduced by
            // corrupting the cache manifest's bytes in the registry's storage: distribution then answers the
            // manifest with 500. BuildKit alone would treat that as a warning and build cold.
            const h = await ready(this, shared.host, REGISTRY);
            const repo = "e2e/unreadable-manifest";
            const dockerfile = singleStage({ baseImage: h.base.ref, ...SMALL });
            const seed = await build("registry seed", REGISTRY, { repo, dockerfile });
            assert.equal(seed.succeeded, true, why(seed));
            const cache = await shared.api.manifest(repo, "buildcache");
            assert.ok(cache);
            const blob = shared.api.blobPath(cache.digest);
            fs.writeFileSync(blob, fs.readFileSync(blob, "utf8").slice(0, 100));
            const status = (await shared.api.request("GET", `/v2/${repo}/manifests/buildcache`)).status;
            assert.equal(status, 500);
            const latest = (await shared.api.manifest(repo, "latest"))!.digest;

            const r = await build("registry, unreadable cache manifest", REGISTRY, { repo, dockerfile });
            assert.equal(r.succeeded, false);
            assert.deepEqual(
                r.phases.map((p) => `${p.name} ${p.status}`),
                ["install ABSENT", "pre_build FAILED", "build SKIPPED", "post_build SKIPPED"],
            );
            // A 500 is transient (retry.sh): the probe tries 6 times, says each retry, then fails with one ERROR line.
            const ref = `${h.registry.address}/${repo}:buildcache`;
            const lines = printed(r, "pre_build");
            assert.ok(
                lines.some(
                    (l) =>
                        l.startsWith(`ERROR: reading the layer cache ${ref} failed after 6 attempts`) &&
                        l.includes("500"),
                ),
                why(r),
            );
            assert.equal(
                lines.filter((l) => l.startsWith(`layer cache: reading the layer cache ${ref} failed on a transient`))
                    .length,
                5,
                why(r),
            );
            assert.equal(r.steps.builds.length, 0, "no cold build in disguise");
            assert.equal(r.bytes.pushedBytes, 0);
            assert.equal((await shared.api.manifest(repo, "latest"))!.digest, latest);
        });

        it("cache manifest readable but its blobs are not: the build goes on cold and says so (two WARNINGs)", async function () {
            // ECR's split of permissions makes this real: ecr:BatchGetImage (manifests) without
            // ecr:GetDownloadUrlForLayer (blobs). The probe reads only the manifest, so it passes; BuildKit then
            // fails to fetch the cache config blob, prints `#N ERROR: …` on its import vertex and builds cold.
            // Reproduced by deleting the cache config blob from the repository.
            const h = await ready(this, shared.host, REGISTRY);
            const repo = "e2e/unreadable-blobs";
            const dockerfile = singleStage({ baseImage: h.base.ref, ...SMALL });
            const seed = await build("registry seed", REGISTRY, { repo, dockerfile });
            assert.equal(seed.succeeded, true, why(seed));
            const cache = await shared.api.manifest(repo, "buildcache");
            assert.equal(cache?.json.config?.mediaType, "application/vnd.buildkit.cacheconfig.v0");
            assert.equal(await shared.api.deleteBlob(repo, cache.json.config.digest), 202);

            const r = await build("registry, cache blobs unreadable", REGISTRY, { repo, dockerfile });
            assert.equal(r.succeeded, true, why(r));
            assert.ok(
                printed(r, "pre_build").some((l) => l.startsWith("layer cache: found ")),
                why(r),
            );
            assert.deepEqual(statuses(r, 5), times(4, "DONE"), why(r));
            const warnings = cacheWarnings(r);
            assert.ok(
                warnings.some(
                    (l) =>
                        l.startsWith(
                            "WARNING: BuildKit reported a layer-cache error, so this build did not use the cache as configured: ",
                        ) && l.includes("cacheconfig"),
                ),
                why(r),
            );
            assert.ok(
                warnings.includes(
                    "WARNING: a layer cache was found in ECR but no step used it: every step was rebuilt",
                ),
                why(r),
            );
        });
    });

    describe("8. the docker-container builder: CodeBuild's buildspec unchanged, the builder's start timed", () => {
        it("the buildspec starts the component's builderImage; the host's image serves it; image and create+bootstrap are timed", async function () {
            const h = await ready(this, shared.host, REGISTRY);
            const repo = "e2e/docker-container";
            const r = await build("registry, builder start", REGISTRY, {
                repo,
                dockerfile: singleStage({ baseImage: h.base.ref, ...SMALL }),
            });
            assert.equal(r.succeeded, true, why(r));
            // Nothing rewritten: the component's default builder image, as CodeBuild gets it (the docker call as
            // bash runs it, the prelude's values resolved by the parser).
            const creates = (YAML.parse(r.buildspecYaml) as Buildspec).phases!.pre_build!.commands!.flatMap((c) =>
                parseShell(c).commands.filter((call) => call.words[2] === "create"),
            );
            assert.deepEqual(
                // `"${config_flags[@]}"` (the pull-through caches' buildkitd config, none here) is assigned in a branch,
                // which the parser leaves as one unresolved value.
                creates.map((call) => call.values.filter(Boolean).join(" ")),
                [
                    `docker buildx create --name layer-cache --driver docker-container --driver-opt image=${localBuilderImage(DEFAULTS.builderImage)} --driver-opt network=host --use --bootstrap`,
                ],
            );
            // The host holds the image under the local name the builder starts from, so builder.sh pulls nothing.
            assert.equal(r.builder?.image.ref, localBuilderImage(DEFAULTS.builderImage));
            assert.ok(
                printed(r, "pre_build").includes("layer cache: the builder image is already on this host"),
                why(r),
            );
            assert.ok(
                r.builder.image.source === "pull" || r.builder.image.source === "archive",
                r.builder.image.detail,
            );
            if (r.builder.image.source === "archive") {
                // The pull in `buildx create` fails as it did on the host, and buildx takes the loaded image.
                assert.ok(
                    printed(r, "pre_build").some(
                        (l) =>
                            l ===
                            `#1 pulling failed, using local image ${localBuilderImage(DEFAULTS.builderImage)} done`,
                    ),
                    why(r),
                );
                assert.ok(r.builder.image.loadMs > 0);
            }
            assert.ok(
                (r.timings.builderImageMs ?? 0) > 0 && (r.timings.builderCreateMs ?? 0) > 0,
                JSON.stringify(r.timings),
            );
            assert.ok(
                r.timings.builderCreateMs! < r.timings.buildMs,
                "the builder's create is part of the buildspec's time",
            );
            assert.match(
                r.steps.builds[0]?.builder ?? "",
                /^building with "layer-cache" instance using docker-container driver$/,
            );
            assert.equal(r.steps.builds[1]?.builder, r.steps.builds[0].builder, "the export runs on the same builder");
            assert.ok(r.report.includes("builderCreateMs"), r.report);
        });

        it("a host that can't get the builder image fails in pre_build at `buildx create`, loudly, pushing nothing", async function () {
            // As a CodeBuild build fails when its builder image can't be pulled (rate limit, outage): here an image
            // reference that exists nowhere, and a host that is given no image.
            const h = await ready(this, shared.host);
            const repo = "e2e/docker-container-no-image";
            const missing = `${h.registry.address}/moby/buildkit:absent`;
            const r = await build("registry, no builder image", REGISTRY, {
                repo,
                dockerfile: singleStage({ baseImage: h.base.ref, ...SMALL }),
                args: { builderImage: missing },
                provideBuilderImage: false,
            });
            assert.equal(r.builder, undefined, "the host got no builder image");
            assert.equal(r.succeeded, false);
            assert.deepEqual(
                r.phases.map((p) => `${p.name} ${p.status}`),
                ["install ABSENT", "pre_build FAILED", "build SKIPPED", "post_build SKIPPED"],
            );
            const pre = r.phases.find((p) => p.name === "pre_build")!;
            const failedCommand = pre.commands.find((c) => c.exitCode !== 0);
            assert.match(failedCommand?.command ?? "", /^\s*docker buildx create /m);
            assert.ok(
                printed(r, "pre_build").some((l) =>
                    /^ERROR: .*moby\/buildkit:absent.*(not found|manifest unknown)/.test(l),
                ),
                why(r),
            );
            // No Dockerfile step ran; nothing was pushed.
            assert.deepEqual(
                r.steps.builds.flatMap((b) => b.steps),
                [],
            );
            assert.equal(r.bytes.pushedBytes, 0);
            assert.deepEqual(await shared.api.tags(repo), []);
        });
    });

    describe("9. concurrency (#4): two trusted builds at once", () => {
        it("registry: two builds of different Dockerfiles write the same cache tag; it ends up a complete cache of one of them", async function () {
            // Two pushes to main built at once. runLocalBuild resets the registry's shared byte counters per
            // build, so bytes aren't asserted here. Both builds export a cache to :buildcache; the registry
            // moves the tag atomically, so the last writer wins.
            const h = await ready(this, shared.host, REGISTRY);
            const repo = "e2e/concurrent";
            const spec = await renderSpec(REGISTRY, repo);
            const a = singleStage({ baseImage: h.base.ref, ...SMALL, changeAt: 1, changeMarker: "build-a" });
            const b = singleStage({ baseImage: h.base.ref, ...SMALL, changeAt: 1, changeMarker: "build-b" });
            const [ra, rb] = await Promise.all([
                runSpec("concurrent A", REGISTRY, spec, a),
                runSpec("concurrent B", REGISTRY, spec, b),
            ]);
            assert.equal(ra.succeeded, true, why(ra));
            assert.equal(rb.succeeded, true, why(rb));
            // Both were cold (the probe found no cache), so both exported their cache.
            for (const r of [ra, rb]) {
                assert.equal(exportOutcome(r), "exported", why(r));
                const [c, d] = r1(r);
                assert.equal(c + d, 4, why(r));
            }

            // The cache tag is a valid cache manifest whose blobs are all there.
            const cache = await shared.api.manifest(repo, "buildcache");
            assert.ok(cache, "a cache was written");
            assert.equal(cache.json.config?.mediaType, "application/vnd.buildkit.cacheconfig.v0");
            for (const d of [cache.json.config.digest, ...cache.json.layers!.map((l) => l.digest)]) {
                assert.equal(await shared.api.blobStatus(repo, d), 200, `cache blob ${d}`);
            }

            // Which build's image and which build's cache the tags point to, from the digests each build printed.
            const written = (r: LocalBuildResult) => ({
                image: /pushing manifest for \S+:latest@(sha256:[0-9a-f]{64})/.exec(r.output)?.[1],
                cache: /writing cache image manifest (sha256:[0-9a-f]{64})/.exec(r.output)?.[1],
            });
            const [wa, wb] = [written(ra), written(rb)];
            assert.ok(wa.image && wa.cache && wb.image && wb.cache, JSON.stringify({ wa, wb }));
            const latest = (await shared.api.manifest(repo, "latest"))!.digest;
            const imageFrom = latest === wa.image ? "A" : latest === wb.image ? "B" : "neither";
            const cacheFrom = cache.digest === wa.cache ? "A" : cache.digest === wb.cache ? "B" : "neither";
            assert.notEqual(
                imageFrom,
                "neither",
                `:latest is ${latest}, neither build's image: ${JSON.stringify({ wa, wb })}`,
            );
            assert.notEqual(
                cacheFrom,
                "neither",
                `:buildcache is ${cache.digest}, neither build's cache: ${JSON.stringify({ wa, wb })}`,
            );

            // The cache works for the build that wrote it: an untrusted rebuild of each (reads, writes nothing).
            const env = { CODEBUILD_SOURCE_VERSION: "concurrency-check" };
            const againA = await build("rebuild A (untrusted)", REGISTRY, { repo, dockerfile: a, env });
            const againB = await build("rebuild B (untrusted)", REGISTRY, { repo, dockerfile: b, env });
            for (const r of [againA, againB])
                assert.equal(r.bytes.pushedBytes, 0, `an untrusted rebuild uploads nothing${why(r)}`);
            assert.equal(
                (await shared.api.manifest(repo, "buildcache"))!.digest,
                cache.digest,
                "untrusted rebuilds leave the cache tag alone",
            );
            const sa = statuses(againA, 5);
            const sb = statuses(againB, 5);
            // The winner's rebuild hits every step; the other shares only the step before its change (`RUN mkdir`).
            const [winner, loser] = cacheFrom === "A" ? [sa, sb] : [sb, sa];
            const [winnerRun, loserRun] = cacheFrom === "A" ? [againA, againB] : [againB, againA];
            assert.deepEqual(winner, times(4, "CACHED"), `${cacheFrom} wrote the cache${why(winnerRun)}`);
            assert.deepEqual(loser, ["CACHED", "DONE", "DONE", "DONE"], why(loserRun));
            // Ground truth: every step writes random bytes, so only an all-cache rebuild reproduces the very image.
            // Untrusted builds export no image (--output type=cacheonly), so the winner is rebuilt once more, trusted.
            const final = await build(`rebuild ${cacheFrom} (trusted)`, REGISTRY, {
                repo,
                dockerfile: cacheFrom === "A" ? a : b,
            });
            assert.equal(final.succeeded, true, why(final));
            assert.deepEqual(statuses(final, 5), times(4, "CACHED"), why(final));
            assert.equal(exportOutcome(final), "not exported again", why(final));
            assert.equal(
                written(final).image,
                cacheFrom === "A" ? wa.image : wb.image,
                `the winner's rebuild is byte-identical to its image${why(final)}`,
            );
        });
    });
});
