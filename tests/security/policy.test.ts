/**
 * Issue #4 (security): the policy pack's rules, run in-process. The program's real registrations are
 * recorded under mocks (their resolved inputs are what the engine hands a policy as `props`) and fed to
 * each rule's `validateResource` / `validateStack`. Every rule passes on the real program; for every rule
 * a mutated copy of the props is reported.
 */
import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { CachedDockerBuildArgs, CachedDockerBuild } from "../../components";
import { ECR_WRITE_ACTIONS, ecrWritesOf, lifecycleProblems, policies } from "../../policy/rules";
import { installMocks, Registration, registrations, settle } from "../../scripts/mockRuntime";
import { runPolicy } from "../../scripts/policyRunner";
import { ecrWriteActions } from "./iamCheck";

type Props = Record<string, any>;
type Mutate = (type: string, props: Props) => Props;
const identity: Mutate = (_t, p) => p;
const copy = (p: Props): Props => JSON.parse(JSON.stringify(p));

/** Runs one policy over the recorded registrations (props passed through `mutate`); returns the violations. */
async function violations(
    policy: ResourceValidationPolicy | StackValidationPolicy,
    regs: readonly Registration[],
    mutate: Mutate = identity,
): Promise<string[]> {
    const r = await runPolicy(policy, regs, (type, props) => mutate(type, copy(props)));
    assert.ok("validateStack" in policy || r.applicable > 0, `${policy.name} applied to no resource of the program`);
    return r.violations.map((v) => v.message);
}

function byName(name: string): ResourceValidationPolicy | StackValidationPolicy {
    const p = policies.find((x) => x.name === name);
    assert.ok(p, name);
    return p;
}

const when =
    (type: string, f: (p: Props) => void): Mutate =>
    (t, p) => {
        if (t === type) {
            f(p);
        }
        return p;
    };
const REPO = "aws:ecr/repository:Repository";
const LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy";
const POLICY = "aws:iam/policy:Policy";
const LOGS = "aws:cloudwatch/logGroup:LogGroup";
const PROJECT = "aws:codebuild/project:Project";
const TEMPLATE = "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate";
const WEBHOOK = "aws:codebuild/webhook:Webhook";
const ROLE = "aws:iam/role:Role";
const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";
const OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2";
const PUBLIC_ACCESS = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock";
const ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration";
const BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy";
/** Rules that check a resource only some variants have, each with that resource's type. */
const ONLY_WITH: Record<string, string> = {
    "ecr-pull-through-cache-bounded": TEMPLATE,
    "codebuild-webhook-pull-requests-approved": WEBHOOK,
    "codebuild-pull-request-builds-read-only": WEBHOOK,
    "scheduler-role-starts-builds-only": "aws:scheduler/schedule:Schedule",
};
/** Mutates the scheduler's role (the one EventBridge Scheduler assumes) and its policy only. */
const scheduler =
    (type: string, f: (p: Props) => void): Mutate =>
    (t, p) => {
        if (t === type && String(p.name).endsWith(type === ROLE ? "-cron" : "start-this-project")) {
            f(p);
        }
        return p;
    };

function mutateJson(field: string, f: (doc: any) => void): (p: Props) => void {
    return (p) => {
        const doc = JSON.parse(p[field]);
        f(doc);
        p[field] = JSON.stringify(doc);
    };
}

/**
 * Every rule, and for each a list of mutations that must be reported (with the expected message), in every variant
 * that has a resource the rule checks (a variant without pull-through caches has nothing to break there).
 */
/** Mutates the pull-request project's resources only (`<projectName>-pr…`, components/pullRequestProject.ts). */
const pullRequests =
    (type: string, f: (p: Props) => void): Mutate =>
    (t, p) => {
        const n = String(type === WEBHOOK ? p.projectName : (p.name ?? p.role));
        if (t === type && /-pr(-role|-policy)?$/.test(n)) {
            f(p);
        }
        return p;
    };

