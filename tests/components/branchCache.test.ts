/**
 * Issue #9, points 3 and 4: the trust rule and the cache per branch, met with the variables each real event sets.
 *
 * Real: the buildspec's first two commands (`trust.sh`, `branch.sh` after their preludes) as the component renders
 * them, run in bash (tests/helpers/bash.ts) with exactly the CodeBuild variables of tests/helpers/events.ts; what
 * they decide (TRUSTED, the refs read, the refs written) is read back from the shell. Mocked: nothing is called (no
 * docker, no aws: asserted). The expected branch tags are computed here independently (Node's SHA-256), so the bash
 * and this description of it must agree.
 */
import { strict as assert } from "node:assert";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import fc from "fast-check";
import { resolveArgs } from "../../components/resolveArgs";
import { branchSlugMax, branchTagPattern, MAX_BASE_TAG_LENGTH } from "../../components/branchCache";
import { buildspecOptions, BuildspecOptions, command, preludeValues } from "../../components/buildspec";
import { buildspec } from "../../components/buildspec/render";
import type { LifecyclePolicyDocument } from "../../components/lifecycle";
import { startBuildInput } from "../../components/schedule";
import { webhookFilterGroups, WebhookFilterGroup } from "../../components/triggers";
import { findResource, runProgram } from "../../scripts/mockRuntime";
import { runBash } from "../helpers/bash";
import {
    BuildEvent,
    branchPush,
    CodeBuildEnv,
    expectedBranchTag,
    manual,
    manualUnset,
    pullRequest,
    scheduled,
    SHA,
    tagPush,
} from "../helpers/events";

const URL = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app";
const TRUSTED = ["main", "release/1.x", "refs/tags/v1.0"];

function optionsFor(
    strategy: "inline" | "registry" | "pull",
    trustedRefs = TRUSTED,
    sourceVersion = "main",
    tags: { imageTag?: string; cacheTag?: string } = {},
): BuildspecOptions {
    const a = resolveArgs("docker-cache", "dev", { trustedRefs, sourceVersion, cacheStrategy: strategy, ...tags });
    return buildspecOptions(a, URL, "eu-west-1");
}

interface Decision {
    trusted: string;
    cacheBranch: string;
    reads: string[];
    imageRef: string;
    cacheRef: string;
    pushFlags: string[];
}

/** Runs the trust and branch commands of `o`'s buildspec with exactly `env` (plus a build id); reads back what they set. */
function decide(o: BuildspecOptions, env: CodeBuildEnv): Decision {
    const pre = buildspec(o).phases.pre_build.commands;
    const uuid = randomUUID();
    const file = `/tmp/layer-cache-branch.${uuid}.sh`;
    try {
        const r = runBash(
            [
                pre[0],
                pre[1],
                '. "$BRANCH_SH"',
                `printf '%s\\0' "$TRUSTED" "$CACHE_BRANCH" "$IMAGE_REF" "$CACHE_REF" "\${#CACHE_REFS[@]}" "\${CACHE_REFS[@]}" "\${PUSH_FLAGS[@]}"`,
            ].join("\n"),
            { env: { ...env, CODEBUILD_BUILD_ID: `p:${uuid}` } },
        );
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(r.calls, [], "deciding calls no docker or aws");
        const out = r.stdout.slice(r.stdout.indexOf("\n", r.stdout.lastIndexOf("layer cache: ref")) + 1).split("\0");
        const n = Number(out[4]);
        return {
            trusted: out[0],
            cacheBranch: out[1],
            imageRef: out[2],
            cacheRef: out[3],
            reads: out.slice(5, 5 + n),
            pushFlags: out.slice(5 + n, -1),
        };
    } finally {
        fs.rmSync(file, { force: true });
    }
}

type Expect = { writes: false; reads: string[] } | { writes: true; branch: string | undefined };

