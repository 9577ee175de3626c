// `npm run local-build -- --context DIR` on the two example Dockerfiles, for real: the command as a user runs it,
// on a fresh Docker host per build (this machine's stand-in), and once in the portable mode on a daemon started
// here, which plays a user's existing daemon. Asserts the verdicts and findings the command prints, that the
// checked-in reports (examples/dockerfiles/*.report.txt) say the same (numbers aside), and that the portable mode
// leaves the daemon's images, volumes and containers as it found them.
// CBCACHE_WRITE_EXAMPLE_REPORTS=1 rewrites the checked-in reports from this run.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { findBuildkitArchive } from "../../standIn/buildkitImage";
import { makeDockerConfig, startDaemon, Daemon } from "../../standIn/daemon";
import { DockerEnv, ensureDockerEnv } from "../../standIn/engine";
import { run, runOk } from "../../standIn/util";
import { canRunDocker, pending, SKIP_REASON } from "./helpers";

const ROOT = path.resolve(__dirname, "../..");
const EXAMPLES = path.join(ROOT, "examples/dockerfiles");

/** The example commands, as the README and the reports show them. */
export const EXAMPLE_ARGS: Record<string, string[]> = {
    "cache-unfriendly": ["--change", "README.md", "--build-arg", "BASE_IMAGE={local-base}"],
    "cache-friendly": [
        "--change",
        "package.json",
        "--change",
        "src/app.sh",
        "--change",
        "README.md",
        "--build-arg",
        "BASE_IMAGE={local-base}",
        "--build-arg",
        "BASE_DIGEST={local-base-digest}",
    ],
};

