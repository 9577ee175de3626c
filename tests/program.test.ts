/**
 * The whole program (`program.ts`) under mocks, per stack, with the config the CLI would pass
 * (`Pulumi.yaml` defaults + `Pulumi.<stack>.yaml`): every resource, the inputs that reach AWS, the
 * resource options (`parent`, `protect`, `retainOnDelete`, seen at the wire level), every stack output,
 * and bad config reported in one error before anything is registered.
 */
import { strict as assert } from "assert";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { ConfigError } from "../components";
import { BUILDKIT_V0_32_2 } from "../components/builderImage";
import { TYPE_TOKEN } from "../components/cachedDockerBuild";
import type { StackOutputs } from "../program";
import {
    ACCOUNT,
    findResource,
    findResources,
    isWireSecret,
    Registration,
    readStackConfig,
    registrations,
    runProgram,
    runWithConfig,
    valueOf,
    projectBuildspec,
} from "../scripts/mockRuntime";
import { DEFAULT_STRATEGY_NOTICE, program } from "../program";
import { parseShell } from "./helpers/shell";
import { METRIC_FILTERS } from "../components/buildEvent";
import { KEY_IMAGES_KEPT } from "../components/skip";
import { withWarnings } from "./helpers/warnings";

const T = {
    repo: "aws:ecr/repository:Repository",
    lifecycle: "aws:ecr/lifecyclePolicy:LifecyclePolicy",
    logs: "aws:cloudwatch/logGroup:LogGroup",
    role: "aws:iam/role:Role",
    policy: "aws:iam/policy:Policy",
    attachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    project: "aws:codebuild/project:Project",
    bucket: "aws:s3/bucket:Bucket",
    publicAccess: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    encryption: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
    object: "aws:s3/bucketObjectv2:BucketObjectv2",
    rule: "aws:ecr/pullThroughCacheRule:PullThroughCacheRule",
    template: "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate",
    secret: "aws:secretsmanager/secret:Secret",
    secretVersion: "aws:secretsmanager/secretVersion:SecretVersion",
};
const REGISTRY = `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com`;
/** The default builder image's sources, without pull-through caches: ECR Public's mirror, then Docker Hub. */
const BUILDKIT = [
    `public.ecr.aws/vend/moby/buildkit@${BUILDKIT_V0_32_2}`,
    `docker.io/moby/buildkit@${BUILDKIT_V0_32_2}`,
];
const LOCAL_BUILDKIT = `localhost/layer-cache-builder:sha256-${BUILDKIT_V0_32_2.slice("sha256:".length)}`;

/** The `--driver-opt image=<ref>` of the buildspec's `docker buildx create`, or undefined without one. */
function builderImageIn(buildspec: string): string | undefined {
    const spec = YAML.parse(buildspec) as { phases: Record<string, { commands: string[] }> };
    for (const command of spec.phases.pre_build.commands) {
        for (const c of parseShell(command).commands) {
            if (c.words[1] === "buildx" && c.words[2] === "create") {
                const opts = c.words.flatMap((w, i) => (c.words[i - 1] === "--driver-opt" ? [w] : []));
                return opts.find((o) => o.startsWith("image="))?.slice("image=".length);
            }
        }
    }
    return undefined;
}

/** The builder image's sources (`BUILDER_SOURCES`, the builder command's prelude), or undefined without a builder. */
function builderSourcesIn(buildspec: string): string[] | undefined {
    const spec = YAML.parse(buildspec) as { phases: Record<string, { commands: string[] }> };
    for (const command of spec.phases.pre_build.commands) {
        // The references need no shell quoting, so the array's words are the references.
        const m = /^BUILDER_SOURCES=\((.*)\)$/m.exec(command);
        if (m) return m[1].split(" ");
    }
    return undefined;
}

interface Expect {
    stack: string;
    encryption: "AES256" | "KMS";
    forceDelete: boolean;
    protect: boolean;
    immutable: boolean;
    strategy: string;
    computeType: string;
    timeout: number;
    retention: number;
    untaggedDays: number;
    maxTagged: number;
    /** The pull-through caches the stack creates (prefixes of ECR Public only, in the checked-in stacks). */
    pullThroughPrefixes: string[];
}

const STACKS: Expect[] = [
    {
        stack: "dev",
        encryption: "AES256",
        forceDelete: true,
        protect: false,
        immutable: false,
        strategy: "inline",
        computeType: "BUILD_GENERAL1_MEDIUM",
        timeout: 60,
        retention: 7,
        untaggedDays: 3,
        maxTagged: 5,
        pullThroughPrefixes: [],
    },
    {
        stack: "prod",
        encryption: "KMS",
        forceDelete: false,
        protect: true,
        immutable: true,
        strategy: "registry",
        computeType: "BUILD_GENERAL1_LARGE",
        timeout: 120,
        retention: 365,
        untaggedDays: 14,
        maxTagged: 50,
        pullThroughPrefixes: ["ecr-public"],
    },
];