/** The table: each event, its exact variables (events.ts), and what the README promises for it. */
const TABLE: [BuildEvent, Expect][] = [
    [branchPush("main"), { writes: true, branch: undefined }],
    [branchPush("release/1.x"), { writes: true, branch: "refs/heads/release/1.x" }],
    [branchPush("feature/x"), { writes: false, reads: [""] }],
    [branchPush("refs/heads/main"), { writes: false, reads: [""] }],
    [tagPush("v1.0"), { writes: true, branch: "refs/tags/v1.0" }],
    [tagPush("v2.0"), { writes: false, reads: [""] }],
    [tagPush("main"), { writes: false, reads: [""] }],
    [pullRequest(7, "feature/x", "main"), { writes: false, reads: [""] }],
    [pullRequest(8, "main", "main", { fork: true }), { writes: false, reads: [""] }],
    [pullRequest(9, "release/1.x", "main", { fork: true }), { writes: false, reads: [""] }],
    [pullRequest(10, "feature/x", "main", { event: "PULL_REQUEST_UPDATED" }), { writes: false, reads: [""] }],
    [pullRequest(11, "feature/x", "main", { event: "PULL_REQUEST_REOPENED" }), { writes: false, reads: [""] }],
    [
        pullRequest(12, "fix/y", "release/1.x"),
        { writes: false, reads: [expectedBranchTag("refs/heads/release/1.x"), ""] },
    ],
    [
        pullRequest(13, "main", "release/1.x", { fork: true }),
        { writes: false, reads: [expectedBranchTag("refs/heads/release/1.x"), ""] },
    ],
    [pullRequest(14, "fix/y", "feature/x"), { writes: false, reads: [""] }],
    [manual(undefined), { writes: true, branch: undefined }],
    [manual(""), { writes: true, branch: undefined }],
    [manualUnset(), { writes: true, branch: undefined }],
    [manual("main"), { writes: true, branch: undefined }],
    [manual("release/1.x"), { writes: true, branch: "refs/heads/release/1.x" }],
    [manual("refs/tags/v1.0"), { writes: true, branch: "refs/tags/v1.0" }],
    [manual(SHA), { writes: false, reads: [""] }],
    [manual("pr/7"), { writes: false, reads: [""] }],
    [manual("feature/x"), { writes: false, reads: [""] }],
    [scheduled(), { writes: true, branch: undefined }],
];