function localBuild(args: string[], env: NodeJS.ProcessEnv = process.env) {
    const r = spawnSync(process.execPath, [require.resolve("tsx/cli"), "localBuild/cli.ts", ...args], {
        cwd: ROOT,
        encoding: "utf8",
        env,
        timeout: 900_000,
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** One run in the e2e; the default three when the run rewrites the checked-in reports. */
const E2E_RUNS = process.env.CBCACHE_WRITE_EXAMPLE_REPORTS ? [] : ["--runs", "1"];

/** The verdict and finding lines of a report, with every number and the spread over runs masked (the e2e runs once;
 * the checked-in reports show the default three runs). */
function verdictAndFindings(report: string): string[] {
    const lines = report.split("\n");
    const from = lines.findIndex((l) => l === "Verdict");
    assert.ok(from >= 0, `no Verdict in:\n${report}`);
    return lines
        .slice(from)
        .filter((l) => /^ {2}(no change|a change to|line \d)|^ {12}measured:|^Cache findings/.test(l))
        .map((l) => l.replace(/\(median of \d+ runs, range [^;]*; /, "(").replace(/\d+(\.\d+)?/g, "N"));
}

function checkAgainstReport(example: string, stdout: string): void {
    const file = path.join(EXAMPLES, `${example}.report.txt`);
    const cmd = `$ npm run local-build -- --context examples/dockerfiles/${example} ${EXAMPLE_ARGS[example].map((a) => (a.includes("{") ? `'${a}'` : a)).join(" ")}`;
    if (process.env.CBCACHE_WRITE_EXAMPLE_REPORTS) fs.writeFileSync(file, `${cmd}\n${stdout}`);
    const checkedIn = fs.readFileSync(file, "utf8");
    assert.equal(checkedIn.split("\n")[0], cmd, `${file} was made with another command`);
    assert.deepEqual(verdictAndFindings(checkedIn), verdictAndFindings(stdout), `${file} is out of date`);
}

describe("local-build --context on the example Dockerfiles", function () {
    // One run of up to five builds each (E2E_RUNS): the spread over runs is the multi-stage case's to test. The
    // checked-in reports keep the default three runs.
    this.timeout(900_000);
    before(function () {
        if (!canRunDocker) {
            pending(this, SKIP_REASON);
        }
    });

    it("cache-unfriendly: a README change reruns the dependency install; all four findings, with measured cost", () => {
        const r = localBuild([
            "--context",
            "examples/dockerfiles/cache-unfriendly",
            ...EXAMPLE_ARGS["cache-unfriendly"],
            ...E2E_RUNS,
        ]);
        assert.equal(r.status, 0, r.stderr + r.stdout);
        const out = r.stdout;
        assert.match(
            out,
            /^ {2}no change: invalidates no step \(6 of 6 from the cache\); costs \d+ % of the cold build/m,
        );
        assert.match(
            out,
            /^ {2}a change to README\.md: invalidates \[6\/7\] COPY \. \.; 2 of 6 steps rebuilt; costs \d+ % of the cold build/m,
        );
        assert.match(out, /^Cache findings \(dockerfile-ast; BuildKit's checks don't cover these\): 4$/m);
        for (const rule of ["from-without-digest", "early-varying-arg", "apt-get-update-split", "broad-copy"]) {
            assert.match(out, new RegExp(`^ {2}line \\d+ {2}${rule}: `, "m"), rule);
        }
        // The broad COPY's cost is measured: the cold build's seconds of COPY . . and npm ci, which the change reran.
        assert.match(
            out,
            /broad-copy: [^\n]*\n {12}measured: the 2 steps it puts at risk took \d+\.\d s of the cold build's \d+\.\d s of step time; the change to README\.md reran all of them/,
        );
        assert.match(
            out,
            /^BuildKit's checks \(docker buildx build --check\): 1\n {2}line 4 {2}InvalidDefaultArgInFrom: /m,
        );
        checkAgainstReport("cache-unfriendly", out);
    });

    it("cache-friendly: each change invalidates only its own step, README.md none; no finding", () => {
        const r = localBuild([
            "--context",
            "examples/dockerfiles/cache-friendly",
            ...EXAMPLE_ARGS["cache-friendly"],
            ...E2E_RUNS,
        ]);
        assert.equal(r.status, 0, r.stderr + r.stdout);
        const out = r.stdout;
        assert.match(
            out,
            /^ {2}a change to package\.json: invalidates \[5\/7\] COPY package\.json package-lock\.json \.\/; 3 of 6 steps rebuilt;/m,
        );
        assert.match(
            out,
            /^ {2}a change to src\/app\.sh: invalidates \[7\/7\] COPY src\/ \.\/src\/; 1 of 6 steps rebuilt;/m,
        );
        assert.match(
            out,
            /^ {2}a change to README\.md: invalidates no step \(6 of 6 from the cache\): the file is not in the build/m,
        );
        assert.match(out, /^Cache findings \(dockerfile-ast; BuildKit's checks don't cover these\): none$/m);
        checkAgainstReport("cache-friendly", out);
    });
});

const MULTI_STAGE = "tests/e2e/fixtures/multi-stage";
const STEP_ROW = /^\[(builder|stage-1) \d\/\d\] .*$/gm;

describe("local-build --context on a multi-stage Dockerfile, and a build that fails", function () {
    this.timeout(400_000);
    before(function () {
        if (!canRunDocker) pending(this, SKIP_REASON);
        if (!findBuildkitArchive())
            pending(
                this,
                "no BuildKit image archive (CBCACHE_BUILDKIT_IMAGE_ARCHIVE, or the shared folder's) for CodeBuild's builder",
            );
    });

    it("each stage's steps apart, in Dockerfile order; the verdict in build order; --runs 2 gives medians and ranges", () => {
        const r = localBuild([
            "--context",
            MULTI_STAGE,
            "--change",
            "notes.txt",
            "--change",
            "src/main.c",
            "--change",
            "config/app.conf",
            "--build-arg",
            "BASE_IMAGE={local-base}",
            "--runs",
            "2",
        ]);
        assert.equal(r.status, 0, r.stderr + r.stdout);
        const out = r.stdout;
        assert.match(
            out,
            /^builder: CodeBuild's docker-container builder: BuildKit v\d+\.\d+\.\d+ from the image localhost\/layer-cache-builder:sha256-[0-9a-f]{64}, loaded from \S+ \(/m,
        );
        // All 11 steps of both stages, in Dockerfile order (builder 1-7, then stage-1 1-4).
        const rows = [...out.matchAll(STEP_ROW)].map((m) => m[0]);
        assert.deepEqual(
            rows.map((l) => /^\[(\S+) (\d)\//.exec(l)!.slice(1).join(" ")),
            [1, 2, 3, 4, 5, 6, 7].map((i) => `builder ${i}`).concat([1, 2, 3, 4].map((i) => `stage-1 ${i}`)),
        );
        // Same index, different stages: the src/ change reruns [stage-1 3/4], never [builder 3/7].
        const cells = (step: string) =>
            rows
                .find((l) => l.startsWith(step))!
                .split(/\s{2,}/)
                .slice(1);
        assert.deepEqual(cells("[builder 3/7]"), ["rebuilt", "hit", "hit", "hit", "hit"]);
        assert.equal(cells("[stage-1 3/4]")[3], "rebuilt");
        assert.match(
            out,
            /^ {2}a change to notes\.txt: invalidates \[builder 7\/7\] COPY notes\.txt \/notes\.txt; 1 of 9 steps rebuilt; costs \d+ % of the cold build \(median of 2 runs, range \d+–\d+ %;/m,
        );
        assert.match(
            out,
            /^ {2}a change to src\/main\.c: invalidates \[builder 5\/7\] COPY src\/ src\/; 6 of 9 steps rebuilt;/m,
        );
        assert.match(
            out,
            /^ {2}a change to config\/app\.conf: invalidates \[stage-1 4\/4\] COPY config\/app\.conf \/etc\/app\.conf; 1 of 9 steps rebuilt;/m,
        );
        assert.match(out, /^2 runs, each from a cold cache: times and shares are medians, with their range$/m);
        assert.match(out, /^cache hits agree: every step hit or rebuilt alike in all 2 runs$/m);
        assert.match(out, /^registry: run 2\/2: change config\/app\.conf build \.\.\. \d+\.\d s$/m);
    });

    it("--target builder: only the builder stage is built, the final stage's steps show -", () => {
        const r = localBuild([
            "--context",
            MULTI_STAGE,
            "--target",
            "builder",
            "--change",
            "notes.txt",
            "--build-arg",
            "BASE_IMAGE={local-base}",
            ...E2E_RUNS,
        ]);
        assert.equal(r.status, 0, r.stderr + r.stdout);
        assert.match(r.stdout, /^Dockerfile in tests\/e2e\/fixtures\/multi-stage, target builder, strategy registry/m);
        assert.match(r.stdout, /^\[stage-1 2\/4\] COPY --from=builder \/app\.tar \/app\.tar +- +- +-$/m);
        assert.match(
            r.stdout,
            /^ {2}a change to notes\.txt: invalidates \[builder 7\/7\] COPY notes\.txt \/notes\.txt; 1 of 6 steps rebuilt;/m,
        );
        assert.match(r.stdout, /^1 run: no spread to show/m);
    });

    it("a build that fails: a short summary (phase, command, error lines) and the whole log in the file it names", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cbfail-"));
        try {
            fs.writeFileSync(
                path.join(dir, "Dockerfile"),
                "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN echo about to fail && exit 3\n",
            );
            const r = localBuild(["--context", dir, "--build-arg", "BASE_IMAGE={local-base}", "--runs", "1"]);
            assert.equal(r.status, 1, r.stderr + r.stdout);
            const err = r.stderr.trim().split("\n");
            assert.match(err[0], /^the cold build failed in build, at the command `.+` \(exit status \d+\)$/);
            assert.match(r.stderr, /did not complete successfully: exit code: 3/);
            const log = /^the whole log: (\S+)$/m.exec(r.stderr)?.[1];
            assert.ok(log && fs.existsSync(log), r.stderr);
            assert.ok(err.length <= 8, `not short:\n${r.stderr}`);
            // The whole log has what the summary left out: the buildspec's commands and BuildKit's progress.
            const whole = fs.readFileSync(log, "utf8");
            assert.match(whole, /^# build FAILED/m);
            assert.match(whole, /RUN echo about to fail && exit 3/);
            assert.ok(whole.split("\n").length > 50 * err.length);
            fs.rmSync(path.dirname(log), { recursive: true, force: true });
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("local-build --context --portable on an existing daemon", function () {
    this.timeout(300_000);
    let env: DockerEnv;
    let daemon: Daemon;
    let work: string;
    let userEnv: NodeJS.ProcessEnv;
    const docker = async (...args: string[]) => (await runOk(env.client, args, { env: userEnv })).stdout.trim();
    const state = async () => ({
        images: (await docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}"))
            .split("\n")
            .filter(Boolean)
            .sort(),
        volumes: (await docker("volume", "ls", "--format", "{{.Name}}")).split("\n").filter(Boolean).sort(),
        containers: (await docker("ps", "--all", "--format", "{{.Names}}")).split("\n").filter(Boolean).sort(),
    });

    before(async function () {
        if (!canRunDocker) {
            console.log(
                "    PENDING: needs root to start the daemon that plays the user's (and CBCACHE_LOCAL_SKIP_DOCKER unset)",
            );
            this.skip();
        }
        if (!findBuildkitArchive()) {
            pending(
                this,
                "no BuildKit image archive (CBCACHE_BUILDKIT_IMAGE_ARCHIVE, or the shared folder's) for CodeBuild's builder",
            );
        }
        env = await ensureDockerEnv();
        daemon = await startDaemon({ containerdStore: false, env });
        work = fs.mkdtempSync(path.join(os.tmpdir(), "cbportable-test-"));
        // The user's side: their client config with the buildx plugin, one image, one volume, one stopped container.
        const config = makeDockerConfig(env, path.join(work, "user-docker-config"));
        userEnv = {
            ...process.env,
            DOCKER_HOST: daemon.host,
            DOCKER_CONFIG: config,
            PATH: `${path.dirname(env.client)}:${process.env.PATH}`,
        };
        const tar = path.join(work, "user.tar");
        fs.mkdirSync(path.join(work, "rootfs"));
        fs.writeFileSync(path.join(work, "rootfs/hello"), "hi\n");
        await runOk("tar", ["-C", path.join(work, "rootfs"), "-cf", tar, "."]);
        await docker("import", tar, "user/keep:1");
        await docker("volume", "create", "user-volume");
        await docker("create", "--name", "user-container", "user/keep:1", "/hello");
    });
    after(async () => {
        await daemon?.stop();
        if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    it("runs cold, warm and a change on a fresh docker-container builder each, and leaves the daemon as it was", async () => {
        const before = await state();
        const r = localBuild(
            [
                "--context",
                "examples/dockerfiles/cache-friendly",
                "--change",
                "src/app.sh",
                "--portable",
                "--registry-image",
                "debian-binary",
                "--build-arg",
                "BASE_IMAGE={local-base}",
                "--build-arg",
                "BASE_DIGEST={local-base-digest}",
                "--runs",
                "1",
            ],
            userEnv,
        );
        assert.equal(r.status, 0, r.stderr + r.stdout);
        assert.match(
            r.stdout,
            /on a fresh docker-container builder per build on the daemon at unix:\/\/.* \(portable mode\)/,
        );
        // Cold means cold: every step rebuilt on the first builder; the warm one hit them all from the registry.
        assert.match(r.stdout, /^cold +\d+\.\d s +- +100 +- +[\d.]+ +[\d.]+ +0 +0 +6$/m);
        assert.match(
            r.stdout,
            /^builder: CodeBuild's docker-container builder: BuildKit v[\d.]+ from the image \S+, (loaded from|pulled|already)/m,
        );
        assert.match(r.stdout, /^ {2}no change: invalidates no step \(6 of 6 from the cache\)/m);
        assert.match(
            r.stdout,
            /^ {2}a change to src\/app\.sh: invalidates \[7\/7\] COPY src\/ \.\/src\/; 1 of 6 steps rebuilt;/m,
        );
        assert.match(
            r.stdout,
            /^removed: container cbcache-registry-\w+ \(and its volume\); image cbcache-local\/registry:debian/m,
        );
        assert.deepEqual(await state(), before);
        assert.deepEqual(before, { images: ["user/keep:1"], volumes: ["user-volume"], containers: ["user-container"] });
    });

    it("without a BuildKit image, stops before any build in one line, with how to get one, touching nothing", async () => {
        const before = await state();
        const r = localBuild(["--context", MULTI_STAGE, "--portable", "--registry-image", "debian-binary"], {
            ...userEnv,
            CBCACHE_BUILDKIT_IMAGE_ARCHIVE: "none",
        });
        assert.equal(r.status, 1, r.stderr + r.stdout);
        assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
        assert.match(
            r.stderr,
            /^--portable: no BuildKit image for CodeBuild's docker-container builder: the daemon at unix:\S+ can't pull \S+ \(.+\) and CBCACHE_BUILDKIT_IMAGE_ARCHIVE names no archive: on a machine that can pull it, run `docker pull .*`, copy the file here and set CBCACHE_BUILDKIT_IMAGE_ARCHIVE=/,
        );
        assert.doesNotMatch(r.stdout, /build \.\.\./);
        assert.deepEqual(await state(), before);
    });

    it("on a daemon that can't run a container (a broken runtime), stops before any build in one line", async function () {
        if (!findBuildkitArchive()) pending(this, "no BuildKit image archive to load into the broken daemon");
        // A daemon whose default runtime is /bin/false: every container create fails (OCI runtime create failed).
        const broken = await startDaemon({
            containerdStore: false,
            env,
            extraArgs: ["--add-runtime", "broken=/bin/false", "--default-runtime", "broken"],
        });
        try {
            const r = localBuild(["--context", MULTI_STAGE, "--portable", "--registry-image", "debian-binary"], {
                ...userEnv,
                DOCKER_HOST: broken.host,
            });
            assert.equal(r.status, 1, r.stderr + r.stdout);
            assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
            assert.match(
                r.stderr,
                /^the daemon at unix:\S+ can't run a container \(docker run --rm --network none --entrypoint buildkitd \S+ --version: .*\): every build runs its steps in containers, so fix the daemon's container runtime first/,
            );
            assert.doesNotMatch(r.stdout, /build \.\.\./);
        } finally {
            await broken.stop();
        }
    });

    it("refuses, touching nothing, when the daemon already has a builder of the name the buildspec uses", async () => {
        await docker("volume", "create", "buildx_buildkit_layer-cache0_state");
        try {
            const before = await state();
            const r = localBuild(["--context", "examples/dockerfiles/cache-friendly", "--portable"], userEnv);
            assert.equal(r.status, 1, r.stderr + r.stdout);
            assert.match(
                r.stderr,
                /already has a volume named buildx_buildkit_layer-cache0_state .* never touches yours/,
            );
            assert.deepEqual(await state(), before);
        } finally {
            await run(env.client, ["volume", "rm", "buildx_buildkit_layer-cache0_state"], { env: userEnv });
        }
    });
});