const REGION = "eu-west-1";
/** What `monitoring` (on by default) adds: a filter per metric, the topic, two alarms (no duration bound set), the dashboard. */
const MONITORING_CHILDREN = [
    ...METRIC_FILTERS.map((f) => `aws:cloudwatch/logMetricFilter:LogMetricFilter docker-cache-metric-${f.id}`),
    "aws:sns/topic:Topic docker-cache-alarms",
    "aws:cloudwatch/metricAlarm:MetricAlarm docker-cache-low-hit-ratio",
    "aws:cloudwatch/metricAlarm:MetricAlarm docker-cache-failed-builds",
    "aws:cloudwatch/dashboard:Dashboard docker-cache-dashboard",
];

for (const e of STACKS) {
    describe(`program under mocks: stack ${e.stack}`, () => {
        const name = `docker-cache-${e.stack}`;
        const repoArn = `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/${name}`;
        const repoUrl = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${name}`;
        const groupName = `/aws/codebuild/${name}`;
        const groupArn = `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${groupName}`;
        const projectArn = `arn:aws:codebuild:${REGION}:${ACCOUNT}:project/${name}`;
        const bucketName = `${name}-buildspec-${ACCOUNT}-${REGION}`;
        let program: StackOutputs;
        let all: Registration[];

        before(async () => {
            program = await runProgram(e.stack);
            all = [...registrations];
        });

        it(`registers the component and exactly its ${12 + MONITORING_CHILDREN.length + 2 * e.pullThroughPrefixes.length} children, named after it and parented to it`, () => {
            const component = findResource(TYPE_TOKEN, "docker-cache");
            assert.equal(component.custom, false);
            assert.equal(
                component.parent,
                "",
                "the component is the top of the program (no stack resource under mocks)",
            );
            const children = all.filter((r) => r !== component);
            assert.deepEqual(
                children.map((r) => `${r.type} ${r.name}`).sort(),
                [
                    `${T.logs} docker-cache-logs`,
                    `${T.project} docker-cache-project`,
                    `${T.lifecycle} docker-cache-lifecycle`,
                    `${T.repo} docker-cache-repo`,
                    `${T.attachment} docker-cache-policy-attachment`,
                    `${T.policy} docker-cache-policy`,
                    `${T.role} docker-cache-role`,
                    `${T.bucket} docker-cache-buildspec-bucket`,
                    `${T.publicAccess} docker-cache-buildspec-public-access`,
                    `${T.encryption} docker-cache-buildspec-encryption`,
                    `${T.bucketPolicy} docker-cache-buildspec-tls-only`,
                    `${T.object} docker-cache-buildspec`,
                    ...MONITORING_CHILDREN,
                    ...(e.pullThroughPrefixes.length > 0
                        ? [`${T.rule} docker-cache-ecr-public-cache`, `${T.template} docker-cache-ecr-public-template`]
                        : []),
                ].sort(),
            );
            assert.ok(component.urn.endsWith(`::${TYPE_TOKEN}::docker-cache`), component.urn);
            for (const child of children) {
                assert.equal(child.parent, component.urn, `${child.name} is parented to the component`);
                assert.ok(child.urn.includes(`${TYPE_TOKEN}$${child.type}::`), child.urn);
            }
            assert.equal(
                findResources("aws:codebuild/sourceCredential:SourceCredential").length,
                0,
                "no credential without githubToken",
            );
        });

        it(`protect is ${e.protect} on every child but the buildspec object; retainOnDelete ${e.protect} on the repository and log group only`, () => {
            for (const child of all.filter((r) => r.custom && r.type !== T.object)) {
                assert.equal(child.protect, e.protect, `${child.name} protect`);
            }
            // A changed buildspec replaces its object (a new content-addressed key), which protect would refuse.
            assert.equal(findResource(T.object).protect, false);
            assert.equal(findResource(T.repo).retainOnDelete, e.protect);
            assert.equal(findResource(T.logs).retainOnDelete, e.protect);
            for (const t of [T.lifecycle, T.role, T.policy, T.attachment, T.project]) {
                assert.ok(!findResource(t).retainOnDelete, `${t} is not retained`);
            }
        });

        it("repository: name, scan on push, encryption, force delete, tag mutability", () => {
            const repo = findResource(T.repo).inputs;
            assert.equal(repo.name, name);
            assert.deepEqual(repo.imageScanningConfiguration, { scanOnPush: true });
            assert.deepEqual(
                repo.encryptionConfigurations,
                [{ encryptionType: e.encryption }],
                "no kmsKey: the AWS-managed aws/ecr key",
            );
            assert.equal(repo.forceDelete, e.forceDelete);
            if (e.immutable) {
                assert.equal(repo.imageTagMutability, "IMMUTABLE_WITH_EXCLUSION");
                assert.deepEqual(repo.imageTagMutabilityExclusionFilters, [
                    { filter: "latest", filterType: "WILDCARD" },
                    { filter: "buildcache", filterType: "WILDCARD" },
                    // Skip unchanged builds: a forced rebuild pushes its key tag again.
                    { filter: "key-*", filterType: "WILDCARD" },
                ]);
            } else {
                assert.equal(repo.imageTagMutability, "MUTABLE");
                assert.equal(repo.imageTagMutabilityExclusionFilters, undefined);
            }
        });

        it("lifecycle policy: the JSON that reaches AWS, on this repository", () => {
            const lc = findResource(T.lifecycle).inputs;
            assert.equal(lc.repository, name);
            const policy = JSON.parse(String(lc.policy)) as { rules: { rulePriority: number; selection: unknown }[] };
            assert.deepEqual(
                policy.rules.map((r) => [r.rulePriority, r.selection]),
                [
                    [
                        1,
                        {
                            tagStatus: "tagged",
                            tagPatternList: ["latest"],
                            countType: "imageCountMoreThan",
                            countNumber: 10000,
                        },
                    ],
                    [
                        2,
                        {
                            tagStatus: "tagged",
                            tagPatternList: ["buildcache"],
                            countType: "imageCountMoreThan",
                            countNumber: 10000,
                        },
                    ],
                    // Skip unchanged builds (on by default for both stacks' strategies): the key tags, bounded apart.
                    [
                        3,
                        {
                            tagStatus: "tagged",
                            tagPatternList: ["key-*"],
                            countType: "imageCountMoreThan",
                            countNumber: KEY_IMAGES_KEPT,
                        },
                    ],
                    [
                        4,
                        {
                            tagStatus: "untagged",
                            countType: "sinceImagePushed",
                            countUnit: "days",
                            countNumber: e.untaggedDays,
                        },
                    ],
                    [
                        5,
                        {
                            tagStatus: "tagged",
                            tagPatternList: ["*"],
                            countType: "imageCountMoreThan",
                            countNumber: e.maxTagged,
                        },
                    ],
                ],
            );
        });

        it("role: trust policy wired to the mocked account and this project's ARN (its shape: policies.test.ts)", () => {
            const role = findResource(T.role).inputs;
            assert.equal(role.name, `${name}-role`);
            const trust = JSON.parse(String(role.assumeRolePolicy));
            assert.deepEqual(
                trust.Statement.map((s: { Condition: unknown }) => s.Condition),
                [{ StringEquals: { "aws:SourceAccount": ACCOUNT }, ArnLike: { "aws:SourceArn": projectArn } }],
            );
        });

        it("policy: scoped to the mocked repository ARN and log group ARN, attached to the role", () => {
            const policy = findResource(T.policy).inputs;
            assert.equal(policy.name, `${name}-policy`);
            const doc = JSON.parse(String(policy.policy)) as {
                Statement: { Action: string[]; Resource: string | string[] }[];
            };
            assert.deepEqual(
                doc.Statement.map((s) => s.Resource),
                [
                    "*",
                    [repoArn],
                    [groupArn, `${groupArn}:log-stream:*`],
                    ...(e.pullThroughPrefixes.length > 0
                        ? [e.pullThroughPrefixes.map((p) => `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/${p}/*`)]
                        : []),
                    [`arn:aws:s3:::${bucketName}/${String(findResource(T.object).inputs.key)}`],
                ],
            );
            assert.deepEqual(doc.Statement.at(-1)?.Action, ["s3:GetObject"]);
            assert.deepEqual((doc.Statement.at(-1) as { Condition?: unknown }).Condition, {
                StringEquals: { "s3:ResourceAccount": ACCOUNT },
            });
            assert.deepEqual(doc.Statement[0].Action, ["ecr:GetAuthorizationToken"]);
            const attachment = findResource(T.attachment).inputs;
            assert.equal(attachment.role, `${name}-role`);
            assert.equal(attachment.policyArn, `arn:aws:iam::${ACCOUNT}:policy/${name}-policy`);
        });

        it("buildspec: an S3 object in a private, encrypted, TLS-only bucket of the stack, which the project names by ARN", () => {
            const bucket = findResource(T.bucket);
            assert.equal(bucket.inputs.bucket, bucketName);
            assert.equal(bucket.inputs.forceDestroy, true);
            assert.deepEqual(
                { ...findResource(T.publicAccess).inputs },
                {
                    bucket: bucketName,
                    blockPublicAcls: true,
                    blockPublicPolicy: true,
                    ignorePublicAcls: true,
                    restrictPublicBuckets: true,
                },
            );
            assert.deepEqual(findResource(T.encryption).inputs.rules, [
                { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } },
            ]);
            const tls = JSON.parse(String(findResource(T.bucketPolicy).inputs.policy));
            assert.deepEqual(tls.Statement, [
                {
                    Sid: "RefuseRequestsWithoutTls",
                    Effect: "Deny",
                    Principal: "*",
                    Action: "s3:*",
                    Resource: [`arn:aws:s3:::${bucketName}`, `arn:aws:s3:::${bucketName}/*`],
                    Condition: { Bool: { "aws:SecureTransport": "false" } },
                },
            ]);
            const object = findResource(T.object);
            const content = String(object.inputs.content);
            assert.equal(object.inputs.bucket, bucketName);
            assert.equal(object.inputs.key, `buildspec/${createHash("sha256").update(content).digest("hex")}.yml`);
            // Written only once the bucket is locked down.
            for (const lock of [T.publicAccess, T.encryption, T.bucketPolicy]) {
                assert.ok(object.dependencies.includes(findResource(lock).urn), `${lock} before the object`);
            }
            assert.equal(
                findResource(T.project).inputs.source.buildspec,
                `arn:aws:s3:::${bucketName}/${String(object.inputs.key)}`,
            );
        });

        it("log group: named for the project, retention per stack", () => {
            const lg = findResource(T.logs).inputs;
            assert.equal(lg.name, groupName);
            assert.equal(lg.retentionInDays, e.retention);
        });

        it("project: environment, timeout, source, role, logs, local cache", () => {
            const p = findResource(T.project).inputs;
            assert.equal(p.name, name);
            assert.equal(p.serviceRole, `arn:aws:iam::${ACCOUNT}:role/${name}-role`);
            assert.equal(p.buildTimeout, e.timeout);
            assert.deepEqual(p.environment, {
                type: "LINUX_CONTAINER",
                image: "aws/codebuild/amazonlinux-x86_64-standard:5.0",
                computeType: e.computeType,
                imagePullCredentialsType: "CODEBUILD",
                privilegedMode: true,
            });
            assert.equal(p.source.type, "GITHUB");
            assert.equal(p.source.location, "https://github.com/aws/aws-codebuild-docker-images.git");
            assert.equal(p.source.gitCloneDepth, 1);
            assert.equal(p.sourceVersion, "master");
            assert.deepEqual(p.artifacts, { type: "NO_ARTIFACTS" });
            assert.deepEqual(p.cache, { type: "LOCAL", modes: ["LOCAL_DOCKER_LAYER_CACHE", "LOCAL_SOURCE_CACHE"] });
            assert.deepEqual(p.logsConfig, { cloudwatchLogs: { status: "ENABLED", groupName } });
            // The project waits for the role's policy: its serviceRole comes from an output that resolves after the attachment.
            const attachmentUrn = findResource(T.attachment).urn;
            assert.ok(
                findResource(T.project).dependencies.includes(attachmentUrn),
                "project depends on the policy attachment",
            );
        });

        it("project buildspec: valid YAML whose commands use the mocked repository URL and region", () => {
            const spec = YAML.parse(projectBuildspec(findResource(T.project))) as {
                phases: Record<string, { commands: string[] }>;
            };
            const pre = spec.phases.pre_build.commands.map((c) => parseShell(c));
            const login = pre.flatMap((x) => x.pipes).find((p) => p.left.words[0] === "aws")!;
            assert.deepEqual(login.left.words, ["aws", "ecr", "get-login-password", "--region", REGION]);
            assert.equal(login.right.words.at(-1), `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`);
            const build = parseShell(spec.phases.build.commands[0]);
            const call = build.commands.find((c) => c.words[2] === "build");
            // The image is named only in the trusted write flags (the second WRITE_FLAGS assignment).
            const writeFlags = build.commands
                .filter((c) => c.arrays.WRITE_FLAGS !== undefined)
                .map((c) => c.arrays.WRITE_FLAGS);
            assert.deepEqual(writeFlags[0], ["--output", "type=cacheonly"]);
            const imageFlags =
                e.strategy === "registry"
                    ? [
                          "--output",
                          `type=image,name=${repoUrl}:latest,push=true,store=false,compression=gzip,force-compression=true`,
                      ]
                    : ["--tag", `${repoUrl}:latest`];
            assert.ok(
                writeFlags[1]?.some((w, i) => w === imageFlags[0] && writeFlags[1][i + 1] === imageFlags[1]),
                JSON.stringify(writeFlags),
            );
            const cacheRef = e.strategy === "registry" ? `${repoUrl}:buildcache` : `${repoUrl}:latest`;
            assert.ok(call?.words.includes(`type=registry,ref=${cacheRef}`), JSON.stringify(call?.words));
            const hasBuilder = pre.some((x) => x.commands.some((c) => c.words[2] === "create"));
            assert.equal(
                hasBuilder,
                e.strategy === "registry",
                "docker-container builder only for the registry strategy",
            );
        });

        it(`builder image: BuildKit v0.32.2 by digest, ${e.pullThroughPrefixes.length > 0 ? "through the stack's ECR Public cache first, then" : "from"} ECR Public, then Docker Hub; started from its local name`, () => {
            const spec = projectBuildspec(findResource(T.project));
            const expected =
                e.strategy !== "registry"
                    ? undefined
                    : [
                          ...e.pullThroughPrefixes.map(
                              (p) => `${REGISTRY}/${p}/vend/moby/buildkit@${BUILDKIT_V0_32_2}`,
                          ),
                          ...BUILDKIT,
                      ];
            assert.deepEqual(builderSourcesIn(spec), expected);
            assert.equal(builderImageIn(spec), e.strategy === "registry" ? LOCAL_BUILDKIT : undefined);
        });

        it("every stack output resolves to the expected value", async () => {
            const expected: Record<string, unknown> = {
                projectName: name,
                projectArn,
                repositoryUrl: repoUrl,
                repositoryArn: repoArn,
                repositoryName: name,
                imageUri: `${repoUrl}:latest`,
                cacheRef: e.strategy === "registry" ? `${repoUrl}:buildcache` : `${repoUrl}:latest`,
                cacheStrategy: e.strategy,
                roleArn: `arn:aws:iam::${ACCOUNT}:role/${name}-role`,
                logGroupName: groupName,
                upstreamCacheUrls: Object.fromEntries(
                    e.pullThroughPrefixes.map((p) => ["ecr-public", `${REGISTRY}/${p}`]),
                ),
                alarmTopicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:${name}-alarms`,
                dashboardName: name,
                // No connection, webhook or schedule in dev and prod (see the github stack below).
                connectionArn: undefined,
                connectionStatus: undefined,
                connectionHandshakeUrl: undefined,
                webhookPayloadUrl: undefined,
                webhookSecret: undefined,
                scheduleName: undefined,
                // No pull-request builds in dev and prod: no -pr project (issue 22).
                pullRequestProjectName: undefined,
                pullRequestWebhookPayloadUrl: undefined,
                pullRequestWebhookSecret: undefined,
            };
            const actual: Record<string, unknown> = {};
            for (const [key, value] of Object.entries(program)) {
                actual[key] = await valueOf(value as pulumi.Input<unknown>);
            }
            assert.deepEqual(actual, expected);
        });

        it("index.ts exports every output the program returns, under its own name (else `pulumi stack output` lacks it)", () => {
            const indexTs = fs.readFileSync(path.join(__dirname, "..", "index.ts"), "utf8");
            const exported = [...indexTs.matchAll(/^export const (\w+) = outputs\.(\w+);$/gm)];
            assert.deepEqual(
                exported.filter(([, name, field]) => name !== field),
                [],
                "an export renames its field",
            );
            assert.deepEqual(exported.map(([, name]) => name).sort(), [...Object.keys(program), "images"].sort());
        });
    });
}

describe("program under mocks: bad stack config", () => {
    it("reports every problem in one ConfigError, before any resource: unknown keys, unparsable values, refused values", async () => {
        await assert.rejects(
            () =>
                runProgram("dev", {
                    "ecr-layer-cache:cacheStratgy": "registry",
                    buildArgs: ["NOEQUALS"],
                    logRetentionDays: 10,
                    projectName: "p".repeat(60),
                    computeType: "BUILD_GENERAL1_2XLARGE",
                    localCache: true,
                }),
            (e: unknown) => {
                assert.ok(e instanceof ConfigError);
                assert.ok(pulumi.RunError.isInstance(e), "the CLI prints a RunError's message alone, no stack trace");
                assert.equal(
                    e.message,
                    [
                        "5 problems: 1 unknown key, 4 invalid values:",
                        `  - Unknown key 'ecr-layer-cache:cacheStratgy' (value "registry"). Did you mean 'cacheStrategy'? The keys are listed in docs/configuration.md and declared in Pulumi.yaml.`,
                        `  - Invalid value for 'buildArgs': "NOEQUALS". Allowed: entries of the form NAME=value.`,
                        `  - Invalid value for 'projectName': "${"p".repeat(60)}". Allowed: 2 to 59 characters (so '<name>-role' fits IAM's 64), letters, digits, '-' and '_', starting with a letter or digit.`,
                        "  - Invalid value for 'localCache': true. Allowed: false or unset when computeType is BUILD_GENERAL1_2XLARGE, which has no local Docker layer cache.",
                        "  - Invalid value for 'logRetentionDays': 10. Allowed: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653.",
                    ].join("\n"),
                );
                return true;
            },
        );
        assert.deepEqual(registrations, []);
    });

    it("issue 26's stack: a typo and two triggers refused on the default source, all three in one go", async () => {
        await assert.rejects(
            () =>
                runProgram("dev", {
                    "ecr-layer-cache:webhookPushs": true,
                    webhookPullRequests: true,
                    webhookTags: ["v.*"],
                }),
            (e: unknown) => {
                assert.ok(e instanceof ConfigError);
                const reason =
                    "Allowed: off with the default source, AWS's public aws-codebuild-docker-images repository, which can't take your webhook. Set sourceUrl to your own repository and sign in with connectionArn, createConnection or githubToken.";
                assert.equal(
                    e.message,
                    [
                        "3 problems: 1 unknown key, 2 invalid values:",
                        `  - Unknown key 'ecr-layer-cache:webhookPushs' (value "true"). Did you mean 'webhookPushes'? The keys are listed in docs/configuration.md and declared in Pulumi.yaml.`,
                        `  - Invalid value for 'webhookPullRequests': true. ${reason}`,
                        `  - Invalid value for 'webhookTags': ["v.*"]. ${reason}`,
                    ].join("\n"),
                );
                return true;
            },
        );
        assert.deepEqual(registrations, []);
    });

    it("a single problem is a single line", async () => {
        await assert.rejects(
            () => runProgram("dev", { logRetentionDays: 10 }),
            (e: unknown) =>
                e instanceof ConfigError &&
                e.message ===
                    "Invalid value for 'logRetentionDays': 10. Allowed: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653.",
        );
        assert.deepEqual(registrations, []);
    });

    it("localCache unset on BUILD_GENERAL1_2XLARGE: the project gets no local cache instead of an error", async () => {
        await runProgram("dev", { computeType: "BUILD_GENERAL1_2XLARGE" });
        const p = findResource(T.project).inputs;
        assert.equal(p.environment.computeType, "BUILD_GENERAL1_2XLARGE");
        assert.deepEqual(p.cache, { type: "NO_CACHE" });
    });

    it("config overrides reach the resources (registry strategy with the docker builder on dev)", async () => {
        await runProgram("dev", {
            cacheStrategy: "registry",
            registryBuilder: "docker",
            trustedRefs: ["main", "release"],
            sourceVersion: "main",
        });
        const p = findResource(T.project).inputs;
        const spec = YAML.parse(projectBuildspec(findResource(T.project))) as {
            phases: Record<string, { commands: string[] }>;
        };
        assert.ok(!spec.phases.pre_build.commands.some((c) => c.includes("buildx create")));
        assert.match(spec.phases.pre_build.commands[0], /^TRUSTED_REFS=\(refs\/heads\/main refs\/heads\/release\)$/m);
        assert.equal(p.sourceVersion, "main");
    });
});

describe("program under mocks: the default strategy changed in 0.2.0 (inline → registry)", () => {
    /** Runs the program for a stack with the given config and returns what it warned. */
    async function warnings(config: Record<string, string>): Promise<{ warned: string[]; outputs: StackOutputs }> {
        const { warned, result: outputs } = await withWarnings(() =>
            runWithConfig(program, { stack: "fresh", config }),
        );
        return { warned, outputs };
    }

    it("a stack that never set cacheStrategy gets registry, and is told so on every run, with how to keep inline", async () => {
        const { config } = readStackConfig(undefined);
        assert.ok(!Object.keys(config).some((k) => k.endsWith(":cacheStrategy")), "Pulumi.yaml fills no value in");
        const { warned, outputs } = await warnings(config);
        assert.equal(await valueOf(outputs.cacheStrategy), "registry");
        assert.deepEqual(warned, [DEFAULT_STRATEGY_NOTICE]);
        assert.match(DEFAULT_STRATEGY_NOTICE, /pulumi config set cacheStrategy inline/);
    });

    for (const strategy of ["inline", "registry"]) {
        it(`a stack that set cacheStrategy ${strategy} keeps it, and is told nothing`, async () => {
            const { config } = readStackConfig(undefined, { cacheStrategy: strategy });
            const { warned, outputs } = await warnings(config);
            assert.equal(await valueOf(outputs.cacheStrategy), strategy);
            assert.deepEqual(warned, []);
        });
    }
});

describe("program under mocks: pull-through caches", () => {
    const PROD = "docker-cache-prod";
    const TOKEN = "dckr_pat_program-test-token";
    const statementOf = (sid: string) => {
        const doc = JSON.parse(String(findResource(T.policy).inputs.policy)) as {
            Statement: { Sid: string; Action: string[]; Resource: string[] }[];
        };
        return doc.Statement.find((s) => s.Sid === sid);
    };
    const cacheArn = (prefix: string) => `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/${prefix}/*`;

    it("prod (create, ECR Public): the template holds the exact lifecycle JSON, and the rule waits for it", async () => {
        await runProgram("prod");
        const template = findResource(T.template, "docker-cache-ecr-public-template");
        assert.deepEqual(
            { ...template.inputs, lifecyclePolicy: JSON.parse(String(template.inputs.lifecyclePolicy)) },
            {
                prefix: "ecr-public",
                appliedFors: ["PULL_THROUGH_CACHE"],
                description: `Repositories that the ecr-public pull-through cache of ${PROD} creates under ecr-public/`,
                imageTagMutability: "MUTABLE",
                encryptionConfigurations: [{ encryptionType: "AES256" }],
                lifecyclePolicy: {
                    rules: [
                        {
                            rulePriority: 1,
                            description:
                                "Expire untagged images (superseded images and cache manifests) after 14 days.",
                            selection: {
                                tagStatus: "untagged",
                                countType: "sinceImagePushed",
                                countUnit: "days",
                                countNumber: 14,
                            },
                            action: { type: "expire" },
                        },
                        {
                            rulePriority: 2,
                            description: "Keep at most 50 tagged images.",
                            selection: {
                                tagStatus: "tagged",
                                tagPatternList: ["*"],
                                countType: "imageCountMoreThan",
                                countNumber: 50,
                            },
                            action: { type: "expire" },
                        },
                    ],
                },
            },
        );
        const rule = findResource(T.rule, "docker-cache-ecr-public-cache");
        assert.deepEqual(rule.inputs, { ecrRepositoryPrefix: "ecr-public", upstreamRegistryUrl: "public.ecr.aws" });
        assert.ok(!("credentialArn" in rule.inputs), "ECR Public takes no credential");
        assert.ok(rule.dependencies.includes(template.urn), "the rule is created after its template");
        assert.equal(rule.protect, true, "protected like every child of a protected stack");
        // The buildspec object waits for the rule it pulls through, and the project for the object.
        const object = findResource(T.object);
        assert.ok(object.dependencies.includes(rule.urn), "the buildspec waits for the rule it pulls through");
        assert.ok(findResource(T.project).dependencies.includes(object.urn), "the project waits for its buildspec");
        assert.deepEqual(findResources(T.secret), [], "no Docker Hub credential in a checked-in stack");
        // The statement's shape is pinned in policies.test.ts; here: the stack's prefix reaches it.
        assert.deepEqual(statementOf("PullThroughTheUpstreamCachesOnly")?.Resource, [cacheArn("ecr-public")]);
        assert.match(String(findResource(T.role).inputs.description), /pull through the caches under ecr-public,/);
    });

    it("create with Docker Hub from a user name and token: the secret ECR requires, its value, both rules, both prefixes in IAM", async () => {
        const outputs = await runProgram(
            "prod",
            {
                pullThroughUpstreams: ["ecr-public", "docker-hub"],
                dockerHubUsername: "builder",
                dockerHubAccessToken: TOKEN,
            },
            ["dockerHubAccessToken"],
        );
        const secret = findResource(T.secret);
        assert.equal(secret.name, "docker-cache-docker-hub-credential");
        assert.equal(secret.inputs.name, `ecr-pullthroughcache/${PROD}-docker-hub`);
        assert.equal(secret.inputs.recoveryWindowInDays, 0);
        const secretArn = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:ecr-pullthroughcache/${PROD}-docker-hub-AbC123`;
        const version = findResource(T.secretVersion);
        assert.equal(version.inputs.secretId, secretArn);
        // Its secrecy on the wire and its absence elsewhere: tests/security/secrets.test.ts.
        assert.ok(isWireSecret(version.inputs.secretString));
        assert.deepEqual(JSON.parse(String(version.inputs.secretString.value)), {
            username: "builder",
            accessToken: TOKEN,
        });
        const rule = findResource(T.rule, "docker-cache-docker-hub-cache");
        assert.deepEqual(rule.inputs, {
            ecrRepositoryPrefix: "docker-hub",
            upstreamRegistryUrl: "registry-1.docker.io",
            credentialArn: secretArn,
        });
        assert.ok(rule.dependencies.includes(version.urn), "the rule is created once the secret has its value");
        assert.ok(rule.dependencies.includes(findResource(T.template, "docker-cache-docker-hub-template").urn));
        assert.equal(findResource(T.template, "docker-cache-docker-hub-template").inputs.prefix, "docker-hub");
        assert.equal(findResources(T.rule).length, 2);
        assert.deepEqual(statementOf("PullThroughTheUpstreamCachesOnly")?.Resource, [
            cacheArn("ecr-public"),
            cacheArn("docker-hub"),
        ]);
        assert.deepEqual(await valueOf(outputs.upstreamCacheUrls), {
            "ecr-public": `${REGISTRY}/ecr-public`,
            "docker-hub": `${REGISTRY}/docker-hub`,
        });
    });

    it("create with Docker Hub from an existing secret: the rule uses its ARN, and no secret is created", async () => {
        const arn = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:ecr-pullthroughcache/shared-docker-hub-XyZ789`;
        await runProgram("prod", {
            pullThroughUpstreams: ["docker-hub"],
            dockerHubCredentialArn: arn,
        });
        assert.deepEqual(findResources(T.secret), []);
        assert.deepEqual(findResources(T.secretVersion), []);
        assert.deepEqual(
            findResources(T.rule).map((r) => r.inputs),
            [{ ecrRepositoryPrefix: "docker-hub", upstreamRegistryUrl: "registry-1.docker.io", credentialArn: arn }],
        );
        // Without the ECR Public cache, the builder image comes from ECR Public itself, then Docker Hub (through the
        // Docker Hub cache first, which this stack has).
        assert.deepEqual(builderSourcesIn(projectBuildspec(findResource(T.project))), [
            `${REGISTRY}/docker-hub/moby/buildkit@${BUILDKIT_V0_32_2}`,
            ...BUILDKIT,
        ]);
    });

    it("existing: no rule, template or secret; the role and the build still use the caches", async () => {
        const outputs = await runProgram("prod", {
            pullThroughCache: "existing",
            pullThroughUpstreams: ["ecr-public", "docker-hub"],
            ecrPublicCachePrefix: "mirror/public",
        });
        for (const t of [T.rule, T.template, T.secret, T.secretVersion]) {
            assert.deepEqual(findResources(t), [], t);
        }
        assert.deepEqual(statementOf("PullThroughTheUpstreamCachesOnly")?.Resource, [
            cacheArn("mirror/public"),
            cacheArn("docker-hub"),
        ]);
        assert.deepEqual(builderSourcesIn(projectBuildspec(findResource(T.project))), [
            `${REGISTRY}/mirror/public/vend/moby/buildkit@${BUILDKIT_V0_32_2}`,
            `${REGISTRY}/docker-hub/moby/buildkit@${BUILDKIT_V0_32_2}`,
            ...BUILDKIT,
        ]);
        assert.deepEqual(await valueOf(outputs.upstreamCacheUrls), {
            "ecr-public": `${REGISTRY}/mirror/public`,
            "docker-hub": `${REGISTRY}/docker-hub`,
        });
    });

    it("bad pull-through config is reported with everything else, naming keys, values and what is allowed", async () => {
        await assert.rejects(
            () =>
                runProgram("dev", {
                    pullThroughCache: "create",
                    pullThroughUpstreams: ["docker-hub", "quay"],
                    dockerHubCachePrefix: "Hub",
                    dockerHubUsername: "builder",
                }),
            (e: unknown) => {
                assert.ok(e instanceof ConfigError);
                assert.equal(
                    e.message,
                    [
                        "3 invalid values:",
                        `  - Invalid value for 'pullThroughCache': "create". Allowed: off, unless cacheStrategy is registry and registryBuilder is docker-container (got cacheStrategy inline, registryBuilder docker-container): only a docker-container builder takes the BuildKit configuration that sends pulls through the cache.`,
                        `  - Invalid value for 'pullThroughUpstreams': "quay". Allowed: ecr-public, docker-hub.`,
                        `  - Invalid value for 'dockerHubCachePrefix': "Hub". Allowed: an ECR pull-through cache prefix: 2 to 30 characters, lowercase letters and digits in '/'-separated components, with single '.', '_' or '-' inside a component (ECR's rule).`,
                    ].join("\n"),
                );
                return true;
            },
        );
        assert.deepEqual(registrations, []);
    });
});