const MUTATIONS: Record<string, [string, Mutate, RegExp][]> = {
    "codebuild-pull-request-builds-read-only": [
        [
            "the pull-request webhook targets the main project, whose role pushes (the one-project shape before issue 22)",
            pullRequests(WEBHOOK, (p) => (p.projectName = String(p.projectName).replace(/-pr$/, ""))),
            /builds pull requests in project '[\w-]+', whose role '[\w-]+-role' can write to ECR \(attached policy arn:aws:iam::\d+:policy\/[\w-]+-policy: ecr:CompleteLayerUpload, ecr:InitiateLayerUpload, ecr:PutImage, ecr:UploadLayerPart\)/,
        ],
        [
            "the pull-request role's policy gains ecr:PutImage",
            pullRequests(
                POLICY,
                mutateJson("policy", (d) => d.Statement[1].Action.push("ecr:PutImage")),
            ),
            /-pr-role' can write to ECR \(attached policy .*: ecr:PutImage\)/,
        ],
        [
            "the pull-request role's policy gains ecr:* on the login statement",
            pullRequests(
                POLICY,
                mutateJson("policy", (d) => d.Statement[0].Action.push("ecr:*")),
            ),
            /-pr-role' can write to ECR .*ecr:BatchDeleteImage.*ecr:PutImage/,
        ],
        [
            "the pull-request role gets an inline policy that deletes images",
            pullRequests(ROLE, (p) => {
                p.inlinePolicies = [
                    {
                        name: "cleanup",
                        policy: JSON.stringify({
                            Statement: [{ Effect: "Allow", Action: "ecr:BatchDeleteImage", Resource: "*" }],
                        }),
                    },
                ];
            }),
            /-pr-role' can write to ECR \(inline policy cleanup: ecr:BatchDeleteImage\)/,
        ],
        [
            "the pull-request role gets a policy from outside the stack (AWS's PowerUser), which can't be checked",
            pullRequests(
                "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                (p) => (p.policyArn = "arn:aws:iam::aws:policy/PowerUserAccess"),
            ),
            /has an attached policy arn:aws:iam::aws:policy\/PowerUserAccess that is not in this stack/,
        ],
    ],
    "codebuild-webhook-pull-requests-approved": [
        [
            "comment approval turned off",
            when(WEBHOOK, (p) => (p.pullRequestBuildPolicy = { requiresCommentApproval: "DISABLED" })),
            /builds pull requests, but pullRequestBuildPolicy.requiresCommentApproval is DISABLED/,
        ],
        [
            "no pull-request build policy",
            when(WEBHOOK, (p) => delete p.pullRequestBuildPolicy),
            /requiresCommentApproval is unset/,
        ],
    ],
    "scheduler-role-starts-builds-only": [
        [
            "trust policy without a confused-deputy condition",
            scheduler(
                ROLE,
                mutateJson("assumeRolePolicy", (d) => delete d.Statement[0].Condition),
            ),
            /without an aws:SourceAccount or aws:SourceArn condition/,
        ],
        [
            "the scheduler's role may also stop builds",
            scheduler(
                ROLE_POLICY,
                mutateJson("policy", (d) => d.Statement[0].Action.push("codebuild:StopBuild")),
            ),
            /may codebuild:StopBuild; allowed: codebuild:StartBuild, codebuild:StartBuildBatch/,
        ],
        [
            "the scheduler's role may start any project",
            scheduler(
                ROLE_POLICY,
                mutateJson("policy", (d) => (d.Statement[0].Resource = ["*"])),
            ),
            /acts on \*; allowed: CodeBuild project ARNs/,
        ],
    ],
    "ecr-pull-through-cache-bounded": [
        [
            "template removed (its prefix changed)",
            when(TEMPLATE, (p) => (p.prefix = "elsewhere")),
            /must have exactly one repository creation template for PULL_THROUGH_CACHE with prefix '(ecr-public|docker-hub)', found 0/,
        ],
        ["template applied for replication only", when(TEMPLATE, (p) => (p.appliedFors = ["REPLICATION"])), /found 0/],
        [
            "template without a lifecycle policy",
            when(TEMPLATE, (p) => delete p.lifecyclePolicy),
            /has no lifecycle policy/,
        ],
        [
            "template whose lifecycle expires nothing",
            when(TEMPLATE, (p) => (p.lifecyclePolicy = JSON.stringify({ rules: [] }))),
            /has no rule that expires images/,
        ],
    ],
    "ecr-scan-on-push": [
        [
            "scanOnPush false",
            when(REPO, (p) => (p.imageScanningConfiguration.scanOnPush = false)),
            /scanOnPush must be true/,
        ],
        [
            "no scanning configuration",
            when(REPO, (p) => delete p.imageScanningConfiguration),
            /scanOnPush must be true/,
        ],
    ],
    "ecr-encryption": [
        [
            "no encryption configuration",
            when(REPO, (p) => delete p.encryptionConfigurations),
            /encryptionType AES256 or KMS/,
        ],
        [
            "unknown encryption type",
            when(REPO, (p) => (p.encryptionConfigurations = [{ encryptionType: "NONE" }])),
            /AES256 or KMS/,
        ],
    ],
    "ecr-lifecycle-protects-cache": [
        [
            "lifecycle policy removed",
            (t, p) => (t === LIFECYCLE ? { ...p, repository: "someone-else" } : p),
            /exactly one lifecycle policy, found 0/,
        ],
        [
            "first shield points at another tag",
            when(
                LIFECYCLE,
                mutateJson("policy", (d) => (d.rules[0].selection.tagPatternList = ["unrelated"])),
            ),
            /not an exact shield/,
        ],
        [
            "first shield uses wildcards",
            when(
                LIFECYCLE,
                mutateJson("policy", (d) => (d.rules[0].selection.tagPatternList = ["late*", "build*"])),
            ),
            /not an exact shield/,
        ],
        [
            "first shield by prefix",
            when(
                LIFECYCLE,
                mutateJson("policy", (d) => {
                    d.rules[0].selection.tagPrefixList = [d.rules[0].selection.tagPatternList[0]];
                    delete d.rules[0].selection.tagPatternList;
                }),
            ),
            /not an exact shield/,
        ],
        [
            "shields moved after the keep-N rule",
            when(
                LIFECYCLE,
                mutateJson("policy", (d) => {
                    for (const r of d.rules) {
                        if (r.selection.tagStatus === "tagged" && !r.selection.tagPatternList.includes("*")) {
                            r.rulePriority += 100;
                        }
                    }
                }),
            ),
            /not an exact shield/,
        ],
        [
            "first shield counts days instead of images",
            when(
                LIFECYCLE,
                mutateJson("policy", (d) =>
                    Object.assign(d.rules[0].selection, {
                        countType: "sinceImagePushed",
                        countUnit: "days",
                        countNumber: 1,
                    }),
                ),
            ),
            /not an exact shield/,
        ],
        [
            "a catch-all expiry rule put first",
            when(
                LIFECYCLE,
                mutateJson("policy", (d) =>
                    d.rules.unshift({
                        rulePriority: 0,
                        selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: 1 },
                        action: { type: "expire" },
                    }),
                ),
            ),
            /first selected by rule 0/,
        ],
        [
            "archive rule catching every image",
            when(
                LIFECYCLE,
                mutateJson("policy", (d) =>
                    d.rules.push({
                        rulePriority: 9,
                        selection: {
                            tagStatus: "any",
                            countType: "sinceImagePushed",
                            countUnit: "days",
                            countNumber: 30,
                        },
                        action: { type: "transition", targetStorageClass: "archive" },
                    }),
                ),
            ),
            /archive tier/,
        ],
    ],
    "iam-no-wildcards-no-passrole": [
        [
            "ecr:* added",
            when(
                POLICY,
                mutateJson("policy", (d) => d.Statement[1].Action.push("ecr:*")),
            ),
            /wildcard action 'ecr:\*'/,
        ],
        [
            "repository statement on '*'",
            when(
                POLICY,
                mutateJson("policy", (d) => (d.Statement[1].Resource = "*")),
            ),
            /Resource '\*' for ecr:BatchCheckLayerAvailability/,
        ],
        [
            "iam:PassRole added",
            when(
                POLICY,
                mutateJson("policy", (d) =>
                    d.Statement.push({
                        Effect: "Allow",
                        Action: "iam:PassRole",
                        Resource: "arn:aws:iam::123456789012:role/x",
                    }),
                ),
            ),
            /iam:PassRole/,
        ],
        [
            "NotAction statement",
            when(
                POLICY,
                mutateJson("policy", (d) => d.Statement.push({ Effect: "Allow", NotAction: "iam:*", Resource: "*" })),
            ),
            /NotAction/,
        ],
        [
            "logs on '*' next to the login",
            when(
                POLICY,
                mutateJson("policy", (d) => d.Statement[0].Action.push("logs:PutLogEvents")),
            ),
            /Resource '\*' for logs:PutLogEvents/,
        ],
    ],
    "log-group-retention": [
        ["retention removed", when(LOGS, (p) => delete p.retentionInDays), /retentionInDays must be set/],
        ["retention 0 (never expire)", when(LOGS, (p) => (p.retentionInDays = 0)), /retentionInDays must be set/],
    ],
    "codebuild-privileged-only-for-docker": [
        [
            "privileged, buildspec without docker",
            when(
                PROJECT,
                (p) => (p.source.buildspec = "version: 0.2\nphases:\n  build:\n    commands:\n      - make test\n"),
            ),
            /never runs docker/,
        ],
        [
            "privileged, buildspec from the repository",
            when(PROJECT, (p) => delete p.source.buildspec),
            /neither inline nor an S3 object of this stack/,
        ],
        [
            "privileged, buildspec an S3 object the stack doesn't hold",
            when(PROJECT, (p) => (p.source.buildspec = "arn:aws:s3:::someone-elses-bucket/buildspec.yml")),
            /neither inline nor an S3 object of this stack/,
        ],
        [
            "privileged, the buildspec object's content without docker",
            when(OBJECT, (p) => (p.content = "version: 0.2\nphases:\n  build:\n    commands:\n      - make test\n")),
            /never runs docker/,
        ],
    ],
    "codebuild-buildspec-bucket-locked": [
        [
            "buildspec in a bucket outside the stack",
            when(PROJECT, (p) => (p.source.buildspec = "arn:aws:s3:::someone-elses-bucket/buildspec.yml")),
            /bucket 'someone-elses-bucket' is not a bucket of this stack/,
        ],
        [
            "public access block with restrictPublicBuckets off",
            when(PUBLIC_ACCESS, (p) => (p.restrictPublicBuckets = false)),
            /must block public access: restrictPublicBuckets not true/,
        ],
        [
            "no public access block",
            when(PUBLIC_ACCESS, (p) => (p.bucket = "another-bucket")),
            /must block public access: blockPublicAcls, blockPublicPolicy, ignorePublicAcls, restrictPublicBuckets/,
        ],
        ["no default encryption", when(ENCRYPTION, (p) => (p.rules = [])), /must set its default encryption/],
        [
            "bucket policy without the TLS deny",
            when(
                BUCKET_POLICY,
                mutateJson("policy", (d) => (d.Statement[0].Condition.Bool["aws:SecureTransport"] = "true")),
            ),
            /denies s3:\* to everyone when aws:SecureTransport is false/,
        ],
    ],
};

