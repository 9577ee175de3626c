/**
 * The buildspec (`components/buildspec/`): the cache probe, run in real bash with stub `docker`/`aws` (tests/helpers/bash.ts).
 */
import { strict as assert } from "assert";
import { cacheRefs, shellWord } from "../../../components/buildspec";
import { runBash } from "../../helpers/bash";
import { REPO, options, commandOf, RETRY_FILE, runnable } from "./shared";

describe("buildspec (pure)", () => {
    describe("cache probe (executed in bash)", () => {
        for (const strategy of ["inline", "registry"] as const) {
            const o = options({ cacheStrategy: strategy });
            const probe = runnable(o, "probe");
            const ref = cacheRefs(o).cache;
            const run = (out: string, rc: number, before = "") =>
                runBash(`${before}${probe}\necho "CACHE_FOUND=$CACHE_FOUND"`, {
                    env: { STUB_OUT: out, STUB_RC: String(rc) },
                    stubs: { docker: 'echo "$STUB_OUT" >&2; return "$STUB_RC"' },
                });

            it(`${strategy}: inspects ${strategy === "registry" ? "the cache tag" : "the image"} and finds it`, () => {
                const r = run("Name: x", 0);
                assert.equal(r.status, 0);
                assert.match(r.stdout, /^layer cache: found (\S+)\nCACHE_FOUND=1\n$/);
                assert.ok(r.stdout.includes(`found ${ref}\n`));
                assert.deepEqual(r.calls, [["docker", "buildx", "imagetools", "inspect", ref]]);
            });

            for (const notFound of [
                `ERROR: ${ref}: not found`,
                "manifest unknown: manifest unknown",
                "MANIFEST_UNKNOWN: Requested image not found",
            ]) {
                it(`${strategy}: accepts "${notFound.slice(0, 30)}…" as a cold first build`, () => {
                    const r = run(notFound, 1);
                    assert.equal(r.status, 0, r.stderr);
                    assert.match(r.stdout, /CACHE_FOUND=0/);
                    assert.ok(
                        r.stdout.includes(`layer cache: ${ref} is not there yet (first build): this build is cold`),
                    );
                });
            }

            for (const bad of [
                "unauthorized: authentication required",
                "denied: User: arn:aws:sts::1:assumed-role/r is not authorized to perform: ecr:BatchGetImage",
                "dial tcp: lookup x: no such host",
            ]) {
                it(`${strategy}: fails the build on "${bad.slice(0, 30)}…"`, () => {
                    const r = run(bad, 1, "set -e\n");
                    assert.notEqual(r.status, 0);
                    assert.ok(!r.stdout.includes("CACHE_FOUND="));
                    assert.ok(r.stderr.includes(`ERROR: cannot read the layer cache ${ref}: ${bad}`), r.stderr);
                    // And as the last statement of its command (how CodeBuild sees it), the status is non-zero too.
                    const last = runBash(probe, {
                        env: { STUB_OUT: bad },
                        stubs: { docker: 'echo "$STUB_OUT" >&2; return 1' },
                    });
                    assert.notEqual(last.status, 0);
                });
            }
        }

        it("two platforms emulated: CACHE_FOUND only when the build's own cache of every platform is there; every cache found is imported", () => {
            const e = options({
                cacheStrategy: "registry",
                platforms: ["linux/amd64", "linux/arm64"],
                platformMode: "emulated",
            });
            // caches.sh's order: the build's own caches (here a branch's), one per platform, then the default branch's.
            const own = [`${REPO}:buildcache-br-x-amd64`, `${REPO}:buildcache-br-x-arm64`];
            const base = [`${REPO}:buildcache-amd64`, `${REPO}:buildcache-arm64`];
            const script = [
                `RETRY_SH=${shellWord(RETRY_FILE)}`,
                "BRANCH_SH=/dev/null",
                `CACHE_REFS=(${[...own, ...base].join(" ")})`,
                commandOf(e, "probe"),
                'echo "CACHE_FOUND=$CACHE_FOUND FROM=${CACHE_FROM[*]}"',
            ].join("\n");
            // The docker stub: `imagetools inspect REF` finds REF only if it is in FOUND.
            const probe = (found: string[]) =>
                runBash(script, {
                    env: { FOUND: ` ${found.join(" ")} ` },
                    stubs: {
                        docker: 'case "$FOUND" in *" $4 "*) echo ok ;; *) echo "ERROR: $4: not found" >&2; return 1 ;; esac',
                    },
                });
            for (const [found, expected] of [
                [[...own, ...base], "1"],
                [own, "1"],
                [[own[0], ...base], "0"],
                [[own[1], ...base], "0"],
                [base, "0"],
            ] as const) {
                const r = probe([...found]);
                assert.equal(r.status, 0, r.stderr);
                const m = /^CACHE_FOUND=(\d) FROM=(.*)$/m.exec(r.stdout);
                assert.ok(m, r.stdout);
                assert.equal(m[1], expected, `found ${found.join(", ")}`);
                assert.deepEqual(
                    m[2].split(" ").filter((w) => w !== "--cache-from"),
                    found.map((ref) => `type=registry,ref=${ref}`),
                    "each cache found is imported, in order",
                );
            }
        });

        it("pull: records whether the pull worked, a failed pull is tolerated", () => {
            const cmd = runnable(options({ cacheStrategy: "pull" }), "pull");
            const ok = runBash(`${cmd}\necho "F=$CACHE_FOUND"`);
            assert.match(ok.stdout, /F=1/);
            assert.deepEqual(ok.calls, [["docker", "pull", `${REPO}:latest`]]);
            const failed = runBash(`${cmd}\necho "F=$CACHE_FOUND"`, { stubs: { docker: "return 1" } });
            assert.equal(failed.status, 0);
            assert.match(failed.stdout, /F=0/);
        });
    });
});
