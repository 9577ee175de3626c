/**
 * Issue 22: untrusted builds hold no credential that can write. Pull requests build in a second, read-only project.
 *
 * Pure (no mocks): the pull-request role's document, the webhook split and where each event builds, the read-only
 * buildspec. Real bash (tests/helpers/bash.ts): the read-only buildspec's every command, run with each event's exact
 * CodeBuild variables (tests/helpers/events.ts); `docker` and `aws` are stubs that record their argv, so what the
 * build would have asked the registry to write is read back. Under the mock runtime (`scripts/mockRuntime.ts`; AWS
 * and the engine are mocked, the program is real): the two projects, their roles, buildspec objects and webhooks.
 */
import { strict as assert } from "node:assert";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import fc from "fast-check";
import * as YAML from "yaml";
import { resolveArgs } from "../../components/resolveArgs";
import { buildspec } from "../../components/buildspec/render";
import {
    BUILD_LOG,
    buildspecOptions as optionsOf,
    BuildspecOptions,
    header,
    READ_ONLY_LEFT_OUT,
} from "../../components/buildspec";
import { ECR_PUSH_ACTIONS, PULL_THROUGH_ACTIONS } from "../../components/policies";
import {
    MAX_PROJECT_NAME_WITH_PULL_REQUESTS,
    projectOfEvent,
    pullRequestPolicy,
    pullRequestProjectName,
    splitWebhook,
} from "../../components/pullRequestProject";
import type { ImageArgs } from "../../components/images";
import { webhookFilterGroups } from "../../components/triggers";
import { severalImagesProblems } from "../../severalImages";
import { ACCOUNT, findResource, findResources, projectBuildspec, runProgram, valueOf } from "../../scripts/mockRuntime";
import { runPhases } from "../helpers/bash";
import { buildspecOptions } from "../helpers/buildspecOptions";
import {
    BuildEvent,
    branchPush,
    expectedBranchTag,
    manual,
    manualUnset,
    pullRequest,
    scheduled,
    SHA,
    tagPush,
} from "../helpers/events";
import { webhookStarts } from "../helpers/webhookFilters";

const REPO_ARN = `arn:aws:ecr:eu-west-1:${ACCOUNT}:repository/app`;
const LOG_ARN = `arn:aws:logs:eu-west-1:${ACCOUNT}:log-group:/aws/codebuild/p-pr`;
const TRUSTED = ["main", "release/1.x", "refs/tags/v1.0"];

describe("the pull-request role (pure): pull only, no ECR write", () => {
    it("login on *, the three pull actions on the repository and the caches' repositories, its logs, its buildspec", () => {
        const doc = pullRequestPolicy({
            repositoryArn: REPO_ARN,
            logGroupArn: `${LOG_ARN}:*`,
            pullThroughPrefixes: ["ecr-public"],
            buildspecObjectArn: "arn:aws:s3:::b/buildspec/x.yml",
        });
        assert.deepEqual(doc.Statement, [
            {
                Sid: "EcrLoginHasNoResourceLevelPermissions",
                Effect: "Allow",
                Action: ["ecr:GetAuthorizationToken"],
                Resource: "*",
            },
            {
                Sid: "PullOnlyThisRepositoryAndTheUpstreamCaches",
                Effect: "Allow",
                Action: ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
                Resource: [REPO_ARN, `arn:aws:ecr:eu-west-1:${ACCOUNT}:repository/ecr-public/*`],
            },
            {
                Sid: "WriteThisProjectsLogsOnly",
                Effect: "Allow",
                Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
                Resource: [LOG_ARN, `${LOG_ARN}:log-stream:*`],
            },
            {
                Sid: "ReadThisProjectsBuildspecOnly",
                Effect: "Allow",
                Action: ["s3:GetObject"],
                Resource: ["arn:aws:s3:::b/buildspec/x.yml"],
                Condition: { StringEquals: { "s3:ResourceAccount": ACCOUNT } },
            },
        ]);
        const actions = doc.Statement.flatMap((s) => s.Action);
        for (const write of [...ECR_PUSH_ACTIONS, "ecr:BatchImportUpstreamImage", "ecr:CreateRepository"]) {
            assert.ok(!actions.includes(write), write);
        }
        // The pull-through import and creation are writes (the IAM dataset's Write level): not here.
        assert.ok(PULL_THROUGH_ACTIONS.includes("ecr:BatchImportUpstreamImage"), "control: the main role has it");
    });

    it("names: <projectName>-pr, and projectName is refused past 56 characters with pull requests (the role's 64)", () => {
        assert.equal(pullRequestProjectName("docker-cache-dev"), "docker-cache-dev-pr");
        assert.equal(MAX_PROJECT_NAME_WITH_PULL_REQUESTS, 56);
        const own = {
            sourceUrl: "https://github.com/acme/app.git",
            githubToken: "ghp_x",
            webhookPullRequests: true,
        } as const;
        assert.doesNotThrow(() => resolveArgs("c", "dev", { ...own, projectName: "p".repeat(56) }));
        assert.throws(
            () => resolveArgs("c", "dev", { ...own, projectName: "p".repeat(57) }),
            new RegExp(
                `Invalid value for 'projectName': "${"p".repeat(57)}". Allowed with webhookPullRequests: at most 56 characters, so that the pull-request project's role '<name>-pr-role' fits IAM's 64\\.`,
            ),
        );
        assert.doesNotThrow(() => resolveArgs("c", "dev", { projectName: "p".repeat(59) }), "without pull requests");
    });
});

