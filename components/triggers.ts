/**
 * Webhook triggers: which repository events start a build, as CodeBuild webhook filter groups, and the webhook
 * itself. Off by default.
 *
 * Pure parts: {@link resolveTriggers} (defaults and validation, called by `resolveArgs`) and
 * {@link webhookFilterGroups} (the filter groups, exactly as `aws.codebuild.Webhook` takes them). Resources:
 * {@link createWebhook}.
 *
 * The buildspec's trust rule (`buildspec/trust.sh`) decides what a build may write; the webhook decides only which
 * events build. A pull request is never trusted there, whatever its refs, so a pull-request build reads the cache
 * and pushes nothing.
 *
 * Sources: CodeBuild user guide "Filter GitHub webhook events" (filter types `EVENT`, `HEAD_REF`, `BASE_REF`,
 * `FILE_PATH`; events `PUSH`, `PULL_REQUEST_CREATED`, `PULL_REQUEST_UPDATED`, `PULL_REQUEST_REOPENED`; filters of a
 * group must all match, any group may match; a push's `HEAD_REF` is `refs/heads/<branch>` or `refs/tags/<tag>`);
 * CodeBuild API `PullRequestBuildPolicy` and user guide "Pull request comment approval" (`requiresCommentApproval`
 * and `approverRoles`; an approver comments `/codebuild_run(<commit>)` to start a held build); CodeBuild API
 * `CreateWebhook` (`manualCreation`: CodeBuild returns the payload URL and secret instead of creating the hook).
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import {
    type CachedDockerBuildArgs,
    PULL_REQUEST_APPROVER_ROLES,
    PULL_REQUEST_COMMENT_APPROVALS,
    type PullRequestApproverRole,
    type PullRequestCommentApproval,
    type ResolvedArgs,
    type ResolvedWebhook,
    type SourceAuthKind,
    type SourceProvider,
} from "./args";
import type { Problems } from "./problems";
// The trigger enumerations and the resolved webhook's type live with the other argument types, in args.ts.
export {
    PULL_REQUEST_APPROVER_ROLES,
    PULL_REQUEST_COMMENT_APPROVALS,
    PullRequestApproverRole,
    PullRequestCommentApproval,
    type ResolvedWebhook,
} from "./args";

/** The approver roles by default: those that can push to the repository (write and above). */
export const DEFAULT_APPROVER_ROLES: Readonly<Record<SourceProvider, readonly PullRequestApproverRole[]>> = {
    github: ["GITHUB_WRITE", "GITHUB_MAINTAIN", "GITHUB_ADMIN"],
    gitlab: ["GITLAB_DEVELOPER", "GITLAB_MAINTAINER", "GITLAB_OWNER"],
    bitbucket: ["BITBUCKET_WRITE", "BITBUCKET_ADMIN"],
};

/** The pull-request events that build: opened, new commits, reopened (not merged or closed). */
export const PULL_REQUEST_EVENTS = ["PULL_REQUEST_CREATED", "PULL_REQUEST_UPDATED", "PULL_REQUEST_REOPENED"] as const;

/** The trigger arguments as `resolveArgs` returns them: the flat arguments and the {@link ResolvedWebhook}. */
export interface ResolvedTriggers {
    readonly webhookPushes: boolean;
    readonly webhookPullRequests: boolean;
    readonly webhookTags: string[];
    readonly webhookFilePaths: string[];
    readonly webhookManualCreation: boolean;
    readonly pullRequestCommentApproval: PullRequestCommentApproval;
    readonly pullRequestApproverRoles: PullRequestApproverRole[];
    readonly webhook: ResolvedWebhook;
}

/** One filter of a group, as `aws.codebuild.Webhook` takes it. */
export interface WebhookFilter {
    readonly type: "EVENT" | "HEAD_REF" | "BASE_REF" | "FILE_PATH";
    readonly pattern: string;
    readonly excludeMatchedPattern?: boolean;
}
/** One filter group: all its filters must match. */
export interface WebhookFilterGroup {
    readonly filters: WebhookFilter[];
}

/** A trusted ref as the trust rule compares it: a bare name is a branch, `refs/…` stays as it is. */
export function fullRef(ref: string): string {
    return ref.startsWith("refs/") ? ref : `refs/heads/${ref}`;
}

/** `s` as a regular expression that matches exactly `s` (CodeBuild's patterns are Java regular expressions). */
export function escapeRegex(s: string): string {
    return s.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");
}