const VARIANTS: [string, CachedDockerBuildArgs][] = [
    ["defaults (inline strategy)", {}],
    [
        "prod-like (registry strategy, KMS, IMMUTABLE, custom tags, protect)",
        {
            cacheStrategy: "registry",
            encryptionType: "KMS",
            imageTagMutability: "IMMUTABLE",
            imageTag: "main",
            cacheTag: "cache-main",
            protect: true,
            forceDelete: false,
        },
    ],
    [
        "registry strategy pulling through ECR Public and Docker Hub caches it creates",
        {
            cacheStrategy: "registry",
            pullThroughCache: "create",
            pullThroughUpstreams: ["ecr-public", "docker-hub"],
            dockerHubUsername: "builder",
            dockerHubAccessToken: pulumi.secret("dckr_pat_x"),
        },
    ],
    [
        "pull strategy with a private source",
        { cacheStrategy: "pull", githubToken: pulumi.secret("ghp_x"), repositoryName: "team/app" },
    ],
    [
        "own GitHub repository: a connection, push and pull-request webhook, weekly schedule",
        {
            cacheStrategy: "registry",
            sourceUrl: "https://github.com/my-org/my-app.git",
            sourceVersion: "main",
            createConnection: true,
            webhookPushes: true,
            webhookPullRequests: true,
            scheduleExpression: "rate(7 days)",
        },
    ],
    [
        "two platforms built natively (a batch: per-platform tags, the batch role)",
        { cacheStrategy: "registry", platforms: ["linux/amd64", "linux/arm64"] },
    ],
];