/** Every event shape of tests/helpers/events.ts, in the variants the trust tests use. */
const BRANCHES = ["main", "release/1.x", "release-1.x", "main2", "x/main", "feature/x", "refs/heads/main", "v1.0"];
const PR_EVENTS = ["PULL_REQUEST_CREATED", "PULL_REQUEST_UPDATED", "PULL_REQUEST_REOPENED", "PULL_REQUEST_MERGED"];
const EVENTS: BuildEvent[] = [
    ...BRANCHES.map((b) => branchPush(b)),
    ...["v1.0", "v1.1", "v2.0", "main", "release/1.x", "latest"].map((t) => tagPush(t)),
    ...BRANCHES.flatMap((head, i) =>
        ["main", "release/1.x", "feature/x"].flatMap((base) =>
            PR_EVENTS.map((event) => pullRequest(100 + i, head, base, { fork: i % 2 === 0, event })),
        ),
    ),
    manual(undefined),
    manual(""),
    manualUnset(),
    manual("main"),
    manual("release/1.x"),
    manual(SHA),
    manual("pr/7"),
    scheduled(),
];

/**
 * Where the docs (docs/decisions/readOnlyPullRequests.md, "Where each build runs") say each kind of event builds.
 * Written out here, not computed by the code under test.
 */
function documentedProject(e: BuildEvent): "main" | "pullRequests" {
    if (e.what.startsWith("PULL_REQUEST_")) {
        return "pullRequests";
    }
    if (/^(push to branch|push of tag|manual build|scheduled build)/.test(e.what)) {
        return "main";
    }
    throw new Error(`no documented project for ${e.what}`);
}

