/**
 * Two architectures (components/platforms.ts, components/buildspec/batch.ts, platform.sh, manifest.sh,
 * components/batchRole.ts): the arguments and their errors, the batch buildspec run in bash (what is mocked: only
 * `docker` and `aws`, as shell functions that record their argv), and the resources under the Pulumi mock runtime.
 */
import { strict as assert } from "assert";
import * as YAML from "yaml";
import { ConfigError } from "../../components/problems";
import { resolveArgs } from "../../components/resolveArgs";
import { BuildspecOptions, fragment, phaseFragments } from "../../components/buildspec";
import { buildspec, buildspecYaml } from "../../components/buildspec/render";
import { CachedDockerBuild } from "../../components/cachedDockerBuild";
import { protectedTags } from "../../components/ecr";
import { lifecyclePolicy } from "../../components/lifecycle";
import { BATCH_ACTIONS, platformTags } from "../../components/platforms";
import { iamDocumentProblems, lifecycleProblems, policies, tagsInBuildspec } from "../../policy/rules";
import { runPolicy } from "../../scripts/policyRunner";
import { runPhases } from "../helpers/bash";
import {
    ACCOUNT,
    findResource,
    findResources,
    installMocks,
    projectBuildspec,
    registrations,
    settle,
} from "../../scripts/mockRuntime";
import { buildspecOptions, TEST_REPOSITORY_URL } from "../helpers/buildspecOptions";

const REPO = TEST_REPOSITORY_URL;
const BOTH = ["linux/amd64", "linux/arm64"] as ("linux/amd64" | "linux/arm64")[];

function options(extra: Partial<BuildspecOptions> = {}): BuildspecOptions {
    return buildspecOptions({ cacheStrategy: "registry", platforms: BOTH, platformMode: "native", ...extra });
}

function problemsOf(args: Parameters<typeof resolveArgs>[2]): { key: string; value: unknown; allowed: string }[] {
    try {
        resolveArgs("app", "dev", args);
        return [];
    } catch (e) {
        assert.ok(e instanceof ConfigError);
        return [...e.problems];
    }
}

