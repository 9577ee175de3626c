/**
 * The CodeBuild variables each way of starting a build sets, as data: the one table the trust tests, the
 * filter-group agreement test and the e2e branch tests take their events from.
 *
 * Sources (each fact below names the one it comes from):
 * - [ENV] "Environment variables in build environments",
 *   https://docs.aws.amazon.com/codebuild/latest/userguide/build-env-ref-env-vars.html
 *   (awsdocs/aws-codebuild-user-guide, doc_source/build-env-ref-env-vars.md)
 * - [GH] "GitHub webhook events", https://docs.aws.amazon.com/codebuild/latest/userguide/github-webhook.html
 *   (doc_source/github-webhook.md)
 * - [API] WebhookFilter, https://docs.aws.amazon.com/codebuild/latest/APIReference/API_WebhookFilter.html
 * - [SCHED] EventBridge Scheduler user guide, "Using universal targets",
 *   https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-targets-universal.html: the target
 *   `arn:aws:scheduler:::aws-sdk:codebuild:startBuild` calls StartBuild with the schedule's input as the request;
 *   the stack's input is `{"ProjectName": …}` only (components/schedule.ts, `startBuildInput`; tested).
 *
 * Where the documentation is silent, the entry says so and takes the reading that is safe for the trust rule
 * (the one under which a wrong guess can only keep a build from writing, never let one write):
 * - CODEBUILD_SOURCE_VERSION of a webhook push: [ENV] says "the commit ID, branch name, or tag name"; which one a
 *   push gets is not said. Taken as the commit SHA, so the rule must never read the branch from it.
 * - CODEBUILD_WEBHOOK_BASE_REF of a push: [ENV] defines it for pull requests ("For a pull request, this is the
 *   branch reference"), [GH] allows BASE_REF filters on pull-request events only. Taken as unset for pushes.
 * - CODEBUILD_WEBHOOK_EVENT: [ENV] says "The webhook event that triggers the current build" without values;
 *   taken as the filter's event names ([GH]: PUSH, PULL_REQUEST_CREATED, …).
 * - CODEBUILD_INITIATOR of a webhook or scheduled build: [ENV] names only CodePipeline (`codepipeline/<name>`),
 *   a user (its name) and the Jenkins plugin. The trust rule does not read it; the values here are placeholders.
 * - A build without a source-version override: [ENV] does not say whether CODEBUILD_SOURCE_VERSION is then empty
 *   or the project's own source version; empty, unset and the project's version are all listed, and each must
 *   decide as the project's version does.
 * - The shapes are GitHub's ([GH]); GitLab's and Bitbucket's pull requests are taken to set the same TRIGGER `pr/<n>`
 *   ([ENV] says the value is parsed from GitHub's, GitHub Enterprise's or Bitbucket's payload). The trust rule also
 *   takes a PULL_REQUEST_* event or any base ref as a pull request, so a provider that sets only those is covered.
 * - A scheduled build: the schedule calls StartBuild on the project without a source-version override ([SCHED]; the
 *   stack's schedule passes none), so it is a manual build without override, started by the schedule's role (the
 *   initiator is that role's session, which [ENV] does not describe for assumed roles).
 */

import { createHash } from "node:crypto";
import { BRANCH_SLUG_CAP } from "../../components/branchCache";

/** A full 40-hex commit, as CodeBuild reports one. */
export const SHA = "4f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c";

/** CodeBuild variables of one build; a variable absent from the record is unset. */
export type CodeBuildEnv = Readonly<Record<string, string>>;

export interface BuildEvent {
    readonly what: string;
    readonly env: CodeBuildEnv;
    /** The webhook's view of it, for filter groups: undefined for builds not started by a webhook. */
    readonly webhook?: {
        readonly event: string;
        readonly headRef: string;
        readonly baseRef?: string;
    };
}

const REPO = "https://github.com/acme/app.git";

/**
 * A push of a commit to a branch.
 * [ENV] TRIGGER `branch/<name>` ("pushing a commit to a branch"); [GH] HEAD_REF `refs/heads/<name>` (the push's
 * `ref`); EVENT `PUSH` [GH]; SOURCE_VERSION the commit (silent, see above); no BASE_REF (see above).
 */
export function branchPush(name: string): BuildEvent {
    return {
        what: `push to branch ${name}`,
        env: {
            CODEBUILD_WEBHOOK_EVENT: "PUSH",
            CODEBUILD_WEBHOOK_TRIGGER: `branch/${name}`,
            CODEBUILD_WEBHOOK_HEAD_REF: `refs/heads/${name}`,
            CODEBUILD_WEBHOOK_ACTOR_ACCOUNT_ID: "1001",
            CODEBUILD_WEBHOOK_PREV_COMMIT: SHA.replace(/^4/, "5"),
            CODEBUILD_SOURCE_VERSION: SHA,
            CODEBUILD_SOURCE_REPO_URL: REPO,
            CODEBUILD_INITIATOR: "GitHub-Hookshot/placeholder",
        },
        webhook: { event: "PUSH", headRef: `refs/heads/${name}` },
    };
}

/**
 * A push of a tag. [ENV] TRIGGER `tag/<name>` ("pushing a tag to a repository"); [GH] HEAD_REF `refs/tags/<name>`;
 * EVENT `PUSH` (a tag push is a push: [GH] maps `X-GitHub-Event: push` to PUSH).
 */
