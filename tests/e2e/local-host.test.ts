// Smoke test of the local CodeBuild stand-in (local/): phase semantics of the runner (no Docker),
// then real builds on fresh Docker daemons against the local registry.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Buildspec, runBuildspec } from "../../local/runner";
import { LocalHost, runLocalBuild, startLocalHost } from "../../local/host";
import { ensureBaseImage, makeLayer } from "../../local/base-image";
import { parseBuildkitPlain } from "../../local/report";

function tmpDir(prefix: string): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

const out = (r: { lines: Array<{ phase: string; stream: string; text: string }> }, phase: string) =>
    r.lines.filter((l) => l.phase === phase && l.stream !== "runner").map((l) => l.text);

describe("local CodeBuild runner: phase semantics", function () {
    this.timeout(20_000);
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

describe("BuildKit plain progress report", () => {
    it("counts Dockerfile steps by vertex number, ignoring internal vertices", () => {
        const text = [
            '#0 building with "default" instance using docker driver',
            "#1 [internal] load build definition from Dockerfile",
            "#1 DONE 0.0s",
            "#5 [1/3] FROM r/base@sha256:abc",
            "#6 [2/3] RUN echo a",
            "#5 DONE 0.2s",
            "#6 0.100 a",
            "#7 [builder 3/3] COPY x /x",
            "#6 [2/3] RUN echo a",
            "#6 DONE 1.5s",
            "#7 CACHED",
            "#8 exporting to image",
            "#8 DONE 0.1s",
            '[build] #0 building with "default" instance using docker driver',
            "[build] #4 [1/2] FROM r/base",
            "[build] #4 CACHED",
            "[build] #5 [2/2] RUN false",
            "[build] #5 ERROR: process did not complete successfully",
        ].join("\n");
        const r = parseBuildkitPlain(text);
        assert.equal(r.builds.length, 2);
        assert.deepEqual([r.builds[0].cached, r.builds[0].rebuilt, r.builds[0].fromDone], [1, 1, 1]);
        assert.equal(r.builds[0].steps.find((s) => s.id === 7)!.stage, "builder");
        assert.deepEqual(
            [r.builds[1].cached, r.builds[1].rebuilt, r.builds[1].errored, r.builds[1].fromCached],
            [0, 0, 1, 1],
        );
    });
});

const canRunDocker = process.getuid?.() === 0 && !process.env.CBCACHE_LOCAL_SKIP_DOCKER;

describe("local CodeBuild host with Docker", function () {
    this.timeout(120_000);
    let host: LocalHost;
    let src: string;

    before(async function () {
        if (!canRunDocker) this.skip();
        this.timeout(600_000); // first run on a new machine installs packages
        host = await startLocalHost();
        src = tmpDir("cbapp-");
        fs.writeFileSync(
            path.join(src, "Dockerfile"),
            [
                `FROM ${host.base.ref}`,
                "RUN echo one > /one && dd if=/dev/urandom of=/r1 bs=1M count=1 2>/dev/null",
                "RUN echo two > /two",
                "COPY hello.txt /hello.txt",
                "",
            ].join("\n"),
        );
        fs.writeFileSync(path.join(src, "hello.txt"), "hello\n");
    });
    after(async () => {
        await host?.stop();
        if (src) fs.rmSync(src, { recursive: true, force: true });
    });

    const login =
        "aws ecr get-login-password --region $AWS_REGION | docker login --username AWS --password-stdin $REGISTRY";

    it("makes the busybox base image reproducibly (same digest every time)", async () => {
        const [a, b] = [await makeLayer(), await makeLayer()];
        assert.equal(a.diffId, b.diffId);
        const again = await ensureBaseImage(host.registry);
        assert.equal(again.digest, host.base.digest);
    });

    it("inline cache: a second build on a fresh daemon has every step cached (overlay2 store)", async () => {
        const spec: Buildspec = {
            version: 0.2,
            env: { shell: "bash" },
            phases: {
                pre_build: { commands: [login] },
                build: {
                    commands: [
                        "docker build --progress=plain --network=none --cache-to type=inline --cache-from $IMAGE -t $IMAGE --push .",
                    ],
                },
            },
        };
        const env = { REGISTRY: host.registry.address, IMAGE: `${host.registry.address}/smoke/inline:latest` };
        const cold = await runLocalBuild({
            buildspec: spec,
            sourceDir: src,
            registry: host.registry,
            env,
            quiet: true,
            label: "inline cold",
        });
        assert.equal(cold.succeeded, true, cold.output);
        assert.deepEqual([cold.steps.builds.length, cold.steps.cached, cold.steps.rebuilt], [1, 0, 3]);
        assert.ok(cold.bytes.pushedBytes > 1e6, `pushed ${cold.bytes.pushedBytes}`);

        const warm = await runLocalBuild({
            buildspec: spec,
            sourceDir: src,
            registry: host.registry,
            env,
            quiet: true,
            label: "inline warm",
        });
        assert.equal(warm.succeeded, true, warm.output);
        assert.deepEqual([warm.steps.cached, warm.steps.rebuilt], [3, 0]);
        assert.ok(warm.bytes.pushedBytes < 100_000, `pushed ${warm.bytes.pushedBytes}`);
    });

    it("registry cache (mode=max, image-manifest) works with the containerd image store", async () => {
        const cache = `${host.registry.address}/smoke/regcache:cache`;
        const spec: Buildspec = {
            version: 0.2,
            env: { shell: "bash" },
            phases: {
                pre_build: { commands: [login] },
                build: {
                    commands: [
                        "docker build --progress=plain --network=none --provenance=false " +
                            `--cache-to type=registry,ref=${cache},mode=max,image-manifest=true,oci-mediatypes=true ` +
                            `--cache-from type=registry,ref=${cache} -t $IMAGE --push .`,
                    ],
                },
            },
        };
        const env = { REGISTRY: host.registry.address, IMAGE: `${host.registry.address}/smoke/regcache:latest` };
        const cold = await runLocalBuild({
            buildspec: spec,
            sourceDir: src,
            registry: host.registry,
            env,
            containerdStore: true,
            quiet: true,
            label: "registry cache cold",
        });
        assert.equal(cold.succeeded, true, cold.output);
        assert.deepEqual([cold.steps.cached, cold.steps.rebuilt], [0, 3]);
        const warm = await runLocalBuild({
            buildspec: spec,
            sourceDir: src,
            registry: host.registry,
            env,
            containerdStore: true,
            quiet: true,
            label: "registry cache warm",
        });
        assert.equal(warm.succeeded, true, warm.output);
        assert.deepEqual([warm.steps.cached, warm.steps.rebuilt], [3, 0]);
    });

    it("a wrong password makes docker login fail (and skips the build phase); the aws stand-in refuses other commands", async () => {
        const r = await runLocalBuild({
            buildspec: {
                version: 0.2,
                phases: {
                    install: { commands: ['aws s3 ls || echo "aws-exit=$?"'] },
                    pre_build: {
                        commands: ["echo not-the-password | docker login --username AWS --password-stdin $REGISTRY"],
                    },
                    build: { commands: ["echo build-ran"] },
                },
            },
            sourceDir: src,
            registry: host.registry,
            env: { REGISTRY: host.registry.address },
            quiet: true,
            printReport: false,
        });
        assert.equal(r.succeeded, false);
        assert.deepEqual(
            r.phases.map((p) => p.status),
            ["SUCCEEDED", "FAILED", "SKIPPED", "ABSENT"],
        );
        assert.ok(out(r, "install").includes("aws-exit=252"), r.output);
        assert.match(out(r, "pre_build").join("\n"), /unauthorized|401/i);
    });
});