describe("security: policy pack rules (#4)", function () {
    this.timeout(20000);
    const recorded = new Map<string, Registration[]>();

    before(async () => {
        for (const [i, [label, args]] of VARIANTS.entries()) {
            installMocks({ stack: "dev" });
            new CachedDockerBuild(`pol${i}`, args);
            await settle();
            recorded.set(label, [...registrations]);
        }
    });

    it("the pack has the eleven rules, all mandatory", () => {
        assert.deepEqual(policies.map((p) => p.name).sort(), Object.keys(MUTATIONS).sort());
        assert.ok(policies.every((p) => p.enforcementLevel === "mandatory"));
    });

    for (const [label] of VARIANTS) {
        it(`every rule passes on the real program: ${label}`, async () => {
            const regs = recorded.get(label)!;
            for (const p of policies) {
                const needs = ONLY_WITH[p.name];
                if (needs !== undefined && !regs.some((r) => r.type === needs)) {
                    continue; // nothing of what this rule checks in this variant
                }
                assert.deepEqual(await violations(p, regs), [], p.name);
            }
        });
    }

    for (const [rule, cases] of Object.entries(MUTATIONS)) {
        describe(rule, () => {
            for (const [what, mutate, expected] of cases) {
                it(`reports: ${what}`, async () => {
                    let checked = 0;
                    for (const [label] of VARIANTS) {
                        const regs = recorded.get(label)!;
                        const needs = ONLY_WITH[rule];
                        if (needs !== undefined && !regs.some((r) => r.type === needs)) {
                            continue;
                        }
                        checked++;
                        const found = await violations(byName(rule), recorded.get(label)!, mutate);
                        assert.ok(
                            found.some((m) => expected.test(m)),
                            `${label}: expected ${expected}, got ${JSON.stringify(found)}`,
                        );
                    }
                    assert.ok(checked > 0, "no variant has what this rule checks");
                });
            }
        });
    }

    it("the lifecycle rule flags the AND trap: one rule listing [imageTag, cacheTag] selects no single-tag image and shields nothing", () => {
        const trap = {
            rules: [
                {
                    rulePriority: 1,
                    selection: {
                        tagStatus: "tagged",
                        tagPatternList: ["latest", "buildcache"],
                        countType: "imageCountMoreThan",
                        countNumber: 10000,
                    },
                    action: { type: "expire" },
                },
                {
                    rulePriority: 2,
                    selection: {
                        tagStatus: "tagged",
                        tagPatternList: ["*"],
                        countType: "imageCountMoreThan",
                        countNumber: 5,
                    },
                    action: { type: "expire" },
                },
            ],
        };
        assert.deepEqual(
            lifecycleProblems(JSON.stringify(trap), ["latest", "buildcache"]).map((m) =>
                /^tag '([a-z]+)' is first selected by rule (\d)/.exec(m)?.slice(1),
            ),
            [
                ["latest", "2"],
                ["buildcache", "2"],
            ],
        );
    });

    it("the lifecycle rule cross-checks the tags the buildspec actually pushes (a custom imageTag must be shielded)", async () => {
        const regs = recorded.get(VARIANTS[1][0])!;
        // Shield the default tags instead of this stack's 'main' / 'cache-main'.
        const found = await violations(
            byName("ecr-lifecycle-protects-cache"),
            regs,
            when(
                LIFECYCLE,
                mutateJson("policy", (d) => {
                    d.rules[0].selection.tagPatternList = ["latest"];
                    d.rules[1].selection.tagPatternList = ["buildcache"];
                }),
            ),
        );
        assert.ok(
            found.some((m) => /tag 'main' is first selected/.test(m)),
            JSON.stringify(found),
        );
        assert.ok(
            found.some((m) => /tag 'cache-main' is first selected/.test(m)),
            JSON.stringify(found),
        );
    });
});