describe("platforms: arguments", () => {
    it("default: linux/amd64 alone, native, the current aarch64 image for arm64 hosts", () => {
        const a = resolveArgs("app", "dev", {});
        assert.deepEqual(a.platforms, ["linux/amd64"]);
        assert.equal(a.platformMode, "native");
        assert.equal(a.armBuildImage, "aws/codebuild/amazonlinux-aarch64-standard:3.0");
    });

    it("refuses an empty list, an unknown platform and a duplicate, naming the key, the value and what is allowed", () => {
        for (const platforms of [[], ["linux/386"], ["linux/arm64", "linux/arm64"]]) {
            const ps = problemsOf({ platforms: platforms as never });
            assert.equal(ps.length, 1, JSON.stringify(ps));
            assert.equal(ps[0].key, "platforms");
            assert.deepEqual(ps[0].value, platforms);
            assert.match(ps[0].allowed, /non-empty list of linux\/amd64, linux\/arm64, each at most once/);
        }
    });

    it("platformMode: only with two platforms; emulated only with registry on the docker-container builder", () => {
        assert.match(problemsOf({ platformMode: "emulated" })[0].allowed, /only with two platforms/);
        const ps = problemsOf({ platforms: BOTH, platformMode: "emulated", cacheStrategy: "inline" });
        assert.equal(ps[0].key, "platformMode");
        assert.match(ps[0].allowed, /cacheStrategy registry and registryBuilder docker-container/);
        assert.deepEqual(problemsOf({ platforms: BOTH, platformMode: "emulated" }), []);
        assert.equal(
            problemsOf({ platforms: BOTH, platformMode: "native" as never, cacheStrategy: "inline" }).length,
            0,
        );
        assert.equal(problemsOf({ platforms: BOTH, platformMode: "fast" as never })[0].key, "platformMode");
    });

    it("native: the project name leaves room for the batch role '<name>-batch' in IAM's 64 characters", () => {
        const long = "p".repeat(59);
        assert.deepEqual(problemsOf({ projectName: long }), []);
        const ps = problemsOf({ projectName: long, platforms: BOTH });
        assert.equal(ps[0].key, "projectName");
        assert.match(ps[0].allowed, /at most 58 characters when two platforms are built natively/);
    });

    it("per-platform tags stay Docker tags: imageTag and cacheTag leave room for '-<arch>' where a platform pushes one", () => {
        const t = (n: number, c = "x") => c.repeat(n);
        // Native: each platform pushes <imageTag>-<arch> and, with registry, <cacheTag>-<arch>.
        assert.deepEqual(problemsOf({ platforms: BOTH, imageTag: t(122), cacheTag: t(122, "c") }), []);
        const native = problemsOf({ platforms: BOTH, imageTag: t(123), cacheTag: t(123, "c") });
        assert.deepEqual(
            native.map((x) => [x.key, x.value, x.allowed]),
            [
                [
                    "imageTag",
                    t(123),
                    "Allowed: at most 122 characters with these platforms, whose builds push <imageTag>-<arch> (Docker tags end at 128).",
                ],
                [
                    "cacheTag",
                    t(123, "c"),
                    "Allowed: at most 122 characters with these platforms, whose builds push <cacheTag>-<arch> (Docker tags end at 128).",
                ],
            ],
        );
        // inline has no cache tag of its own; emulated pushes one image (a manifest list) and a cache per platform.
        assert.deepEqual(problemsOf({ platforms: BOTH, cacheStrategy: "inline", cacheTag: t(128, "c") }), []);
        assert.deepEqual(problemsOf({ platforms: BOTH, platformMode: "emulated", imageTag: t(128) }), []);
        assert.deepEqual(
            problemsOf({ platforms: BOTH, platformMode: "emulated", cacheTag: t(123, "c") }).map((x) => x.key),
            ["cacheTag"],
        );
        // One platform pushes no per-platform tag.
        assert.deepEqual(problemsOf({ imageTag: t(128), cacheTag: t(128, "c") }), []);
    });

    it("protects each platform's own image and cache tags natively, each platform's cache emulated; inline and pull have no separate cache tag", () => {
        const a = resolveArgs("app", "dev", { platforms: BOTH });
        assert.deepEqual(protectedTags(a), [
            "latest",
            "buildcache",
            "latest-amd64",
            "buildcache-amd64",
            "latest-arm64",
            "buildcache-arm64",
        ]);
        const inline = resolveArgs("app", "dev", { platforms: BOTH, cacheStrategy: "inline" });
        assert.deepEqual(platformTags(inline), ["latest-amd64", "latest-arm64"]);
        // Emulated: one image (a manifest list under imageTag), a cache per platform (moby/buildkit#2822).
        assert.deepEqual(protectedTags(resolveArgs("app", "dev", { platforms: BOTH, platformMode: "emulated" })), [
            "latest",
            "buildcache",
            "buildcache-amd64",
            "buildcache-arm64",
        ]);
        assert.deepEqual(protectedTags(resolveArgs("app", "dev", {})), ["latest", "buildcache"]);
    });
});