/**
 * The webhook's filter groups (pure), exactly as `aws.codebuild.Webhook`'s `filterGroups` takes them; any group
 * may match, and every filter of a group must:
 * - pushes: `EVENT` `PUSH` and `HEAD_REF` matching exactly one of the trusted refs (`fullRef` of each, so a bare
 *   name is a branch and a tag counts only as `refs/tags/<name>`);
 * - tags: `EVENT` `PUSH` and `HEAD_REF` `^refs/tags/(?:<tag patterns>)$`;
 * - pull requests: `EVENT` `PULL_REQUEST_CREATED, PULL_REQUEST_UPDATED, PULL_REQUEST_REOPENED`, whatever their
 *   head or base (they never write the cache, see `buildspec/trust.sh`);
 * - with file paths, each group also has `FILE_PATH` `^(?:<prefix>|…)` (a change under one of them).
 * No group when the webhook is off.
 */
export function webhookFilterGroups(w: ResolvedWebhook, trustedRefs: readonly string[]): WebhookFilterGroup[] {
    const paths: WebhookFilter[] =
        w.filePaths.length === 0
            ? []
            : [{ type: "FILE_PATH", pattern: `^(?:${w.filePaths.map(escapeRegex).join("|")})` }];
    const groups: WebhookFilterGroup[] = [];
    if (w.pushes) {
        groups.push({
            filters: [
                { type: "EVENT", pattern: "PUSH" },
                { type: "HEAD_REF", pattern: `^(?:${trustedRefs.map((r) => escapeRegex(fullRef(r))).join("|")})$` },
                ...paths,
            ],
        });
    }
    if (w.tags.length > 0) {
        groups.push({
            filters: [
                { type: "EVENT", pattern: "PUSH" },
                { type: "HEAD_REF", pattern: `^refs/tags/(?:${w.tags.join("|")})$` },
                ...paths,
            ],
        });
    }
    if (w.pullRequests) {
        groups.push({ filters: [{ type: "EVENT", pattern: PULL_REQUEST_EVENTS.join(", ") }, ...paths] });
    }
    return groups;
}

/** The webhook's `pullRequestBuildPolicy` (pure): only with pull-request triggers; roles only when approval is on. */
export function pullRequestBuildPolicy(
    w: ResolvedWebhook,
): { requiresCommentApproval: string; approverRoles?: string[] } | undefined {
    if (!w.pullRequests) {
        return undefined;
    }
    return w.commentApproval === "DISABLED"
        ? { requiresCommentApproval: "DISABLED" }
        : { requiresCommentApproval: w.commentApproval, approverRoles: [...w.approverRoles] };
}

/** Defaults of the trigger arguments that are constant scalars: everything off. */
export const TRIGGER_DEFAULTS = {
    webhookPushes: false,
    webhookPullRequests: false,
    webhookManualCreation: false,
} as const satisfies Partial<ResolvedArgs>;

/** Comment approval by default, with pull-request triggers: fork pull requests wait for an approver. */
export const DEFAULT_COMMENT_APPROVAL: PullRequestCommentApproval = "FORK_PULL_REQUESTS";

const NO_CONTROL = /^[^\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]+$/;

function isRegex(s: string): boolean {
    try {
        new RegExp(s);
        return true;
    } catch {
        return false;
    }
}

function stringList(p: Problems, key: string, v: unknown, allowed: string): v is string[] {
    return p.check(Array.isArray(v) && v.every((x) => typeof x === "string"), key, v, allowed);
}

/**
 * Defaults and checks of the trigger arguments. A webhook needs a source of your own with a sign-in (the default
 * source is AWS's public repository, which can't take your webhook); file paths, manual creation and the
 * pull-request approval settings are refused where they would do nothing; approver roles must belong to the
 * source's provider.
 */
