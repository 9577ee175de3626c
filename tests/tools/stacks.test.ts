/**
 * The stack comparison of docs/operations.md (tools/docs/stacks.ts, block `stacks`): a value set in a stack file
 * reaches its column, a value it doesn't set shows the default that `pulumi up` would use (in italics), and a stack
 * file the program would refuse fails the generator with the program's ConfigError instead of giving a table.
 * Real: Pulumi.yaml, the config reader, `stackArgs` and `resolveArgs`; the fixture stack files are written to a
 * temporary folder. The cross-check at the end runs the program on each checked-in stack under the mock runtime
 * (Pulumi engine and AWS mocked) and compares what it registers with the table's resolution.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConfigError } from "../../components/problems";
import { blockNames, renderBlock, ROOT } from "../../tools/docs/docsBlocks";
import { resolveStacks, stackNames, stacksBlock } from "../../tools/docs/stacks";
import { findResources, runProgram } from "../../scripts/mockRuntime";

/** The cells of the table row labelled `label`, one per stack column. */
function row(table: string, label: string): string[] {
    const line = table.split("\n").find((l) => l.startsWith(`| ${label} |`));
    assert.ok(line !== undefined, `no row '${label}' in:\n${table}`);
    return line
        .slice(`| ${label} |`.length, -1)
        .split(" | ")
        .map((c) => c.trim());
}

