/**
 * Issue 9 (the Pulumi side): sources and sign-in, webhook triggers, scheduled builds.
 *
 * Pure (no mocks): `webhookFilterGroups`, the validation of the new arguments (exact messages), the scheduler's
 * IAM documents. Under the mock runtime (`scripts/mockRuntime.ts`; AWS and the engine are mocked, the program is
 * real): the `github` stack (`Pulumi.github.yaml`, "my own GitHub repository, build on push, check pull
 * requests"), every new resource and its wiring, and the role's least privilege with exact actions and resources.
 */
import { strict as assert } from "node:assert";
import { CachedDockerBuildArgs, ConfigError, resolveArgs } from "../../components";
import { scheduleExpressionProblem, schedulerPolicy, schedulerTrustPolicy } from "../../components/schedule";
import { connectionNotReadyMessage, sourceAuthStatements } from "../../components/source";
import { ResolvedWebhook, webhookFilterGroups } from "../../components/triggers";
import {
    ACCOUNT,
    findResource,
    findResources,
    isSecret,
    registrations,
    runProgram,
    valueOf,
} from "../../scripts/mockRuntime";
import { withWarnings } from "../helpers/warnings";

const OWN = { sourceUrl: "https://github.com/my-org/my-app.git", sourceVersion: "main" } as const;
const CONNECTION_ARN = `arn:aws:codeconnections:eu-west-1:${ACCOUNT}:connection/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b`;

function problemsOf(args: CachedDockerBuildArgs): { key: string; value: unknown; message: string }[] {
    try {
        resolveArgs("docker-cache", "dev", args);
        return [];
    } catch (e) {
        assert.ok(e instanceof ConfigError, String(e));
        return e.problems.map((p) => ({ key: p.key, value: p.value, message: p.allowed }));
    }
}

const WEBHOOK_OFF: ResolvedWebhook = {
    enabled: false,
    pushes: false,
    pullRequests: false,
    tags: [],
    filePaths: [],
    manualCreation: false,
    commentApproval: "FORK_PULL_REQUESTS",
    approverRoles: [],
};

describe("the Docker server and pull-request triggers (pull requests build in the -pr project, which has none)", () => {
    const own = { ...OWN, connectionArn: CONNECTION_ARN } as const;
    it("takes dockerServerComputeType with pull-request triggers, with pushes only, and with no webhook", () => {
        for (const triggers of [
            { webhookPullRequests: true },
            { webhookPushes: true },
            { webhookPushes: true, webhookPullRequests: true },
        ]) {
            assert.deepEqual(problemsOf({ ...own, ...triggers, dockerServerComputeType: "BUILD_GENERAL1_SMALL" }), []);
        }
        assert.deepEqual(problemsOf({ dockerServerComputeType: "BUILD_GENERAL1_LARGE" }), []);
    });
});

describe("webhookFilterGroups (pure)", () => {
    it("no trigger, no group", () => {
        assert.deepEqual(webhookFilterGroups(WEBHOOK_OFF, ["main"]), []);
    });

    it("pushes: PUSH of exactly the trusted refs, a bare name being a branch and a tag only as refs/tags/…", () => {
        const groups = webhookFilterGroups({ ...WEBHOOK_OFF, enabled: true, pushes: true }, [
            "main",
            "release/1.x",
            "refs/tags/v1.0",
        ]);
        assert.deepEqual(groups, [
            {
                filters: [
                    { type: "EVENT", pattern: "PUSH" },
                    {
                        type: "HEAD_REF",
                        pattern: "^(?:refs\\/heads\\/main|refs\\/heads\\/release\\/1\\.x|refs\\/tags\\/v1\\.0)$",
                    },
                ],
            },
        ]);
        const re = new RegExp(groups[0].filters[1].pattern);
        assert.ok(re.test("refs/heads/main") && re.test("refs/tags/v1.0"));
        for (const other of ["refs/tags/main", "refs/heads/mainline", "refs/heads/release/1yx", "main"]) {
            assert.ok(!re.test(other), other);
        }
    });

    it("pull requests: created, updated, reopened, whatever their refs; tags and file paths add their filters", () => {
        const groups = webhookFilterGroups(
            {
                ...WEBHOOK_OFF,
                enabled: true,
                pullRequests: true,
                tags: ["v[0-9]+\\..*"],
                filePaths: ["docker/", "a.b"],
            },
            ["main"],
        );
        const paths = { type: "FILE_PATH", pattern: "^(?:docker\\/|a\\.b)" };
        assert.deepEqual(groups, [
            {
                filters: [
                    { type: "EVENT", pattern: "PUSH" },
                    { type: "HEAD_REF", pattern: "^refs/tags/(?:v[0-9]+\\..*)$" },
                    paths,
                ],
            },
            {
                filters: [
                    { type: "EVENT", pattern: "PULL_REQUEST_CREATED, PULL_REQUEST_UPDATED, PULL_REQUEST_REOPENED" },
                    paths,
                ],
            },
        ]);
    });
});

