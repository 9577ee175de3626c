/**
 * The read-only pull-request project (issue 22; docs/decisions/readOnlyPullRequests.md): with `webhookPullRequests`
 * on, pull requests build in a second CodeBuild project, `<projectName>-pr`, whose role can read the repository and
 * can't write to ECR at all.
 *
 * Why: the trust rule (`buildspec/trust.sh`) decides in bash whether a build may push, and every build ran with the
 * one role that can push. A mistake in that script, a `--buildspec-override` by someone allowed to start builds, or a
 * new event type CodeBuild adds would let a pull request's code write the image or the cache that every trusted
 * build reads. Here a pull request's build holds no credential that can write (as GitHub Actions gives a fork's pull
 * request a read-only token): IAM refuses its writes, whatever its commands are.
 *
 * Pure parts: {@link pullRequestProjectName}, {@link pullRequestPolicy} (the role's document),
 * {@link splitWebhook} (which events each project's webhook takes), {@link projectOfEvent} (where an event builds),
 * {@link pullRequestProjectProblems} (validation). Resources: {@link createPullRequestProject}.
 *
 * The pull-request project:
 * - its buildspec is the component's, rendered read-only (`buildspec/index.ts`, `readOnly`): no `export.sh`,
 *   `manifest.sh`, `key.sh` or `http.sh`; the build's write flags are `--output type=cacheonly` (it reads the cache
 *   and produces nothing); `trust.sh` never trusts there (READ_ONLY=1). A pull request still reads its base
 *   branch's cache when that branch is trusted, then the default branch's;
 * - its buildspec is a second object in the component's buildspec bucket, which only this role may read;
 * - no Docker server (`dockerServerComputeType` applies to the main project only): each pull request's build has
 *   a fresh daemon of its own, and reads the cache from ECR;
 * - its log group is its own, `/aws/codebuild/<projectName>-pr`, with no metric filters: the hit-ratio alarm and the
 *   dashboard stay on trusted builds (the main project's log group);
 * - two platforms built natively: a batch of the platform jobs only (no manifest job), with its own batch role;
 * - its webhook takes `PULL_REQUEST_CREATED`, `PULL_REQUEST_UPDATED` and `PULL_REQUEST_REOPENED` only, with the
 *   comment approval (`pullRequestCommentApproval`, `pullRequestApproverRoles`); the main project's takes pushes and
 *   tags; schedules and manual builds start the main project.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import type { ResolvedArgs } from "./args";
import type { Problems } from "./problems";
import { createBatchRole } from "./batchRole";
import { buildspecKey, objectArn } from "./buildspecObject";
import { checkedProjectBuildspec } from "./buildspec/limit";
import { createLogGroup, createProject } from "./codebuild";
import {
    arnParts,
    cachedRepositoriesArn,
    codebuildProjectArn,
    ECR_PULL_ACTIONS,
    LOGS_ACTIONS,
    trustPolicy,
} from "./policies";
import { SourceAuthArns, sourceAuthStatements } from "./source";
import type { ResolvedWebhook } from "./triggers";

/** What the pull-request project's name adds to the main project's. */
export const PULL_REQUEST_PROJECT_SUFFIX = "-pr";

/** The pull-request project's name: `<projectName>-pr`. */
export function pullRequestProjectName(projectName: string): string {
    return `${projectName}${PULL_REQUEST_PROJECT_SUFFIX}`;
}

/**
 * The longest `projectName` with pull-request builds: the pull-request role, `<projectName>-pr-role`, must fit
 * IAM's 64 characters (the main role, `<projectName>-role`, makes 59 the bound without them).
 */
export const MAX_PROJECT_NAME_WITH_PULL_REQUESTS = 64 - `${PULL_REQUEST_PROJECT_SUFFIX}-role`.length;

/** Checks what the pull-request project adds (called by `resolveArgs`): its role's name must fit IAM's 64. */
export function pullRequestProjectProblems(
    p: Problems,
    o: { readonly projectName: string; readonly webhookPullRequests: boolean },
): void {
    if (o.webhookPullRequests && typeof o.projectName === "string") {
        p.check(
            o.projectName.length <= MAX_PROJECT_NAME_WITH_PULL_REQUESTS,
            "projectName",
            o.projectName,
            `Allowed with webhookPullRequests: at most ${MAX_PROJECT_NAME_WITH_PULL_REQUESTS} characters, so that the pull-request project's role '<name>${PULL_REQUEST_PROJECT_SUFFIX}-role' fits IAM's 64.`,
        );
    }
}

/**
 * With `images` (severalImages.ts): an image whose pull-request project, `<projectName>-pr`, would be another image's
 * main project (the same name, or one differing in case alone, which names the same IAM role). Each clash is a
 * problem under the other image's `images.<name>.projectName`.
 */