describe("the stack comparison (tools/docs/stacks.ts)", () => {
    let root: string;
    const stackFile = (stack: string, config: Record<string, unknown>) =>
        fs.writeFileSync(
            path.join(root, `Pulumi.${stack}.yaml`),
            `config:\n${Object.entries(config)
                .map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`)
                .join("\n")}\n`,
        );
    const key = (k: string) => `ecr-layer-cache:${k}`;

    beforeEach(() => {
        root = fs.mkdtempSync(path.join(os.tmpdir(), "stacks-table-"));
        fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(root, "Pulumi.yaml"));
    });
    afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

    it("a value the stack file sets reaches its column as it is; an unset one shows Pulumi.yaml's default, in italics", () => {
        stackFile("zeta", { "aws:region": "eu-west-1", [key("logRetentionDays")]: 14 });
        stackFile("alpha", { "aws:region": "eu-west-1" });
        const table = stacksBlock(root);
        assert.match(table.split("\n")[0], /^\| \| \[alpha\]\(\.\.\/Pulumi\.alpha\.yaml\) \| \[zeta\]/);
        // Pulumi.yaml declares logRetentionDays with default 30.
        assert.deepEqual(row(table, "log retention"), ["_30 days_", "14 days"]);
        stackFile("zeta", { "aws:region": "eu-west-1", [key("logRetentionDays")]: 90 });
        assert.deepEqual(row(stacksBlock(root), "log retention"), ["_30 days_", "90 days"]);
    });

    it("defaults that only the code knows, and those that follow other values, are resolved as the program resolves them", () => {
        // skipUnchanged has no Pulumi.yaml default: on for inline and registry, off for pull (components/skip.ts);
        // trustedRefs defaults to [sourceVersion]; the alarm topic is named for the project.
        stackFile("dev", { [key("cacheStrategy")]: "pull", [key("sourceVersion")]: "release" });
        stackFile("prod", { [key("cacheStrategy")]: "registry", [key("skipUnchanged")]: false });
        const table = stacksBlock(root);
        assert.deepEqual(row(table, "cache strategy"), ["`pull`", "`registry`"]);
        assert.deepEqual(row(table, "skip unchanged builds"), ["_off_", "off"]);
        assert.deepEqual(row(table, "trusted refs (write the cache, push)"), ["_`release`_", "_`master`_"]);
        assert.deepEqual(row(table, "CodeBuild project (and ECR repository)"), [
            "_`docker-cache-dev`_",
            "_`docker-cache-prod`_",
        ]);
        assert.match(row(table, "monitoring")[1], /notify _a new topic `docker-cache-prod-alarms`_/);
        assert.deepEqual(row(table, "region"), ["_AWS_REGION or the profile_", "_AWS_REGION or the profile_"]);
    });

    it("a stack with images: a value its images share is shown once, one that differs per image", () => {
        stackFile("multi", {
            [key("computeType")]: "BUILD_GENERAL1_LARGE",
            [key("images")]: {
                api: { dockerfileDir: "api", platforms: ["linux/amd64", "linux/arm64"] },
                web: { dockerfileDir: "web", buildTimeoutMinutes: 30 },
            },
        });
        const table = stacksBlock(root);
        assert.deepEqual(row(table, "compute, timeout"), ["api: LARGE, _60 min_; web: LARGE, 30 min"]);
        assert.deepEqual(row(table, "cache strategy"), ["_`registry`_"]);
        assert.deepEqual(row(table, "platforms"), [
            "api: `linux/amd64`, `linux/arm64`: _native (a batch, one host each)_; web: _`linux/amd64`_",
        ]);
        // The stack-wide topic that every image's alarms notify (severalImages.ts): <component>-<stack>-alarms.
        assert.match(row(table, "monitoring")[0], /`docker-cache-multi-alarms`/);
    });

    it("triggers: pushes, pull requests in the read-only -pr project, file paths and a schedule", () => {
        stackFile("gh", {
            [key("sourceUrl")]: "https://github.com/o/r.git",
            [key("sourceVersion")]: "main",
            [key("createConnection")]: true,
            [key("webhookPushes")]: true,
            [key("webhookPullRequests")]: true,
            [key("pullRequestCommentApproval")]: "ALL_PULL_REQUESTS",
            [key("webhookFilePaths")]: ["src/"],
            [key("scheduleExpression")]: "rate(1 day)",
        });
        const [cell] = row(stacksBlock(root), "builds start on");
        assert.equal(
            cell,
            "pushes to `main`; pull requests in the read-only `docker-cache-gh-pr` (each after an approver's comment); " +
                "only changes under `src/`; `rate(1 day)` _UTC_; a start by hand",
        );
    });

    it("an unknown key in a stack file fails with the program's ConfigError, naming the file and the nearest key", () => {
        stackFile("ok", {});
        stackFile("typo", { [key("logRetentionDay")]: 7 });
        assert.throws(
            () => stacksBlock(root),
            (e: Error) => {
                assert.ok(e.cause instanceof ConfigError, "the cause is the program's ConfigError");
                assert.equal(
                    e.message,
                    "Pulumi.typo.yaml: Unknown key 'ecr-layer-cache:logRetentionDay' (value \"7\"). Did you mean " +
                        "'logRetentionDays'? The keys are listed in docs/configuration.md and declared in Pulumi.yaml.",
                );
                return true;
            },
        );
    });

    it("a bad value fails with the program's message (what is allowed), not a table; a wrong type with the CLI's", () => {
        stackFile("bad", { [key("cacheStrategy")]: "fast", [key("buildTimeoutMinutes")]: 3 });
        assert.throws(
            () => renderBlock("stacks", root),
            (e: Error) => {
                assert.ok(e.cause instanceof ConfigError);
                assert.match(e.message, /^Pulumi\.bad\.yaml: 2 invalid values:/);
                assert.match(
                    e.message,
                    /Invalid value for 'cacheStrategy': "fast"\. Allowed: inline, registry, pull\./,
                );
                assert.match(e.message, /Invalid value for 'buildTimeoutMinutes': 3\. Allowed: a whole number from 5/);
                return true;
            },
        );
        stackFile("bad", { [key("logRetentionDays")]: "7" });
        assert.throws(
            () => stacksBlock(root),
            /ecr-layer-cache:logRetentionDays is "7", but Pulumi\.yaml declares type integer/,
        );
    });

    it("no stack file: an error, not an empty table", () => {
        assert.throws(() => stacksBlock(root), /no Pulumi\.<stack>\.yaml to compare/);
    });

    it("docs/operations.md holds the generated block, not a table written by hand (its staleness: docsBlocks.test.ts)", () => {
        const page = fs.readFileSync(path.join(ROOT, "docs/operations.md"), "utf8");
        assert.ok(blockNames(page, "docs/operations.md").includes("stacks"));
    });

    it("the docs' table has a column for every checked-in Pulumi.<stack>.yaml, dev and prod first", () => {
        const files = fs.readdirSync(ROOT).filter((f) => /^Pulumi\..+\.yaml$/.test(f));
        const names = stackNames(ROOT);
        assert.deepEqual([...names].sort(), files.map((f) => f.slice("Pulumi.".length, -".yaml".length)).sort());
        assert.deepEqual(names.slice(0, 2), ["dev", "prod"]);
        const header = renderBlock("stacks").split("\n")[0];
        assert.equal(header, `| | ${names.map((s) => `[${s}](../Pulumi.${s}.yaml)`).join(" | ")} |`);
    });

    describe("cross-check: the table's resolution is what the program registers, per checked-in stack (mocked engine and AWS)", () => {
        for (const s of resolveStacks(ROOT)) {
            it(`${s.stack}: each project's name, compute, timeout and log retention`, async () => {
                await runProgram(s.stack);
                const projects = findResources("aws:codebuild/project:Project").map((r) => r.inputs);
                const groups = findResources("aws:cloudwatch/logGroup:LogGroup").map((r) => r.inputs);
                for (const { args: a } of s.images) {
                    const p = projects.find((x) => x.name === a.projectName);
                    assert.ok(p !== undefined, `no project ${a.projectName} registered`);
                    assert.equal(p.environment.computeType, a.computeType);
                    assert.equal(p.buildTimeout, a.buildTimeoutMinutes);
                    const g = groups.find((x) => x.name === `/aws/codebuild/${a.projectName}`);
                    assert.equal(g?.retentionInDays, a.logRetentionDays);
                }
                const repositories = findResources("aws:ecr/repository:Repository").map((r) => r.inputs.name);
                assert.deepEqual(repositories.sort(), s.images.map((i) => i.args.repositoryName).sort());
            });
        }
    });
});