describe("platforms: the buildspec", () => {
    it("one platform renders no batch, and the default renders exactly today's buildspec", () => {
        const today = buildspecYaml(options({ platforms: undefined, platformMode: undefined }));
        assert.equal(buildspecYaml(options({ platforms: ["linux/amd64"] })), today);
        assert.equal(buildspec(options({ platforms: ["linux/arm64"] })).batch, undefined);
    });

    it("emulated: one build, for both platforms, on the one cache", () => {
        const b = buildspec(options({ platformMode: "emulated" }));
        assert.equal(b.batch, undefined);
        const build = b.phases.build.commands[0];
        assert.match(build, /--platform linux\/amd64,linux\/arm64\)/);
        assert.match(build, /CACHE_REF=.*app:buildcache$/m);
    });

    it("native: a build graph of one job per platform on its own host, then the manifest job after both", () => {
        const b = buildspec(options({ computeType: "BUILD_GENERAL1_LARGE" }));
        assert.deepEqual(b.batch, {
            "fast-fail": false,
            "build-graph": [
                {
                    identifier: "build_amd64",
                    env: {
                        type: "LINUX_CONTAINER",
                        image: "aws/codebuild/amazonlinux-x86_64-standard:5.0",
                        "compute-type": "BUILD_GENERAL1_LARGE",
                    },
                },
                {
                    identifier: "build_arm64",
                    env: {
                        type: "ARM_CONTAINER",
                        image: "aws/codebuild/amazonlinux-aarch64-standard:3.0",
                        "compute-type": "BUILD_GENERAL1_LARGE",
                    },
                },
                { identifier: "manifest", "depend-on": ["build_amd64", "build_arm64"] },
            ],
        });
        assert.deepEqual(phaseFragments(options()).pre_build[0], "platform");
        assert.deepEqual(phaseFragments(options()).build.at(-1), "manifest");
    });

    /** Runs the whole buildspec as job `job`, with docker and aws stubbed; returns the run and the docker argv lines. */
    function runJob(job: string | undefined, stubDocker = "", env: Record<string, string> = {}) {
        const b = buildspec(options());
        return runPhases(b.phases, {
            env: {
                CODEBUILD_BUILD_ID: `app:${job ?? "x"}-${Math.random()}`,
                CODEBUILD_SOURCE_VERSION: "main",
                ...(job === undefined ? {} : { CODEBUILD_BATCH_BUILD_IDENTIFIER: job }),
                ...env,
            },
            stubs: { docker: stubDocker, dropTee: true },
        });
    }

    it("a platform job builds only its platform, reading and writing only its own cache and image tags", () => {
        for (const arch of ["amd64", "arm64"]) {
            const r = runJob(`build_${arch}`);
            const builds = r.calls.filter((c) => c[0] === "docker" && c[1] === "buildx" && c[2] === "build");
            assert.ok(builds.length >= 1, r.stderr);
            const argv = builds[0].join(" ");
            assert.match(argv, new RegExp(`--platform linux/${arch}`));
            assert.match(argv, new RegExp(`ref=${REPO}:buildcache-${arch}( |$)`));
            assert.match(argv, new RegExp(`name=${REPO}:latest-${arch},push=true`));
            const other = arch === "amd64" ? "arm64" : "amd64";
            assert.ok(!r.calls.flat().some((w) => w.includes(`-${other}`)), `job ${arch} touched ${other}`);
            assert.ok(
                !r.calls.some((c) => c.includes("imagetools") && c.includes("create")),
                "a platform job writes no manifest list",
            );
            assert.match(r.stdout, new RegExp(`layer cache: batch job build_${arch}, on a`));
        }
    });

    it("the manifest job runs no build, checks both images and joins them under the requested tag", () => {
        const inspect = `if [ "$3" = inspect ]; then case "$*" in *-amd64*) echo '{"architecture":"amd64"}';; *-arm64*) echo '{"architecture":"arm64"}';; esac; fi`;
        const r = runJob("manifest", inspect);
        assert.equal(r.failed, undefined, r.stderr);
        const docker = r.calls.filter((c) => c[0] === "docker").map((c) => c.slice(1).join(" "));
        assert.ok(
            !docker.some((c) => c.startsWith("buildx build") || c.startsWith("buildx create")),
            docker.join("\n"),
        );
        assert.deepEqual(
            docker.filter((c) => c.startsWith("buildx imagetools create")),
            [`buildx imagetools create --tag ${REPO}:latest ${REPO}:latest-amd64 ${REPO}:latest-arm64`],
        );
        assert.match(r.stdout, /pushed the manifest list .*app:latest \(linux\/amd64 linux\/arm64\)/);
        assert.ok(!r.stdout.includes('{"layerCache"'), "the manifest job prints no build event");
    });

    it("the manifest job fails, naming the platform and its job, when a platform's image is missing or of another platform, and writes nothing", () => {
        const missingArm = `if [ "$3" = inspect ]; then case "$*" in *-amd64*) echo '{"architecture":"amd64"}';; *) echo "ERROR: ${REPO}:latest-arm64: not found" >&2; return 1;; esac; fi`;
        const r = runJob("manifest", missingArm);
        assert.deepEqual(r.failed, { phase: "build", index: 3 });
        assert.match(
            r.stderr,
            /ERROR: no linux\/arm64 image at .*app:latest-arm64 \(job build_arm64 failed or pushed nothing\)/,
        );
        assert.ok(!r.stderr.includes("linux/amd64 image"), r.stderr);
        assert.ok(!r.calls.some((c) => c.includes("create")), "no manifest list written");
        const wrongArch = `if [ "$3" = inspect ]; then echo '{"architecture":"amd64"}'; fi`;
        const w = runJob("manifest", wrongArch);
        assert.match(w.stderr, /no linux\/arm64 image at .*latest-arm64/);
        assert.ok(!w.calls.some((c) => c.includes("create")));
    });

    it("an untrusted batch writes no manifest list", () => {
        const r = runJob("manifest", "", { CODEBUILD_WEBHOOK_TRIGGER: "pr/7" });
        assert.equal(r.failed, undefined, r.stderr);
        assert.ok(!r.calls.some((c) => c[0] === "docker" && c.includes("imagetools")));
        assert.match(r.stdout, /untrusted ref: no platform image was pushed, and no manifest list is written/);
    });

    it("a build started without a batch, or as an unknown job, fails at its first command, before any docker or aws call", () => {
        const plain = runJob(undefined);
        assert.deepEqual(plain.failed?.phase, "pre_build");
        assert.match(
            plain.stderr,
            /CODEBUILD_BATCH_BUILD_IDENTIFIER: set by CodeBuild in a batch build: start this project with aws codebuild start-build-batch/,
        );
        assert.deepEqual(plain.calls, []);
        const odd = runJob("build_riscv64");
        assert.match(odd.stderr, /unknown batch job 'build_riscv64'/);
        assert.deepEqual(odd.calls, []);
    });

    it("the policy pack finds every tag the jobs push or cache in, and the lifecycle rules shield them all", () => {
        const yaml = buildspecYaml(options());
        const tags = tagsInBuildspec(yaml, "app").sort();
        assert.deepEqual(tags, ["buildcache-amd64", "buildcache-arm64", "latest", "latest-amd64", "latest-arm64"]);
        const a = resolveArgs("app", "dev", { platforms: BOTH });
        const policy = lifecyclePolicy({ protectedTags: protectedTags(a), untaggedExpiryDays: 7, maxTaggedImages: 20 });
        assert.deepEqual(lifecycleProblems(policy, tags), []);
        // Control: today's policy would leave the platform tags to the keep-N rule.
        const old = lifecyclePolicy({
            protectedTags: ["latest", "buildcache"],
            untaggedExpiryDays: 7,
            maxTaggedImages: 20,
        });
        assert.equal(lifecycleProblems(old, tags).length, 4);
    });

    it("with every option that lengthens it and skipUnchanged: a batch whose platform jobs run http.sh, then key.sh", () => {
        // Before the buildspec moved to S3 (docs/decisions/buildspec-delivery.md), http.sh was left out here for room.
        const o = options({
            buildArgs: { VERSION: "1.2.3" },
            trustedRefs: ["main", "release/1.x"],
            buildNetwork: "host",
            upstreamCaches: [{ upstream: "ecr-public", prefix: "ecr-public" }],
            skipUnchanged: true,
        });
        const pre = phaseFragments(o).pre_build;
        assert.equal(pre.indexOf("http") + 1, pre.indexOf("key"), pre.join(" "));
        const doc = YAML.parse(buildspecYaml(o));
        assert.ok(doc.batch);
        const http = (doc.phases.pre_build.commands as string[]).find((c) =>
            c.startsWith("# ---- components/buildspec/http.sh"),
        );
        assert.ok(http, "the http.sh command");
        assert.match(http, /\nif \[ "\$CODEBUILD_BATCH_BUILD_IDENTIFIER" != manifest \]; then\n/);
        assert.ok(http.includes(fragment("http").rendered), "http.sh as written");
    });
});

