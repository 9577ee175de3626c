/**
 * Issue #4 (security), cache poisoning: which builds may write the cache and push the image.
 *
 * The trust decision is the buildspec's first command (`components/buildspec/trust.sh` after its prelude). It is
 * run here in real bash (tests/helpers/bash.ts) with the variables CodeBuild sets for each way a build can start
 * (buildspec reference "Environment variables in build environments"; webhook filter docs for HEAD_REF/TRIGGER
 * values), and `TRUSTED` is read back. This is the one place the decision is tested.
 *
 * - Webhook push: CODEBUILD_WEBHOOK_TRIGGER=branch/<name> or tag/<name>, CODEBUILD_WEBHOOK_HEAD_REF=refs/heads/<name>
 *   or refs/tags/<name>, CODEBUILD_SOURCE_VERSION=<commit>.
 * - Pull request: TRIGGER=pr/<n>, HEAD_REF=refs/heads/<the PR's branch, possibly a fork's "main">, SOURCE_VERSION=pr/<n>.
 * - Manual start-build: no webhook variables; SOURCE_VERSION is the override (commit, branch, tag, pr/<n>) or empty.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { resolveArgs } from "../../components/resolveArgs";
import { buildspecOptions, BuildspecOptions } from "../../components/buildspec";
import { buildspec } from "../../components/buildspec/render";
import { runBash } from "../helpers/bash";

const SHA = "4f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c";
const TRUSTED = ["main", "release/1.x", "refs/tags/v1.0"];

const URL = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/r";

/** The trust command of the buildspec the component generates, through the same mapping it uses. */
function trustCommand(trustedRefs: string[], sourceVersion = "main"): string {
    const a = resolveArgs("docker-cache", "dev", { trustedRefs, sourceVersion });
    return buildspec(buildspecOptions(a, URL, "eu-west-1")).phases.pre_build.commands[0];
}

/** Runs a trust command in bash with exactly these CodeBuild variables; returns TRUSTED and what it printed. */
function run(command: string, env: Record<string, string>): { write: string; said: string } {
    const r = runBash(`${command}\nprintf 'TRUSTED=%s\\n' "$TRUSTED"`, { env });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.calls, [], "the decision runs no docker or aws command");
    const m = /TRUSTED=(.*)\n$/.exec(r.stdout);
    assert.ok(m, r.stdout);
    return { write: m[1], said: r.stdout };
}

function decide(env: Record<string, string>, trustedRefs = TRUSTED, sourceVersion = "main") {
    return run(trustCommand(trustedRefs, sourceVersion), env);
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
    ["webhook push to a branch whose last segment is a trusted name", push("x/main"), "0"],
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

    it("the decision ignores the shell's environment beyond CodeBuild's variables (a stale TRUSTED=1 is reset)", () => {
        assert.equal(
            decide({ ...pr(7, "main"), TRUSTED: "1", BUILD_REF: "refs/heads/main", trusted_ref: "refs/heads/main" })
                .write,
            "0",
        );
    });

    it("a buildspec rendered without the project's source version trusts a build without override", () => {
        // buildspec() called directly (not through the component, which always passes sourceVersion).
        const o: BuildspecOptions = {
            ...buildspecOptions(resolveArgs("docker-cache", "dev", { trustedRefs: ["main"] }), URL, "eu-west-1"),
            sourceVersion: undefined,
        };
        const trust = buildspec(o).phases.pre_build.commands[0];
        assert.equal(run(trust, manual("")).write, "1");
        assert.equal(run(trust, {}).write, "1");
        assert.equal(run(trust, manual("develop")).write, "0");
    });

    it("trusted refs with shell metacharacters are compared literally (no glob, no injection)", () => {
        // Refs that resolveArgs would refuse, rendered directly: the comparison itself must not depend on validation.
        const marker = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "trust-")), "x");
        const o: BuildspecOptions = {
            ...buildspecOptions(resolveArgs("docker-cache", "dev", {}), URL, "eu-west-1"),
            trustedRefs: ["rel*", `a;touch ${marker}`, "$(touch ${marker})"],
        };
        const trust = buildspec(o).phases.pre_build.commands[0];
        assert.equal(run(trust, manual("release")).write, "0", "a glob in a trusted ref matches nothing else");
        assert.equal(run(trust, manual("rel*")).write, "1");
        assert.equal(run(trust, manual(`a;touch ${marker}`)).write, "1");
        assert.equal(run(trust, manual("refs/heads/x")).write, "0");
        assert.ok(!fs.existsSync(marker), "nothing in a trusted ref was run");
        fs.rmSync(path.dirname(marker), { recursive: true, force: true });
    });
});