export function resolveTriggers(
    p: Problems,
    args: CachedDockerBuildArgs,
    other: {
        readonly defaultSource: boolean;
        readonly sourceAuth: SourceAuthKind;
        readonly sourceProvider: SourceProvider;
    },
): ResolvedTriggers {
    const webhookPushes = args.webhookPushes ?? TRIGGER_DEFAULTS.webhookPushes;
    const webhookPullRequests = args.webhookPullRequests ?? TRIGGER_DEFAULTS.webhookPullRequests;
    const webhookManualCreation = args.webhookManualCreation ?? TRIGGER_DEFAULTS.webhookManualCreation;
    const webhookTags = args.webhookTags ?? [];
    if (stringList(p, "webhookTags", webhookTags, "Allowed: a list of regular expressions of tag names.")) {
        for (const t of webhookTags) {
            p.check(
                t.length > 0 && NO_CONTROL.test(t) && isRegex(t),
                "webhookTags",
                t,
                "Allowed: a regular expression of tag names, such as v[0-9]+\\..* (no control characters).",
            );
        }
    }
    const webhookFilePaths = args.webhookFilePaths ?? [];
    if (stringList(p, "webhookFilePaths", webhookFilePaths, "Allowed: a list of path prefixes.")) {
        for (const f of webhookFilePaths) {
            p.check(
                f.length > 0 && NO_CONTROL.test(f) && !f.startsWith("/") && !f.split("/").includes(".."),
                "webhookFilePaths",
                f,
                "Allowed: a path prefix relative to the repository root, such as app/docker/ (no leading '/', no '..').",
            );
        }
    }
    const tagsOn = Array.isArray(webhookTags) && webhookTags.length > 0;
    const enabled = webhookPushes || webhookPullRequests || tagsOn;
    // Each trigger that is on is its own problem: a person turning them off must see every key to change.
    const triggers: [key: string, isOn: boolean, value: unknown][] = [
        ["webhookPushes", webhookPushes, webhookPushes],
        ["webhookPullRequests", webhookPullRequests, webhookPullRequests],
        ["webhookTags", tagsOn, webhookTags],
    ];
    for (const [key, , value] of triggers.filter(([, isOn]) => isOn)) {
        if (other.defaultSource) {
            p.check(
                false,
                key,
                value,
                "Allowed: off with the default source, AWS's public aws-codebuild-docker-images repository, which can't take your webhook. Set sourceUrl to your own repository and sign in with connectionArn, createConnection or githubToken.",
            );
        } else {
            p.check(
                other.sourceAuth !== "none",
                key,
                value,
                "Allowed only with a sign-in to the source (connectionArn, createConnection or githubToken): CodeBuild needs it to create the webhook.",
            );
        }
    }
    const onlyWithWebhook = "Allowed only with a webhook trigger (webhookPushes, webhookPullRequests or webhookTags).";
    if (Array.isArray(webhookFilePaths) && webhookFilePaths.length > 0) {
        p.check(enabled, "webhookFilePaths", webhookFilePaths, onlyWithWebhook);
    }
    if (webhookManualCreation) {
        p.check(enabled, "webhookManualCreation", webhookManualCreation, onlyWithWebhook);
    }

    const pullRequestCommentApproval = args.pullRequestCommentApproval ?? DEFAULT_COMMENT_APPROVAL;
    const onlyWithPullRequests = "Allowed only with webhookPullRequests: true.";
    const approvalOk = p.check(
        PULL_REQUEST_COMMENT_APPROVALS.includes(pullRequestCommentApproval),
        "pullRequestCommentApproval",
        pullRequestCommentApproval,
        `Allowed: ${PULL_REQUEST_COMMENT_APPROVALS.join(", ")}.`,
    );
    if (args.pullRequestCommentApproval !== undefined) {
        p.check(webhookPullRequests, "pullRequestCommentApproval", pullRequestCommentApproval, onlyWithPullRequests);
    }
    const defaultRoles = DEFAULT_APPROVER_ROLES[other.sourceProvider] ?? [];
    const pullRequestApproverRoles = args.pullRequestApproverRoles ?? [...defaultRoles];
    if (args.pullRequestApproverRoles !== undefined) {
        const prefix = `${String(other.sourceProvider).toUpperCase()}_`;
        const listOk =
            p.check(webhookPullRequests, "pullRequestApproverRoles", pullRequestApproverRoles, onlyWithPullRequests) &&
            p.check(
                Array.isArray(pullRequestApproverRoles) && pullRequestApproverRoles.length > 0,
                "pullRequestApproverRoles",
                pullRequestApproverRoles,
                `Allowed: a non-empty list of ${prefix}… roles.`,
            );
        if (listOk && approvalOk) {
            p.check(
                pullRequestCommentApproval !== "DISABLED",
                "pullRequestApproverRoles",
                pullRequestApproverRoles,
                "Allowed only when pullRequestCommentApproval is not DISABLED (there is nothing to approve).",
            );
        }
        for (const [i, r] of (listOk ? pullRequestApproverRoles : []).entries()) {
            p.check(
                PULL_REQUEST_APPROVER_ROLES.includes(r) &&
                    r.startsWith(prefix) &&
                    pullRequestApproverRoles.indexOf(r) === i,
                "pullRequestApproverRoles",
                r,
                `Allowed: roles of the source's provider (${other.sourceProvider}), each once: ${PULL_REQUEST_APPROVER_ROLES.filter((x) => x.startsWith(prefix)).join(", ")}.`,
            );
        }
    }

    const webhook: ResolvedWebhook = {
        enabled,
        pushes: webhookPushes,
        pullRequests: webhookPullRequests,
        tags: tagsOn ? webhookTags : [],
        filePaths: Array.isArray(webhookFilePaths) ? webhookFilePaths : [],
        manualCreation: webhookManualCreation,
        commentApproval: pullRequestCommentApproval,
        approverRoles: pullRequestCommentApproval === "DISABLED" ? [] : pullRequestApproverRoles,
    };
    return {
        webhookPushes,
        webhookPullRequests,
        webhookTags,
        webhookFilePaths,
        webhookManualCreation,
        pullRequestCommentApproval,
        pullRequestApproverRoles,
        webhook,
    };
}