describe("events meet the buildspec: trust and the cache per branch (issue #9)", () => {
    for (const strategy of ["registry", "inline", "pull"] as const) {
        const o = optionsFor(strategy);
        const cacheTag = strategy === "registry" ? "buildcache" : "latest";
        for (const [event, expect] of TABLE) {
            const label = expect.writes
                ? `writes ${expect.branch === undefined ? "the default branch's tags" : `${expect.branch}'s own tags`}`
                : `never writes; reads ${expect.reads.map((t) => `${cacheTag}${t}`).join(", then ")}`;
            it(`${strategy}: ${event.what}: ${label}`, () => {
                const d = decide(o, event.env);
                assert.equal(d.trusted, expect.writes ? "1" : "0", `TRUSTED for ${JSON.stringify(event.env)}`);
                if (expect.writes) {
                    const own = expect.branch === undefined ? "" : expectedBranchTag(expect.branch);
                    assert.equal(d.imageRef, `${URL}:latest${own}`);
                    assert.equal(d.cacheRef, `${URL}:${cacheTag}${own}`);
                    assert.deepEqual(d.reads, own === "" ? [d.cacheRef] : [d.cacheRef, `${URL}:${cacheTag}`]);
                    // The push flags name this build's image, and only it.
                    const pushed = preludeValues(o).PUSH_FLAGS as string[];
                    assert.deepEqual(
                        d.pushFlags,
                        pushed.map((f) => f.replace(`${URL}:latest`, `${URL}:latest${own}`)),
                    );
                } else {
                    assert.deepEqual(
                        d.reads,
                        expect.reads.map((t) => `${URL}:${cacheTag}${t}`),
                    );
                    // An untrusted build's refs are the default branch's: it names nothing of its own.
                    assert.equal(d.imageRef, `${URL}:latest`);
                }
            });
        }
    }

    it("the scheduled build's shape is the stack's schedule: StartBuild with the project's name and no source-version override", () => {
        assert.deepEqual(JSON.parse(startBuildInput("docker-cache-dev")), { ProjectName: "docker-cache-dev" });
        assert.deepEqual(
            Object.keys(scheduled().env).filter((k) => k.startsWith("CODEBUILD_WEBHOOK")),
            [],
        );
    });

    it("a project whose own version is not trusted: a scheduled or plain build writes nothing", () => {
        const o = optionsFor("registry", ["main"], "develop");
        assert.equal(decide(o, scheduled("develop").env).trusted, "0");
        assert.equal(decide(o, manualUnset().env).trusted, "0");
        assert.equal(decide(o, branchPush("main").env).trusted, "1");
        // main is trusted but not the default branch here: it gets tags of its own; develop keeps the configured ones.
        assert.equal(
            decide(o, branchPush("main").env).cacheRef,
            `${URL}:buildcache${expectedBranchTag("refs/heads/main")}`,
        );
    });

    it("pull-request shapes the documentation leaves open are never trusted (event or base ref without a pr/ trigger)", () => {
        const o = optionsFor("registry");
        const push = branchPush("main").env;
        const shapes: Record<string, string>[] = [
            { ...push, CODEBUILD_WEBHOOK_EVENT: "PULL_REQUEST_CREATED", CODEBUILD_WEBHOOK_TRIGGER: "" },
            { ...push, CODEBUILD_WEBHOOK_EVENT: "PULL_REQUEST_MERGED", CODEBUILD_WEBHOOK_TRIGGER: "branch/main" },
            { ...push, CODEBUILD_WEBHOOK_BASE_REF: "refs/heads/main" },
        ];
        for (const env of shapes) {
            assert.equal(decide(o, env).trusted, "0", JSON.stringify(env));
        }
        assert.equal(decide(o, push).trusted, "1", "positive control: the push itself writes");
    });

    it("a buildspec without the project's source version keeps the configured tags for every trusted build", () => {
        const o: BuildspecOptions = { ...optionsFor("registry"), sourceVersion: undefined };
        const d = decide(o, branchPush("release/1.x").env);
        assert.equal(d.trusted, "1");
        assert.equal(d.cacheRef, `${URL}:buildcache`);
        assert.equal(decide(o, pullRequest(3, "a", "release/1.x").env).reads.length, 1);
    });
});

/** Docker's tag grammar. */
const DOCKER_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** branch.sh run once over many refs: each ref's cache tag, in order (one bash for all of them). */
function branchTags(o: BuildspecOptions, refs: readonly string[]): string[] {
    const branch = command("branch", preludeValues(o));
    const uuid = randomUUID();
    const script = [
        "TRUSTED=1",
        `for CACHE_BRANCH in "$@"; do`,
        `(`,
        branch,
        `printf '%s\\0' "\${CACHE_REFS[0]##*:}"`,
        `)`,
        `done`,
        `rm -f "/tmp/layer-cache-branch.${uuid}.sh"`,
    ].join("\n");
    const r = runBash(`set -- ${refs.map((x) => `'${x.replace(/'/g, `'\\''`)}'`).join(" ")}\n${script}`, {
        env: { CODEBUILD_BUILD_ID: `p:${uuid}` },
    });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split("\0").slice(0, -1);
}