describe("where each event builds: the two webhooks (pure, over every event shape)", () => {
    it("every event shape goes to the project the docs say (PULL_REQUEST_* to -pr; pushes, tags, manual, schedules to the main one)", () => {
        for (const e of EVENTS) {
            assert.equal(projectOfEvent(e), documentedProject(e), e.what);
        }
        assert.ok(EVENTS.some((e) => documentedProject(e) === "pullRequests"));
        assert.ok(EVENTS.some((e) => documentedProject(e) === "main"));
    });

    /** Webhook configurations: the triggers, tag patterns, file paths and trusted refs, drawn freely. */
    const config = fc
        .record({
            webhookPushes: fc.boolean(),
            webhookPullRequests: fc.boolean(),
            webhookTags: fc.subarray([".*", "v.*", "v1\\.0", "release/.*"]),
            webhookFilePaths: fc.subarray(["docker/", "app/"]),
            trustedRefs: fc.subarray(TRUSTED, { minLength: 1 }),
        })
        // File paths are refused without a trigger (resolveArgs), so they come only with one.
        .map((c) =>
            c.webhookPushes || c.webhookPullRequests || c.webhookTags.length > 0 ? c : { ...c, webhookFilePaths: [] },
        );

    it("the two webhooks' filter groups never both match one event; each starts only its own project's events; together they start what the one webhook did (property)", () => {
        let both = 0;
        let started = 0;
        fc.assert(
            fc.property(config, (c) => {
                const a = resolveArgs("docker-cache", "dev", {
                    sourceUrl: "https://github.com/acme/app.git",
                    sourceVersion: "main",
                    githubToken: "ghp_test",
                    ...c,
                });
                const split = splitWebhook(a.webhook);
                const main = split.main.enabled ? webhookFilterGroups(split.main, a.trustedRefs) : [];
                const prs = split.pullRequests.enabled ? webhookFilterGroups(split.pullRequests, a.trustedRefs) : [];
                const one = webhookFilterGroups(a.webhook, a.trustedRefs);
                assert.equal(split.main.enabled || split.pullRequests.enabled, a.webhook.enabled);
                assert.equal(split.pullRequests.enabled, c.webhookPullRequests);
                for (const e of EVENTS.filter((x) => x.webhook !== undefined)) {
                    const inMain = webhookStarts(main, e.webhook!);
                    const inPrs = webhookStarts(prs, e.webhook!);
                    if (inMain && inPrs) {
                        both++;
                    }
                    assert.ok(!(inMain && inPrs), `${e.what} would start both projects (${JSON.stringify(c)})`);
                    if (inMain || inPrs) {
                        started++;
                        assert.equal(inPrs ? "pullRequests" : "main", documentedProject(e), e.what);
                    }
                    assert.equal(inMain || inPrs, webhookStarts(one, e.webhook!), `${e.what}: same events as before`);
                }
            }),
            { numRuns: 200 },
        );
        assert.equal(both, 0);
        assert.ok(started > 0, "some event started a build");
    });

    it("the approval moves with the pull requests: only the -pr webhook has a pullRequestBuildPolicy", () => {
        const a = resolveArgs("docker-cache", "dev", {
            sourceUrl: "https://github.com/acme/app.git",
            githubToken: "ghp_test",
            webhookPushes: true,
            webhookPullRequests: true,
            pullRequestCommentApproval: "ALL_PULL_REQUESTS",
        });
        const split = splitWebhook(a.webhook);
        assert.equal(split.main.pullRequests, false);
        assert.equal(split.pullRequests.pushes, false);
        assert.deepEqual(split.pullRequests.tags, []);
        assert.equal(split.pullRequests.commentApproval, "ALL_PULL_REQUESTS");
    });

    it("the evaluator can tell them apart (control): the one webhook of old matched a pull request and a push alike", () => {
        const a = resolveArgs("docker-cache", "dev", {
            sourceUrl: "https://github.com/acme/app.git",
            sourceVersion: "main",
            trustedRefs: ["main"],
            githubToken: "ghp_test",
            webhookPushes: true,
            webhookPullRequests: true,
        });
        const one = webhookFilterGroups(a.webhook, a.trustedRefs);
        assert.ok(webhookStarts(one, pullRequest(1, "x", "main").webhook!));
        assert.ok(webhookStarts(one, branchPush("main").webhook!));
    });
});

/** A docker argv that would write to a registry (or tag an image to push it). */
function writes(call: readonly string[]): boolean {
    const args = call.slice(1);
    const joined = args.join(" ");
    return (
        (call[0] === "docker" && (args[0] === "push" || args[0] === "tag")) ||
        args.includes("--push") ||
        args.includes("--cache-to") ||
        /push=true/.test(joined) ||
        /(^|,)type=(image|registry)(,|$)/.test(args[args.indexOf("--output") + 1] ?? "") ||
        joined.startsWith("buildx imagetools create") ||
        joined.startsWith("manifest ")
    );
}

