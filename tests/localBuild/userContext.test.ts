// `npm run local-build -- --context DIR`: the checks of its input before any daemon starts (localBuild/userContext.ts),
// the copy the builds run on, and the build args (localBuild/userBuild.ts). Real files in a temp folder; the report is
// tested in tests/localBuild/userReport.test.ts, the real builds in tests/e2e/userContext.test.ts. No Docker.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { FlagError } from "../../localBuild/flags";
import { checkUserContext, copyContext, CONTEXT_DIR, UserContextInput } from "../../localBuild/userContext";
import { resolveBuildArgs } from "../../localBuild/userBuild";

let dir: string;
const write = (p: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
    fs.writeFileSync(path.join(dir, p), text);
};
const check = (o: Partial<UserContextInput>) => checkUserContext({ context: "app", changes: [], cwd: dir, ...o });
const rejects = (o: Partial<UserContextInput>, message: string | RegExp) =>
    assert.throws(
        () => check(o),
        (e: unknown) => {
            assert.ok(e instanceof FlagError, String(e));
            if (typeof message === "string") assert.equal(e.message, message);
            else assert.match(e.message, message);
            return true;
        },
    );

describe("user context: input checked before any daemon starts", () => {
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "cbctx-test-"));
        write("app/Dockerfile", "FROM busybox\nCOPY . .\n");
        write("app/src/a.sh", "echo a\n");
        write("outside.txt", "x\n");
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("a missing folder, or a file given as the folder", () => {
        rejects(
            { context: "nope" },
            `Invalid value for '--context': "nope" (no such folder). Allowed: a folder holding the build context.`,
        );
        rejects(
            { context: "outside.txt" },
            `Invalid value for '--context': "outside.txt" (not a folder). Allowed: a folder holding the build context.`,
        );
    });
    it("a missing Dockerfile, by default or with --file", () => {
        fs.rmSync(path.join(dir, "app/Dockerfile"));
        rejects(
            {},
            `Invalid value for '--file': "app/Dockerfile" (no such file). Allowed: a Dockerfile (default: <context>/Dockerfile).`,
        );
        rejects({ file: "docker/x.Dockerfile" }, /'--file': "docker\/x.Dockerfile" \(no such file\)/);
    });
    it("a change path outside the context, missing, or a folder", () => {
        const allowed = "Allowed: a file inside the context (relative to it, or absolute).";
        rejects(
            { changes: ["../outside.txt"] },
            `Invalid value for '--change': "../outside.txt" (outside the context app). ${allowed}`,
        );
        rejects(
            { changes: [path.join(dir, "outside.txt")] },
            `Invalid value for '--change': ${JSON.stringify(path.join(dir, "outside.txt"))} (outside the context app). ${allowed}`,
        );
        rejects(
            { changes: ["src/b.sh"] },
            `Invalid value for '--change': "src/b.sh" (no such file in app). ${allowed}`,
        );
        rejects({ changes: ["src"] }, `Invalid value for '--change': "src" (not a file). ${allowed}`);
    });
    it("a change through a symbolic link that leads outside the context", () => {
        fs.symlinkSync(path.join(dir, "outside.txt"), path.join(dir, "app/link.txt"));
        rejects({ changes: ["link.txt"] }, /'--change': "link.txt" \(outside the context app\)/);
    });
    for (const [text, why] of [
        ["FROM busybox\nFOO bar\n", 'line 2: unknown instruction "FOO"'],
        ["# only a comment\n", "no FROM instruction: a Dockerfile needs at least one stage"],
        ["RUN echo hi\nFROM busybox\n", "line 1: RUN before the first FROM (only ARG may come before it)"],
        ["FROM\n", "line 1: FROM names no image"],
    ]) {
        it(`a Dockerfile that doesn't parse: ${why}`, () => {
            write("app/Dockerfile", text);
            rejects(
                {},
                `Invalid value for '--file': "app/Dockerfile" (it doesn't parse: ${why}). Allowed: a Dockerfile that BuildKit can parse.`,
            );
        });
    }
    it("accepts a good input: ARG before FROM, lower-case instructions, changes relative to the context", () => {
        write("app/Dockerfile", "ARG B=busybox\nfrom ${B}\nrun echo hi\n");
        const ctx = check({ changes: ["src/a.sh", path.join(dir, "app/Dockerfile")] });
        assert.deepEqual(
            [ctx.dockerfileName, ctx.dockerfileAdded, ctx.changes],
            ["Dockerfile", false, [{ path: "src/a.sh" }, { path: "Dockerfile" }]],
        );
    });
    it("--target names a stage of the Dockerfile (any case, kept lower-cased as BuildKit does), else it stops", () => {
        write("app/Dockerfile", "FROM busybox AS Builder\nRUN true\nFROM busybox\nCOPY --from=builder / /\n");
        assert.equal(check({ target: "BUILDER" }).target, "builder");
        assert.equal(check({}).target, undefined);
        rejects(
            { target: "test" },
            `Invalid value for '--target': "test" (no stage of that name). Allowed: a stage name of app/Dockerfile: builder.`,
        );
        write("app/Dockerfile", "FROM busybox\nRUN true\n");
        rejects(
            { target: "app" },
            "Invalid value for '--target': \"app\" (app/Dockerfile names no stage). Allowed: a stage name (`FROM … AS name`).",
        );
    });
    it("a Dockerfile elsewhere is copied into the copy's context, under a free name", () => {
        write("docker/Dockerfile", "FROM busybox\n");
        const ctx = check({ file: "docker/Dockerfile" });
        assert.deepEqual([ctx.dockerfileName, ctx.dockerfileAdded], ["Dockerfile.local-build", true]);
        const copy = copyContext(ctx);
        try {
            assert.equal(
                fs.readFileSync(path.join(copy.sourceDir, CONTEXT_DIR, "Dockerfile.local-build"), "utf8"),
                "FROM busybox\n",
            );
            assert.equal(
                fs.readFileSync(path.join(copy.sourceDir, CONTEXT_DIR, "Dockerfile"), "utf8"),
                "FROM busybox\nCOPY . .\n",
            );
        } finally {
            copy.remove();
        }
    });
    it("a change touches the copy only, and adds up", () => {
        const ctx = check({ changes: ["src/a.sh"] });
        const copy = copyContext(ctx);
        try {
            copy.change("src/a.sh");
            copy.change("src/a.sh");
            assert.equal(fs.readFileSync(path.join(copy.sourceDir, CONTEXT_DIR, "src/a.sh"), "utf8"), "echo a\n\n\n");
            assert.equal(fs.readFileSync(path.join(dir, "app/src/a.sh"), "utf8"), "echo a\n");
        } finally {
            copy.remove();
        }
        assert.equal(fs.existsSync(copy.sourceDir), false);
    });
    it("the command line stops on bad input with status 2 before starting anything", function () {
        this.timeout(30_000);
        const r = spawnSync(
            process.execPath,
            [
                require.resolve("tsx/cli"),
                "localBuild/cli.ts",
                "--context",
                path.join(dir, "app"),
                "--change",
                "../outside.txt",
            ],
            { cwd: path.resolve(__dirname, "../.."), encoding: "utf8", env: { ...process.env, PATH: "/nonexistent" } },
        );
        assert.equal(r.status, 2, r.stderr);
        assert.match(r.stderr, /^Invalid value for '--change': "..\/outside.txt" \(outside the context /);
        assert.equal(r.stdout, "");
    });

    it("a check before the first build that fails is one line on stderr and exit status 1 (--portable, no docker client on PATH)", function () {
        this.timeout(30_000);
        // Real: the command, with a PATH that has no docker client; no Docker is asked anything.
        const r = spawnSync(
            process.execPath,
            [require.resolve("tsx/cli"), "localBuild/cli.ts", "--context", path.join(dir, "app"), "--portable"],
            { cwd: path.resolve(__dirname, "../.."), encoding: "utf8", env: { ...process.env, PATH: "/nonexistent" } },
        );
        assert.equal(r.status, 1, r.stderr);
        assert.equal(
            r.stderr,
            "--portable: no docker client on PATH: install Docker's CLI (docs.docker.com/engine/install/), or use the default mode (as root, without --portable)\n",
        );
        assert.equal(r.stdout, "");
    });
    it("--runs takes a whole number of at least 1, and only with --context", function () {
        this.timeout(30_000);
        const cli = (args: string[]) =>
            spawnSync(process.execPath, [require.resolve("tsx/cli"), "localBuild/cli.ts", ...args], {
                cwd: path.resolve(__dirname, "../.."),
                encoding: "utf8",
                env: { ...process.env, PATH: "/nonexistent" },
            });
        const zero = cli(["--context", path.join(dir, "app"), "--runs", "0"]);
        assert.equal(zero.status, 2, zero.stderr);
        assert.match(zero.stderr, /^Invalid value for '--runs': "0"\. Allowed: a whole number >= 1\.\n/);
        const alone = cli(["--runs", "2"]);
        assert.equal(alone.status, 2, alone.stderr);
        assert.match(alone.stderr, /^'--runs' needs '--context DIR'/);
    });
});

describe("user build args", () => {
    it("{local-base} and {local-base-digest} in build args stand for the local base image, asked for only if used", async () => {
        let asked = 0;
        const base = () => {
            asked++;
            return Promise.resolve({ ref: "127.0.0.1:5000/base/busybox:latest", digest: "sha256:abc" });
        };
        assert.deepEqual(await resolveBuildArgs({ A: "x" }, base), { A: "x" });
        assert.equal(asked, 0);
        assert.deepEqual(await resolveBuildArgs({ A: "{local-base}@{local-base-digest}", B: "y" }, base), {
            A: "127.0.0.1:5000/base/busybox:latest@sha256:abc",
            B: "y",
        });
        assert.equal(asked, 1);
    });
});