export function pullRequestProjectClashes(
    names: readonly { readonly image: string; readonly projectName: string; readonly pullRequests: boolean }[],
): { key: string; value: unknown; allowed: string }[] {
    const out: { key: string; value: unknown; allowed: string }[] = [];
    for (const owner of names.filter((n) => n.pullRequests)) {
        const pr = pullRequestProjectName(owner.projectName).toLowerCase();
        for (const other of names.filter((n) => n.projectName.toLowerCase() === pr)) {
            out.push({
                key: `images.${other.image}.projectName`,
                value: other.projectName,
                allowed: `Allowed: a projectName no other image's project has (images.${owner.image} builds its pull requests in ${pullRequestProjectName(owner.projectName)}).`,
            });
        }
    }
    return out;
}

/** The inputs of {@link pullRequestPolicy}: resolved ARNs. */
export interface PullRequestPolicyInputs {
    readonly repositoryArn: string;
    /** The pull-request project's own log group. */
    readonly logGroupArn: string;
    /** Repository prefixes of the pull-through caches; the role may pull from the repositories under them. */
    readonly pullThroughPrefixes?: readonly string[];
    /** The connection or token secret the source signs in with (`source.ts`); none for a public source. */
    readonly sourceAuth?: SourceAuthArns;
    /** The pull-request buildspec's S3 object. */
    readonly buildspecObjectArn?: string;
}

/**
 * The pull-request role's permissions: ECR login (`*`, it has no resource-level permission), the three pull actions
 * on the repository and on the pull-through caches' repositories, its own logs, its source sign-in and its buildspec
 * object. No ECR action that writes: no push (`InitiateLayerUpload`, `UploadLayerPart`, `CompleteLayerUpload`,
 * `PutImage`), no delete, no tag, and not the pull-through cache's own writes (`BatchImportUpstreamImage`,
 * `CreateRepository`), so a pull request can't fill a cache with an upstream image either: BuildKit then takes a base
 * image the cache doesn't hold yet from its upstream registry (a mirror that fails falls back to the upstream host).
 */
export function pullRequestPolicy(inputs: PullRequestPolicyInputs): aws.iam.PolicyDocument {
    const logGroupArn = inputs.logGroupArn.replace(/:\*$/, "");
    const prefixes = inputs.pullThroughPrefixes ?? [];
    const parts = arnParts(inputs.repositoryArn);
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "EcrLoginHasNoResourceLevelPermissions",
                Effect: "Allow",
                Action: ["ecr:GetAuthorizationToken"],
                Resource: "*",
            },
            {
                Sid: "PullOnlyThisRepositoryAndTheUpstreamCaches",
                Effect: "Allow",
                Action: [...ECR_PULL_ACTIONS],
                Resource: [inputs.repositoryArn, ...prefixes.map((prefix) => cachedRepositoriesArn(parts, prefix))],
            },
            {
                Sid: "WriteThisProjectsLogsOnly",
                Effect: "Allow",
                Action: [...LOGS_ACTIONS],
                Resource: [logGroupArn, `${logGroupArn}:log-stream:*`],
            },
            ...sourceAuthStatements(inputs.sourceAuth ?? {}),
            ...(inputs.buildspecObjectArn === undefined
                ? []
                : [
                      {
                          Sid: "ReadThisProjectsBuildspecOnly",
                          Effect: "Allow" as const,
                          Action: ["s3:GetObject"],
                          Resource: [inputs.buildspecObjectArn],
                          Condition: { StringEquals: { "s3:ResourceAccount": parts.accountId } },
                      },
                  ]),
        ],
    };
}

/**
 * Which events each project's webhook takes (pure): the main project's, pushes to the trusted refs and the listed
 * tags; the pull-request project's, pull requests only, with the comment approval. Without pull-request triggers,
 * the main project's is the whole webhook and there is no second. `enabled` says whether each webhook exists.
 */
export function splitWebhook(w: ResolvedWebhook): { main: ResolvedWebhook; pullRequests: ResolvedWebhook } {
    const main: ResolvedWebhook = { ...w, pullRequests: false, enabled: w.pushes || w.tags.length > 0 };
    const pullRequests: ResolvedWebhook = { ...w, pushes: false, tags: [], enabled: w.pullRequests };
    return { main, pullRequests };
}

/** The two projects a build can start in. */
export type ProjectKind = "main" | "pullRequests";

/**
 * Where a build of this event runs (pure), as the docs promise: a `PULL_REQUEST_*` webhook event in the pull-request
 * project; everything else (a push, a tag, a manual start, a schedule) in the main project. Manual builds and
 * schedules name their project; the schedule names the main project (components/schedule.ts).
 */
export function projectOfEvent(e: { readonly webhook?: { readonly event: string } }): ProjectKind {
    return e.webhook !== undefined && e.webhook.event.startsWith("PULL_REQUEST_") ? "pullRequests" : "main";
}