/** Runs every command of `o`'s buildspec in bash for an event; docker records its argv, every lookup finds its ref. */
function runWhole(o: BuildspecOptions, e: BuildEvent): { calls: string[][]; stdout: string; event: any } {
    const uuid = randomUUID();
    try {
        const r = runPhases(buildspec(o).phases, {
            env: { ...e.env, CODEBUILD_BUILD_ID: `p:${uuid}` },
            stubs: {
                aws: "echo pw",
                docker: [
                    "cat >/dev/null",
                    'if [ "$1 $2" = "buildx build" ]; then printf "%s\\n" "#5 [2/2] RUN x" "#5 CACHED"; fi',
                ].join("\n"),
            },
        });
        assert.equal(r.failed, undefined, `${e.what}: ${r.stderr}`);
        const line = r.stdout.split("\n").find((l) => l.startsWith('{"layerCache":'));
        assert.ok(line, r.stdout);
        return { calls: r.calls, stdout: r.stdout, event: JSON.parse(line) };
    } finally {
        for (const f of [BUILD_LOG.replace("${CODEBUILD_BUILD_ID##*:}", uuid), `/tmp/layer-cache-branch.${uuid}.sh`]) {
            fs.rmSync(f, { force: true });
            fs.rmSync(`${f}.export`, { force: true });
        }
    }
}

/**
 * One event of each shape for the whole-buildspec runs (each runs every command in bash): every pull-request event
 * name, a fork's and a branch's, a trusted and an untrusted base; pushes to trusted and untrusted refs; tags; manual
 * builds with and without override; a schedule.
 */
const SHAPES: BuildEvent[] = [
    branchPush("main"),
    branchPush("feature/x"),
    tagPush("v1.0"),
    ...PR_EVENTS.map((event, i) => pullRequest(200 + i, "main", "main", { fork: true, event })),
    pullRequest(210, "fix/y", "release/1.x"),
    pullRequest(211, "main", "release/1.x", { fork: true }),
    manual(undefined),
    manualUnset(),
    manual("pr/7"),
    scheduled(),
];

describe("the read-only buildspec: no command that writes, for any event (real bash, docker and aws recorded)", function () {
    this.timeout(180_000);
    const variants: [string, Partial<BuildspecOptions>][] = [
        ["registry, skip unchanged on", { cacheStrategy: "registry", skipUnchanged: true }],
        ["inline", { cacheStrategy: "inline" }],
        ["pull", { cacheStrategy: "pull" }],
        [
            "registry, two platforms emulated",
            { cacheStrategy: "registry", platforms: ["linux/amd64", "linux/arm64"], platformMode: "emulated" },
        ],
    ];
    for (const [what, over] of variants) {
        const o = buildspecOptions({ trustedRefs: TRUSTED, ...over });
        const ro: BuildspecOptions = { ...o, readOnly: true };

        it(`${what}: none of export.sh, manifest.sh, key.sh, http.sh is rendered; the push flags are cacheonly`, () => {
            const spec = buildspec(ro);
            const all = Object.values(spec.phases).flatMap((p) => p.commands);
            for (const name of READ_ONLY_LEFT_OUT) {
                assert.ok(!all.some((c) => c.startsWith(header(name))), `${name}.sh is rendered`);
            }
            const text = YAML.stringify(spec);
            assert.ok(!/--push|push=true|imagetools create|oci-mediatypes=true/.test(text), "a write flag is rendered");
            assert.match(text, /PUSH_FLAGS=\(--output type=cacheonly\)/);
            assert.match(all[0], /\nREAD_ONLY=1\n/);
            // Control: the main buildspec of the same options does render its push.
            assert.match(YAML.stringify(buildspec(o)), /--push|push=true/);
        });

        it(`${what}: every event builds untrusted and no docker call writes; a pull request reads its trusted base's cache`, () => {
            for (const e of SHAPES) {
                const { calls, stdout, event } = runWhole(ro, e);
                assert.deepEqual(calls.filter(writes), [], `${e.what}: ${JSON.stringify(calls)}`);
                assert.equal(event.trusted, false, e.what);
                assert.equal(event.pushed, false, e.what);
                assert.equal(event.export, "none", e.what);
                assert.match(stdout, /builds in the read-only pull-request project: this build reads the cache/);
                const base = e.webhook?.baseRef;
                if (base === "refs/heads/release/1.x") {
                    const tag = expectedBranchTag(base);
                    assert.ok(
                        calls.some((c) =>
                            c.some((x) =>
                                x.includes(`:${o.cacheStrategy === "registry" ? "buildcache" : "latest"}${tag}`),
                            ),
                        ),
                        `${e.what} looks up its base's cache`,
                    );
                }
            }
        });

        it(`${what}: control: the main buildspec of a trusted push does write (the detector can fail)`, () => {
            const { calls, event } = runWhole(o, branchPush("main"));
            assert.ok(calls.some(writes), JSON.stringify(calls));
            assert.equal(event.trusted, true);
        });
    }

    it("two platforms built natively: the batch has the platform jobs only (no manifest job), and no manifest.sh", () => {
        const o = buildspecOptions({
            cacheStrategy: "registry",
            platforms: ["linux/amd64", "linux/arm64"],
            platformMode: "native",
        });
        const main = buildspec(o);
        const ro = buildspec({ ...o, readOnly: true });
        assert.deepEqual(
            main.batch!["build-graph"].map((t) => t.identifier),
            ["build_amd64", "build_arm64", "manifest"],
        );
        assert.deepEqual(
            ro.batch!["build-graph"].map((t) => t.identifier),
            ["build_amd64", "build_arm64"],
        );
        const all = Object.values(ro.phases).flatMap((p) => p.commands);
        assert.ok(!all.some((c) => c.startsWith(header("manifest"))));
        assert.ok(!all.some((c) => c.startsWith(header("export"))));
    });

    it("the component's options: readOnly only when asked for", () => {
        const a = resolveArgs("docker-cache", "dev", {});
        assert.equal(optionsOf(a, "r/x", "eu-west-1").readOnly, undefined);
        assert.equal(optionsOf(a, "r/x", "eu-west-1", { readOnly: true }).readOnly, true);
    });
});