describe("sources, triggers and schedules: validation (exact problems)", () => {
    it("accepts GitHub, GitLab and Bitbucket URLs, the provider following the URL", () => {
        for (const [url, provider] of [
            ["https://github.com/o/r.git", "github"],
            ["https://gitlab.com/group/sub/project", "gitlab"],
            ["https://bitbucket.org/ws/repo.git", "bitbucket"],
        ] as const) {
            assert.equal(resolveArgs("c", "dev", { sourceUrl: url }).sourceProvider, provider);
        }
    });

    it("refuses a URL that isn't the provider's", () => {
        assert.deepEqual(problemsOf({ sourceUrl: "https://gitlab.com/g/p", sourceProvider: "github" }), [
            {
                key: "sourceUrl",
                value: "https://gitlab.com/g/p",
                message:
                    "Allowed: an HTTPS repository URL of the source provider (github): https://github.com/<owner>/<repo>[.git].",
            },
        ]);
    });

    it("refuses a webhook on the default public source, naming the key", () => {
        assert.deepEqual(problemsOf({ webhookPushes: true }), [
            {
                key: "webhookPushes",
                value: true,
                message:
                    "Allowed: off with the default source, AWS's public aws-codebuild-docker-images repository, which can't take your webhook. Set sourceUrl to your own repository and sign in with connectionArn, createConnection or githubToken.",
            },
        ]);
    });

    it("refuses every trigger that is on, each under its own key, when they share one reason (issue 26)", () => {
        const defaultSource =
            "Allowed: off with the default source, AWS's public aws-codebuild-docker-images repository, which can't take your webhook. Set sourceUrl to your own repository and sign in with connectionArn, createConnection or githubToken.";
        assert.deepEqual(problemsOf({ webhookPushes: true, webhookPullRequests: true, webhookTags: ["v.*"] }), [
            { key: "webhookPushes", value: true, message: defaultSource },
            { key: "webhookPullRequests", value: true, message: defaultSource },
            { key: "webhookTags", value: ["v.*"], message: defaultSource },
        ]);
        const noSignIn =
            "Allowed only with a sign-in to the source (connectionArn, createConnection or githubToken): CodeBuild needs it to create the webhook.";
        assert.deepEqual(problemsOf({ ...OWN, webhookPushes: true, webhookTags: ["v.*"] }), [
            { key: "webhookPushes", value: true, message: noSignIn },
            { key: "webhookTags", value: ["v.*"], message: noSignIn },
        ]);
    });

    it("refuses a webhook without a sign-in, and approval settings without pull requests", () => {
        assert.deepEqual(problemsOf({ ...OWN, webhookPullRequests: true }), [
            {
                key: "webhookPullRequests",
                value: true,
                message:
                    "Allowed only with a sign-in to the source (connectionArn, createConnection or githubToken): CodeBuild needs it to create the webhook.",
            },
        ]);
        assert.deepEqual(
            problemsOf({ ...OWN, createConnection: true, pullRequestCommentApproval: "ALL_PULL_REQUESTS" }).map(
                (p) => p.key,
            ),
            ["pullRequestCommentApproval"],
        );
    });

    it("refuses approver roles of another provider, and file paths without a trigger", () => {
        assert.deepEqual(
            problemsOf({
                ...OWN,
                createConnection: true,
                webhookPullRequests: true,
                pullRequestApproverRoles: ["GITLAB_OWNER"],
            }),
            [
                {
                    key: "pullRequestApproverRoles",
                    value: "GITLAB_OWNER",
                    message:
                        "Allowed: roles of the source's provider (github), each once: GITHUB_READ, GITHUB_TRIAGE, GITHUB_WRITE, GITHUB_MAINTAIN, GITHUB_ADMIN.",
                },
            ],
        );
        assert.deepEqual(problemsOf({ ...OWN, webhookFilePaths: ["docker/"] }), [
            {
                key: "webhookFilePaths",
                value: ["docker/"],
                message: "Allowed only with a webhook trigger (webhookPushes, webhookPullRequests or webhookTags).",
            },
        ]);
    });

    it("refuses two sign-ins, a token for GitLab, a bad ARN and a connection name over 32 characters", () => {
        assert.deepEqual(
            problemsOf({ ...OWN, connectionArn: CONNECTION_ARN, createConnection: true }).map((p) => p.key),
            ["createConnection"],
        );
        assert.deepEqual(problemsOf({ sourceUrl: "https://gitlab.com/g/p", githubToken: "t" }), [
            {
                key: "githubToken",
                value: problemsOf({ sourceUrl: "https://gitlab.com/g/p", githubToken: "t" })[0].value,
                message:
                    "Allowed only with a GitHub source (got sourceProvider gitlab); sign in to gitlab with a connection.",
            },
        ]);
        assert.equal(typeof problemsOf({ sourceUrl: "https://gitlab.com/g/p", githubToken: "t" })[0].value, "symbol");
        assert.deepEqual(
            problemsOf({ ...OWN, connectionArn: "arn:aws:s3:::bucket" }).map((p) => p.key),
            ["connectionArn"],
        );
        assert.deepEqual(
            problemsOf({ ...OWN, projectName: "p".repeat(33), createConnection: true }).map((p) => p.key),
            ["connectionName"],
        );
    });

    it("schedule expressions: rate and cron only, with AWS's rules; a time zone only with a schedule", () => {
        for (const ok of ["rate(1 day)", "rate(6 hours)", "cron(0 4 ? * MON *)", "cron(15 3 1 * ? *)"]) {
            assert.equal(scheduleExpressionProblem(ok), undefined, ok);
        }
        for (const bad of [
            "rate(1 days)",
            "rate(2 hour)",
            "rate(0 days)",
            "cron(0 4 * * MON *)",
            "cron(0 4 * *)",
            "at(2030-01-01T00:00:00)",
            "daily",
        ]) {
            assert.notEqual(scheduleExpressionProblem(bad), undefined, bad);
        }
        assert.deepEqual(
            problemsOf({ scheduleTimezone: "Europe/Berlin" }).map((p) => p.key),
            ["scheduleTimezone"],
        );
        assert.deepEqual(
            problemsOf({ scheduleExpression: "rate(1 day)", scheduleTimezone: "Mars/Olympus" }).map((p) => p.key),
            ["scheduleTimezone"],
        );
    });

    it("exposes whether pull-request triggers are on (webhook.pullRequests), for options that can't combine with them", () => {
        const a = resolveArgs("c", "dev", { ...OWN, createConnection: true, webhookPullRequests: true });
        assert.equal(a.webhook.pullRequests, true);
        assert.equal(a.webhook.enabled, true);
        assert.deepEqual(a.webhook.approverRoles, ["GITHUB_WRITE", "GITHUB_MAINTAIN", "GITHUB_ADMIN"]);
        assert.equal(resolveArgs("c", "dev", {}).webhook.pullRequests, false);
    });
});

