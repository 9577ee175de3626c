// `npm run local-build -- --context DIR`: the checks of its input before any daemon starts (local/user-context.ts),
// the copy the builds run on, and the report made from build records (local/user-build.ts). Real files in a temp
// folder; the build records are made up here (the real builds: tests/e2e/user-context.test.ts). No Docker.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { FlagError } from "../local/flags";
import type { DockerfileStep } from "../local/report";
import { checkUserContext, copyContext, CONTEXT_DIR, UserContextInput } from "../local/user-context";
import { buildTable, resolveBuildArgs, stepOutcome, UserBuildRecord, verdictLines } from "../local/user-build";

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
                "local/cli.ts",
                "--context",
                path.join(dir, "app"),
                "--change",
                "../outside.txt",
            ],
            { cwd: path.resolve(__dirname, ".."), encoding: "utf8", env: { ...process.env, PATH: "/nonexistent" } },
        );
        assert.equal(r.status, 2, r.stderr);
        assert.match(r.stderr, /^Invalid value for '--change': "..\/outside.txt" \(outside the context /);
        assert.equal(r.stdout, "");
    });
});

const step = (index: number, text: string, status: DockerfileStep["status"], extra: Partial<DockerfileStep> = {}) =>
    ({
        id: index,
        index,
        total: 4,
        instruction: text.split(" ")[0],
        text,
        status,
        seconds: 1,
        ...extra,
    }) as DockerfileStep;
const rec = (
    name: UserBuildRecord["name"],
    buildSeconds: number,
    steps: DockerfileStep[],
    changed?: string,
): UserBuildRecord => ({
    name,
    ...(changed ? { changed } : {}),
    strategy: "registry",
    succeeded: true,
    buildSeconds,
    pulledMB: 1,
    pushedMB: 2,
    steps,
});

describe("user build report", () => {
    const records = [
        rec("cold", 10, [
            step(1, "FROM b", "DONE"),
            step(2, "COPY a b", "DONE"),
            step(3, "RUN npm ci", "DONE"),
            step(4, "COPY . .", "DONE"),
        ]),
        rec("warm", 2, [
            step(1, "FROM b", "DONE"),
            step(2, "COPY a b", "CACHED"),
            step(3, "RUN npm ci", "CACHED"),
            step(4, "COPY . .", "CACHED"),
        ]),
        rec(
            "change",
            3,
            [
                step(1, "FROM b", "DONE"),
                step(2, "COPY a b", "CACHED"),
                step(3, "RUN npm ci", "CACHED", { downloaded: true }),
                step(4, "COPY . .", "DONE"),
            ],
            "src/x.js",
        ),
        rec(
            "change",
            8,
            [
                step(1, "FROM b", "DONE"),
                step(2, "COPY a b", "DONE"),
                step(3, "RUN npm ci", "DONE"),
                step(4, "COPY . .", "DONE"),
            ],
            "package.json",
        ),
        rec(
            "change",
            2.5,
            [
                step(1, "FROM b", "DONE"),
                step(2, "COPY a b", "CACHED"),
                step(3, "RUN npm ci", "CACHED"),
                step(4, "COPY . .", "CACHED"),
            ],
            "README.md",
        ),
    ];
    it("tells each step's outcome: hit, downloaded, rebuilt; FROM pulled", () => {
        assert.deepEqual(records[2].steps.map(stepOutcome), ["pulled", "hit", "downloaded", "rebuilt"]);
    });
    it("the verdict names the first invalidated step and the share of the cold build", () => {
        assert.deepEqual(verdictLines(records), [
            "no change: invalidates no step (3 of 3 from the cache); costs 20 % of the cold build (2.0 s of 10.0 s)",
            "a change to src/x.js: invalidates [4/4] COPY . .; 1 of 3 steps rebuilt; costs 30 % of the cold build (3.0 s of 10.0 s)",
            "a change to package.json: invalidates [2/4] COPY a b; 3 of 3 steps rebuilt; costs 80 % of the cold build (8.0 s of 10.0 s)",
            "a change to README.md: invalidates no step (3 of 3 from the cache): the file is not in the build (.dockerignore, or never copied); costs 25 % of the cold build (2.5 s of 10.0 s)",
        ]);
    });
    it("the build table counts hits, downloads and rebuilds without FROM", () => {
        const lines = buildTable(records).split("\n");
        assert.equal(lines[0], "build                  time  x cold  MB pulled  MB pushed  hit  downloaded  rebuilt");
        assert.equal(lines[4], "change src/x.js       3.0 s    0.30        1.0        2.0    1           1        1");
    });
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
