// The local runner's CodeBuild phase semantics (standIn/runner.ts) and its persistent shell (standIn/shell.ts),
// on real bash and /bin/sh processes. No Docker: the commands are plain shell.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Buildspec, failureStopsBuild, PHASE_NAMES, PhaseName, runBuildspec } from "../../standIn/runner";

function tmpDir(prefix: string): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

const out = (r: { lines: Array<{ phase: string; stream: string; text: string }> }, phase: string) =>
    r.lines.filter((l) => l.phase === phase && l.stream !== "runner").map((l) => l.text);

describe("failureStopsBuild: the transition after a failed phase", () => {
    // CodeBuild "Build phase transitions": install/pre_build failures skip the rest, a build failure still
    // runs post_build; on-failure ABORT ends the build in any phase, CONTINUE goes on to the next phase.
    const expected: Record<PhaseName, Record<"unset" | "ABORT" | "CONTINUE", boolean>> = {
        install: { unset: true, ABORT: true, CONTINUE: false },
        pre_build: { unset: true, ABORT: true, CONTINUE: false },
        build: { unset: false, ABORT: true, CONTINUE: false },
        post_build: { unset: false, ABORT: true, CONTINUE: false },
    };
    for (const phase of PHASE_NAMES) {
        for (const onFailure of ["unset", "ABORT", "CONTINUE"] as const) {
            it(`${phase}, on-failure ${onFailure}: ${expected[phase][onFailure] ? "stops" : "goes on"}`, () => {
                const v = onFailure === "unset" ? undefined : onFailure;
                assert.equal(failureStopsBuild(phase, v), expected[phase][onFailure]);
            });
        }
    }
});

