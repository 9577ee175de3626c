// End-to-end tests of the retries for transient registry errors (issue 14): the component's own buildspec on a
// fresh Docker host per build, against the local registry with its fault-injecting front (standIn/faults.ts)
// switched on and off between the builds of one scenario. What a build did is read from its structured result,
// the lines the buildspec printed, the front's own count of the faults it injected, and the registry's HTTP API
// (tags and digests before and after), which bypasses the front.
//
// Per strategy and builder (inline and pull on the daemon's builder, registry on CodeBuild's docker-container
// builder): a change build under 10 % transient faults (429, 500, 503, dropped connections) succeeds; a
// throttled push is retried on the builder's local cache; a full outage fails at the login with one ERROR line
// and leaves the tags where they were; the next healthy build hits the cache as before. Then: a push outage
// that outlasts the retries (what a retry costs), a fault in the registry strategy's separate cache export, and
// a load test. Small on purpose: 3 steps of 1 MB. The faults are seeded, so a run injects the same faults
// into the same sequence of requests; requests sent in parallel can arrive in another order, so the
// assertions hold for any placement of the faults.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { singleStage } from "../../localBuild/dockerfile";
import { RETRY_DELAYS_SECONDS } from "../../components/buildspec";
import type { FaultPlan } from "../../standIn/faults";
import type { LocalBuildResult } from "../../standIn/host";
import { cacheHits, retryCost } from "../../bench/reliability";
import type { ScenarioResult } from "../../standIn/scenario";
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

const shared = new SharedHost();

/** Attempts of a registry operation: the first, then one per delay. */
const ATTEMPTS = RETRY_DELAYS_SECONDS.length + 1;
const RETRY_LINE = / failed on a transient registry error \(attempt (\d+) of (\d+)\): .*; next try in (\d+) s$/;

const retries = (r: LocalBuildResult) => printed(r).filter((l) => RETRY_LINE.test(l));
const errors = (r: LocalBuildResult) => printed(r).filter((l) => /^ERROR: /.test(l));

/** One line per build in the test log: outcome, steps, faults injected, retries, time. */
function note(label: string, r: LocalBuildResult): void {
    const s = shared.host!.registry.faults.stats();
    const faults = Object.entries(s.injected)
        .filter(([, n]) => n > 0)
        .map(([k, n]) => `${n}× ${k}`)
        .join(", ");
    const builds = r.steps.builds.map((b) => `${b.cached}/${b.cached + b.rebuilt}`).join(" + ");
    console.log(
        `      [${label}] ${r.succeeded ? "SUCCEEDED" : "FAILED"}: steps cached per docker build ${builds || "(none)"}; ` +
            `${shared.host!.registry.faults.current() ? `faults ${faults || "none"} of ${s.matched} requests matched; ` : ""}` +
            `${retries(r).length} retries; build ${(r.timings.buildMs / 1000).toFixed(1)} s`,
    );
}

/** A build of `v` with the component's buildspec, under `faults` (switched off again afterwards, even on error). */
async function build(label: string, v: Variant, o: BuildOptions, faults?: FaultPlan): Promise<ScenarioResult> {
    const host = shared.host!;
    if (faults) host.registry.faults.set(faults);
    try {
        const r = await componentBuild(host, label, v, o);
        note(label, r);
        return r;
    } finally {
        host.registry.faults.clear();
    }
}

/** Digests (hex) of the manifests the registry ever stored in a repository: a push adds one, nothing else does. */
function manifestDigests(repo: string): string[] {
    const dir = path.join(
        shared.host!.registry.storageDir,
        "docker/registry/v2/repositories",
        repo,
        "_manifests/revisions/sha256",
    );
    return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
}
const manifestRevisions = (repo: string): number => manifestDigests(repo).length;

/** The `created_by` lines of the image config behind a stored manifest (read through the registry's API). */
async function historyOf(repo: string, hex: string): Promise<string> {
    const m = await shared.api.manifest(repo, `sha256:${hex}`);
    const digest = m?.json.config?.digest;
    if (!digest) return `(not an image manifest: ${JSON.stringify(m?.json).slice(0, 200)})`;
    const config = (await (await shared.api.request("GET", `/v2/${repo}/blobs/${digest}`)).json()) as {
        history?: { created_by?: string }[];
    };
    return (config.history ?? []).map((e) => e.created_by ?? "").join("\n");
}