describe("branch tags: a ref (anything a ref may hold) becomes a Docker tag no other ref gets (property, real bash)", () => {
    /** Ref-like names: git's separators and forbidden characters, non-ASCII, and look-alikes of each other. */
    const piece = fc.oneof(
        fc.constantFrom("main", "release", "1.x", "/", "-", "_", ".", "..", "@{", "~", "^", ":", " ", "é", "日本", "*"),
        fc.string({ maxLength: 4, unit: "grapheme" }),
    );
    const ref = fc
        .tuple(
            fc.constantFrom("refs/heads/", "refs/tags/", "refs/", ""),
            fc.array(piece, { minLength: 1, maxLength: 12 }).map((p) => p.join("")),
        )
        .map(([prefix, name]) => prefix + name)
        .filter((r) => r.length > 0 && !r.includes("\0"));

    for (const [what, tags] of [
        ["default tags", {}],
        ["the longest tags a branch tag can extend", { cacheTag: "c".repeat(MAX_BASE_TAG_LENGTH), imageTag: "i" }],
    ] as const) {
        it(`${what}: valid, deterministic, distinct for distinct refs`, () => {
            const o = optionsFor("registry", TRUSTED, "main", tags);
            fc.assert(
                fc.property(fc.uniqueArray(ref, { minLength: 2, maxLength: 40 }), (refs) => {
                    const first = branchTags(o, refs);
                    assert.equal(first.length, refs.length);
                    for (const [i, t] of first.entries()) {
                        assert.match(t, DOCKER_TAG, `${JSON.stringify(refs[i])} -> ${t}`);
                        assert.ok(t.startsWith(`${o.cacheTag}-br-`), t);
                        assert.equal(t, `${o.cacheTag}${expectedBranchTag(refs[i], branchSlugMax(o))}`);
                    }
                    assert.equal(new Set(first).size, refs.length, "distinct refs, distinct tags");
                    assert.deepEqual(branchTags(o, refs), first, "deterministic");
                }),
                { numRuns: 15 },
            );
        });
    }

    it("look-alike refs differ in their hash: release/1.x, release-1.x, refs/tags/release/1.x", () => {
        const o = optionsFor("registry");
        const tags = branchTags(o, ["refs/heads/release/1.x", "refs/heads/release-1.x", "refs/tags/release/1.x"]);
        assert.equal(new Set(tags.map((t) => t.slice(0, -13))).size, 2, "two share a slug");
        assert.equal(new Set(tags).size, 3);
    });

    it("the lifecycle pattern of a tag selects its branch tags and not the tag itself", () => {
        const pattern = branchTagPattern("buildcache");
        assert.equal(pattern, "buildcache-br-*");
        const re = new RegExp(`^${pattern.replace(/[.]/g, "\\.").replace("*", ".*")}$`);
        const o = optionsFor("registry");
        for (const t of branchTags(o, ["refs/heads/release/1.x", "refs/tags/v1.0"])) {
            assert.match(t, re);
        }
        assert.doesNotMatch("buildcache", re);
    });
});

/** What the webhook sees of an event (tests/helpers/events.ts). */
type WebhookView = NonNullable<BuildEvent["webhook"]>;

/**
 * Whether CodeBuild starts a build for `e` under `groups`, as its documentation describes the evaluation ("GitHub
 * webhook events"; API WebhookFilter): a build starts when every filter of at least one group passes. EVENT: the
 * event is one of the comma-separated names. HEAD_REF / BASE_REF: the pattern, a regular expression, is found in the
 * ref (a push has no base ref: a BASE_REF filter does not pass). FILE_PATH: taken as passing (every event here
 * changes a file under the configured paths). `excludeMatchedPattern` inverts a filter.
 */
export function webhookStarts(groups: readonly WebhookFilterGroup[], e: WebhookView): boolean {
    return groups.some((g) =>
        g.filters.every((f) => {
            let match: boolean;
            switch (f.type) {
                case "EVENT":
                    match = f.pattern
                        .split(",")
                        .map((x) => x.trim())
                        .includes(e.event);
                    break;
                case "HEAD_REF":
                    match = new RegExp(f.pattern).test(e.headRef);
                    break;
                case "BASE_REF":
                    match = e.baseRef !== undefined && new RegExp(f.pattern).test(e.baseRef);
                    break;
                default:
                    match = true;
            }
            return f.excludeMatchedPattern ? !match : match;
        }),
    );
}

