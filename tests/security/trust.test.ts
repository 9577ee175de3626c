/**
 * Issue #4 (security), cache poisoning: which builds may write the cache and push the image.
 *
 * The trust decision is the buildspec's first command. It is run here in real bash with the variables
 * CodeBuild sets for each way a build can start (buildspec reference "Environment variables in build
 * environments"; webhook filter docs for HEAD_REF/TRIGGER values), and `CACHE_WRITE` is read back.
 *
 * - Webhook push: CODEBUILD_WEBHOOK_TRIGGER=branch/<name> or tag/<name>, CODEBUILD_WEBHOOK_HEAD_REF=refs/heads/<name>
 *   or refs/tags/<name>, CODEBUILD_SOURCE_VERSION=<commit>.
 * - Pull request: TRIGGER=pr/<n>, HEAD_REF=refs/heads/<the PR's branch, possibly a fork's "main">, SOURCE_VERSION=pr/<n>.
 * - Manual start-build: no webhook variables; SOURCE_VERSION is the override (commit, branch, tag, pr/<n>) or empty.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { resolveArgs } from "../../components/args";
import { buildspec, buildspecOptions } from "../../components/buildspec";

const SHA = "4f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c";
const TRUSTED = ["main", "release/1.x", "refs/tags/v1.0"];

/** The trust command of the buildspec the component generates, through the same mapping it uses. */
function trustCommand(trustedRefs: string[], sourceVersion = "main"): string {
    const a = resolveArgs("docker-cache", "dev", { trustedRefs, sourceVersion });
    return buildspec(buildspecOptions(a, "123456789012.dkr.ecr.eu-west-1.amazonaws.com/r", "eu-west-1")).phases
        .pre_build.commands[0];
}

/** Runs the trust command in bash with exactly these CodeBuild variables; returns CACHE_WRITE and the log line. */
function decide(
    env: Record<string, string>,
    trustedRefs = TRUSTED,
    sourceVersion = "main",
): { write: string; said: string } {
    const r = spawnSync(
        "bash",
        [
            "--noprofile",
            "--norc",
            "-c",
            `${trustCommand(trustedRefs, sourceVersion)}\nprintf 'CACHE_WRITE=%s\\n' "$CACHE_WRITE"`,
        ],
        {
            env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
            encoding: "utf8",
        },
    );
    assert.equal(r.status, 0, r.stderr);
    const m = /CACHE_WRITE=(.*)\n$/.exec(r.stdout);
    assert.ok(m, r.stdout);
    return { write: m[1], said: r.stdout };
}

const push = (name: string) => ({
    CODEBUILD_WEBHOOK_TRIGGER: `branch/${name}`,
    CODEBUILD_WEBHOOK_HEAD_REF: `refs/heads/${name}`,
    CODEBUILD_SOURCE_VERSION: SHA,
});
const tagPush = (name: string) => ({
    CODEBUILD_WEBHOOK_TRIGGER: `tag/${name}`,
    CODEBUILD_WEBHOOK_HEAD_REF: `refs/tags/${name}`,
    CODEBUILD_SOURCE_VERSION: SHA,
});
const pr = (n: number, branch: string) => ({
    CODEBUILD_WEBHOOK_TRIGGER: `pr/${n}`,
    CODEBUILD_WEBHOOK_HEAD_REF: `refs/heads/${branch}`,
    CODEBUILD_SOURCE_VERSION: `pr/${n}`,
});
const manual = (override: string) => ({ CODEBUILD_SOURCE_VERSION: override });