export function tagPush(name: string): BuildEvent {
    return {
        what: `push of tag ${name}`,
        env: {
            CODEBUILD_WEBHOOK_EVENT: "PUSH",
            CODEBUILD_WEBHOOK_TRIGGER: `tag/${name}`,
            CODEBUILD_WEBHOOK_HEAD_REF: `refs/tags/${name}`,
            CODEBUILD_WEBHOOK_ACTOR_ACCOUNT_ID: "1001",
            CODEBUILD_SOURCE_VERSION: SHA,
            CODEBUILD_SOURCE_REPO_URL: REPO,
            CODEBUILD_INITIATOR: "GitHub-Hookshot/placeholder",
        },
        webhook: { event: "PUSH", headRef: `refs/tags/${name}` },
    };
}

/**
 * A pull request, from a branch of the same repository or of a fork: CodeBuild sets the same variables for both.
 * [ENV] TRIGGER `pr/<n>`; SOURCE_VERSION `pr/<n>` ("For a GitHub … build that is triggered by a webhook pull request
 * event, it is pr/pull-request-number"); BASE_REF the base branch's reference; [GH] HEAD_REF is the `ref` of the
 * payload's `head` object: the head branch's name in whichever repository holds it, so a fork's `main` is
 * `refs/heads/main`, the same as the base repository's; ACTOR_ACCOUNT_ID the sender's id (a stranger, for a fork).
 */
export function pullRequest(
    n: number,
    head: string,
    base: string,
    opts: { fork?: boolean; event?: string } = {},
): BuildEvent {
    const event = opts.event ?? "PULL_REQUEST_CREATED";
    return {
        what: `${event} #${n} from ${opts.fork ? "a fork's" : "the repository's"} branch ${head} into ${base}`,
        env: {
            CODEBUILD_WEBHOOK_EVENT: event,
            CODEBUILD_WEBHOOK_TRIGGER: `pr/${n}`,
            CODEBUILD_WEBHOOK_HEAD_REF: `refs/heads/${head}`,
            CODEBUILD_WEBHOOK_BASE_REF: `refs/heads/${base}`,
            CODEBUILD_WEBHOOK_ACTOR_ACCOUNT_ID: opts.fork ? "9999" : "1001",
            CODEBUILD_SOURCE_VERSION: `pr/${n}`,
            CODEBUILD_SOURCE_REPO_URL: REPO,
            CODEBUILD_INITIATOR: "GitHub-Hookshot/placeholder",
        },
        webhook: { event, headRef: `refs/heads/${head}`, baseRef: `refs/heads/${base}` },
    };
}

/**
 * A build started by `aws codebuild start-build`: no webhook variable ([ENV]: TRIGGER "is available only for builds
 * triggered by a webhook"); SOURCE_VERSION the override (commit, branch, tag or `pr/<n>`, [ENV]); INITIATOR the
 * user's name [ENV]. `override` undefined: no override; `unset` chooses whether SOURCE_VERSION is then unset or the
 * project's own version (silent, see above).
 */
export function manual(override: string | undefined, projectVersion = "main"): BuildEvent {
    return {
        what: override === undefined ? "manual build, no source-version override" : `manual build of ${override}`,
        env: {
            CODEBUILD_SOURCE_VERSION: override ?? projectVersion,
            CODEBUILD_SOURCE_REPO_URL: REPO,
            CODEBUILD_INITIATOR: "alice",
        },
    };
}

/** The same start without override, with CODEBUILD_SOURCE_VERSION unset (the other silent reading). */
export function manualUnset(): BuildEvent {
    return {
        what: "manual build, no source-version override, CODEBUILD_SOURCE_VERSION unset",
        env: { CODEBUILD_SOURCE_REPO_URL: REPO, CODEBUILD_INITIATOR: "alice" },
    };
}

/**
 * A build started by an EventBridge Scheduler schedule: StartBuild with `{ projectName }` only, by the schedule's
 * role ([SCHED]); so no webhook variable and no override. INITIATOR: the role's session (placeholder; [ENV] silent).
 */
export function scheduled(projectVersion = "main"): BuildEvent {
    return {
        what: "scheduled build (EventBridge Scheduler, no override)",
        env: {
            CODEBUILD_SOURCE_VERSION: projectVersion,
            CODEBUILD_SOURCE_REPO_URL: REPO,
            CODEBUILD_INITIATOR: "docker-cache-dev-scheduler/placeholder-session",
        },
    };
}

/**
 * The part a ref's branch tags carry after the configured tag (`-br-<slug>-<hash>`), computed independently of
 * `components/buildspec/branch.sh` from its description (components/branchCache.ts), so that tests compare the two.
 */
export function expectedBranchTag(ref: string, slugMax = BRANCH_SLUG_CAP): string {
    const name = ref.replace(/^refs\/heads\//, "").replace(/^refs\//, "");
    const slug = Buffer.from(name, "utf8")
        .toString("latin1")
        .replace(/[^A-Za-z0-9_.-]/g, "-")
        .slice(0, slugMax);
    return `-br-${slug}-${createHash("sha256").update(ref, "utf8").digest("hex").slice(0, 12)}`;
}