describe("security: the pack's list of ECR writes is the IAM dataset's (codebuild-pull-request-builds-read-only)", () => {
    it("ECR_WRITE_ACTIONS holds exactly the ECR actions of the Write, Permissions management and Tagging levels", async () => {
        assert.deepEqual([...ECR_WRITE_ACTIONS].sort(), (await ecrWriteActions()).sort());
    });

    it("ecrWritesOf: named, wildcard (any case), NotAction; a Deny or a read grants none", () => {
        const doc = (st: object) => JSON.stringify({ Statement: [st] });
        assert.deepEqual(ecrWritesOf(doc({ Effect: "Allow", Action: ["ecr:PutImage"], Resource: "*" })), [
            "ecr:PutImage",
        ]);
        assert.ok(ecrWritesOf(doc({ Effect: "Allow", Action: "ECR:put*", Resource: "*" })).includes("ecr:PutImage"));
        assert.equal(
            ecrWritesOf(doc({ Effect: "Allow", Action: "*", Resource: "*" })).length,
            ECR_WRITE_ACTIONS.length,
        );
        assert.ok(
            ecrWritesOf(doc({ Effect: "Allow", NotAction: "s3:*", Resource: "*" })).includes("ecr:DeleteRepository"),
        );
        assert.deepEqual(ecrWritesOf(doc({ Effect: "Deny", Action: "ecr:*", Resource: "*" })), []);
        assert.deepEqual(
            ecrWritesOf(doc({ Effect: "Allow", Action: ["ecr:BatchGetImage", "ecr:Get*"], Resource: "*" })),
            [],
        );
    });
});
