/**
 * Issue #11: `npm run synth` (scripts/synth.ts), the offline review. It runs the program under the one mock runtime
 * (what is mocked: the Pulumi engine; AWS state is built from the inputs) and writes a folder; the policy pack runs
 * in-process over the same registrations. Each test writes into its own temporary folder.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { ResourceValidationPolicy } from "@pulumi/policy";
import * as YAML from "yaml";
import { buildspecOptions } from "../../components/buildspec";
import { buildspec } from "../../components/buildspec/render";
import { resolveArgs } from "../../components/resolveArgs";
import { parseArgs, report, synth } from "../../scripts/synth";
import { ACCOUNT } from "../../scripts/mockRuntime";

describe("npm run synth (scripts/synth.ts)", () => {
    let out: string;
    beforeEach(() => {
        out = fs.mkdtempSync(path.join(os.tmpdir(), "synth-"));
    });
    afterEach(() => fs.rmSync(out, { recursive: true, force: true }));

    it("stack dev: every resource as JSON, the readable documents, and no policy violation", async () => {
        const r = await synth({ stack: "dev", out });
        assert.deepEqual(r.violations, []);
        assert.equal(fs.readFileSync(path.join(out, "policy-violations.txt"), "utf8"), "none\n");
        const resources = fs.readdirSync(path.join(out, "resources"));
        assert.equal(resources.length, r.resources);
        assert.ok(resources.includes("docker-cache-repo.Repository.json"));
        const project = JSON.parse(
            fs.readFileSync(path.join(out, "resources", "docker-cache-project.Project.json"), "utf8"),
        );
        assert.equal(project.type, "aws:codebuild/project:Project");
        assert.equal(project.inputs.name, "docker-cache-dev");
        // The readable buildspec is the S3 object the project names, and the one the component renders for dev.
        const text = fs.readFileSync(path.join(out, "buildspec.yaml"), "utf8");
        assert.match(
            project.inputs.source.buildspec,
            /^arn:aws:s3:::docker-cache-dev-buildspec-123456789012-eu-west-1\/buildspec\/[0-9a-f]{64}\.yml$/,
        );
        const object = JSON.parse(
            fs.readFileSync(path.join(out, "resources", "docker-cache-buildspec.BucketObjectv2.json"), "utf8"),
        );
        assert.equal(project.inputs.source.buildspec, `arn:aws:s3:::${object.inputs.bucket}/${object.inputs.key}`);
        assert.equal(text, object.inputs.content);
        const a = resolveArgs("docker-cache", "dev", { cacheStrategy: "inline", logRetentionDays: 7 });
        const repoUrl = `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/docker-cache-dev`;
        assert.deepEqual(YAML.parse(text), buildspec(buildspecOptions(a, repoUrl, "eu-west-1")));
        const trust = JSON.parse(fs.readFileSync(path.join(out, "iam", "docker-cache-role.trust.json"), "utf8"));
        assert.equal(trust.Statement[0].Principal.Service, "codebuild.amazonaws.com");
        const policy = JSON.parse(fs.readFileSync(path.join(out, "iam", "docker-cache-policy.json"), "utf8"));
        assert.ok(Array.isArray(policy.Statement) && policy.Statement.length > 0);
        const lifecycle = JSON.parse(fs.readFileSync(path.join(out, "lifecycle-policy.json"), "utf8"));
        assert.ok(lifecycle.rules.length >= 3);
        const dashboard = JSON.parse(fs.readFileSync(path.join(out, "dashboard.json"), "utf8"));
        assert.ok(dashboard.widgets.length >= 5);
        const alarms = fs.readFileSync(path.join(out, "alarms.md"), "utf8");
        assert.match(
            alarms,
            /\| docker-cache-dev-low-hit-ratio \| EcrLayerCache CacheHitRatio \(Project=docker-cache-dev\) \|/,
        );
        assert.match(fs.readFileSync(path.join(out, "README.md"), "utf8"), /placeholders/);
    });

    it("is deterministic: two runs write the same files", async () => {
        await synth({ stack: "prod", out });
        const second = fs.mkdtempSync(path.join(os.tmpdir(), "synth-"));
        try {
            await synth({ stack: "prod", out: second });
            const read = (dir: string) =>
                fs
                    .readdirSync(dir, { recursive: true })
                    .map(String)
                    .sort()
                    .map((f) => [
                        f,
                        fs.statSync(path.join(dir, f)).isFile() ? fs.readFileSync(path.join(dir, f), "utf8") : "",
                    ]);
            assert.deepEqual(read(out), read(second));
        } finally {
            fs.rmSync(second, { recursive: true, force: true });
        }
    });

    it("writes a secret input as [secret], never its value", async () => {
        await synth({
            stack: "dev",
            out,
            overrides: { githubToken: "ghp_supersecret123" },
            secretKeys: ["githubToken"],
        });
        const all = fs
            .readdirSync(out, { recursive: true })
            .map(String)
            .filter((f) => fs.statSync(path.join(out, f)).isFile())
            .map((f) => fs.readFileSync(path.join(out, f), "utf8"))
            .join("\n");
        assert.ok(!all.includes("ghp_supersecret123"));
        const tokenValue = JSON.parse(
            fs.readFileSync(path.join(out, "resources", "docker-cache-github-token-value.SecretVersion.json"), "utf8"),
        );
        assert.equal(tokenValue.inputs.secretString, "[secret]");
    });

    it("monitoring off: no dashboard or alarm file", async () => {
        const r = await synth({ stack: "dev", out, overrides: { monitoring: false } });
        assert.deepEqual(r.violations, []);
        assert.ok(!fs.existsSync(path.join(out, "dashboard.json")));
        assert.ok(!fs.existsSync(path.join(out, "alarms.md")));
    });

    it("writes every violation a policy reports, with the resource's URN", async () => {
        const always: ResourceValidationPolicy = {
            name: "test-always",
            description: "reports every log group",
            enforcementLevel: "mandatory",
            validateResource: (args, report) => {
                if (args.type !== "aws:cloudwatch/logGroup:LogGroup") {
                    args.notApplicable();
                }
                report(`log group ${String(args.props.name)}`);
            },
        };
        const r = await synth({ stack: "dev", out, policies: [always] });
        assert.deepEqual(
            r.violations.map((v) => [v.policy, v.message]),
            [["test-always", "log group /aws/codebuild/docker-cache-dev"]],
        );
        assert.match(
            fs.readFileSync(path.join(out, "policy-violations.txt"), "utf8"),
            /^test-always: log group \/aws\/codebuild\/docker-cache-dev \(urn:pulumi:dev::ecr-layer-cache::.*docker-cache-logs\)\n$/,
        );
    });

    describe("the summary (scripts/synthSummary.ts), computed from the synthesized resources", () => {
        const ecrActions =
            "ecr: BatchCheckLayerAvailability, GetDownloadUrlForLayer, BatchGetImage, InitiateLayerUpload, UploadLayerPart, CompleteLayerUpload, PutImage";
        const logs = (p: string) =>
            `logs: CreateLogStream, PutLogEvents on log-group:/aws/codebuild/${p}, log-group:/aws/codebuild/${p}:log-stream:*`;
        /** The build role's read of its buildspec object: bucket and key as the synthesized object holds them. */
        const readBuildspec = () => {
            const o = JSON.parse(
                fs.readFileSync(path.join(out, "resources", "docker-cache-buildspec.BucketObjectv2.json"), "utf8"),
            );
            return `s3: GetObject on ${o.inputs.bucket}/${o.inputs.key} when s3:ResourceAccount is ${ACCOUNT}`;
        };
        const assumedByCodeBuild = (p: string) =>
            `  assumed by codebuild.amazonaws.com when aws:SourceAccount is ${ACCOUNT} and aws:SourceArn is like project/${p}`;

        it("stack dev: the resource types with counts, a start by hand only, the build role's permissions", async () => {
            const r = await synth({ stack: "dev", out });
            assert.equal(
                r.summary,
                [
                    "stack dev would deploy 24 resources:",
                    "  7  aws.cloudwatch.LogMetricFilter",
                    "  2  aws.cloudwatch.MetricAlarm",
                    "  1  aws.cloudwatch.Dashboard",
                    "  1  aws.cloudwatch.LogGroup",
                    "  1  aws.codebuild.Project",
                    "  1  aws.ecr.LifecyclePolicy",
                    "  1  aws.ecr.Repository",
                    "  1  aws.iam.Policy",
                    "  1  aws.iam.Role",
                    "  1  aws.iam.RolePolicyAttachment",
                    "  1  aws.s3.Bucket",
                    "  1  aws.s3.BucketObjectv2",
                    "  1  aws.s3.BucketPolicy",
                    "  1  aws.s3.BucketPublicAccessBlock",
                    "  1  aws.s3.BucketServerSideEncryptionConfiguration",
                    "  1  aws.sns.Topic",
                    "  1  ecr-layer-cache:index:CachedDockerBuild (component: nothing in AWS)",
                    "",
                    "project docker-cache-dev:",
                    "  by hand: aws codebuild start-build --project-name docker-cache-dev builds master of https://github.com/aws/aws-codebuild-docker-images.git",
                    "  trusted: only builds of refs/heads/master push the image and write the cache (the buildspec's TRUSTED_REFS)",
                    "",
                    "role docker-cache-dev-role, used by project docker-cache-dev (service role):",
                    assumedByCodeBuild("docker-cache-dev"),
                    "  may (policy docker-cache-dev-policy):",
                    "    ecr: GetAuthorizationToken on *",
                    `    ${ecrActions} on repository/docker-cache-dev`,
                    `    ${logs("docker-cache-dev")}`,
                    `    ${readBuildspec()}`,
                    "",
                ].join("\n"),
            );
            assert.equal(fs.readFileSync(path.join(out, "summary.txt"), "utf8"), r.summary);
            // What the command prints: the summary, where the files are, the policy pack's verdict.
            assert.equal(
                report(r, "synth/dev"),
                [
                    r.summary,
                    "files in synth/dev/: README.md, alarms.md, buildspec.yaml, dashboard.json, iam/docker-cache-policy.json, iam/docker-cache-role.trust.json, lifecycle-policy.json, policy-violations.txt, summary.txt; resources/ (24 files, one per resource, with its inputs)",
                    "policy pack: no violations",
                    "",
                ].join("\n"),
            );
        });

        it("stack github: the webhook's pushes, pull requests and fork approval, the schedule, and both roles", async () => {
            const r = await synth({ stack: "github", out });
            const connection = `connection/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b`;
            assert.equal(
                r.summary,
                [
                    "stack github would deploy 30 resources:",
                    "  7  aws.cloudwatch.LogMetricFilter",
                    "  2  aws.cloudwatch.MetricAlarm",
                    "  2  aws.iam.Role",
                    "  1  aws.cloudwatch.Dashboard",
                    "  1  aws.cloudwatch.LogGroup",
                    "  1  aws.codebuild.Project",
                    "  1  aws.codebuild.Webhook",
                    "  1  aws.codeconnections.Connection",
                    "  1  aws.ecr.LifecyclePolicy",
                    "  1  aws.ecr.Repository",
                    "  1  aws.iam.Policy",
                    "  1  aws.iam.RolePolicy",
                    "  1  aws.iam.RolePolicyAttachment",
                    "  1  aws.s3.Bucket",
                    "  1  aws.s3.BucketObjectv2",
                    "  1  aws.s3.BucketPolicy",
                    "  1  aws.s3.BucketPublicAccessBlock",
                    "  1  aws.s3.BucketServerSideEncryptionConfiguration",
                    "  1  aws.scheduler.Schedule",
                    "  1  aws.scheduler.ScheduleGroup",
                    "  1  aws.sns.Topic",
                    "  1  ecr-layer-cache:index:CachedDockerBuild (component: nothing in AWS)",
                    "read on every run, not deployed: aws.codeconnections.Connection docker-cache-connection-status",
                    "",
                    "project docker-cache-github:",
                    "  webhook: builds pushes to refs/heads/main changing files under docker/",
                    "  webhook: builds pull requests (created, updated, reopened) changing files under docker/",
                    "  webhook: pull requests from forks wait for an approving comment by GITHUB_WRITE, GITHUB_MAINTAIN or GITHUB_ADMIN",
                    "  schedule: builds at cron(0 4 ? * MON *) (Europe/Berlin)",
                    "  by hand: aws codebuild start-build --project-name docker-cache-github builds main of https://github.com/my-org/my-app.git",
                    "  trusted: only builds of refs/heads/main push the image and write the cache (the buildspec's TRUSTED_REFS)",
                    "",
                    "role docker-cache-github-cron, used by schedule docker-cache-github:",
                    `  assumed by scheduler.amazonaws.com when aws:SourceAccount is ${ACCOUNT} and aws:SourceArn is schedule-group/docker-cache-github`,
                    "  may (inline policy start-this-project):",
                    "    codebuild: StartBuild on project/docker-cache-github",
                    "",
                    "role docker-cache-github-role, used by project docker-cache-github (service role):",
                    assumedByCodeBuild("docker-cache-github"),
                    "  may (policy docker-cache-github-policy):",
                    "    ecr: GetAuthorizationToken on *",
                    `    ${ecrActions} on repository/docker-cache-github`,
                    `    ${logs("docker-cache-github")}`,
                    `    codeconnections: GetConnectionToken, GetConnection, UseConnection on ${connection}`,
                    `    ${readBuildspec()}`,
                    "",
                ].join("\n"),
            );
            // The inline policy is written beside the others.
            const inline = JSON.parse(
                fs.readFileSync(path.join(out, "iam", "docker-cache-schedule-policy.json"), "utf8"),
            );
            assert.deepEqual(inline.Statement[0].Action, ["codebuild:StartBuild"]);
        });

        it("stack prod: what is protected and retained, and the pull-through permission", async () => {
            const r = await synth({ stack: "prod", out });
            const lines = r.summary.split("\n");
            assert.ok(lines.includes("protected (pulumi destroy refuses until unprotected): 24 of 26"), r.summary);
            assert.ok(
                lines.includes(
                    "kept in AWS when deleted from the stack (retainOnDelete): docker-cache-logs, docker-cache-repo",
                ),
                r.summary,
            );
            assert.ok(
                lines.includes(
                    "    ecr: BatchCheckLayerAvailability, GetDownloadUrlForLayer, BatchGetImage, BatchImportUpstreamImage, CreateRepository on repository/ecr-public/*",
                ),
                r.summary,
            );
            assert.ok(lines.includes("  1  aws.ecr.PullThroughCacheRule"), r.summary);
        });

        it("follows the config: tags, approval of every pull request, no monitoring, no schedule", async () => {
            const r = await synth({
                stack: "github",
                out,
                overrides: {
                    webhookTags: ["v[0-9]+\\..*"],
                    webhookFilePaths: [],
                    pullRequestCommentApproval: "ALL_PULL_REQUESTS",
                    pullRequestApproverRoles: ["GITHUB_ADMIN"],
                    scheduleExpression: "",
                    scheduleTimezone: "",
                    monitoring: false,
                },
            });
            const project = r.summary.slice(r.summary.indexOf("project "), r.summary.indexOf("\nrole "));
            assert.equal(
                project,
                [
                    "project docker-cache-github:",
                    "  webhook: builds pushes to refs/heads/main",
                    "  webhook: builds pushes of tags matching v[0-9]+\\..*",
                    "  webhook: builds pull requests (created, updated, reopened)",
                    "  webhook: every pull request waits for an approving comment by GITHUB_ADMIN",
                    "  by hand: aws codebuild start-build --project-name docker-cache-github builds main of https://github.com/my-org/my-app.git",
                    "  trusted: only builds of refs/heads/main push the image and write the cache (the buildspec's TRUSTED_REFS)",
                    "",
                ].join("\n"),
            );
            // Without monitoring and schedule, 15 fewer resources: filters, alarms, dashboard, topic, schedule, its group, role and policy.
            assert.equal(
                r.summary.split("\n\n")[0],
                [
                    "stack github would deploy 15 resources:",
                    "  1  aws.cloudwatch.LogGroup",
                    "  1  aws.codebuild.Project",
                    "  1  aws.codebuild.Webhook",
                    "  1  aws.codeconnections.Connection",
                    "  1  aws.ecr.LifecyclePolicy",
                    "  1  aws.ecr.Repository",
                    "  1  aws.iam.Policy",
                    "  1  aws.iam.Role",
                    "  1  aws.iam.RolePolicyAttachment",
                    "  1  aws.s3.Bucket",
                    "  1  aws.s3.BucketObjectv2",
                    "  1  aws.s3.BucketPolicy",
                    "  1  aws.s3.BucketPublicAccessBlock",
                    "  1  aws.s3.BucketServerSideEncryptionConfiguration",
                    "  1  ecr-layer-cache:index:CachedDockerBuild (component: nothing in AWS)",
                    "read on every run, not deployed: aws.codeconnections.Connection docker-cache-connection-status",
                ].join("\n"),
            );
            assert.ok(!r.summary.includes("role docker-cache-github-cron"), r.summary);
        });

        it("a stack with two images: one buildspec, dashboard and lifecycle file each, and each project's triggers and role", async () => {
            const r = await synth({ stack: "multi", out });
            for (const f of [
                "buildspec.docker-cache-al2023-project.yaml",
                "buildspec.docker-cache-ubuntu-project.yaml",
                "dashboard.docker-cache-al2023-dashboard.json",
                "lifecycle-policy.docker-cache-ubuntu-lifecycle.json",
            ]) {
                assert.ok(r.files.includes(f), f);
            }
            assert.ok(!r.files.includes("buildspec.yaml"));
            assert.deepEqual(
                r.summary.split("\n").filter((l) => /^(project|role) /.test(l)),
                [
                    "project docker-cache-al2023-multi:",
                    "project docker-cache-ubuntu-multi:",
                    "role docker-cache-al2023-multi-role, used by project docker-cache-al2023-multi (service role):",
                    "role docker-cache-ubuntu-multi-role, used by project docker-cache-ubuntu-multi (service role):",
                ],
            );
        });
    });

    it("arguments: --stack is required and must name a stack file; unknown flags are refused", () => {
        assert.throws(() => parseArgs([]), /--stack is required/);
        assert.throws(
            () => parseArgs(["--stack", "nope"]),
            /No stack "nope": no Pulumi.nope.yaml. Stacks here: dev, github, multi, multiarch, prod/,
        );
        assert.throws(() => parseArgs(["--stack", "dev", "--diff"]), /Unknown argument "--diff"/);
        assert.throws(() => parseArgs(["--stack"]), /--stack needs a value/);
        const o = parseArgs(["--stack", "dev", "--out", "/tmp/x"]);
        assert.deepEqual(o, { stack: "dev", out: "/tmp/x" });
    });
});