export interface PullRequestProjectInputs {
    readonly repositoryArn: pulumi.Output<string>;
    /** The read-only buildspec's YAML. */
    readonly buildspec: pulumi.Output<string>;
    /** The component's buildspec bucket (`buildspecObject.ts`); the object goes next to the main one. */
    readonly bucket: aws.s3.Bucket;
    /** The main buildspec's object: written once the bucket is locked down, so this one waits for it. */
    readonly after: pulumi.Resource;
    readonly sourceAuth: pulumi.Input<SourceAuthArns>;
    readonly projectSourceAuth?: pulumi.Input<{ type: string; resource: string }>;
    readonly tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** Two platforms built natively: the project takes batch builds, with a batch role of its own. */
    readonly batch: boolean;
}

export interface PullRequestProjectResources {
    readonly project: aws.codebuild.Project;
    readonly logGroup: aws.cloudwatch.LogGroup;
    readonly role: aws.iam.Role;
    readonly policy: aws.iam.Policy;
    /** The role's ARN, once its policy is attached. */
    readonly roleArn: pulumi.Output<string>;
    /** The pull-request buildspec object's ARN. */
    readonly buildspecObjectArn: pulumi.Output<string>;
}

/**
 * The pull-request project, its log group, role, policy and buildspec object (children named `<name>-pr-…`). The
 * project is the main project's (`codebuild.ts`) in everything but its name, role, log group and buildspec.
 */
export function createPullRequestProject(
    name: string,
    a: ResolvedArgs,
    inputs: PullRequestProjectInputs,
    opts: pulumi.ResourceOptions,
): PullRequestProjectResources {
    const child = `${name}-pr`;
    const projectName = pullRequestProjectName(a.projectName);
    // No Docker server here, whatever the main project has: its daemon would keep one pull request's layers and
    // cache mounts for the next pull request's build (and it is what lets the main project have one: dockerServer.ts).
    const pr: ResolvedArgs = { ...a, projectName, dockerServerComputeType: undefined };
    const logGroup = createLogGroup(child, pr, inputs.tags, opts);
    // Never protected (as the main object): a changed buildspec is a new key.
    const object = new aws.s3.BucketObjectv2(
        `${child}-buildspec`,
        {
            bucket: inputs.bucket.id,
            key: inputs.buildspec.apply(buildspecKey),
            content: inputs.buildspec,
            contentType: "text/yaml; charset=utf-8",
        },
        { ...opts, protect: false, dependsOn: [inputs.after] },
    );
    const buildspecObjectArn = pulumi
        .all([inputs.bucket.arn, object.key, object.id])
        .apply(([bucketArn, key]) => objectArn(bucketArn, key));
    const prefixes = a.upstreamCaches.map((c) => c.prefix);
    const role = new aws.iam.Role(
        `${child}-role`,
        {
            name: `${projectName}-role`,
            description: `CodeBuild service role of ${projectName} (pull requests): pull its ECR repository and caches, write its logs; no ECR write`,
            assumeRolePolicy: inputs.repositoryArn.apply((arn) => {
                const parts = arnParts(arn);
                return JSON.stringify(trustPolicy(parts.accountId, codebuildProjectArn(parts, projectName)));
            }),
            tags: inputs.tags,
        },
        opts,
    );
    const policy = new aws.iam.Policy(
        `${child}-policy`,
        {
            name: `${projectName}-policy`,
            description: `Read only for ${projectName}: ECR login and pull, logs in one log group; no ECR write`,
            policy: pulumi
                .all([inputs.repositoryArn, logGroup.arn, inputs.sourceAuth, buildspecObjectArn])
                .apply(([repositoryArn, logGroupArn, sourceAuth, objectArnValue]) =>
                    JSON.stringify(
                        pullRequestPolicy({
                            repositoryArn,
                            logGroupArn,
                            pullThroughPrefixes: prefixes,
                            sourceAuth,
                            buildspecObjectArn: objectArnValue,
                        }),
                    ),
                ),
            tags: inputs.tags,
        },
        opts,
    );
    const attachment = new aws.iam.RolePolicyAttachment(
        `${child}-policy-attachment`,
        { role: role.name, policyArn: policy.arn },
        opts,
    );
    const roleArn = pulumi.all([role.arn, attachment.id]).apply(([arn]) => arn);
    const batch = inputs.batch
        ? createBatchRole(child, projectName, inputs.repositoryArn, inputs.tags, opts)
        : undefined;
    const { project } = createProject(
        child,
        pr,
        {
            buildspec: pulumi.all([buildspecObjectArn, policy.policy]).apply(([arn]) => checkedProjectBuildspec(arn)),
            serviceRoleArn: roleArn,
            logGroupName: logGroup.name,
            sourceAuth: inputs.projectSourceAuth,
            tags: inputs.tags,
            batchServiceRoleArn: batch?.roleArn,
        },
        opts,
    );
    return { project, logGroup, role, policy, roleArn, buildspecObjectArn };
}