describe("the webhook's filter groups and the trust rule agree (every event let through gets the README's decision)", () => {
    const branches = ["main", "release/1.x", "release-1.x", "main2", "x/main", "feature/x", "refs/heads/main", "v1.0"];
    const tags = ["v1.0", "v1.1", "v2.0", "main", "release/1.x", "latest"];
    const events: BuildEvent[] = [
        ...branches.map((b) => branchPush(b)),
        ...tags.map((t) => tagPush(t)),
        ...branches.flatMap((head, i) =>
            ["main", "release/1.x", "feature/x"].flatMap((base) =>
                ["PULL_REQUEST_CREATED", "PULL_REQUEST_UPDATED", "PULL_REQUEST_REOPENED", "PULL_REQUEST_MERGED"].map(
                    (event) => pullRequest(100 + i, head, base, { fork: i % 2 === 0, event }),
                ),
            ),
        ),
    ];
    const configs: { what: string; args: Parameters<typeof resolveArgs>[2] }[] = [
        { what: "pushes and pull requests", args: { webhookPushes: true, webhookPullRequests: true } },
        {
            what: "pushes, pull requests and tags v*",
            args: { webhookPushes: true, webhookPullRequests: true, webhookTags: ["v.*"] },
        },
        { what: "tags only, every tag", args: { webhookTags: [".*"] } },
        { what: "pull requests only", args: { webhookPullRequests: true } },
    ];
    for (const { what, args } of configs) {
        it(`${what}: pushes to trusted refs and listed tags write (the default branch's tags only for it), nothing else does`, () => {
            const a = resolveArgs("docker-cache", "dev", {
                sourceUrl: "https://github.com/acme/app.git",
                sourceVersion: "main",
                githubToken: "ghp_test",
                trustedRefs: TRUSTED,
                cacheStrategy: "registry",
                ...args,
            });
            const groups = webhookFilterGroups(a.webhook, a.trustedRefs);
            assert.ok(groups.length > 0);
            const o = buildspecOptions(a, URL, "eu-west-1");
            const trusted = new Set(TRUSTED.map((r) => (r.startsWith("refs/") ? r : `refs/heads/${r}`)));
            let started = 0;
            let wrote = 0;
            for (const e of events) {
                if (!webhookStarts(groups, e.webhook!)) {
                    continue;
                }
                started++;
                const d = decide(o, e.env);
                const isPr = e.webhook!.event.startsWith("PULL_REQUEST");
                const promised = !isPr && trusted.has(e.webhook!.headRef);
                assert.equal(d.trusted, promised ? "1" : "0", `${what}: ${e.what}`);
                if (promised) {
                    wrote++;
                    const own = e.webhook!.headRef === "refs/heads/main" ? "" : expectedBranchTag(e.webhook!.headRef);
                    assert.equal(d.cacheRef, `${URL}:buildcache${own}`, e.what);
                    assert.equal(d.imageRef, `${URL}:latest${own}`, e.what);
                } else {
                    assert.equal(d.imageRef, `${URL}:latest`, `${e.what}: names no image of its own`);
                }
            }
            assert.ok(started > 0, `${what}: some event builds`);
            if (args?.webhookPushes || (args?.webhookTags ?? []).length > 0) {
                assert.ok(wrote > 0, `${what}: some event writes`);
            }
        });
    }

    it("the evaluator can fail: a group whose filters don't all pass starts nothing; an excluded match starts nothing", () => {
        const push = branchPush("main").webhook!;
        assert.equal(webhookStarts([{ filters: [{ type: "EVENT", pattern: "PUSH" }] }], push), true);
        const mismatch = [{ type: "HEAD_REF", pattern: "^refs/heads/dev$" }] as const;
        assert.equal(webhookStarts([{ filters: [{ type: "EVENT", pattern: "PUSH" }, ...mismatch] }], push), false);
        assert.equal(
            webhookStarts(
                [
                    {
                        filters: [
                            { type: "EVENT", pattern: "PUSH" },
                            { type: "HEAD_REF", pattern: "main", excludeMatchedPattern: true },
                        ],
                    },
                ],
                push,
            ),
            false,
        );
        assert.equal(webhookStarts([{ filters: [{ type: "BASE_REF", pattern: ".*" }] }], push), false, "no base ref");
    });
});

