/**
 * Defaults and validation (`resolveArgs`): each bad value is refused with the exact message naming the
 * key, the value and what is allowed; several bad values are reported together; and the component throws
 * before registering anything.
 */
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { CachedDockerBuildArgs } from "../../components/args";
import { ConfigError, SECRET_VALUE } from "../../components/problems";
import { DEFAULTS, resolveArgs } from "../../components/resolveArgs";
import { CachedDockerBuild } from "../../components/cachedDockerBuild";
import { installMocks, registrations, settle } from "../../scripts/mockRuntime";

/** Asserts that `resolveArgs` refuses `args` with exactly one problem: this key, value and message. */
function refuses(args: CachedDockerBuildArgs, key: string, value: unknown, message: string): void {
    assert.throws(
        () => resolveArgs("docker-cache", "dev", args),
        (e: unknown) => {
            assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
            assert.equal(e.message, message);
            assert.equal(e.problems.length, 1, e.message);
            assert.equal(e.key, key);
            assert.deepEqual(e.value, value);
            return true;
        },
    );
}

const REPO_RULE =
    "Allowed: 2 to 256 characters, lowercase letters and digits, separated by single '.', '_', '-' or '/' (ECR's rule).";

describe("resolveArgs", () => {
    describe("defaults", () => {
        it("apply every documented default, with names from the component and stack", () => {
            const a = resolveArgs("docker-cache", "Dev", {});
            assert.equal(a.repositoryName, "docker-cache-dev", "the repository name is lowercased (ECR)");
            assert.equal(a.projectName, "docker-cache-Dev");
            for (const [k, v] of Object.entries(DEFAULTS)) {
                assert.deepEqual((a as unknown as Record<string, unknown>)[k], v, k);
            }
            assert.deepEqual(a.trustedRefs, ["master"], "trustedRefs defaults to [sourceVersion]");
            assert.equal(a.localCache, true, "localCache defaults to on (computeType MEDIUM supports it)");
            assert.equal(a.kmsKeyArn, undefined);
            assert.equal(a.buildNetwork, undefined);
        });

        it("keep 0-like and false values instead of replacing them (?? not ||)", () => {
            const a = resolveArgs("c", "s", {
                forceDelete: false,
                localCache: false,
                protect: false,
                sourceVersion: "main",
            });
            assert.equal(a.forceDelete, false);
            assert.equal(a.localCache, false);
            assert.deepEqual(a.trustedRefs, ["main"]);
        });
    });

    describe("exact errors", () => {
        it("repositoryName: uppercase, leading separator, double separator, too long, too short", () => {
            refuses(
                { repositoryName: "MyRepo" },
                "repositoryName",
                "MyRepo",
                `Invalid value for 'repositoryName': "MyRepo". ${REPO_RULE}`,
            );
            refuses(
                { repositoryName: "-repo" },
                "repositoryName",
                "-repo",
                `Invalid value for 'repositoryName': "-repo". ${REPO_RULE}`,
            );
            refuses(
                { repositoryName: "team//repo" },
                "repositoryName",
                "team//repo",
                `Invalid value for 'repositoryName': "team//repo". ${REPO_RULE}`,
            );
            const long = "a".repeat(257);
            refuses(
                { repositoryName: long },
                "repositoryName",
                long,
                `Invalid value for 'repositoryName': ${JSON.stringify(long)}. ${REPO_RULE}`,
            );
            refuses(
                { repositoryName: "a" },
                "repositoryName",
                "a",
                `Invalid value for 'repositoryName': "a". ${REPO_RULE}`,
            );
            // ECR's longest name; it is in the buildspec about a dozen times, so it fits without skipUnchanged only.
            assert.equal(
                resolveArgs("c", "s", { repositoryName: "a".repeat(256), skipUnchanged: false }).repositoryName.length,
                256,
            );
            assert.equal(
                resolveArgs("c", "s", { repositoryName: "team/app.v2_x-y" }).repositoryName,
                "team/app.v2_x-y",
            );
        });

        it("projectName: too long for '<name>-role' in IAM, bad characters", () => {
            const long = "p".repeat(60);
            const rule =
                "Allowed: 2 to 59 characters (so '<name>-role' fits IAM's 64), letters, digits, '-' and '_', starting with a letter or digit.";
            refuses(
                { projectName: long },
                "projectName",
                long,
                `Invalid value for 'projectName': ${JSON.stringify(long)}. ${rule}`,
            );
            refuses({ projectName: "a b" }, "projectName", "a b", `Invalid value for 'projectName': "a b". ${rule}`);
            assert.equal(resolveArgs("c", "s", { projectName: "p".repeat(59) }).projectName.length, 59);
        });

        it("counts and days: non-positive, non-integer, above the limit", () => {
            refuses(
                { untaggedExpiryDays: 0 },
                "untaggedExpiryDays",
                0,
                "Invalid value for 'untaggedExpiryDays': 0. Allowed: a whole number from 1 to 3650.",
            );
            refuses(
                { untaggedExpiryDays: -3 },
                "untaggedExpiryDays",
                -3,
                "Invalid value for 'untaggedExpiryDays': -3. Allowed: a whole number from 1 to 3650.",
            );
            refuses(
                { untaggedExpiryDays: 1.5 },
                "untaggedExpiryDays",
                1.5,
                "Invalid value for 'untaggedExpiryDays': 1.5. Allowed: a whole number from 1 to 3650.",
            );
            refuses(
                { untaggedExpiryDays: 3651 },
                "untaggedExpiryDays",
                3651,
                "Invalid value for 'untaggedExpiryDays': 3651. Allowed: a whole number from 1 to 3650.",
            );
            refuses(
                { maxTaggedImages: 0 },
                "maxTaggedImages",
                0,
                "Invalid value for 'maxTaggedImages': 0. Allowed: a whole number from 1 to 10000.",
            );
            refuses(
                { maxTaggedImages: 2.5 },
                "maxTaggedImages",
                2.5,
                "Invalid value for 'maxTaggedImages': 2.5. Allowed: a whole number from 1 to 10000.",
            );
        });

        it("enumerations: cacheStrategy, computeType, registryBuilder, encryptionType, imageTagMutability", () => {
            refuses(
                { cacheStrategy: "local" as never },
                "cacheStrategy",
                "local",
                `Invalid value for 'cacheStrategy': "local". Allowed: inline, registry, pull.`,
            );
            refuses(
                { computeType: "BUILD_GENERAL1_HUGE" as never },
                "computeType",
                "BUILD_GENERAL1_HUGE",
                `Invalid value for 'computeType': "BUILD_GENERAL1_HUGE". Allowed: BUILD_GENERAL1_SMALL, BUILD_GENERAL1_MEDIUM, BUILD_GENERAL1_LARGE, BUILD_GENERAL1_XLARGE, BUILD_GENERAL1_2XLARGE.`,
            );
            refuses(
                { registryBuilder: "kubernetes" as never },
                "registryBuilder",
                "kubernetes",
                `Invalid value for 'registryBuilder': "kubernetes". Allowed: docker-container, docker.`,
            );
            refuses(
                { encryptionType: "SSE" as never },
                "encryptionType",
                "SSE",
                `Invalid value for 'encryptionType': "SSE". Allowed: AES256, KMS.`,
            );
            refuses(
                { imageTagMutability: "IMMUTABLE_WITH_EXCLUSION" as never },
                "imageTagMutability",
                "IMMUTABLE_WITH_EXCLUSION",
                `Invalid value for 'imageTagMutability': "IMMUTABLE_WITH_EXCLUSION". Allowed: MUTABLE, IMMUTABLE.`,
            );
        });

        it("onCacheImportFailure: fail by default, build-cold accepted, anything else refused naming the key, the value and what is allowed", () => {
            assert.equal(resolveArgs("c", "s", {}).onCacheImportFailure, "fail");
            assert.equal(
                resolveArgs("c", "s", { onCacheImportFailure: "build-cold" }).onCacheImportFailure,
                "build-cold",
            );
            refuses(
                { onCacheImportFailure: "cold" as never },
                "onCacheImportFailure",
                "cold",
                `Invalid value for 'onCacheImportFailure': "cold". Allowed: fail, build-cold.`,
            );
        });

        it("buildTimeoutMinutes: 4 and 2161 refused, 5 and 2160 accepted", () => {
            refuses(
                { buildTimeoutMinutes: 4 },
                "buildTimeoutMinutes",
                4,
                "Invalid value for 'buildTimeoutMinutes': 4. Allowed: a whole number from 5 to 2160.",
            );
            refuses(
                { buildTimeoutMinutes: 2161 },
                "buildTimeoutMinutes",
                2161,
                "Invalid value for 'buildTimeoutMinutes': 2161. Allowed: a whole number from 5 to 2160.",
            );
            assert.equal(resolveArgs("c", "s", { buildTimeoutMinutes: 5 }).buildTimeoutMinutes, 5);
            assert.equal(resolveArgs("c", "s", { buildTimeoutMinutes: 2160 }).buildTimeoutMinutes, 2160);
        });

        it("dockerfileDir: absolute, with '..', empty", () => {
            refuses(
                { dockerfileDir: "/etc" },
                "dockerfileDir",
                "/etc",
                `Invalid value for 'dockerfileDir': "/etc". Allowed: a path relative to the source root; absolute paths are not.`,
            );
            refuses(
                { dockerfileDir: "images/../../secrets" },
                "dockerfileDir",
                "images/../../secrets",
                `Invalid value for 'dockerfileDir': "images/../../secrets". Allowed: a path inside the source; '..' segments are not.`,
            );
            refuses(
                { dockerfileDir: "" },
                "dockerfileDir",
                "",
                `Invalid value for 'dockerfileDir': "". Allowed: a non-empty relative path of at most 1024 characters.`,
            );
            refuses(
                { dockerfileDir: "a\nb" },
                "dockerfileDir",
                "a\nb",
                `Invalid value for 'dockerfileDir': "a\\nb". Allowed: printable characters; control characters and newlines are not.`,
            );
            assert.equal(
                resolveArgs("c", "s", { dockerfileDir: "a..b/c" }).dockerfileDir,
                "a..b/c",
                "'..' inside a name is fine",
            );
            refuses(
                { dockerfileDir: "-dir" },
                "dockerfileDir",
                "-dir",
                `Invalid value for 'dockerfileDir': "-dir". Allowed: a path not starting with '-', which docker would read as an option; write './-…' instead.`,
            );
        });

        it("dockerfileDir: normalized once, dropping empty and '.' segments but keeping the './' before a '-'", () => {
            const cases: [string, string][] = [
                ["app", "app"],
                ["app/", "app"],
                ["./app//sub/", "app/sub"],
                ["a/./b", "a/b"],
                [".", "."],
                ["./", "."],
                ["./-dir/", "./-dir"],
                ["././-x", "./-x"],
                ["a/-b", "a/-b"],
            ];
            for (const [input, normalized] of cases) {
                assert.equal(resolveArgs("c", "s", { dockerfileDir: input }).dockerfileDir, normalized, input);
            }
        });

        it("kmsKeyArn: refused without KMS encryption, and when not a KMS ARN", () => {
            const arn = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
            refuses(
                { kmsKeyArn: arn },
                "kmsKeyArn",
                arn,
                `Invalid value for 'kmsKeyArn': ${JSON.stringify(arn)}. Allowed only when encryptionType is KMS.`,
            );
            refuses(
                { encryptionType: "KMS", kmsKeyArn: "alias/aws/ecr" },
                "kmsKeyArn",
                "alias/aws/ecr",
                `Invalid value for 'kmsKeyArn': "alias/aws/ecr". Allowed: a KMS key or alias ARN.`,
            );
            assert.equal(resolveArgs("c", "s", { encryptionType: "KMS", kmsKeyArn: arn }).kmsKeyArn, arn);
        });

        it("kmsKeyArn: an Output (a key made in the same program) is passed through, but still only with KMS", () => {
            const key = pulumi.output("arn:aws:kms:eu-west-1:123456789012:key/made-here");
            assert.equal(resolveArgs("c", "s", { encryptionType: "KMS", kmsKeyArn: key }).kmsKeyArn, key);
            refuses(
                { kmsKeyArn: key },
                "kmsKeyArn",
                key,
                "Invalid value for 'kmsKeyArn': (a pulumi.Output, known only at deployment). Allowed only when encryptionType is KMS.",
            );
        });

        it("localCache: off by default on BUILD_GENERAL1_2XLARGE, refused there when asked for, naming both keys", () => {
            assert.equal(resolveArgs("c", "s", { computeType: "BUILD_GENERAL1_2XLARGE" }).localCache, false);
            refuses(
                { computeType: "BUILD_GENERAL1_2XLARGE", localCache: true },
                "localCache",
                true,
                "Invalid value for 'localCache': true. Allowed: false or unset when computeType is BUILD_GENERAL1_2XLARGE, which has no local Docker layer cache.",
            );
            assert.equal(
                resolveArgs("c", "s", { computeType: "BUILD_GENERAL1_2XLARGE", localCache: false }).localCache,
                false,
            );
            assert.equal(resolveArgs("c", "s", { computeType: "BUILD_GENERAL1_XLARGE" }).localCache, true);
        });

        it("logRetentionDays: a value CloudWatch doesn't offer (10)", () => {
            refuses(
                { logRetentionDays: 10 },
                "logRetentionDays",
                10,
                "Invalid value for 'logRetentionDays': 10. Allowed: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653.",
            );
        });

        it("cacheTag equal to imageTag, and tags that aren't Docker tags", () => {
            refuses(
                { imageTag: "v1", cacheTag: "v1" },
                "cacheTag",
                "v1",
                `Invalid value for 'cacheTag': "v1". Allowed: any tag other than imageTag; the cache manifest must not replace the image.`,
            );
            refuses(
                { imageTag: ".hidden" },
                "imageTag",
                ".hidden",
                `Invalid value for 'imageTag': ".hidden". Allowed: a Docker tag: 1 to 128 of letters, digits, '_', '.', '-', not starting with '.' or '-'.`,
            );
            refuses(
                { cacheTag: "a*" },
                "cacheTag",
                "a*",
                `Invalid value for 'cacheTag': "a*". Allowed: a Docker tag: 1 to 128 of letters, digits, '_', '.', '-', not starting with '.' or '-'.`,
            );
        });

        it("trustedRefs: pull-request refs, empty list, bad ref syntax", () => {
            refuses(
                { trustedRefs: ["master", "pr/7"] },
                "trustedRefs",
                "pr/7",
                `Invalid value for 'trustedRefs': "pr/7". Allowed: branch or tag names; pull-request refs (pr/...) must never write the cache.`,
            );
            refuses(
                { trustedRefs: [] },
                "trustedRefs",
                [],
                `Invalid value for 'trustedRefs': []. Allowed: a non-empty list of branch or tag names.`,
            );
            refuses(
                { trustedRefs: ["a b"] },
                "trustedRefs",
                "a b",
                `Invalid value for 'trustedRefs': "a b". Allowed: branch or tag names (git ref syntax).`,
            );
        });

        it("buildArgs: bad names", () => {
            refuses(
                { buildArgs: { "1X": "v" } },
                "buildArgs.1X",
                "1X",
                `Invalid value for 'buildArgs.1X': "1X". Allowed names: letters, digits and '_', not starting with a digit.`,
            );
            refuses(
                { buildArgs: { "A-B": "v" } },
                "buildArgs.A-B",
                "A-B",
                `Invalid value for 'buildArgs.A-B': "A-B". Allowed names: letters, digits and '_', not starting with a digit.`,
            );
        });

        it("sourceUrl: only HTTPS repository URLs of the source provider", () => {
            refuses(
                { sourceUrl: "git@github.com:aws/x.git" },
                "sourceUrl",
                "git@github.com:aws/x.git",
                `Invalid value for 'sourceUrl': "git@github.com:aws/x.git". Allowed: an HTTPS repository URL of the source provider (github): https://github.com/<owner>/<repo>[.git].`,
            );
        });
    });

    describe("pull-through caches", () => {
        const REGISTRY_ON = { cacheStrategy: "registry", pullThroughCache: "create" } as const;
        const PREFIX =
            "Allowed: an ECR pull-through cache prefix: 2 to 30 characters, lowercase letters and digits in '/'-separated components, with single '.', '_' or '-' inside a component (ECR's rule).";
        const ONLY_WITH =
            "Allowed only when pullThroughCache is create and pullThroughUpstreams includes docker-hub: the stack then creates the Docker Hub rule with this credential.";
        const SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ecr-pullthroughcache/hub-AbCdEf";
        const TOKEN = "dckr_pat_never-in-a-message";

        /** Like `refuses`, and the token never appears in the message. */
        function refusesQuietly(args: CachedDockerBuildArgs, key: string, value: unknown, message: string): void {
            refuses(args, key, value, message);
            try {
                resolveArgs("docker-cache", "dev", args);
            } catch (e) {
                assert.ok(!String((e as Error).message).includes(TOKEN), "the access token is never shown");
            }
        }

        it("off by default: no cache, whatever the strategy", () => {
            for (const cacheStrategy of ["inline", "registry", "pull"] as const) {
                const a = resolveArgs("c", "s", { cacheStrategy });
                assert.equal(a.pullThroughCache, "off");
                assert.deepEqual(a.upstreamCaches, []);
            }
        });

        it("create or existing: the caches of the listed upstreams, under their prefixes, in the listed order", () => {
            assert.deepEqual(resolveArgs("c", "s", REGISTRY_ON).upstreamCaches, [
                { upstream: "ecr-public", prefix: "ecr-public" },
            ]);
            assert.deepEqual(
                resolveArgs("c", "s", {
                    cacheStrategy: "registry",
                    pullThroughCache: "existing",
                    pullThroughUpstreams: ["docker-hub", "ecr-public"],
                    ecrPublicCachePrefix: "mirror/public",
                    dockerHubCachePrefix: "mirror/hub",
                }).upstreamCaches,
                [
                    { upstream: "docker-hub", prefix: "mirror/hub" },
                    { upstream: "ecr-public", prefix: "mirror/public" },
                ],
                "existing rules need no credential, even for Docker Hub",
            );
            const withToken = resolveArgs("c", "s", {
                ...REGISTRY_ON,
                pullThroughUpstreams: ["docker-hub"],
                dockerHubUsername: "builder",
                dockerHubAccessToken: pulumi.secret(TOKEN),
            });
            assert.deepEqual(withToken.upstreamCaches, [{ upstream: "docker-hub", prefix: "docker-hub" }]);
            assert.equal(withToken.dockerHubUsername, "builder");
            assert.ok(!("dockerHubAccessToken" in withToken), "the token is handed through, not resolved");
            assert.equal(
                resolveArgs("c", "s", {
                    ...REGISTRY_ON,
                    pullThroughUpstreams: ["docker-hub"],
                    dockerHubCredentialArn: SECRET_ARN,
                }).dockerHubCredentialArn,
                SECRET_ARN,
            );
        });

        it("pullThroughCache: an unknown mode; on without the registry strategy's docker-container builder", () => {
            refuses(
                { pullThroughCache: "on" as never },
                "pullThroughCache",
                "on",
                `Invalid value for 'pullThroughCache': "on". Allowed: off, create, existing.`,
            );
            refuses(
                { pullThroughCache: "existing", cacheStrategy: "inline" },
                "pullThroughCache",
                "existing",
                "Invalid value for 'pullThroughCache': \"existing\". Allowed: off, unless cacheStrategy is registry and registryBuilder is docker-container (got cacheStrategy inline, registryBuilder docker-container): only a docker-container builder takes the BuildKit configuration that sends pulls through the cache.",
            );
            refuses(
                { ...REGISTRY_ON, registryBuilder: "docker" },
                "pullThroughCache",
                "create",
                "Invalid value for 'pullThroughCache': \"create\". Allowed: off, unless cacheStrategy is registry and registryBuilder is docker-container (got cacheStrategy registry, registryBuilder docker): only a docker-container builder takes the BuildKit configuration that sends pulls through the cache.",
            );
        });

        it("pullThroughUpstreams: empty, unknown, twice", () => {
            refuses(
                { pullThroughUpstreams: [] },
                "pullThroughUpstreams",
                [],
                "Invalid value for 'pullThroughUpstreams': []. Allowed: a non-empty list of ecr-public, docker-hub.",
            );
            refuses(
                { pullThroughUpstreams: ["ghcr"] as never },
                "pullThroughUpstreams",
                "ghcr",
                `Invalid value for 'pullThroughUpstreams': "ghcr". Allowed: ecr-public, docker-hub.`,
            );
            refuses(
                { pullThroughUpstreams: ["ecr-public", "ecr-public"] },
                "pullThroughUpstreams",
                "ecr-public",
                `Invalid value for 'pullThroughUpstreams': "ecr-public". Allowed: each upstream once.`,
            );
        });

        it("prefixes: ECR's rule (checked even when off), distinct and not nested when both are used", () => {
            refuses(
                { ecrPublicCachePrefix: "e" },
                "ecrPublicCachePrefix",
                "e",
                `Invalid value for 'ecrPublicCachePrefix': "e". ${PREFIX}`,
            );
            refuses(
                { dockerHubCachePrefix: "ROOT" },
                "dockerHubCachePrefix",
                "ROOT",
                `Invalid value for 'dockerHubCachePrefix': "ROOT". ${PREFIX}`,
            );
            const long = "a".repeat(31);
            refuses(
                { dockerHubCachePrefix: long },
                "dockerHubCachePrefix",
                long,
                `Invalid value for 'dockerHubCachePrefix': "${long}". ${PREFIX}`,
            );
            assert.equal(
                resolveArgs("c", "s", { dockerHubCachePrefix: "a".repeat(30) }).dockerHubCachePrefix.length,
                30,
            );
            const both = {
                ...REGISTRY_ON,
                pullThroughCache: "existing",
                pullThroughUpstreams: ["ecr-public", "docker-hub"],
            } satisfies CachedDockerBuildArgs;
            refuses(
                { ...both, ecrPublicCachePrefix: "cache", dockerHubCachePrefix: "cache" },
                "dockerHubCachePrefix",
                "cache",
                "Invalid value for 'dockerHubCachePrefix': \"cache\". Allowed: a prefix other than ecrPublicCachePrefix (cache), neither inside it nor around it: each upstream needs its own repositories.",
            );
            refuses(
                { ...both, ecrPublicCachePrefix: "cache", dockerHubCachePrefix: "cache/hub" },
                "dockerHubCachePrefix",
                "cache/hub",
                "Invalid value for 'dockerHubCachePrefix': \"cache/hub\". Allowed: a prefix other than ecrPublicCachePrefix (cache), neither inside it nor around it: each upstream needs its own repositories.",
            );
            assert.deepEqual(
                resolveArgs("c", "s", {
                    ...both,
                    ecrPublicCachePrefix: "cache",
                    dockerHubCachePrefix: "cache-hub",
                }).upstreamCaches.map((c) => c.prefix),
                ["cache", "cache-hub"],
                "a prefix that only starts with the same letters is another prefix",
            );
            assert.equal(
                resolveArgs("c", "s", { ecrPublicCachePrefix: "same", dockerHubCachePrefix: "same" }).pullThroughCache,
                "off",
                "equal prefixes are fine while no cache uses them",
            );
        });

        it("repositoryName: not inside a prefix whose repositories the cache fills", () => {
            refuses(
                { ...REGISTRY_ON, repositoryName: "ecr-public/app" },
                "repositoryName",
                "ecr-public/app",
                "Invalid value for 'repositoryName': \"ecr-public/app\". Allowed: a name outside the pull-through cache prefix ecr-public/ (ecrPublicCachePrefix), whose repositories hold cached upstream images.",
            );
            assert.equal(resolveArgs("c", "s", { repositoryName: "ecr-public/app" }).repositoryName, "ecr-public/app");
            assert.equal(
                resolveArgs("c", "s", { ...REGISTRY_ON, repositoryName: "ecr-public" }).repositoryName,
                "ecr-public",
                "the prefix itself is no cached repository",
            );
            assert.equal(
                resolveArgs("c", "s", { ...REGISTRY_ON, repositoryName: "ecr-publicity" }).repositoryName,
                "ecr-publicity",
            );
        });

        it("Docker Hub with create: a credential is required, in exactly one of its two forms", () => {
            const hub = {
                ...REGISTRY_ON,
                pullThroughUpstreams: ["ecr-public", "docker-hub"],
            } satisfies CachedDockerBuildArgs;
            refuses(
                hub,
                "pullThroughUpstreams",
                ["ecr-public", "docker-hub"],
                `Invalid value for 'pullThroughUpstreams': ["ecr-public","docker-hub"]. Allowed: docker-hub only with a Docker Hub credential when pullThroughCache is create (ECR requires one): set dockerHubCredentialArn, or dockerHubUsername and the secret dockerHubAccessToken.`,
            );
            refusesQuietly(
                {
                    ...hub,
                    dockerHubCredentialArn: SECRET_ARN,
                    dockerHubUsername: "builder",
                    dockerHubAccessToken: TOKEN,
                },
                "dockerHubCredentialArn",
                SECRET_ARN,
                `Invalid value for 'dockerHubCredentialArn': "${SECRET_ARN}". Allowed: either dockerHubCredentialArn (an existing secret) or dockerHubUsername with dockerHubAccessToken (the stack creates the secret), not both.`,
            );
            const other = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dockerhub-AbCdEf";
            refuses(
                { ...hub, dockerHubCredentialArn: other },
                "dockerHubCredentialArn",
                other,
                `Invalid value for 'dockerHubCredentialArn': "${other}". Allowed: the ARN of a Secrets Manager secret whose name starts with 'ecr-pullthroughcache/' (ECR takes no other as a pull-through cache credential).`,
            );
            refuses(
                { ...hub, dockerHubUsername: "builder" },
                "dockerHubUsername",
                "builder",
                `Invalid value for 'dockerHubUsername': "builder". Allowed only together with dockerHubAccessToken (pulumi config set --secret dockerHubAccessToken <token>).`,
            );
            refusesQuietly(
                { ...hub, dockerHubAccessToken: TOKEN },
                "dockerHubAccessToken",
                SECRET_VALUE,
                "Invalid value for 'dockerHubAccessToken': (a secret, not shown). Allowed only together with dockerHubUsername, the user name the token belongs to.",
            );
            refuses(
                { ...hub, dockerHubUsername: "two words", dockerHubAccessToken: pulumi.secret(TOKEN) },
                "dockerHubUsername",
                "two words",
                `Invalid value for 'dockerHubUsername': "two words". Allowed: a Docker Hub user or organization name, 1 to 255 printable characters without spaces.`,
            );
        });

        it("a Docker Hub credential is refused wherever the stack doesn't create the Docker Hub rule (never silently ignored)", () => {
            const cases: [CachedDockerBuildArgs, string][] = [
                [{ dockerHubCredentialArn: SECRET_ARN }, "off"],
                [{ ...REGISTRY_ON, dockerHubCredentialArn: SECRET_ARN }, "create, ECR Public only"],
                [
                    {
                        ...REGISTRY_ON,
                        pullThroughCache: "existing",
                        pullThroughUpstreams: ["docker-hub"],
                        dockerHubCredentialArn: SECRET_ARN,
                    },
                    "existing",
                ],
            ];
            for (const [args, what] of cases) {
                assert.throws(
                    () => resolveArgs("c", "s", args),
                    (e: unknown) =>
                        e instanceof ConfigError &&
                        e.message === `Invalid value for 'dockerHubCredentialArn': "${SECRET_ARN}". ${ONLY_WITH}`,
                    what,
                );
            }
            assert.throws(
                () => resolveArgs("c", "s", { dockerHubUsername: "builder", dockerHubAccessToken: TOKEN }),
                (e: unknown) => {
                    assert.ok(e instanceof ConfigError);
                    assert.equal(
                        e.message,
                        [
                            "2 invalid values:",
                            `  - Invalid value for 'dockerHubUsername': "builder". ${ONLY_WITH}`,
                            `  - Invalid value for 'dockerHubAccessToken': (a secret, not shown). ${ONLY_WITH}`,
                        ].join("\n"),
                    );
                    assert.equal(e.problems[1].value, SECRET_VALUE, "the problem carries no copy of the token either");
                    return true;
                },
            );
        });
    });

    describe("several bad values", () => {
        it("are reported in one ConfigError, one line each, in the order of the arguments", () => {
            assert.throws(
                () =>
                    resolveArgs("docker-cache", "dev", {
                        repositoryName: "UPPER",
                        untaggedExpiryDays: 0,
                        buildArgs: { "1X": "v", OK: "fine" },
                        trustedRefs: ["pr/1", "pr/2"],
                        logRetentionDays: 10,
                    }),
                (e: unknown) => {
                    assert.ok(e instanceof ConfigError);
                    assert.equal(
                        e.message,
                        [
                            "6 invalid values:",
                            `  - Invalid value for 'repositoryName': "UPPER". ${REPO_RULE}`,
                            "  - Invalid value for 'untaggedExpiryDays': 0. Allowed: a whole number from 1 to 3650.",
                            `  - Invalid value for 'buildArgs.1X': "1X". Allowed names: letters, digits and '_', not starting with a digit.`,
                            `  - Invalid value for 'trustedRefs': "pr/1". Allowed: branch or tag names; pull-request refs (pr/...) must never write the cache.`,
                            `  - Invalid value for 'trustedRefs': "pr/2". Allowed: branch or tag names; pull-request refs (pr/...) must never write the cache.`,
                            "  - Invalid value for 'logRetentionDays': 10. Allowed: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653.",
                        ].join("\n"),
                    );
                    assert.deepEqual(
                        e.problems.map((p) => p.key),
                        [
                            "repositoryName",
                            "untaggedExpiryDays",
                            "buildArgs.1X",
                            "trustedRefs",
                            "trustedRefs",
                            "logRetentionDays",
                        ],
                    );
                    assert.equal(e.key, "repositoryName", "key and value are the first problem's");
                    assert.equal(e.value, "UPPER");
                    assert.ok(
                        pulumi.RunError.isInstance(e),
                        "a RunError: the CLI prints the message without a stack trace",
                    );
                    return true;
                },
            );
        });

        it("report a value once, under its own key, not again through what depends on it", () => {
            // A bad sourceVersion is also the default trustedRefs; a bad computeType decides localCache; a
            // bad imageTag makes cacheTag's comparison moot; a bad encryptionType makes kmsKeyArn's.
            assert.throws(
                () =>
                    resolveArgs("c", "s", {
                        sourceVersion: "a b",
                        computeType: "HUGE" as never,
                        localCache: true,
                        imageTag: ".x",
                        cacheTag: ".x",
                        encryptionType: "SSE" as never,
                        kmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/k",
                    }),
                (e: unknown) => {
                    assert.ok(e instanceof ConfigError);
                    assert.deepEqual(
                        e.problems.map((p) => p.key),
                        ["imageTag", "cacheTag", "encryptionType", "sourceVersion", "computeType"],
                    );
                    return true;
                },
            );
        });
    });

    describe("the component", () => {
        before(() => {
            installMocks({ stack: "dev" });
        });

        it("throws the ConfigError before registering any resource, itself included", async () => {
            assert.throws(
                () => new CachedDockerBuild("bad", { logRetentionDays: 10, repositoryName: "UPPER" }),
                (e: unknown) =>
                    e instanceof ConfigError &&
                    e.problems.map((p) => p.key).join() === "repositoryName,logRetentionDays",
            );
            await settle();
            assert.deepEqual(registrations, []);
        });
    });
});