/** What {@link createWebhookWhenReady} hands back: manual creation's payload URL and secret, once created. */
export interface GatedWebhook {
    /** Where the provider must send events; set only with manual creation, once the webhook exists. */
    readonly payloadUrl: pulumi.Output<string | undefined>;
    /** The secret that signs the events, a Pulumi secret; set only with manual creation, once the webhook exists. */
    readonly secret: pulumi.Output<string | undefined>;
}

/**
 * The webhook, created only when `ready` (the source's connection is AVAILABLE, `source.ts`'s
 * `connectionReadiness`); with no gate (a token sign-in), always, as {@link createWebhook}.
 *
 * Why: CodeBuild creates the hook through the connection, so CreateWebhook fails while the connection is PENDING,
 * and a first `pulumi up` with `createConnection` would end red. Now that first up creates everything else and ends
 * with a warning naming the handshake URL; the next `pulumi up` after the handshake reads the connection AVAILABLE
 * and creates the webhook.
 *
 * Trade-off: the webhook is registered inside an `apply` of the connection's live status, so it exists in the
 * program only once that status is known. A preview shows it (as a create) whenever the status is known, which
 * is every preview of a stack whose connection already exists, since the status read runs during previews. In the
 * preview of the update that creates the connection, the status is unknown and the preview shows no webhook; that
 * is what happens, since a new connection is always PENDING (CodeConnections API, `Connection`: "A connection
 * created through AWS CloudFormation, the CLI, or the SDK is in PENDING status by default"). If a connection leaves
 * AVAILABLE later (ERROR), the next `pulumi up` deletes the webhook and warns; it comes back with the connection.
 */
export function createWebhookWhenReady(
    name: string,
    projectName: pulumi.Input<string>,
    w: ResolvedWebhook,
    trustedRefs: readonly string[],
    opts: pulumi.ResourceOptions,
    buildType: "BUILD" | "BUILD_BATCH",
    ready: pulumi.Output<boolean> | undefined,
): GatedWebhook {
    if (ready === undefined) {
        const { payloadUrl, secret } = createWebhook(name, projectName, w, trustedRefs, opts, buildType);
        return { payloadUrl, secret };
    }
    const made = ready.apply((r) =>
        r ? createWebhook(name, projectName, w, trustedRefs, opts, buildType) : undefined,
    );
    return {
        payloadUrl: made.apply((m): pulumi.Output<string | undefined> => (m ? m.payloadUrl : pulumi.output(undefined))),
        secret: made.apply((m): pulumi.Output<string | undefined> => (m ? m.secret : pulumi.output(undefined))),
    };
}

/** The webhook and what manual creation hands back. */
export interface WebhookResources {
    readonly webhook: aws.codebuild.Webhook;
    /** Where the provider must send events; set only with manual creation. */
    readonly payloadUrl: pulumi.Output<string | undefined>;
    /** The secret that signs the events, a Pulumi secret; set only with manual creation. */
    readonly secret: pulumi.Output<string | undefined>;
}

/**
 * The project's webhook. `buildType` is `BUILD`, or `BUILD_BATCH` for a project that runs batch builds (one
 * webhook event then starts the whole batch).
 */
export function createWebhook(
    name: string,
    projectName: pulumi.Input<string>,
    w: ResolvedWebhook,
    trustedRefs: readonly string[],
    opts: pulumi.ResourceOptions,
    buildType: "BUILD" | "BUILD_BATCH" = "BUILD",
): WebhookResources {
    const webhook = new aws.codebuild.Webhook(
        `${name}-webhook`,
        {
            projectName,
            buildType,
            filterGroups: webhookFilterGroups(w, trustedRefs),
            manualCreation: w.manualCreation,
            pullRequestBuildPolicy: pullRequestBuildPolicy(w),
        },
        { ...opts, additionalSecretOutputs: ["secret"] },
    );
    return {
        webhook,
        payloadUrl: w.manualCreation ? webhook.payloadUrl : pulumi.output(undefined),
        secret: w.manualCreation ? pulumi.secret(webhook.secret) : pulumi.output(undefined),
    };
}