/**
 * The policy pack's lifecycle rule on the registrations named `prefix…`: asserts it passes as deployed, then returns
 * its violation messages once the lifecycle rules whose first tag pattern `drop` selects are removed.
 */
async function lifecycleRuleMessages(prefix: string, drop: (firstTag: string | undefined) => boolean): Promise<string> {
    const regs = registrations.filter((r) => r.name.startsWith(prefix));
    const rule = policies.find((p) => p.name === "ecr-lifecycle-protects-cache")!;
    assert.deepEqual((await runPolicy(rule, regs)).violations, []);
    const unshielded = await runPolicy(rule, regs, (type, props) => {
        if (type !== "aws:ecr/lifecyclePolicy:LifecyclePolicy") return props;
        const doc = JSON.parse(props.policy as string);
        doc.rules = doc.rules.filter(
            (r: { selection: { tagPatternList?: string[] } }) => !drop(r.selection.tagPatternList?.[0]),
        );
        return { ...props, policy: JSON.stringify(doc) };
    });
    return unshielded.violations.map((v) => v.message).join("\n");
}

describe("platforms: the resources (Pulumi mocks)", () => {
    before(() => installMocks({ stack: "dev" }));

    it("native: a batch project with its own batch role, least privilege on this project only", async () => {
        new CachedDockerBuild("two", { platforms: BOTH, computeType: "BUILD_GENERAL1_SMALL" });
        await settle();
        const project = findResource("aws:codebuild/project:Project", "two-project").inputs;
        assert.equal(project.environment.type, "LINUX_CONTAINER");
        const batch = project.buildBatchConfig;
        assert.deepEqual(batch.restrictions, {
            computeTypesAlloweds: ["BUILD_GENERAL1_SMALL"],
            maximumBuildsAllowed: 3,
        });
        assert.equal(batch.timeoutInMins, 120);
        const role = findResource("aws:iam/role:Role", "two-batch-role").inputs;
        assert.equal(role.name, "two-dev-batch");
        assert.equal(batch.serviceRole, `arn:aws:iam::${ACCOUNT}:role/two-dev-batch`);
        const trust = JSON.parse(role.assumeRolePolicy);
        assert.equal(trust.Statement[0].Principal.Service, "codebuild.amazonaws.com");
        const projectArn = `arn:aws:codebuild:eu-west-1:${ACCOUNT}:project/two-dev`;
        assert.equal(trust.Statement[0].Condition.ArnLike["aws:SourceArn"], projectArn);
        const doc = JSON.parse(findResource("aws:iam/rolePolicy:RolePolicy", "two-batch-policy").inputs.policy);
        assert.deepEqual(doc.Statement, [
            {
                Sid: "StartStopRetryThisProjectsBuildsOnly",
                Effect: "Allow",
                Action: [...BATCH_ACTIONS],
                Resource: [projectArn],
            },
        ]);
        assert.deepEqual(iamDocumentProblems(doc), []);
        // The build's own role gets no codebuild action.
        const buildPolicy = findResource("aws:iam/policy:Policy", "two-policy").inputs.policy as string;
        assert.ok(!buildPolicy.includes("codebuild:"), buildPolicy);
        const lifecycle = JSON.parse(
            findResource("aws:ecr/lifecyclePolicy:LifecyclePolicy", "two-lifecycle").inputs.policy,
        );
        assert.deepEqual(
            lifecycle.rules
                .slice(0, 6)
                .map((r: { selection: { tagPatternList: string[] } }) => r.selection.tagPatternList[0]),
            ["latest", "buildcache", "latest-amd64", "buildcache-amd64", "latest-arm64", "buildcache-arm64"],
        );
        const spec = YAML.parse(projectBuildspec(findResource("aws:codebuild/project:Project", "two-project")));
        assert.equal(spec.batch["build-graph"].length, 3);
    });

    it("the policy pack's lifecycle rule passes on the batch stack, and flags it when the arm64 tags lose their shields", async () => {
        const messages = await lifecycleRuleMessages("two-", (tag) => tag?.endsWith("-arm64") === true);
        assert.match(messages, /latest-arm64/);
        assert.match(messages, /buildcache-arm64/);
    });

    it("emulated: the lifecycle rules shield each platform's cache, a branch's per-platform caches expire by the branch pattern, IMMUTABLE lets them move, and the policy pack flags a missing shield", async () => {
        new CachedDockerBuild("emu", {
            platforms: BOTH,
            platformMode: "emulated",
            trustedRefs: ["main", "release/1.x"],
            imageTagMutability: "IMMUTABLE",
        });
        await settle();
        const lifecycle = JSON.parse(
            findResource("aws:ecr/lifecyclePolicy:LifecyclePolicy", "emu-lifecycle").inputs.policy,
        );
        const patterns = lifecycle.rules.map(
            (r: { selection: { tagPatternList?: string[]; countType: string } }) =>
                `${r.selection.tagPatternList?.[0]} ${r.selection.countType}`,
        );
        assert.deepEqual(patterns.slice(0, 6), [
            "latest imageCountMoreThan",
            "buildcache imageCountMoreThan",
            "buildcache-amd64 imageCountMoreThan",
            "buildcache-arm64 imageCountMoreThan",
            // caches.sh: a branch's cache per platform is <cacheTag>-br-<slug>-<hash>-<arch>, which this pattern selects.
            "latest-br-* sinceImagePushed",
            "buildcache-br-* sinceImagePushed",
        ]);
        const filters = findResource("aws:ecr/repository:Repository", "emu-repo").inputs
            .imageTagMutabilityExclusionFilters;
        assert.deepEqual(
            filters.map((f: { filter: string }) => f.filter),
            ["latest", "buildcache", "latest-*", "buildcache-*", "key-*"],
        );
        assert.match(await lifecycleRuleMessages("emu-", (tag) => tag === "buildcache-arm64"), /buildcache-arm64/);
    });

    it("one arm64 platform: an ARM_CONTAINER project on the aarch64 image, no batch; IMMUTABLE with two platforms keeps within ECR's 5 filters", async () => {
        new CachedDockerBuild("arm", { platforms: ["linux/arm64"] });
        new CachedDockerBuild("imm", { platforms: BOTH, imageTagMutability: "IMMUTABLE" });
        await settle();
        const arm = findResource("aws:codebuild/project:Project", "arm-project").inputs;
        assert.equal(arm.environment.type, "ARM_CONTAINER");
        assert.equal(arm.environment.image, "aws/codebuild/amazonlinux-aarch64-standard:3.0");
        assert.equal(arm.buildBatchConfig, undefined);
        assert.deepEqual(findResources("aws:iam/role:Role", "arm-batch-role"), []);
        const repo = findResource("aws:ecr/repository:Repository", "imm-repo").inputs;
        assert.deepEqual(
            repo.imageTagMutabilityExclusionFilters.map((f: { filter: string }) => f.filter),
            // The key tags of skipUnchanged (on by default) move too: a forced rebuild pushes its key tag again.
            ["latest", "buildcache", "latest-*", "buildcache-*", "key-*"],
        );
    });
});