describe("program under mocks: a stack with pull-request builds has two projects", () => {
    const name = "docker-cache-github";
    let outputs: Awaited<ReturnType<typeof runProgram>>;

    before(async () => {
        outputs = await runProgram("github");
    });

    it("the -pr project: its own role, log group and buildspec object (read-only), the same source and host", () => {
        const main = findResource("aws:codebuild/project:Project", "docker-cache-project");
        const pr = findResource("aws:codebuild/project:Project", "docker-cache-pr-project");
        assert.equal(pr.inputs.name, `${name}-pr`);
        assert.equal(pr.inputs.serviceRole, `arn:aws:iam::${ACCOUNT}:role/${name}-pr-role`);
        assert.equal(main.inputs.serviceRole, `arn:aws:iam::${ACCOUNT}:role/${name}-role`);
        assert.equal(pr.inputs.logsConfig.cloudwatchLogs.groupName, `/aws/codebuild/${name}-pr`);
        assert.deepEqual(pr.inputs.source.auth, main.inputs.source.auth);
        assert.deepEqual(pr.inputs.environment, main.inputs.environment);
        const prSpec = projectBuildspec(pr);
        const mainSpec = projectBuildspec(main);
        assert.notEqual(prSpec, mainSpec);
        assert.match(prSpec, /READ_ONLY=1/);
        assert.match(mainSpec, /READ_ONLY=0/);
        assert.ok(!/push=true|--push/.test(prSpec));
        // Both objects in the component's one bucket; each role reads only its own.
        const objects = findResources("aws:s3/bucketObjectv2:BucketObjectv2");
        assert.deepEqual(objects.map((o) => o.name).sort(), ["docker-cache-buildspec", "docker-cache-pr-buildspec"]);
        assert.equal(objects[0].inputs.bucket, objects[1].inputs.bucket);
        const prPolicy = JSON.parse(findResource("aws:iam/policy:Policy", "docker-cache-pr-policy").inputs.policy);
        const read = prPolicy.Statement.find((s: { Sid: string }) => s.Sid === "ReadThisProjectsBuildspecOnly");
        const prObject = findResource("aws:s3/bucketObjectv2:BucketObjectv2", "docker-cache-pr-buildspec");
        assert.deepEqual(read.Resource, [`arn:aws:s3:::${prObject.inputs.bucket}/${prObject.inputs.key}`]);
    });

    it("the pull-request role holds no ECR write action; its trust is CodeBuild for the -pr project only", () => {
        const policy = JSON.parse(findResource("aws:iam/policy:Policy", "docker-cache-pr-policy").inputs.policy);
        const actions: string[] = policy.Statement.flatMap((s: { Action: string[] }) => s.Action);
        assert.deepEqual(
            actions.filter((a) => a.startsWith("ecr:")),
            [
                "ecr:GetAuthorizationToken",
                "ecr:BatchCheckLayerAvailability",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchGetImage",
            ],
        );
        const role = findResource("aws:iam/role:Role", "docker-cache-pr-role");
        assert.equal(
            JSON.parse(role.inputs.assumeRolePolicy).Statement[0].Condition.ArnLike["aws:SourceArn"],
            `arn:aws:codebuild:eu-west-1:${ACCOUNT}:project/${name}-pr`,
        );
    });

    it("the schedule starts the main project; the alarms and metric filters stay on the main project's log group", () => {
        const schedule = findResource("aws:scheduler/schedule:Schedule");
        assert.deepEqual(JSON.parse(schedule.inputs.target.input), { ProjectName: name });
        for (const f of findResources("aws:cloudwatch/logMetricFilter:LogMetricFilter")) {
            assert.equal(f.inputs.logGroupName, `/aws/codebuild/${name}`, f.name);
        }
    });

    it("outputs: the main project's as before, the -pr project's name as a new output", async () => {
        assert.equal(await valueOf(outputs.projectName), name);
        assert.equal(await valueOf(outputs.pullRequestProjectName), `${name}-pr`);
    });

    it("without pull requests: one project, one webhook, no -pr output", async () => {
        const o = await runProgram("github", { webhookPullRequests: false });
        assert.deepEqual(
            findResources("aws:codebuild/project:Project").map((p) => p.name),
            ["docker-cache-project"],
        );
        assert.deepEqual(
            findResources("aws:codebuild/webhook:Webhook").map((p) => p.name),
            ["docker-cache-webhook"],
        );
        assert.equal(await valueOf(o.pullRequestProjectName), undefined);
    });

    it("pull requests only: no webhook on the main project, one on the -pr project", async () => {
        await runProgram("github", { webhookPushes: false });
        assert.deepEqual(
            findResources("aws:codebuild/webhook:Webhook").map((p) => [p.name, p.inputs.projectName]),
            [["docker-cache-pr-webhook", `${name}-pr`]],
        );
    });

    it("two platforms built natively: the -pr project takes batches with a batch role of its own", async () => {
        await runProgram("github", { platforms: ["linux/amd64", "linux/arm64"] });
        const pr = findResource("aws:codebuild/project:Project", "docker-cache-pr-project");
        assert.equal(pr.inputs.buildBatchConfig.serviceRole, `arn:aws:iam::${ACCOUNT}:role/${name}-pr-batch`);
        const spec = YAML.parse(projectBuildspec(pr));
        assert.deepEqual(
            spec.batch["build-graph"].map((t: { identifier: string }) => t.identifier),
            ["build_amd64", "build_arm64"],
        );
    });
});

describe("with images: an image's -pr project may not be another image's project", () => {
    const own = { sourceUrl: "https://github.com/acme/app.git", githubToken: "ghp_x" };
    const image = (name: string, args: Record<string, unknown>): ImageArgs => ({
        name,
        own: new Set(Object.keys(args)),
        args: { ...own, ...args },
    });

    it("refuses it under the other image's projectName, naming both; no clash without pull requests", () => {
        const problems = severalImagesProblems("docker-cache", "dev", own, [
            image("api", { projectName: "api", webhookPullRequests: true }),
            image("web", { projectName: "API-pr" }),
        ]);
        assert.deepEqual(problems, [
            {
                key: "images.web.projectName",
                value: "API-pr",
                allowed:
                    "Allowed: a projectName no other image's project has (images.api builds its pull requests in api-pr).",
            },
        ]);
        assert.deepEqual(
            severalImagesProblems("docker-cache", "dev", own, [
                image("api", { projectName: "api" }),
                image("web", { projectName: "api-pr" }),
            ]),
            [],
        );
    });
});