describe("IAM documents of the sign-in and the schedule (pure)", () => {
    it("a connection: GetConnectionToken, GetConnection and UseConnection on it only, with the prefix of its ARN's service", () => {
        assert.deepEqual(sourceAuthStatements({ connectionArn: CONNECTION_ARN }), [
            {
                Sid: "UseThisSourceConnectionOnly",
                Effect: "Allow",
                Action: [
                    "codeconnections:GetConnectionToken",
                    "codeconnections:GetConnection",
                    "codeconnections:UseConnection",
                ],
                Resource: [CONNECTION_ARN],
            },
        ]);
        const legacy = CONNECTION_ARN.replace("codeconnections", "codestar-connections");
        assert.deepEqual(sourceAuthStatements({ connectionArn: legacy })[0].Action, [
            "codestar-connections:GetConnectionToken",
            "codestar-connections:GetConnection",
            "codestar-connections:UseConnection",
        ]);
        assert.deepEqual(sourceAuthStatements({}), []);
    });

    it("the schedule's role: only Scheduler, for this account's group, may assume it; it may only start the project", () => {
        const group = `arn:aws:scheduler:eu-west-1:${ACCOUNT}:schedule-group/p`;
        assert.deepEqual(schedulerTrustPolicy(ACCOUNT, group).Statement, [
            {
                Sid: "SchedulerAssumesRoleForThisScheduleGroupOnly",
                Effect: "Allow",
                Principal: { Service: "scheduler.amazonaws.com" },
                Action: "sts:AssumeRole",
                Condition: { StringEquals: { "aws:SourceAccount": ACCOUNT }, ArnEquals: { "aws:SourceArn": group } },
            },
        ]);
        const project = `arn:aws:codebuild:eu-west-1:${ACCOUNT}:project/p`;
        assert.deepEqual(schedulerPolicy(project).Statement, [
            { Sid: "StartThisProjectOnly", Effect: "Allow", Action: ["codebuild:StartBuild"], Resource: [project] },
        ]);
    });
});