describe("local CodeBuild runner: phase semantics", function () {
    this.timeout(60_000);
    let src: string;
    before(() => (src = tmpDir("cbsrc-")));
    after(() => fs.rmSync(src, { recursive: true, force: true }));

    it("a build failure still runs finally and post_build, which see CODEBUILD_BUILD_SUCCEEDING=0", async () => {
        const r = await runBuildspec(
            {
                version: 0.2,
                phases: {
                    pre_build: { commands: ['echo "pre $CODEBUILD_BUILD_SUCCEEDING"'] },
                    build: {
                        commands: ["false", "echo not-reached"],
                        finally: ['echo "finally $CODEBUILD_BUILD_SUCCEEDING"'],
                    },
                    post_build: { commands: ['echo "post $CODEBUILD_BUILD_SUCCEEDING"'] },
                },
            },
            { sourceDir: src, quiet: true },
        );
        assert.equal(r.succeeded, false);
        assert.deepEqual(
            r.phases.map((p) => p.status),
            ["ABSENT", "SUCCEEDED", "FAILED", "SUCCEEDED"],
        );
        assert.deepEqual(out(r, "pre_build"), ["pre 1"]);
        assert.deepEqual(out(r, "build"), ["finally 0"]);
        assert.deepEqual(out(r, "post_build"), ["post 0"]);
    });

    it("a pre_build failure skips build and post_build (its finally still runs)", async () => {
        const r = await runBuildspec(
            {
                version: 0.2,
                phases: {
                    pre_build: { commands: ["echo a", "sh -c 'exit 5'", "echo b"], finally: ["echo fin"] },
                    build: { commands: ["echo build"] },
                    post_build: { commands: ["echo post"] },
                },
            },
            { sourceDir: src, quiet: true },
        );
        assert.equal(r.succeeded, false);
        assert.deepEqual(
            r.phases.map((p) => p.status),
            ["ABSENT", "FAILED", "SKIPPED", "SKIPPED"],
        );
        assert.deepEqual(out(r, "pre_build"), ["a", "fin"]);
        assert.equal(r.phases[1].commands[1].exitCode, 5);
    });

    it("on-failure: CONTINUE in pre_build lets the later phases run", async () => {
        const r = await runBuildspec(
            {
                version: 0.2,
                phases: {
                    pre_build: { commands: ["false", "echo skipped"], "on-failure": "CONTINUE" },
                    build: { commands: ['echo "build $CODEBUILD_BUILD_SUCCEEDING"'] },
                },
            },
            { sourceDir: src, quiet: true },
        );
        assert.equal(r.succeeded, false);
        assert.deepEqual(out(r, "pre_build"), []);
        assert.deepEqual(out(r, "build"), ["build 0"]);
    });

    for (const shell of ["bash", "/bin/sh"]) {
        it(`shell state (cwd, variables, functions) persists across commands and phases (${shell})`, async () => {
            const r = await runBuildspec(
                {
                    version: 0.2,
                    env: { shell, variables: { FROM_SPEC: "spec", OVERRIDDEN: "spec" } },
                    phases: {
                        install: {
                            commands: [
                                "mkdir -p sub && cd sub",
                                'greet() { echo "hi $1"; }',
                                "PLAIN=1",
                                "export EXPORTED=2",
                            ],
                        },
                        pre_build: {
                            commands: [
                                'echo "$(basename "$PWD") $PLAIN $EXPORTED $FROM_SPEC $OVERRIDDEN"',
                                "greet there",
                            ],
                        },
                        build: {
                            commands: [
                                'echo "$CODEBUILD_SRC_DIR|$CODEBUILD_WEBHOOK_TRIGGER|$CODEBUILD_SOURCE_VERSION|$AWS_REGION|$AWS_DEFAULT_REGION"',
                                "printf 'no newline at end'",
                            ],
                        },
                    },
                },
                {
                    sourceDir: src,
                    quiet: true,
                    env: {
                        OVERRIDDEN: "caller",
                        CODEBUILD_WEBHOOK_TRIGGER: "pr/7",
                        CODEBUILD_SOURCE_VERSION: "pr/7",
                        AWS_REGION: "eu-west-1",
                    },
                },
            );
            assert.equal(r.succeeded, true, r.output);
            assert.deepEqual(out(r, "pre_build"), ["sub 1 2 spec caller", "hi there"]);
            assert.deepEqual(out(r, "build"), [`${src}|pr/7|pr/7|eu-west-1|eu-west-1`, "no newline at end"]);
        });
    }

    it("`exit 3` in a command fails the phase with status 3 instead of hanging", async () => {
        const r = await runBuildspec(
            {
                version: 0.2,
                phases: {
                    build: {
                        commands: ["export KEEP=kept; cd /", "echo before; exit 3", "echo not-reached"],
                        finally: ['echo "after $KEEP $PWD $CODEBUILD_BUILD_SUCCEEDING"'],
                    },
                    post_build: { commands: ["echo post"] },
                },
            },
            { sourceDir: src, quiet: true },
        );
        assert.equal(r.succeeded, false);
        const build = r.phases[2];
        assert.equal(build.status, "FAILED");
        assert.equal(build.commands[1].exitCode, 3);
        assert.equal(build.commands[1].shellExited, true);
        // A new shell takes over with the exported variables and cwd of before.
        assert.deepEqual(out(r, "build"), ["before", "after kept / 0"]);
        assert.deepEqual(out(r, "post_build"), ["post"]);
    });

    it("records per-phase timings", async () => {
        const r = await runBuildspec(
            { version: 0.2, phases: { build: { commands: ["sleep 0.3"] } } },
            { sourceDir: src, quiet: true },
        );
        const build = r.phases.find((p) => p.name === "build")!;
        assert.ok(build.durationMs >= 300 && build.durationMs < 3000, String(build.durationMs));
    });
});