describe("two platforms emulated: a cache per platform and per branch (trust.sh, branch.sh, caches.sh in real bash)", () => {
    it("a branch's build reads its own cache of each platform, then the default branch's; each tag fits Docker's 128 and a branch's matches its expiry pattern", () => {
        const ref = "refs/heads/release/1.x";
        for (const cacheTag of ["buildcache", "c".repeat(MAX_BASE_TAG_LENGTH - "-arm64".length)]) {
            const a = resolveArgs("docker-cache", "dev", {
                trustedRefs: ["main", "release/1.x"],
                sourceVersion: "main",
                platforms: ["linux/amd64", "linux/arm64"],
                platformMode: "emulated",
                cacheTag,
                // Off: with it, a 105-character cache tag, written out in the buildspec again and again, takes it past
                // CodeBuild's 25,600 characters (buildspec/limit.ts refuses it); the tags are what is tested here.
                skipUnchanged: false,
            });
            const o = buildspecOptions(a, URL, "eu-west-1");
            const pre = buildspec(o).phases.pre_build.commands;
            const uuid = randomUUID();
            const r = runBash([pre[0], pre[1], pre[2], `printf '%s\\0' "\${CACHE_REFS[@]}"`].join("\n"), {
                env: { ...branchPush("release/1.x").env, CODEBUILD_BUILD_ID: `p:${uuid}` },
            });
            fs.rmSync(`/tmp/layer-cache-branch.${uuid}.sh`, { force: true });
            assert.equal(r.status, 0, r.stderr);
            assert.deepEqual(r.calls, []);
            const refs = r.stdout
                .slice(r.stdout.lastIndexOf("\n") + 1)
                .split("\0")
                .slice(0, -1);
            const branch = `${cacheTag}${expectedBranchTag(ref, branchSlugMax(o))}`;
            assert.deepEqual(refs, [
                `${URL}:${branch}-amd64`,
                `${URL}:${branch}-arm64`,
                `${URL}:${cacheTag}-amd64`,
                `${URL}:${cacheTag}-arm64`,
            ]);
            for (const tag of refs.map((x) => x.slice(URL.length + 1))) {
                assert.match(tag, DOCKER_TAG, `${tag.length} characters`);
            }
            const pattern = new RegExp(`^${branchTagPattern(cacheTag).replace("*", ".*")}$`);
            assert.ok(refs.slice(0, 2).every((x) => pattern.test(x.slice(URL.length + 1))));
        }
    });
});

describe("branchCacheExpiryDays and the tags' length (config, validated before anything is created)", () => {
    const problems = (args: Parameters<typeof resolveArgs>[2]) => {
        try {
            resolveArgs("docker-cache", "dev", args);
            return [];
        } catch (e) {
            return String((e as Error).message)
                .split("\n")
                .filter((l) => l.includes("Invalid value"));
        }
    };

    it("defaults to 14; 1 to 3650 whole days", () => {
        assert.equal(resolveArgs("docker-cache", "dev", {}).branchCacheExpiryDays, 14);
        assert.equal(resolveArgs("docker-cache", "dev", { branchCacheExpiryDays: 3650 }).branchCacheExpiryDays, 3650);
        for (const bad of [0, 3651, 1.5, -1]) {
            assert.deepEqual(problems({ branchCacheExpiryDays: bad }), [
                `Invalid value for 'branchCacheExpiryDays': ${bad}. Allowed: a whole number from 1 to 3650.`,
            ]);
        }
    });

    it(`tags over ${MAX_BASE_TAG_LENGTH} characters are refused only when a trusted ref other than sourceVersion writes branch tags`, () => {
        const long = "t".repeat(MAX_BASE_TAG_LENGTH + 1);
        assert.deepEqual(problems({ cacheTag: long }), [], "one trusted ref, the project's own: no branch tags");
        assert.deepEqual(problems({ cacheTag: long, sourceVersion: "main", trustedRefs: ["main", "release"] }), [
            `Invalid value for 'cacheTag': "${long}". Allowed: at most ${MAX_BASE_TAG_LENGTH} characters when trustedRefs holds a ref other than sourceVersion, whose builds push <tag>-br-<branch>-<hash> (Docker tags end at 128).`,
        ]);
        assert.deepEqual(
            problems({ imageTag: "t".repeat(MAX_BASE_TAG_LENGTH), sourceVersion: "main", trustedRefs: ["main", "x"] }),
            [],
        );
    });

    it("two platforms emulated: a branch's cache tags also end in -<arch>, so the cache tag may be 6 characters fewer", () => {
        const emulated = {
            platforms: ["linux/amd64" as const, "linux/arm64" as const],
            platformMode: "emulated" as const,
            sourceVersion: "main",
            trustedRefs: ["main", "release"],
            skipUnchanged: false,
        };
        const max = MAX_BASE_TAG_LENGTH - "-arm64".length;
        assert.deepEqual(problems({ ...emulated, cacheTag: "t".repeat(max) }), []);
        assert.deepEqual(problems({ ...emulated, cacheTag: "t".repeat(max + 1) }), [
            `Invalid value for 'cacheTag': "${"t".repeat(max + 1)}". Allowed: at most ${max} characters when trustedRefs holds a ref other than sourceVersion, whose builds push <tag>-br-<branch>-<hash> and cache to <cacheTag>-br-<branch>-<hash>-<arch> (Docker tags end at 128).`,
        ]);
        assert.deepEqual(problems({ ...emulated, imageTag: "t".repeat(MAX_BASE_TAG_LENGTH) }), [], "one image tag");
    });
});