describe("program under mocks: stack github (my own GitHub repository, build on push, check pull requests)", () => {
    const name = "docker-cache-github";
    const projectArn = `arn:aws:codebuild:eu-west-1:${ACCOUNT}:project/${name}`;
    let outputs: Awaited<ReturnType<typeof runProgram>>;

    before(async () => {
        outputs = await runProgram("github");
    });

    it("creates a connection, attached as this project's own source auth; no SourceCredential, no secret", () => {
        const connection = findResource("aws:codeconnections/connection:Connection", "docker-cache-connection");
        assert.equal(connection.inputs.name, name);
        assert.equal(connection.inputs.providerType, "GitHub");
        // Both projects: the main one and the read-only one that pull requests build in (issue 22).
        for (const project of [
            findResource("aws:codebuild/project:Project", "docker-cache-project"),
            findResource("aws:codebuild/project:Project", "docker-cache-pr-project"),
        ]) {
            assert.equal(project.inputs.source.type, "GITHUB");
            assert.equal(project.inputs.source.location, "https://github.com/my-org/my-app.git");
            assert.deepEqual(project.inputs.source.auth, { type: "CODECONNECTIONS", resource: CONNECTION_ARN });
        }
        assert.deepEqual(
            registrations.filter((r) => /sourceCredential|secretsmanager/.test(r.type)).map((r) => r.type),
            [],
        );
    });

    for (const [which, policyName] of [
        ["the build role", "docker-cache-policy"],
        ["the pull-request role", "docker-cache-pr-policy"],
    ])
        it(`${which} may use that connection only, and nothing else beyond the build's own grants`, () => {
            const policy = JSON.parse(findResource("aws:iam/policy:Policy", policyName).inputs.policy);
            const sourceStatements = policy.Statement.filter((s: { Sid: string }) => /Source/.test(s.Sid));
            assert.deepEqual(sourceStatements, sourceAuthStatements({ connectionArn: CONNECTION_ARN }));
            const actions = policy.Statement.flatMap((s: { Action: string[] }) => s.Action).filter((a: string) =>
                /^(codeconnections|codestar-connections|secretsmanager):/.test(a),
            );
            assert.deepEqual(actions, [
                "codeconnections:GetConnectionToken",
                "codeconnections:GetConnection",
                "codeconnections:UseConnection",
            ]);
        });

    it("the project waits for the role's policy (CodeBuild checks the connection's actions at CreateProject), and the webhook for the project", () => {
        // Mocked engine: the dependencies are the ones the SDK sends with each registration (scripts/mockRuntime.ts).
        for (const [child, project] of [
            ["docker-cache", name],
            ["docker-cache-pr", `${name}-pr`],
        ]) {
            const attachment = findResource(
                "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                `${child}-policy-attachment`,
            );
            const p = findResource("aws:codebuild/project:Project", `${child}-project`);
            assert.ok(p.dependencies.includes(attachment.urn), JSON.stringify(p.dependencies));
            const webhook = findResource("aws:codebuild/webhook:Webhook", `${child}-webhook`);
            assert.ok(webhook.dependencies.includes(p.urn), JSON.stringify(webhook.dependencies));
            // The attached policy is the one that grants UseConnection on the connection.
            assert.equal(attachment.inputs.policyArn, `arn:aws:iam::${ACCOUNT}:policy/${project}-policy`);
        }
    });

    // Issue 22: the one webhook of pushes and pull requests became two, the pull requests' group and approval moving
    // to the read-only pull-request project's webhook; together they take exactly the events the one took.
    it("a webhook on pushes to main (this project) and one on pull requests (the -pr project), only for changes under docker/, fork PRs held for approval", () => {
        const webhook = findResource("aws:codebuild/webhook:Webhook", "docker-cache-webhook");
        assert.equal(webhook.inputs.projectName, name);
        assert.equal(webhook.inputs.buildType, "BUILD");
        assert.equal(webhook.inputs.manualCreation, false);
        const paths = { type: "FILE_PATH", pattern: "^(?:docker\\/)" };
        assert.deepEqual(webhook.inputs.filterGroups, [
            {
                filters: [
                    { type: "EVENT", pattern: "PUSH" },
                    { type: "HEAD_REF", pattern: "^(?:refs\\/heads\\/main)$" },
                    paths,
                ],
            },
        ]);
        assert.equal(webhook.inputs.pullRequestBuildPolicy, undefined);
        const prs = findResource("aws:codebuild/webhook:Webhook", "docker-cache-pr-webhook");
        assert.equal(prs.inputs.projectName, `${name}-pr`);
        assert.equal(prs.inputs.buildType, "BUILD");
        assert.equal(prs.inputs.manualCreation, false);
        assert.deepEqual(prs.inputs.filterGroups, [
            {
                filters: [
                    { type: "EVENT", pattern: "PULL_REQUEST_CREATED, PULL_REQUEST_UPDATED, PULL_REQUEST_REOPENED" },
                    paths,
                ],
            },
        ]);
        assert.deepEqual(prs.inputs.pullRequestBuildPolicy, {
            requiresCommentApproval: "FORK_PULL_REQUESTS",
            approverRoles: ["GITHUB_WRITE", "GITHUB_MAINTAIN", "GITHUB_ADMIN"],
        });
    });

    it("a weekly schedule starts this project through the universal target, with a role scoped to it", () => {
        const group = findResource("aws:scheduler/scheduleGroup:ScheduleGroup");
        assert.equal(group.inputs.name, name);
        const schedule = findResource("aws:scheduler/schedule:Schedule");
        assert.equal(schedule.inputs.name, name);
        assert.equal(schedule.inputs.groupName, name);
        assert.equal(schedule.inputs.scheduleExpression, "cron(0 4 ? * MON *)");
        assert.equal(schedule.inputs.scheduleExpressionTimezone, "Europe/Berlin");
        assert.deepEqual(schedule.inputs.flexibleTimeWindow, { mode: "OFF" });
        assert.equal(schedule.inputs.target.arn, "arn:aws:scheduler:::aws-sdk:codebuild:startBuild");
        assert.deepEqual(JSON.parse(schedule.inputs.target.input), { ProjectName: name });
        assert.equal(schedule.inputs.target.roleArn, `arn:aws:iam::${ACCOUNT}:role/${name}-cron`);

        const role = findResource("aws:iam/role:Role", "docker-cache-schedule-role");
        assert.deepEqual(
            JSON.parse(role.inputs.assumeRolePolicy),
            schedulerTrustPolicy(ACCOUNT, `arn:aws:scheduler:eu-west-1:${ACCOUNT}:schedule-group/${name}`),
        );
        const rolePolicy = findResource("aws:iam/rolePolicy:RolePolicy", "docker-cache-schedule-policy");
        assert.equal(rolePolicy.inputs.role, `${name}-cron`);
        assert.deepEqual(JSON.parse(rolePolicy.inputs.policy), schedulerPolicy(projectArn));
    });

    it("outputs the connection, its live status (AVAILABLE: the handshake is done, nothing left to do) and the schedule", async () => {
        assert.equal(await valueOf(outputs.connectionArn), CONNECTION_ARN);
        assert.equal(await valueOf(outputs.connectionStatus), "AVAILABLE");
        assert.equal(await valueOf(outputs.connectionHandshakeUrl), undefined);
        assert.equal(await valueOf(outputs.scheduleName), name);
        assert.equal(await valueOf(outputs.webhookPayloadUrl), undefined, "CodeBuild creates the hook itself");
        assert.equal(findResources("aws:codebuild/sourceCredential:SourceCredential").length, 0);
    });

    it("manual creation: the payload URL and the secret are outputs, the secret a Pulumi secret", async () => {
        const o = await runProgram("github", { webhookManualCreation: true });
        for (const hook of findResources("aws:codebuild/webhook:Webhook")) {
            assert.equal(hook.inputs.manualCreation, true, hook.name);
        }
        for (const [url, secret] of [
            [o.webhookPayloadUrl, o.webhookSecret],
            [o.pullRequestWebhookPayloadUrl, o.pullRequestWebhookSecret],
        ]) {
            assert.equal(await valueOf(url), "https://codebuild.eu-west-1.amazonaws.com/webhooks?t=mocked&v=1");
            assert.equal(await valueOf(secret), "mocked-webhook-secret");
            assert.equal(await isSecret(secret), true);
        }
    });

    it("two platforms built natively (a batch project): the webhook and the schedule start batches, and the schedule's role may only start batches", async () => {
        await runProgram("github", { platforms: ["linux/amd64", "linux/arm64"] });
        for (const hook of ["docker-cache-webhook", "docker-cache-pr-webhook"]) {
            assert.equal(findResource("aws:codebuild/webhook:Webhook", hook).inputs.buildType, "BUILD_BATCH");
        }
        const schedule = findResource("aws:scheduler/schedule:Schedule");
        assert.equal(schedule.inputs.target.arn, "arn:aws:scheduler:::aws-sdk:codebuild:startBuildBatch");
        const rolePolicy = findResource("aws:iam/rolePolicy:RolePolicy", "docker-cache-schedule-policy");
        assert.deepEqual(JSON.parse(rolePolicy.inputs.policy).Statement[0].Action, ["codebuild:StartBuildBatch"]);
    });

    it("one platform: the webhook builds (BUILD) and the schedule starts a build", async () => {
        await runProgram("github");
        for (const hook of ["docker-cache-webhook", "docker-cache-pr-webhook"]) {
            assert.equal(findResource("aws:codebuild/webhook:Webhook", hook).inputs.buildType, "BUILD");
        }
        assert.equal(
            findResource("aws:scheduler/schedule:Schedule").inputs.target.arn,
            "arn:aws:scheduler:::aws-sdk:codebuild:startBuild",
        );
    });
});