describe("local CodeBuild runner: more phase semantics", function () {
    this.timeout(20_000);
    let src: string;
    before(() => (src = tmpDir("cbsrc-")));
    after(() => fs.rmSync(src, { recursive: true, force: true }));
    const run = (spec: Buildspec, env?: Record<string, string>) =>
        runBuildspec(spec, { sourceDir: src, quiet: true, env });

    it("on-failure: ABORT in build skips post_build", async () => {
        const r = await run({
            version: 0.2,
            phases: {
                build: { commands: ["false"], finally: ["echo fin"], "on-failure": "ABORT" },
                post_build: { commands: ["echo post"] },
            },
        });
        assert.equal(r.succeeded, false);
        assert.deepEqual(
            r.phases.map((p) => p.status),
            ["ABSENT", "ABSENT", "FAILED", "SKIPPED"],
        );
        assert.deepEqual(out(r, "build"), ["fin"]);
        assert.deepEqual(out(r, "post_build"), []);
    });

    it("a failure in post_build fails the build; a failing finally command stops the rest of finally", async () => {
        const r = await run({
            version: 0.2,
            phases: {
                build: { commands: ["echo b"] },
                post_build: { commands: ["echo p"], finally: ["echo f1", "false", "echo f2"] },
            },
        });
        assert.equal(r.succeeded, false);
        const post = r.phases[3];
        assert.equal(post.status, "FAILED");
        assert.match(post.reason ?? "", /^COMMAND_EXECUTION_ERROR: false: exit status 1$/);
        assert.deepEqual(out(r, "post_build"), ["p", "f1"]);
    });

    it("returns env.exported-variables as the shell has them at the end", async () => {
        const r = await run({
            version: 0.2,
            env: { "exported-variables": ["SET_LATER", "NEVER_SET", "not a name"] },
            phases: { build: { commands: ["SET_LATER='a b'"] } },
        });
        assert.equal(r.succeeded, true, r.output);
        assert.deepEqual(r.exportedVariables, { SET_LATER: "a b", NEVER_SET: "" });
    });

    it("the caller's env wins over env.variables, which win over CodeBuild's defaults", async () => {
        const r = await run(
            {
                version: 0.2,
                env: { variables: { CODEBUILD_INITIATOR: "spec", A: "spec", B: "spec" } },
                phases: { build: { commands: ['echo "$CODEBUILD_INITIATOR $A $B $CODEBUILD_CI"'] } },
            },
            { B: "caller" },
        );
        assert.deepEqual(out(r, "build"), ["spec spec caller true"]);
    });

    it("runtime-versions docker fails install, as on current CodeBuild images", async () => {
        const r = await run({
            version: 0.2,
            phases: {
                install: { "runtime-versions": { docker: 20 }, commands: ["echo not-run"] },
                build: { commands: ["echo not-run"] },
            },
        });
        assert.deepEqual(
            r.phases.map((p) => p.status),
            ["FAILED", "ABSENT", "SKIPPED", "ABSENT"],
        );
        assert.deepEqual([out(r, "install"), out(r, "build")], [[], []]);
    });

    const rejected: Array<[string, Buildspec, RegExp]> = [
        ["version 0.1", { version: 0.1 }, /^buildspec version must be 0\.2 \(got 0\.1\)$/],
        [
            "on-failure RETRY",
            { version: 0.2, phases: { build: { "on-failure": "RETRY" } } },
            /^phases\.build\.on-failure=RETRY is not emulated \(only ABORT and CONTINUE\)$/,
        ],
        [
            "an unknown phase",
            { version: 0.2, phases: { deploy: {} } as Buildspec["phases"] },
            /^unknown buildspec phase "deploy"$/,
        ],
        [
            "secrets-manager",
            { version: 0.2, env: { "secrets-manager": { X: "s:k" } } },
            /^buildspec env\.secrets-manager is not emulated by the local runner$/,
        ],
        [
            "commands that aren't strings",
            { version: 0.2, phases: { build: { commands: [1] as unknown as string[] } } },
            /^phases\.build\.commands must be a list of strings$/,
        ],
        ["env.shell zsh", { version: 0.2, env: { shell: "zsh" } }, /^env\.shell "zsh" is not supported on Linux/],
    ];
    for (const [what, spec, message] of rejected) {
        it(`rejects ${what} before running anything`, async () => {
            await assert.rejects(run(spec), { message });
        });
    }
});