/** Times of a build that was retried once: its first attempt, the wait, and the retry (ms, from the output). */
function attemptTimes(r: LocalBuildResult): { first: number; wait: number; retry: number } {
    const build = r.lines.filter((l) => l.phase === "build" && l.stream !== "runner");
    const retry = build.find((l) => RETRY_LINE.test(l.text));
    const counted = build.find((l) => /^layer cache: \d+ of \d+ steps cached$/.test(l.text));
    assert.ok(retry && counted, why(r));
    const wait = Number(RETRY_LINE.exec(retry.text)![3]) * 1000;
    return { first: retry.t - build[0].t, wait, retry: counted.t - retry.t - wait };
}

/** Non-FROM steps of a SMALL change build (3 work steps and the change marker's); cacheHits counts against it. */
const STEPS = 4;

/**
 * BuildKit's read of the cache manifest by digest (the import), and only that: the buildspec's own lookup (probe.sh,
 * `imagetools inspect`) reads it once first and passes (`skip: 1`); then each read is answered 503. Two faults is
 * what BuildKit gives up after: containerd's resolver retries a 503 once, not after the same status twice.
 */
const IMPORT_READ = { kinds: ["503"], match: "reads", path: /\/manifests\/sha256:/, skip: 1 } as const;

/** Every fault kind the issue names, for the 10 % runs. */
const TRANSIENT: FaultPlan["kinds"] = ["429", "500", "503", "reset"];

/**
 * A push in BuildKit's own progress lines, as the runner prints them (`[build] #12 pushing layer …`, `… pushing
 * manifest …`, `… pushing <ref> with docker`), not the buildspec's text, whose comments the runner echoes with each
 * command and may mention pushing.
 */
const BUILDKIT_PUSHING = /^\[\w+\] #\d+ pushing /m;