/**
 * Issue 20, item 3: a first `pulumi up` with a new connection succeeds. Under the mock runtime (scripts/mockRuntime.ts:
 * AWS and the engine are mocked, the program is real), the read of the connection's live status answers what each
 * test sets (`liveConnectionStatus`): PENDING is the first up of a new connection (or one whose handshake is still
 * to do), AVAILABLE the next up after the handshake. `pulumi.log.warn` is replaced to record what the up says.
 */
describe("program under mocks: the webhook waits for the connection (first up PENDING, next up AVAILABLE)", () => {
    const name = "docker-cache-github";
    const URL = "https://console.aws.amazon.com/codesuite/settings/connections?region=eu-west-1";

    async function up(
        status: "PENDING" | "AVAILABLE" | "ERROR",
        overrides: Record<string, unknown> = {},
    ): Promise<{ warned: string[]; outputs: Awaited<ReturnType<typeof runProgram>> }> {
        const { warned, result: outputs } = await withWarnings(() =>
            runProgram("github", overrides, [], { liveConnectionStatus: status }),
        );
        return { warned, outputs };
    }

    it("the status is read live, through the connection's own service, on every run (a read, never created)", async () => {
        await up("PENDING");
        const read = findResource("aws:codeconnections/connection:Connection", "docker-cache-connection-status");
        assert.equal(read.id, CONNECTION_ARN, "a read by the created connection's ARN");
        assert.equal(read.custom, true);
        const legacy = CONNECTION_ARN.replace("codeconnections", "codestar-connections");
        await up("AVAILABLE", { createConnection: false, connectionArn: legacy });
        assert.equal(findResources("aws:codeconnections/connection:Connection").length, 0);
        assert.equal(
            findResource("aws:codestarconnections/connection:Connection", "docker-cache-connection-status").id,
            legacy,
        );
    });

    it("PENDING (the first up): no webhook, the schedule disabled, everything else created, one warning with the handshake URL", async () => {
        const { warned, outputs } = await up("PENDING");
        assert.deepEqual(findResources("aws:codebuild/webhook:Webhook"), []);
        assert.equal(findResource("aws:scheduler/schedule:Schedule").inputs.state, "DISABLED");
        findResource("aws:codebuild/project:Project", "docker-cache-project");
        findResource("aws:codebuild/project:Project", "docker-cache-pr-project");
        findResource("aws:codeconnections/connection:Connection", "docker-cache-connection");
        assert.deepEqual(warned, [connectionNotReadyMessage("PENDING", CONNECTION_ARN, URL)]);
        assert.ok(warned[0].includes(URL) && warned[0].includes("pulumi up"), warned[0]);
        assert.equal(await valueOf(outputs.connectionStatus), "PENDING");
        assert.equal(await valueOf(outputs.connectionHandshakeUrl), URL);
        assert.equal(await valueOf(outputs.webhookPayloadUrl), undefined);
    });

    it("AVAILABLE (the next up, after the handshake): the webhook, the schedule enabled, no warning", async () => {
        const { warned, outputs } = await up("AVAILABLE");
        const webhook = findResource("aws:codebuild/webhook:Webhook", "docker-cache-webhook");
        assert.equal(webhook.inputs.projectName, name);
        assert.equal(webhook.parent, findResource("ecr-layer-cache:index:CachedDockerBuild").urn);
        assert.equal(
            findResource("aws:codebuild/webhook:Webhook", "docker-cache-pr-webhook").inputs.projectName,
            `${name}-pr`,
        );
        assert.equal(findResource("aws:scheduler/schedule:Schedule").inputs.state, "ENABLED");
        assert.deepEqual(warned, []);
        assert.equal(await valueOf(outputs.connectionHandshakeUrl), undefined);
    });

    it("ERROR: no webhook, the schedule disabled, a warning that names the status", async () => {
        const { warned } = await up("ERROR");
        assert.deepEqual(findResources("aws:codebuild/webhook:Webhook"), []);
        assert.equal(findResource("aws:scheduler/schedule:Schedule").inputs.state, "DISABLED");
        assert.deepEqual(warned, [connectionNotReadyMessage("ERROR", CONNECTION_ARN, URL)]);
        assert.match(warned[0], /is ERROR, so it can't be used until it is AVAILABLE/);
    });

    it("manual creation while PENDING: no payload URL or secret yet; once AVAILABLE, both, the secret still a secret", async () => {
        const pending = await up("PENDING", { webhookManualCreation: true });
        assert.equal(await valueOf(pending.outputs.webhookPayloadUrl), undefined);
        assert.equal(await valueOf(pending.outputs.webhookSecret), undefined);
        const available = await up("AVAILABLE", { webhookManualCreation: true });
        assert.equal(await valueOf(available.outputs.webhookSecret), "mocked-webhook-secret");
        assert.equal(await isSecret(available.outputs.webhookSecret), true);
    });

    it("a token sign-in has no connection to wait for: no read, the webhook at once, the schedule's state left to its default", async () => {
        const { warned } = await up("PENDING", {
            createConnection: false,
            githubToken: "ghp_triggersTestToken00000000000000000000",
        });
        assert.equal(findResources("aws:codeconnections/connection:Connection").length, 0);
        findResource("aws:codebuild/webhook:Webhook", "docker-cache-webhook");
        findResource("aws:codebuild/webhook:Webhook", "docker-cache-pr-webhook");
        assert.equal(findResource("aws:scheduler/schedule:Schedule").inputs.state, undefined);
        assert.deepEqual(warned, []);
    });

    it("the message (pure): status, connection, handshake URL, what waits, and that the next pulumi up finishes", () => {
        assert.equal(
            connectionNotReadyMessage("PENDING", CONNECTION_ARN, URL),
            `The source connection ${CONNECTION_ARN} is PENDING: its one-time handshake with the provider isn't done. ` +
                `Complete it at ${URL} (choose the connection 0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b, then "Update pending connection"). ` +
                "Until then this stack creates no webhook and keeps the schedule, if any, disabled; builds can't fetch the source. " +
                "Run `pulumi up` again once the connection is AVAILABLE: it creates the webhook and enables the schedule.",
        );
    });
});
