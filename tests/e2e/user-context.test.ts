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
import { makeDockerConfig, startDaemon, Daemon } from "../../local/daemon";
import { DockerEnv, ensureDockerEnv } from "../../local/engine";
import { run, runOk } from "../../local/util";
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
    const r = spawnSync(process.execPath, [require.resolve("tsx/cli"), "local/cli.ts", ...args], {
        cwd: ROOT,
        encoding: "utf8",
        env,
        timeout: 400_000,
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The verdict and finding lines of a report, with every number masked. */
function verdictAndFindings(report: string): string[] {
    const lines = report.split("\n");
    const from = lines.findIndex((l) => l === "Verdict");
    assert.ok(from >= 0, `no Verdict in:\n${report}`);
    return lines
        .slice(from)
        .filter((l) => /^ {2}(no change|a change to|line \d)|^ {12}measured:|^Cache findings/.test(l))
        .map((l) => l.replace(/\d+(\.\d+)?/g, "N"));
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
    this.timeout(300_000);
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
        const r = localBuild(["--context", "examples/dockerfiles/cache-friendly", ...EXAMPLE_ARGS["cache-friendly"]]);
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
            ],
            userEnv,
        );
        assert.equal(r.status, 0, r.stderr + r.stdout);
        assert.match(
            r.stdout,
            /on a fresh docker-container builder per build on the daemon at unix:\/\/.* \(portable mode\)/,
        );
        // Cold means cold: every step rebuilt on the first builder; the warm one hit them all from the registry.
        assert.match(r.stdout, /^cold +\d+\.\d s +1\.00 +[\d.]+ +[\d.]+ +0 +0 +6$/m);
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
