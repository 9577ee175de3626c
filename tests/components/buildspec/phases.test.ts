/**
 * The buildspec (`components/buildspec/`) as a whole under CodeBuild's phase semantics, run in real bash with `docker` and `aws`
 * stubbed (tests/helpers/bash.ts).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import { BuildspecOptions } from "../../../components/buildspec";
import { buildspec } from "../../../components/buildspec/render";
import { runPhases } from "../../helpers/bash";
import { REPO, options, STRATEGIES, buildId } from "./shared";

describe("buildspec (pure)", () => {
    describe("the whole buildspec under CodeBuild's phase semantics (docker and aws stubbed)", () => {
        const TRUSTED_PUSH = {
            CODEBUILD_WEBHOOK_TRIGGER: "branch/master",
            CODEBUILD_WEBHOOK_HEAD_REF: "refs/heads/master",
            CODEBUILD_SOURCE_VERSION: "0123456789abcdef0123456789abcdef01234567",
        };
        const logs: string[] = [];
        after(() => logs.forEach((l) => fs.rmSync(l, { force: true })));

        /**
         * Runs every phase; docker fails (status 1, `failMsg` on stderr) for calls whose argv matches `failOn`, an
         * extended regex.
         */
        function run(o: BuildspecOptions, env: Record<string, string>, failOn = "^$", failMsg = "stub failure") {
            const id = buildId();
            logs.push(id.log);
            const spec = buildspec(o).phases;
            return runPhases(
                {
                    pre_build: spec.pre_build.commands,
                    build: spec.build.commands,
                    post_build: spec.post_build.commands,
                },
                {
                    env: { ...env, CODEBUILD_BUILD_ID: id.id, FAIL_ON: failOn, FAIL_MSG: failMsg },
                    stubs: {
                        aws: "echo pw",
                        docker: 'cat >/dev/null; if printf "%s " "$@" | grep -qE -e "$FAIL_ON"; then echo "$FAIL_MSG" >&2; return 1; fi',
                    },
                },
            );
        }
        /**
         * Each call's program and first two words, in start order. `aws ecr get-login-password | docker login` is
         * one pipeline, whose two sides start concurrently: that pair is put in a fixed order.
         */
        const summary = (calls: string[][]) => {
            const words = calls.map((c) => c.slice(0, 3).join(" "));
            const i = words.indexOf("docker login --username");
            if (i >= 0 && words[i + 1] === "aws ecr get-login-password") {
                [words[i], words[i + 1]] = [words[i + 1], words[i]];
            }
            return words;
        };
        const said = (stdout: string) => stdout.split("\n").filter((l) => l.startsWith("layer cache:"));

        it("registry, trusted, cold: login, probe, builder, build, export, in that order, and post_build says what was written", () => {
            const o = options({ cacheStrategy: "registry" });
            const r = run(o, TRUSTED_PUSH, "imagetools", `ERROR: ${REPO}:buildcache: not found`);
            assert.equal(r.failed, undefined, r.stderr);
            assert.deepEqual(r.succeeded, ["pre_build", "build", "post_build"]);
            assert.deepEqual(summary(r.calls), [
                "aws ecr get-login-password",
                "docker login --username",
                "docker buildx imagetools",
                "docker pull --quiet",
                "docker tag public.ecr.aws/vend/moby/buildkit:buildx-stable-1",
                "docker buildx create",
                "docker buildx build",
                "docker buildx build",
            ]);
            assert.ok(r.calls[7].includes("--cache-to"), "the second build call is the export");
            assert.deepEqual(said(r.stdout).slice(1), [
                `layer cache: ${REPO}:buildcache is not there yet (first build): this build is cold`,
                "layer cache: the builder image came from public.ecr.aws/vend/moby/buildkit:buildx-stable-1",
                "layer cache: 0 of 0 steps cached",
                `layer cache: pushed ${REPO}:latest; the layer cache in ${REPO}:buildcache is up to date`,
            ]);
        });

        it("registry, trusted: a failed probe (not 'not found') ends pre_build: nothing is built, post_build doesn't run", () => {
            const r = run(options({ cacheStrategy: "registry" }), TRUSTED_PUSH, "imagetools", "denied: not authorized");
            assert.deepEqual(r.failed, { phase: "pre_build", index: 4 });
            assert.deepEqual(r.succeeded, []);
            assert.ok(!summary(r.calls).includes("docker buildx build"));
            assert.deepEqual(said(r.stdout), [
                "layer cache: ref 'refs/heads/master' is trusted: this build reads the cache and, if it succeeds, pushes the image and writes the cache",
            ]);
        });

        for (const strategy of STRATEGIES) {
            it(`${strategy}, trusted, warm: every phase succeeds; post_build says the image was pushed`, () => {
                const o = options({ cacheStrategy: strategy });
                const r = run(o, TRUSTED_PUSH);
                assert.equal(r.failed, undefined, r.stderr);
                assert.deepEqual(r.succeeded, ["pre_build", "build", "post_build"]);
                const builds = r.calls.filter((c) => c[2] === "build");
                // registry: the log is empty (stubbed build), so no step counts as cached and the export runs.
                assert.equal(builds.length, strategy === "registry" ? 2 : 1);
                assert.match(said(r.stdout).at(-1) ?? "", /^layer cache: pushed /);
            });

            it(`${strategy}, a failing build: report and export are skipped, post_build runs with CODEBUILD_BUILD_SUCCEEDING=0 and says nothing was pushed`, () => {
                const r = run(options({ cacheStrategy: strategy }), TRUSTED_PUSH, "buildx build .*--cache-from");
                assert.deepEqual(r.failed, { phase: "build", index: 0 });
                assert.deepEqual(r.succeeded, ["pre_build", "post_build"]);
                assert.equal(r.calls.filter((c) => c[2] === "build").length, 1, "no export after a failed build");
                assert.ok(!r.stdout.includes("steps cached"), "the report did not run");
                assert.equal(
                    said(r.stdout).at(-1),
                    "layer cache: the build failed: nothing was pushed and the cache in ECR is unchanged",
                );
            });

            it(`${strategy}, untrusted (a pull request): reads the cache, pushes nothing, post_build says so`, () => {
                const r = run(options({ cacheStrategy: strategy }), {
                    CODEBUILD_WEBHOOK_TRIGGER: "pr/7",
                    CODEBUILD_WEBHOOK_HEAD_REF: "refs/heads/master",
                    CODEBUILD_SOURCE_VERSION: "pr/7",
                });
                assert.equal(r.failed, undefined, r.stderr);
                const builds = r.calls.filter((c) => c[2] === "build");
                assert.equal(builds.length, 1);
                assert.deepEqual(builds[0].slice(-3), ["--output", "type=cacheonly", "al/x86_64/standard/5.0"]);
                assert.equal(said(r.stdout).at(-1), "layer cache: untrusted ref: nothing was pushed");
            });
        }

        it("registry: the image is pushed, then the export fails: the build fails and post_build says the cache was not updated", () => {
            const r = run(options({ cacheStrategy: "registry" }), TRUSTED_PUSH, "--cache-to");
            assert.deepEqual(r.failed, { phase: "build", index: 2 });
            assert.deepEqual(r.succeeded, ["pre_build", "post_build"]);
            assert.equal(
                said(r.stdout).at(-1),
                `layer cache: the build pushed ${REPO}:latest but then failed: the cache in ECR was not updated`,
            );
        });

        it("a failed login ends pre_build: no probe, no build, no post_build", () => {
            const r = run(options(), TRUSTED_PUSH, "^login");
            assert.deepEqual(r.failed, { phase: "pre_build", index: 3 });
            // The two sides of the login pipe run at the same time: their order is not fixed.
            assert.deepEqual(summary(r.calls).sort(), ["aws ecr get-login-password", "docker login --username"]);
            assert.match(r.stderr, /ERROR: docker login to .* failed/);
        });
    });
});
