// Smoke test of the local CodeBuild stand-in (standIn/) with Docker: real builds on fresh Docker daemons
// against the local registry. The runner's phase semantics need no Docker: tests/standIn/runner.test.ts.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LocalHost, runLocalBuild, startLocalHost } from "../../standIn/host";
import { ensureBaseImage, makeLayer } from "../../standIn/baseImage";
import { canRunDocker, pending, SKIP_REASON } from "./helpers";

function tmpDir(prefix: string): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

const out = (r: { lines: Array<{ phase: string; stream: string; text: string }> }, phase: string) =>
    r.lines.filter((l) => l.phase === phase && l.stream !== "runner").map((l) => l.text);

describe("local CodeBuild host with Docker", function () {
    this.timeout(120_000);
    let host: LocalHost;
    let src: string;

    before(async function () {
        if (!canRunDocker) {
            pending(this, SKIP_REASON);
        }
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
    /** A smoke build of `src` with `docker build` as `buildCommand`, pushing to smoke/<repo>:latest. */
    const smokeBuild = (repo: string, buildCommand: string, label: string, containerdStore = false) =>
        runLocalBuild({
            buildspec: {
                version: 0.2,
                env: { shell: "bash" },
                phases: { pre_build: { commands: [login] }, build: { commands: [buildCommand] } },
            },
            sourceDir: src,
            registry: host.registry,
            env: { REGISTRY: host.registry.address, IMAGE: `${host.registry.address}/smoke/${repo}:latest` },
            containerdStore,
            quiet: true,
            label,
        });

    it("makes the busybox base image reproducibly (same digest every time)", async () => {
        const [a, b] = [await makeLayer(), await makeLayer()];
        assert.equal(a.diffId, b.diffId);
        const again = await ensureBaseImage(host.registry);
        assert.equal(again.digest, host.base.digest);
    });

    it("inline cache: a second build on a fresh daemon has every step cached (overlay2 store)", async () => {
        const build =
            "docker build --progress=plain --network=none --cache-to type=inline --cache-from $IMAGE -t $IMAGE --push .";
        const cold = await smokeBuild("inline", build, "inline cold");
        assert.equal(cold.succeeded, true, cold.output);
        assert.deepEqual([cold.steps.builds.length, cold.steps.cached, cold.steps.rebuilt], [1, 0, 3]);
        assert.ok(cold.bytes.pushedBytes > 1e6, `pushed ${cold.bytes.pushedBytes}`);

        const warm = await smokeBuild("inline", build, "inline warm");
        assert.equal(warm.succeeded, true, warm.output);
        assert.deepEqual([warm.steps.cached, warm.steps.rebuilt], [3, 0]);
        assert.ok(warm.bytes.pushedBytes < 100_000, `pushed ${warm.bytes.pushedBytes}`);
    });

    it("registry cache (mode=max, image-manifest) works with the containerd image store", async () => {
        const cache = `${host.registry.address}/smoke/regcache:cache`;
        const build =
            "docker build --progress=plain --network=none --provenance=false " +
            `--cache-to type=registry,ref=${cache},mode=max,image-manifest=true,oci-mediatypes=true ` +
            `--cache-from type=registry,ref=${cache} -t $IMAGE --push .`;
        const cold = await smokeBuild("regcache", build, "registry cache cold", true);
        assert.equal(cold.succeeded, true, cold.output);
        assert.deepEqual([cold.steps.cached, cold.steps.rebuilt], [0, 3]);
        const warm = await smokeBuild("regcache", build, "registry cache warm", true);
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
