// Two architectures on the local build host (issue 10): the component's real two-platform buildspec, its build
// graph run job by job in dependency order (standIn/batch.ts), each job on a fresh Docker host, against the local
// registry. Real: dockerd, BuildKit's docker-container builder, the registry, QEMU. The arm64 job's steps run under
// QEMU emulation here (standIn/emulation.ts: no arm64 host on this machine); on CodeBuild it runs natively on an
// ARM_CONTAINER host. Kept small, because emulation is slow: three steps on a busybox base image made locally for
// both platforms (Debian's busybox-static for amd64 and for arm64, standIn/emulation.ts), joined in one index.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { componentBuildspecYaml } from "../../standIn/componentBuildspec";
import { runBatch } from "../../standIn/batch";
import { builderImageOf } from "../../standIn/buildkitImage";
import { ensureArm64Emulation, ensureTwoPlatformBaseImage } from "../../standIn/emulation";
import { LocalBuildResult, LocalHost, runLocalBuild, startLocalHost } from "../../standIn/host";
import type { Buildspec } from "../../standIn/runner";
import { localArgs } from "../../standIn/scenario";
import { RegistryApi } from "./registryApi";

const canRunDocker = process.getuid?.() === 0 && !process.env.CBCACHE_LOCAL_SKIP_DOCKER;

/** The Dockerfile, FROM the two-platform busybox base image (an index of the amd64 and the arm64 image). */
const dockerfile = (base: string) =>
    [
        `FROM ${base}`,
        "RUN uname -m > /arch && cat /arch",
        "COPY step.txt /step.txt",
        "RUN cat /step.txt /arch > /out",
        "",
    ].join("\n");

/**
 * Per platform of one build of several, [steps cached, steps] from BuildKit's plain progress in the build's output
 * (`[phase] ` before each line), up to report.sh's count (the cache exports after it are invocations of their own,
 * which number their steps anew): a step is `#N [linux/<arch> k/M] <instruction>` (FROM left out), cached when
 * `#N CACHED` follows.
 */