const TABLE: [string, Record<string, string>, "0" | "1"][] = [
    // Webhook pushes.
    ["webhook push to trusted branch main", push("main"), "1"],
    ["webhook push to trusted branch release/1.x", push("release/1.x"), "1"],
    ["webhook push to an untrusted branch", push("feature/x"), "0"],
    ["webhook push to a branch that only starts like a trusted one", push("main2"), "0"],
    ["webhook push to a branch that only ends like a trusted one", push("not-main"), "0"],
    ["webhook push to a branch literally named refs/heads/main", push("refs/heads/main"), "0"],
    ["webhook push to a branch literally named refs/tags/v1.0", push("refs/tags/v1.0"), "0"],
    ["webhook push to a branch named like a trusted tag's short name", push("v1.0"), "0"],
    // Pull requests: never, whatever the head branch is called.
    ["PR whose head branch is named main (e.g. from a fork)", pr(7, "main"), "0"],
    ["PR whose head branch is named release/1.x", pr(8, "release/1.x"), "0"],
    ["PR from an untrusted branch", pr(9, "feature/x"), "0"],
    ["PR trigger without a head ref", { CODEBUILD_WEBHOOK_TRIGGER: "pr/10", CODEBUILD_SOURCE_VERSION: "pr/10" }, "0"],
    // Tags.
    ["webhook push of the trusted tag refs/tags/v1.0", tagPush("v1.0"), "1"],
    ["webhook push of an untrusted tag", tagPush("v2.0"), "0"],
    ["webhook push of a tag named like the trusted branch main", tagPush("main"), "0"],
    ["webhook push of a tag named like the trusted branch release/1.x", tagPush("release/1.x"), "0"],
    // Manual builds.
    ["manual build, no source-version override (the project's own version)", manual(""), "1"],
    ["manual build, no CODEBUILD_SOURCE_VERSION at all", {}, "1"],
    ["manual override to a commit sha", manual(SHA), "0"],
    ["manual override to a short sha", manual(SHA.slice(0, 7)), "0"],
    ["manual override to an untrusted branch", manual("feature/x"), "0"],
    ["manual override to an untrusted branch, full ref", manual("refs/heads/feature/x"), "0"],
    ["manual override to the trusted branch by name", manual("main"), "1"],
    ["manual override to the trusted branch, full ref", manual("refs/heads/main"), "1"],
    ["manual override to a pull request", manual("pr/7"), "0"],
    ["manual override to the trusted tag, full ref", manual("refs/tags/v1.0"), "1"],
    ["manual override to a tag named like the trusted branch", manual("refs/tags/main"), "0"],
    ["manual override to a commit on main (CodeCommit-style ^{sha})", manual(`refs/heads/main^{${SHA}}`), "0"],
];

describe("security: who may write the layer cache (cache poisoning, #4)", () => {
    for (const [what, env, expected] of TABLE) {
        it(`${expected === "1" ? "writes" : "never writes"}: ${what}`, () => {
            const { write, said } = decide(env);
            assert.equal(write, expected, said);
            assert.match(said, expected === "1" ? /is trusted/ : /is not trusted/, "the log says which way it went");
        });
    }

    it("trustedRefs written as refs/heads/<name> mean the same branch as <name>", () => {
        assert.equal(decide(push("main"), ["refs/heads/main"]).write, "1");
        assert.equal(decide(manual("main"), ["refs/heads/main"]).write, "1");
        assert.equal(decide(tagPush("main"), ["refs/heads/main"]).write, "0");
    });

    it("a bare name in trustedRefs is a branch, never a tag of that name", () => {
        assert.equal(decide(tagPush("v1.0"), ["v1.0"]).write, "0");
        assert.equal(decide(push("v1.0"), ["v1.0"]).write, "1");
    });

    it("a build without override builds the project's sourceVersion: it writes only if that ref is trusted", () => {
        // trustedRefs deliberately excludes the project's default branch: its builds must not write.
        assert.equal(decide(manual(""), ["main"], "develop").write, "0");
        assert.equal(decide({}, ["main"], "develop").write, "0");
        assert.equal(decide(manual(""), ["main"], "main").write, "1");
        assert.equal(decide(manual(""), ["refs/heads/main"], "refs/heads/main").write, "1");
        assert.equal(decide(manual(""), ["refs/tags/v1.0"], "refs/tags/v1.0").write, "1");
    });

    it("pull-request refs can't be configured as trusted", () => {
        assert.throws(() => resolveArgs("c", "dev", { trustedRefs: ["pr/7"] }), /trustedRefs/);
    });

    it("the decision ignores the shell's environment beyond CodeBuild's variables (a stale CACHE_WRITE=1 is reset)", () => {
        assert.equal(
            decide({ ...pr(7, "main"), CACHE_WRITE: "1", BUILD_REF: "refs/heads/main", trusted: "x" }).write,
            "0",
        );
    });
});