describe("registry faults end to end (#14): bounded retries, clear failures, a cache that stays usable", function () {
    this.timeout(600_000);

    shared.hooks();

    describe("per strategy and builder", () => {
        for (const v of [INLINE, PULL, REGISTRY]) {
            it(`${v.name}: survives 10 % transient faults; retries a throttled push on the builder's local cache; a full outage fails at the login with one ERROR line, tags unchanged; the next healthy build hits the cache as before`, async function () {
                const h = await ready(this, shared.host, v);
                const repo = `e2e-faults/${v.strategy}`;
                const o = { baseImage: h.base.ref, ...SMALL };
                const cold = await build(`${v.name} cold`, v, { repo, dockerfile: singleStage(o) });
                assert.equal(cold.succeeded, true, why(cold));
                // 0. The same change build without faults: the hits every change build below must keep.
                const baseline = await build(`${v.name} change, no faults`, v, {
                    repo,
                    dockerfile: singleStage({ ...o, changeAt: 2, changeMarker: "baseline" }),
                });
                assert.equal(baseline.succeeded, true, why(baseline));
                const hits = cacheHits(baseline, STEPS);
                assert.equal(hits, v.strategy === "pull" ? 0 : 2, why(baseline));
                const d0 = await shared.api.digests(repo);

                // 1. A change build with 10 % of its blob and manifest requests failing.
                const change1 = singleStage({ ...o, changeAt: 2, changeMarker: "faults-10" });
                const flaky = await build(
                    `${v.name} change, 10 % faults`,
                    v,
                    { repo, dockerfile: change1 },
                    {
                        rate: 0.1,
                        kinds: TRANSIENT,
                        repo,
                        seed: 14,
                    },
                );
                const injected = h.registry.faults.stats().log.length;
                assert.ok(injected >= 1, "the front injected faults");
                assert.equal(flaky.succeeded, true, why(flaky));
                // No ERROR line of the buildspec's own; a failed attempt's own docker error is there only if retried.
                assert.deepEqual(
                    errors(flaky).filter((l) => !l.startsWith("ERROR: failed to build: ")),
                    [],
                    why(flaky),
                );
                assert.ok(errors(flaky).length <= retries(flaky).length, why(flaky));
                assert.equal(cacheHits(flaky, STEPS), hits, `the hits of the same build without faults${why(flaky)}`);
                const d1 = await shared.api.digests(repo);
                assert.notEqual(d1.latest, d0.latest, "the change build pushed its image");
                if (v.strategy === "registry") assert.notEqual(d1.buildcache, d0.buildcache, "and its cache");

                // 2. A throttled push: every write answered 429 until the daemon's builder fails (one) or BuildKit's
                // own retries give up (eight, counted here: 8 per attempt of a 3-layer push), then healthy.
                const change2 = singleStage({ ...o, changeAt: 2, changeMarker: "throttled" });
                const throttled = await build(
                    `${v.name} change, push throttled`,
                    v,
                    { repo, dockerfile: change2 },
                    {
                        rate: 1,
                        kinds: ["429"],
                        match: "writes",
                        repo,
                        limit: v.strategy === "registry" ? 8 : 1,
                    },
                );
                assert.equal(throttled.succeeded, true, why(throttled));
                assert.equal(
                    cacheHits(throttled, STEPS),
                    hits,
                    `the hits of the same build without faults${why(throttled)}`,
                );
                const lines = retries(throttled);
                if (v.strategy !== "registry") {
                    // The daemon's builder fails the whole build on one 429 (empty body): without the retry this build
                    // would have failed, as in the issue's table.
                    assert.equal(lines.length, 1, why(throttled));
                }
                if (lines.length > 0) {
                    assert.match(
                        lines[0],
                        /^layer cache: the build \(reading the layer cache \S+, pushing \S+:latest\) failed on a transient registry error \(attempt 1 of 6\): .*(toomanyrequests|429).*; next try in 1 s$/,
                    );
                    // The retry is the same invocation on the same builder: every step the first attempt built comes
                    // from the builder's local cache, nothing is rebuilt.
                    const [first, retry] = throttled.steps.builds;
                    assert.equal(first.rebuilt, v.strategy === "pull" ? 4 : 2, why(throttled));
                    assert.deepEqual([retry.cached, retry.rebuilt], [first.cached + first.rebuilt, 0], why(throttled));
                    const t = attemptTimes(throttled);
                    console.log(
                        `      [${v.name}] a retry cost ${(t.retry / 1000).toFixed(1)} s after a ${(t.wait / 1000).toFixed(0)} s wait, against ${(t.first / 1000).toFixed(1)} s for the first attempt`,
                    );
                    assert.ok(
                        printed(throttled, "build").includes(
                            "layer cache: counted on attempt 2 of the build, which took what the earlier attempts built from the builder's own cache",
                        ),
                        why(throttled),
                    );
                }
                const d2 = await shared.api.digests(repo);
                assert.notEqual(d2.latest, d1.latest);

                // 3. A full outage: every request answered 503, the login's too.
                const outage = await build(
                    `${v.name} full outage`,
                    v,
                    { repo, dockerfile: change2 },
                    {
                        rate: 1,
                        kinds: ["503"],
                        match: "all",
                        repo,
                    },
                );
                assert.equal(outage.succeeded, false);
                assert.deepEqual(
                    outage.phases.map((p) => `${p.name} ${p.status}`),
                    ["install ABSENT", "pre_build FAILED", "build SKIPPED", "post_build SKIPPED"],
                );
                assert.equal(retries(outage).length, RETRY_DELAYS_SECONDS.length, why(outage));
                assert.deepEqual(
                    errors(outage).map((l) => l.replace(/ in \d+ s,/, " in N s,")),
                    [
                        `ERROR: docker login to ${h.registry.address} failed after ${ATTEMPTS} attempts in N s, each on a transient registry error (throttling, a server error, a dropped connection or a timeout); the retries ran out. Last error: Error response from daemon: login attempt to http://${h.registry.address}/v2/ failed with status: 503 Service Unavailable`,
                    ],
                    why(outage),
                );
                assert.equal(outage.steps.builds.length, 0, "nothing was built");
                assert.deepEqual(await shared.api.digests(repo), d2, "the tags are where they were");

                // 4. Healthy again: the next build of the same Dockerfile uses the cache as if nothing had happened.
                const healthy = await build(`${v.name} healthy again`, v, { repo, dockerfile: change2 });
                assert.equal(healthy.succeeded, true, why(healthy));
                assert.deepEqual(retries(healthy), []);
                const b = healthy.steps.builds[0];
                if (v.strategy === "pull") {
                    // The original recipe gets no hit under BuildKit, faults or not (tests/e2e/cache.test.ts, 1.).
                    assert.deepEqual([b.cached, b.rebuilt], [0, 4], why(healthy));
                } else {
                    assert.deepEqual([b.cached, b.rebuilt], [4, 0], why(healthy));
                    assert.equal((await shared.api.digests(repo)).latest, d2.latest, "the same image, byte for byte");
                }
            });
        }
    });

    describe("load: four trusted and four untrusted builds at once against one registry, 5 % faults", () => {
        // Eight fresh Docker hosts at once (a daemon each, the default strategy on the daemon's own builder), all
        // against one repository of one registry whose front fails 5 % of the blob and manifest requests. The
        // trusted builds build four different changes (as four pushes to main would), the untrusted ones four
        // more (as four pull requests). The registry moves each tag atomically; with inline, the image carries its
        // cache, so the image tag is always a consistent image-and-cache pair from one build.
        it("inline: every trusted build succeeds or fails clearly; the final image and its cache are one trusted build's; untrusted builds push nothing; the next build hits every step", async function () {
            const h = await ready(this, shared.host, INLINE);
            const repo = "e2e-faults/load";
            const o = { baseImage: h.base.ref, ...SMALL };
            const seed = await build("load: seed", INLINE, { repo, dockerfile: singleStage(o) });
            assert.equal(seed.succeeded, true, why(seed));
            const digestsBefore = new Set(manifestDigests(repo));

            const trusted = [1, 2, 3, 4].map((i) => ({
                label: `load: trusted ${i}`,
                marker: `trusted-${i}`,
                env: { CODEBUILD_SOURCE_VERSION: "main" },
            }));
            const untrusted = [1, 2, 3, 4].map((i) => ({
                label: `load: untrusted ${i} (pr/${i})`,
                marker: `untrusted-${i}`,
                env: { CODEBUILD_SOURCE_VERSION: `pr/${i}`, CODEBUILD_WEBHOOK_TRIGGER: `pr/${i}` },
            }));
            h.registry.faults.set({ rate: 0.05, kinds: TRANSIENT, repo, seed: 5 });
            const t0 = Date.now();
            let results: ScenarioResult[];
            try {
                results = await Promise.all(
                    [...trusted, ...untrusted].map((b) =>
                        componentBuild(h, b.label, INLINE, {
                            repo,
                            dockerfile: singleStage({ ...o, changeAt: 2, changeMarker: b.marker }),
                            env: b.env,
                        }),
                    ),
                );
            } finally {
                h.registry.faults.clear();
            }
            const s = h.registry.faults.stats();
            console.log(
                `      [load] 8 builds at once in ${((Date.now() - t0) / 1000).toFixed(1)} s; faults injected: ${s.log.length} of ${s.matched} requests matched (${JSON.stringify(s.injected)})`,
            );
            results.forEach((r, i) =>
                console.log(
                    `      [${[...trusted, ...untrusted][i].label}] ${r.succeeded ? "SUCCEEDED" : "FAILED"}; ${retries(r).length} retries; build ${(r.timings.buildMs / 1000).toFixed(1)} s${errors(r).length ? `; ${errors(r).at(-1)}` : ""}`,
                ),
            );
            const [tr, un] = [results.slice(0, 4), results.slice(4)];

            // Every build either succeeded or failed clearly: one ERROR line of its own, and post_build (when the
            // build phase was reached) saying nothing was pushed.
            for (const r of results) {
                if (r.succeeded) continue;
                assert.ok(errors(r).length >= 1, `a failed build says why${why(r)}`);
            }
            // Untrusted builds push nothing, whatever happened to them.
            for (const r of un) {
                assert.ok(!BUILDKIT_PUSHING.test(r.output), why(r));
                if (r.phases.find((p) => p.name === "post_build")?.status === "SUCCEEDED")
                    assert.deepEqual(printed(r, "post_build"), ["layer cache: untrusted ref: nothing was pushed"]);
            }
            // The same pattern sees a real push: every trusted build that succeeded pushed.
            for (const r of tr.filter((t) => t.succeeded)) {
                assert.ok(BUILDKIT_PUSHING.test(r.output), `a push shows in the log${why(r)}`);
            }
            const okTrusted = tr.filter((r) => r.succeeded).length;
            assert.ok(okTrusted >= 1, "at 5 % faults, with retries, trusted builds get through");
            // Every manifest stored under load is a trusted build's image, never an untrusted one's; and each
            // attempt of a trusted build stores at most one. (An attempt can store its image and still fail after it,
            // e.g. on a later request's fault, and its retry's image need not have the same digest: seen in CI, 5
            // manifests for 4 successful trusted builds.)
            const stored = manifestDigests(repo).filter((d) => !digestsBefore.has(d));
            const histories = await Promise.all(stored.map((d) => historyOf(repo, d)));
            for (const [j, d] of stored.entries()) {
                const history = histories[j];
                assert.ok(
                    trusted.some((b) => history.includes(`echo ${b.marker} >`)),
                    `manifest sha256:${d} is a trusted build's image: ${history}`,
                );
                assert.ok(!untrusted.some((b) => history.includes(b.marker)), `no untrusted build's image: ${history}`);
            }
            for (const [i, r] of tr.entries()) {
                if (!r.succeeded) continue;
                assert.ok(
                    histories.some((h) => h.includes(`echo ${trusted[i].marker} >`)),
                    `the image of ${trusted[i].label}, which succeeded, is stored`,
                );
            }
            const attempts = tr.reduce((n, r) => n + 1 + retries(r).length, 0);
            assert.ok(
                stored.length <= attempts,
                `${stored.length} new manifests for ${attempts} attempts of trusted builds (${okTrusted} succeeded)`,
            );

            // The image tag is one trusted build's image, and carries that build's inline cache.
            const latest = await shared.api.manifest(repo, "latest");
            assert.ok(latest?.json.config, "an image manifest");
            const config = (await (
                await shared.api.request("GET", `/v2/${repo}/blobs/${latest.json.config.digest}`)
            ).json()) as {
                config?: { Labels?: Record<string, string> };
                history?: { created_by?: string }[];
            };
            const history = (config.history ?? []).map((e) => e.created_by ?? "").join("\n");
            const winner = trusted.findIndex((b) => history.includes(`echo ${b.marker} >`));
            assert.ok(winner >= 0, `the image is a trusted build's: ${history}`);
            assert.ok(tr[winner].succeeded, "and that build succeeded");
            assert.ok(!untrusted.some((b) => history.includes(b.marker)), "no untrusted build's image");
            // BuildKit's inline cache: a field of the image config.
            assert.ok("moby.buildkit.cache.v0" in config, "the image carries its inline cache");

            // The next build of the winner's change, healthy, hits every step and pushes the very same image.
            const next = await build(`load: next build of ${trusted[winner].label}`, INLINE, {
                repo,
                dockerfile: singleStage({ ...o, changeAt: 2, changeMarker: trusted[winner].marker }),
            });
            assert.equal(next.succeeded, true, why(next));
            assert.deepEqual([next.steps.builds[0].cached, next.steps.builds[0].rebuilt], [4, 0], why(next));
            assert.equal(
                (await shared.api.manifest(repo, "latest"))?.digest,
                latest.digest,
                "the same image, byte for byte",
            );
        });
    });

    describe("the cache import (#25): BuildKit builds cold after a failed import; the build stops, runs again and keeps its hits", () => {
        for (const v of [INLINE, REGISTRY, REGISTRY_CS]) {
            it(`${v.name}: the import answered 503 twice (BuildKit's own retry included): the attempt stops before any step, the next one gets the hits of the same build without faults`, async function () {
                const h = await ready(this, shared.host, v);
                const repo = `e2e-import/${v.strategy}-${v.mode ?? "daemon"}`;
                const o = { baseImage: h.base.ref, ...SMALL };
                const cold = await build(`${v.name} cold`, v, { repo, dockerfile: singleStage(o) });
                assert.equal(cold.succeeded, true, why(cold));
                assert.deepEqual(retries(cold), [], "a first build's 'not found' import is not retried");
                const baseline = await build(`${v.name} change, no faults`, v, {
                    repo,
                    dockerfile: singleStage({ ...o, changeAt: 2, changeMarker: "baseline" }),
                });
                const hits = cacheHits(baseline, STEPS);
                assert.equal(hits, 2, why(baseline));

                const r = await build(
                    `${v.name} change, import answered 503 twice`,
                    v,
                    { repo, dockerfile: singleStage({ ...o, changeAt: 2, changeMarker: "import-503" }) },
                    { ...IMPORT_READ, rate: 1, repo, limit: 2 },
                );
                assert.equal(h.registry.faults.stats().log.length, 2, "both faults were injected");
                assert.equal(r.succeeded, true, why(r));
                const ref = `${h.registry.address}/${repo}:${v.strategy === "registry" ? "buildcache" : "latest"}`;
                const stop = printed(r, "build").filter((l) => l.startsWith("layer cache: stopped the build"));
                assert.equal(stop.length, 1, why(r));
                assert.match(
                    stop[0],
                    new RegExp(
                        `^layer cache: stopped the build before it built without its cache: importing the layer cache ${ref.replace(/[.]/g, "\\.")} failed: .*503 Service Unavailable$`,
                    ),
                );
                assert.equal(retries(r).length, 1, why(r));
                // The stopped attempt ran no step; the next one took the same hits as the build without faults.
                assert.deepEqual(r.steps.builds[0].rebuilt + r.steps.builds[0].cached, 0, why(r));
                assert.equal(cacheHits(r, STEPS), hits, why(r));
                console.log(`      [${v.name}] the import's retry cost ${retryCost(r).toFixed(1)} s`);
            });
        }

        it("registry (docker-container): every import answered 503: the retries run out and the build fails with one ERROR line naming the cache ref and the last error; nothing moves", async function () {
            const h = await ready(this, shared.host, REGISTRY);
            const repo = "e2e-import/outage";
            const o = { baseImage: h.base.ref, ...SMALL };
            const cold = await build("registry cold", REGISTRY, { repo, dockerfile: singleStage(o) });
            assert.equal(cold.succeeded, true, why(cold));
            const before = await shared.api.digests(repo);
            const r = await build(
                "registry change, import outage",
                REGISTRY,
                { repo, dockerfile: singleStage({ ...o, changeAt: 2, changeMarker: "import-outage" }) },
                { ...IMPORT_READ, rate: 1, repo },
            );
            assert.equal(r.succeeded, false);
            const ref = `${h.registry.address}/${repo}`;
            const errs = errors(r).filter((l) => l.startsWith("ERROR: the build"));
            assert.equal(errs.length, 1, why(r));
            assert.match(
                errs[0],
                new RegExp(
                    `^ERROR: the build \\(reading the layer cache ${ref.replace(/[.]/g, "\\.")}:buildcache, pushing \\S+\\) failed after ${ATTEMPTS} attempts in \\d+ s, .*Last error: layer cache: stopped the build before it built without its cache: importing the layer cache ${ref.replace(/[.]/g, "\\.")}:buildcache failed: .*503 Service Unavailable$`,
                ),
            );
            // Not asserted: that no step ran. BuildKit schedules the next step as soon as the import step has failed, and
            // the stop follows that log line, so on a loaded host a step can start first (seen in CI: one step in each of
            // attempts 2-6, from the builder's local cache after the first). No attempt pushed: the tags stay.
            assert.deepEqual(await shared.api.digests(repo), before, "the tags are where they were");
        });
    });

    it("inline: a push outage outlasts the retries: every attempt on the builder's local cache, one ERROR line naming the registry, the build and the last error; nothing moves", async function () {
        const h = await ready(this, shared.host, INLINE);
        const repo = "e2e-faults/push-outage";
        const o = { baseImage: h.base.ref, ...SMALL };
        const cold = await build("inline cold", INLINE, { repo, dockerfile: singleStage(o) });
        assert.equal(cold.succeeded, true, why(cold));
        const before = await shared.api.digests(repo);
        const revisions = manifestRevisions(repo);

        const r = await build(
            "inline change, push outage",
            INLINE,
            { repo, dockerfile: singleStage({ ...o, changeAt: 2, changeMarker: "outage" }) },
            { rate: 1, kinds: ["429"], match: "writes", repo },
        );
        assert.equal(r.succeeded, false);
        assert.deepEqual(
            r.phases.map((p) => `${p.name} ${p.status}`),
            ["install ABSENT", "pre_build SUCCEEDED", "build FAILED", "post_build SUCCEEDED"],
        );
        const ref = `${h.registry.address}/${repo}:latest`;
        assert.deepEqual(
            retries(r).map((l) => l.replace(/ in \d+ s$/, " in N s").replace(/: ERROR: .*;/, ": …;")),
            RETRY_DELAYS_SECONDS.map((_, i) => i + 1).map(
                (n) =>
                    `layer cache: the build (reading the layer cache ${ref}, pushing ${ref}) failed on a transient registry error (attempt ${n} of ${ATTEMPTS}): …; next try in N s`,
            ),
        );
        const errs = errors(r).filter((l) => l.startsWith("ERROR: the build"));
        assert.equal(errs.length, 1, why(r));
        assert.match(
            errs[0],
            new RegExp(
                `^ERROR: the build \\(reading the layer cache ${ref.replace(/[.]/g, "\\.")}, pushing ${ref.replace(/[.]/g, "\\.")}\\) failed after ${ATTEMPTS} attempts in \\d+ s, each on a transient registry error .*; the retries ran out\\. Last error: ERROR: failed to build: toomanyrequests: $`,
            ),
        );
        // One docker build per attempt: the first ran the changed steps, each retry took every step from the local cache.
        assert.deepEqual(
            r.steps.builds.map((b) => [b.cached, b.rebuilt]),
            [[2, 2], ...RETRY_DELAYS_SECONDS.map(() => [4, 0])],
            why(r),
        );
        assert.deepEqual(printed(r, "post_build"), [
            "layer cache: the build failed: nothing was pushed and the cache in ECR is unchanged",
        ]);
        assert.deepEqual(await shared.api.digests(repo), before, "the tags are where they were");
        assert.equal(manifestRevisions(repo), revisions, "no manifest was stored");
    });

    it("registry (docker-container): an outage of the separate cache export fails the build after the image push, leaves the previous cache in place, and the next build uses it", async function () {
        const h = await ready(this, shared.host, REGISTRY);
        const repo = "e2e-faults/export";
        const o = { baseImage: h.base.ref, ...SMALL };
        const cold = await build("registry cold", REGISTRY, { repo, dockerfile: singleStage(o) });
        assert.equal(cold.succeeded, true, why(cold));
        const before = await shared.api.digests(repo);

        const changed = singleStage({ ...o, changeAt: 2, changeMarker: "export-outage" });
        const cacheRef = `${h.registry.address}/${repo}:buildcache`;
        const r = await build(
            "registry change, cache export outage",
            REGISTRY,
            { repo, dockerfile: changed },
            // Only the cache tag's write: the image push works, the export's last write (its manifest) fails.
            { rate: 1, kinds: ["503"], match: "writes", path: /\/manifests\/buildcache$/, repo },
        );
        assert.equal(r.succeeded, false);
        assert.deepEqual(
            r.phases.map((p) => `${p.name} ${p.status}`),
            ["install ABSENT", "pre_build SUCCEEDED", "build FAILED", "post_build SUCCEEDED"],
        );
        assert.equal(retries(r).length, RETRY_DELAYS_SECONDS.length, why(r));
        assert.ok(retries(r).every((l) => l.startsWith(`layer cache: the cache export to ${cacheRef} failed`)));
        assert.deepEqual(
            errors(r)
                .filter((l) => l.startsWith("ERROR: the cache export"))
                .map((l) => l.replace(/ in \d+ s,/, " in N s,")),
            [
                `ERROR: the cache export to ${cacheRef} failed after ${ATTEMPTS} attempts in N s, each on a transient registry error (throttling, a server error, a dropped connection or a timeout); the retries ran out. Last error: ERROR: failed to build: failed to solve: error writing manifest blob: unavailable`,
            ],
            why(r),
        );
        assert.deepEqual(printed(r, "post_build"), [
            `layer cache: the build pushed ${h.registry.address}/${repo}:latest but then failed: the cache in ECR was not updated`,
        ]);
        const after = await shared.api.digests(repo);
        assert.notEqual(after.latest, before.latest, "the image was pushed before the export");
        assert.equal(after.buildcache, before.buildcache, "the cache tag is where it was");

        // The previous cache is complete and usable: the next healthy build finds it, takes the steps before the
        // change from it, rebuilds the changed ones, and exports a new cache.
        const next = await build("registry healthy again", REGISTRY, { repo, dockerfile: changed });
        assert.equal(next.succeeded, true, why(next));
        assert.ok(printed(next, "pre_build").includes(`layer cache: found ${cacheRef}`), why(next));
        assert.deepEqual(
            [next.steps.builds[0].cached, next.steps.builds[0].rebuilt],
            [2, 2],
            `the steps before the change come from the previous cache${why(next)}`,
        );
        assert.notEqual((await shared.api.digests(repo)).buildcache, before.buildcache, "the new cache is written");
    });
});