describe("resolveArgs: build context and target stage (issue 10)", () => {
    it("contextDir defaults to the normalized dockerfileDir; target to none", () => {
        const a = resolveArgs("c", "s", { dockerfileDir: "./app//" });
        assert.equal(a.contextDir, "app");
        assert.equal(a.target, undefined);
    });

    it("contextDir is normalized like dockerfileDir, and refused under its own key", () => {
        assert.equal(resolveArgs("c", "s", { contextDir: "./" }).contextDir, ".");
        refuses(
            { contextDir: "../outside" },
            "contextDir",
            "../outside",
            `Invalid value for 'contextDir': "../outside". Allowed: a path inside the source; '..' segments are not.`,
        );
        refuses(
            { contextDir: "-ctx" },
            "contextDir",
            "-ctx",
            `Invalid value for 'contextDir': "-ctx". Allowed: a path not starting with '-', which docker would read as an option; write './-…' instead.`,
        );
    });

    it("target: a stage name as BuildKit stores it, not a reserved one", () => {
        assert.equal(resolveArgs("c", "s", { target: "build-stage_1.x" }).target, "build-stage_1.x");
        const rule =
            "Allowed: a Dockerfile stage name as BuildKit stores it: a lowercase letter, then lowercase letters, digits, '-', '_' and '.'; not scratch or context (reserved).";
        for (const bad of ["Runtime", "1st", "", "a b", "scratch", "context", "--push"]) {
            refuses({ target: bad }, "target", bad, `Invalid value for 'target': ${JSON.stringify(bad)}. ${rule}`);
        }
    });
});