function platformHits(whole: string): Record<string, [number, number]> {
    const output = whole.slice(0, whole.search(/layer cache: \d+ of \d+ steps cached/));
    const steps = new Map<string, string>();
    for (const m of output.matchAll(/^\[\w+\] #(\d+) \[linux\/(\w+) \d+\/\d+\] (?!FROM )/gm)) steps.set(m[1], m[2]);
    const cached = new Set([...output.matchAll(/^\[\w+\] #(\d+) CACHED$/gm)].map((m) => m[1]));
    const out: Record<string, [number, number]> = {};
    for (const [n, arch] of steps) {
        const [c, t] = out[arch] ?? [0, 0];
        out[arch] = [c + (cached.has(n) ? 1 : 0), t + 1];
    }
    return out;
}

/** The `layer cache: N of M steps cached` line of a job. */
function cachedLine(output: string): [number, number] {
    const m = /layer cache: (\d+) of (\d+) steps cached/.exec(output);
    assert.ok(m, output.slice(-2000));
    return [Number(m[1]), Number(m[2])];
}

describe("two platforms on the local build host (arm64 under QEMU emulation)", function () {
    this.timeout(1_200_000);
    let host: LocalHost;
    let src: string;
    let api: RegistryApi;
    let spec: Buildspec;
    let base: string;
    const repo = "platforms/app";

    before(async function () {
        if (!canRunDocker) {
            console.log("    PENDING: needs root to run Docker daemons (and CBCACHE_LOCAL_SKIP_DOCKER unset)");
            this.skip();
        }
        const emulation = ensureArm64Emulation();
        if (!emulation.available) {
            console.log(`    PENDING: arm64 can't be emulated on this machine: ${emulation.detail}`);
            this.skip();
        }
        host = await startLocalHost();
        // Every case here builds with registry on the docker-container builder, which starts from the BuildKit image.
        const image = await host.buildkitImage();
        if (!image.available) {
            console.log(`    PENDING: no BuildKit image for the docker-container builder: ${image.how}`);
            this.skip();
        }
        api = new RegistryApi(host.registry);
        src = fs.mkdtempSync(path.join(os.tmpdir(), "cbplat-"));
        fs.mkdirSync(path.join(src, "app"));
        base = (await ensureTwoPlatformBaseImage(host.registry)).ref;
        fs.writeFileSync(path.join(src, "app", "Dockerfile"), dockerfile(base));
        fs.writeFileSync(path.join(src, "app", "step.txt"), "one\n");
        const yaml = await componentBuildspecYaml(
            { ...localArgs("registry", "docker-container"), platforms: ["linux/amd64", "linux/arm64"] },
            `${host.registry.address}/${repo}`,
        );
        spec = YAML.parse(yaml) as Buildspec;
    });
    after(async () => {
        await host?.stop();
        if (src) fs.rmSync(src, { recursive: true, force: true });
    });

    const batch = (extra: { jobEnv?: Record<string, Record<string, string>>; sourceDir?: string } = {}) =>
        runBatch(spec, {
            sourceDir: extra.sourceDir ?? src,
            registry: host.registry,
            dockerEnv: host.dockerEnv,
            quiet: true,
            printReport: false,
            label: "platforms",
            jobEnv: extra.jobEnv,
        });

    it("cold: both platforms build, each on its own tags, and the manifest list under the image tag has both", async () => {
        const r = await batch();
        assert.ok(r.succeeded, `${r.summary}\n${r.jobs.map((j) => j.result?.output.slice(-3000)).join("\n")}`);
        assert.deepEqual(
            r.jobs.map((j) => j.identifier),
            ["build_amd64", "build_arm64", "manifest"],
        );
        // The arm64 job's RUN steps really ran arm64 code (under QEMU here).
        assert.match(r.jobs[1].result!.output, /aarch64/);
        assert.match(r.jobs[0].result!.output, /x86_64/);
        const tags = await api.tags(repo);
        for (const t of ["latest", "latest-amd64", "latest-arm64", "buildcache-amd64", "buildcache-arm64"]) {
            assert.ok(tags.includes(t), `${t} in ${tags.join(", ")}`);
        }
        assert.ok(!tags.includes("buildcache"), "no shared cache tag: each platform has its own");
        const list = await api.manifest(repo, "latest");
        const platforms = (list!.json.manifests as Array<{ digest: string; platform?: { architecture: string } }>).map(
            (m) => m.platform?.architecture,
        );
        assert.deepEqual(platforms.sort(), ["amd64", "arm64"]);
        const amd = await api.manifest(repo, "latest-amd64");
        const arm = await api.manifest(repo, "latest-arm64");
        assert.deepEqual(
            (list!.json.manifests ?? []).map((m) => m.digest).sort(),
            [amd!.digest, arm!.digest].sort(),
            "the list points at the platform jobs' own images (joined registry-side)",
        );
    });

    it("warm: each platform's job hits every step from its own cache", async () => {
        const r = await batch();
        assert.ok(r.succeeded, r.summary);
        for (const [i, arch] of [
            [0, "amd64"],
            [1, "arm64"],
        ] as const) {
            const out = r.jobs[i].result!.output;
            const [cached, total] = cachedLine(out);
            assert.ok(total > 0 && cached === total, `${arch}: ${cached} of ${total}`);
            assert.match(out, new RegExp(`found [^ ]*${repo}:buildcache-${arch}`));
        }
    });

    it("a change rebuilt for amd64 leaves arm64's cache and image tags where they were", async () => {
        const before = await api.digests(repo);
        fs.writeFileSync(path.join(src, "app", "step.txt"), "two\n");
        const r = await runLocalBuild({
            buildspec: spec,
            sourceDir: src,
            registry: host.registry,
            dockerEnv: host.dockerEnv,
            quiet: true,
            printReport: false,
            env: { CODEBUILD_BATCH_BUILD_IDENTIFIER: "build_amd64" },
            builderImage: builderImageOf(spec),
        });
        assert.ok(r.succeeded, r.output.slice(-3000));
        const [cached, total] = cachedLine(r.output);
        assert.ok(cached < total, `the change rebuilt something: ${cached} of ${total}`);
        const after = await api.digests(repo);
        assert.notEqual(after["buildcache-amd64"], before["buildcache-amd64"], "amd64's cache moved");
        assert.notEqual(after["latest-amd64"], before["latest-amd64"]);
        assert.equal(after["buildcache-arm64"], before["buildcache-arm64"], "arm64's cache is untouched");
        assert.equal(after["latest-arm64"], before["latest-arm64"]);
    });

    /** The emulated buildspec for `repo`, and one build of it on a fresh host. */
    async function emulatedBuild(repo: string): Promise<() => Promise<LocalBuildResult>> {
        const yaml = await componentBuildspecYaml(
            {
                ...localArgs("registry", "docker-container"),
                platforms: ["linux/amd64", "linux/arm64"],
                platformMode: "emulated",
            },
            `${host.registry.address}/${repo}`,
        );
        const emulated = YAML.parse(yaml) as Buildspec;
        assert.equal(emulated.batch, undefined, "no batch: one build");
        return () =>
            runLocalBuild({
                buildspec: emulated,
                sourceDir: src,
                registry: host.registry,
                dockerEnv: host.dockerEnv,
                quiet: true,
                printReport: false,
                builderImage: builderImageOf(emulated),
            });
    }

    it("emulated: one build of both platforms on one host pushes a manifest list of both under one image tag, and a cache per platform", async () => {
        const cold = await (await emulatedBuild("platforms/emulated"))();
        assert.ok(cold.succeeded, cold.output.slice(-3000));
        assert.match(cold.output, /aarch64/);
        const list = await api.manifest("platforms/emulated", "latest");
        const archs = (list!.json.manifests as Array<{ platform?: { architecture: string } }>).map(
            (m) => m.platform?.architecture,
        );
        assert.deepEqual(archs.sort(), ["amd64", "arm64"]);
        assert.deepEqual(
            (await api.tags("platforms/emulated")).sort(),
            ["buildcache-amd64", "buildcache-arm64", "latest"],
            "one image tag, and a cache per platform (moby/buildkit#2822: one cache of both can lose a platform)",
        );
    });

    it("emulated: a rebuild hits every step of both platforms, each from its own cache", async () => {
        // Its own repository, cold then warm, so that it runs alone (-g) too. With one cache of both platforms this
        // missed in about 1 run of 8 (every amd64 step rebuilt, every arm64 step hit): moby/buildkit#2822.
        const build = await emulatedBuild("platforms/emulated-rebuild");
        const cold = await build();
        assert.ok(cold.succeeded, cold.output.slice(-3000));
        const warm = await build();
        assert.ok(warm.succeeded, warm.output.slice(-3000));
        for (const arch of ["amd64", "arm64"]) {
            assert.match(warm.output, new RegExp(`found [^ ]*platforms/emulated-rebuild:buildcache-${arch}\\b`));
        }
        const [cached, total] = cachedLine(warm.output);
        const hits = platformHits(warm.output);
        for (const [name, r] of [
            ["cold", cold],
            ["warm", warm],
        ] as const) {
            const h = platformHits(r.output);
            console.log(
                `      ${name}: ${cachedLine(r.output).join(" of ")} steps cached (amd64 ${h.amd64?.join("/")}, arm64 ${h.arm64?.join("/")}); build ${(r.timings.buildMs / 1000).toFixed(1)} s`,
            );
        }
        assert.deepEqual(
            hits,
            { amd64: [3, 3], arm64: [3, 3] },
            `every step of each platform from the cache (report.sh: ${cached} of ${total})`,
        );
        assert.equal(cached, total);
        assert.match(warm.output, /every step came from \S+:buildcache, which is already complete: not exported/);
    });

    it("a failed platform job: the manifest job is not run, and run alone it fails naming the platform, writing nothing", async () => {
        const failing = fs.mkdtempSync(path.join(os.tmpdir(), "cbplat-fail-"));
        try {
            fs.cpSync(src, failing, { recursive: true });
            fs.writeFileSync(
                path.join(failing, "app", "Dockerfile"),
                dockerfile(base) +
                    'RUN if [ "$(cat /arch)" = aarch64 ]; then echo "arm64 step fails" >&2; exit 3; fi\n',
            );
            const yaml = await componentBuildspecYaml(
                { ...localArgs("registry", "docker-container"), platforms: ["linux/amd64", "linux/arm64"] },
                `${host.registry.address}/platforms/fail`,
            );
            const failSpec = YAML.parse(yaml) as Buildspec;
            const r = await runBatch(failSpec, {
                sourceDir: failing,
                registry: host.registry,
                dockerEnv: host.dockerEnv,
                quiet: true,
                printReport: false,
            });
            assert.equal(r.succeeded, false);
            assert.deepEqual(
                r.jobs.map((j) => [j.identifier, j.ran, j.succeeded]),
                [
                    ["build_amd64", true, true],
                    ["build_arm64", true, false],
                    ["manifest", false, false],
                ],
            );
            assert.match(r.summary, /manifest: NOT RUN \(not run: build_arm64 did not succeed\)/);
            const m = await runLocalBuild({
                buildspec: failSpec,
                sourceDir: failing,
                registry: host.registry,
                dockerEnv: host.dockerEnv,
                quiet: true,
                printReport: false,
                env: { CODEBUILD_BATCH_BUILD_IDENTIFIER: "manifest" },
            });
            assert.equal(m.succeeded, false);
            assert.match(
                m.output,
                /ERROR: no linux\/arm64 image at \S+platforms\/fail:latest-arm64 \(job build_arm64 failed or pushed nothing\): the manifest list \S+:latest is not written/,
            );
            assert.ok(!/no linux\/amd64 image/.test(m.output), "amd64's image is there");
            const tags = await api.tags("platforms/fail");
            assert.ok(!tags.includes("latest"), `no manifest list: ${tags.join(", ")}`);
        } finally {
            fs.rmSync(failing, { recursive: true, force: true });
        }
    });
});