describe("the component wires branch caches into the repository (program under Pulumi mocks)", () => {
    /** The lifecycle rules and the tag exclusions the program registers for the dev stack with these overrides. */
    async function repositoryOf(overrides: Record<string, unknown>) {
        await runProgram("dev", overrides);
        const lc = findResource("aws:ecr/lifecyclePolicy:LifecyclePolicy").inputs;
        const repo = findResource("aws:ecr/repository:Repository").inputs;
        const rules = (JSON.parse(String(lc.policy)) as LifecyclePolicyDocument).rules;
        return { rules, exclusions: repo.imageTagMutabilityExclusionFilters as { filter: string }[] | undefined };
    }

    it("a second trusted ref: its tags expire after branchCacheExpiryDays, after the shields; IMMUTABLE lets them move", async () => {
        const { rules, exclusions } = await repositoryOf({
            sourceVersion: "main",
            trustedRefs: ["main", "release/1.x"],
            branchCacheExpiryDays: 21,
            imageTagMutability: "IMMUTABLE",
            imageTag: "app",
            cacheTag: "app-cache",
        });
        const [imageTag, cacheTag] = ["app", "app-cache"];
        assert.deepEqual(
            rules
                .slice(0, 4)
                .map((r) => [
                    r.rulePriority,
                    r.selection.tagPatternList,
                    r.selection.countType,
                    r.selection.countNumber,
                ]),
            [
                [1, [imageTag], "imageCountMoreThan", 10000],
                [2, [cacheTag], "imageCountMoreThan", 10000],
                [3, [`${imageTag}-br-*`], "sinceImagePushed", 21],
                [4, [`${cacheTag}-br-*`], "sinceImagePushed", 21],
            ],
        );
        assert.deepEqual(
            exclusions?.map((e) => e.filter),
            // and the key tags of skipUnchanged (on by default): a forced rebuild pushes its key tag again
            [imageTag, cacheTag, `${imageTag}-br-*`, `${cacheTag}-br-*`, "key-*"],
        );
    });

    it("one trusted ref, the project's own: the policy and exclusions are as before (no branch rule)", async () => {
        const { rules, exclusions } = await repositoryOf({ imageTagMutability: "IMMUTABLE" });
        assert.ok(!rules.some((r) => (r.selection.tagPatternList ?? []).some((p) => p.includes("-br-"))));
        assert.deepEqual(
            exclusions?.map((e) => e.filter),
            ["latest", "buildcache", "key-*"],
        );
    });
});
