/**
 * The arguments of {@link CachedDockerBuild}, their defaults, and their validation.
 *
 * This is the one place where defaults live and where every plain value is checked, so bad values are
 * reported (all of them at once, each naming the key, the value and what is allowed) before any resource
 * is registered. Fields that shape resource names, lifecycle rules, IAM scoping or buildspec commands are
 * plain values rather than `pulumi.Input`s on purpose: they must be known and checked up front. Only
 * values handed to a resource untouched (`kmsKeyArn`, `githubToken`, `tags`, `alarmTopicArn`) may be `pulumi.Input`s.
 */
import * as pulumi from "@pulumi/pulumi";
import { credentialArnProblem, prefixProblem, Upstream, UpstreamCache, UPSTREAMS } from "./pullThrough";
import { BUILDKIT_V0_32_2, DOCKER_HUB_BUILDKIT, ECR_PUBLIC_BUILDKIT } from "./builderImage";
import { DockerServerComputeType, dockerServerComputeTypeProblems, dockerServerProblems } from "./dockerServer";
import { resolveSkipUnchanged } from "./skip";
import { DEFAULT_LAYER_COMPRESSION, LAYER_COMPRESSIONS, LayerCompression } from "./layerCompression";
// Re-exported beside the other enums of the arguments (the package schema reads them here).
export { LAYER_COMPRESSIONS, LayerCompression } from "./layerCompression";
import { isNative, Platform, PlatformMode, platformTag, platformTags, resolvePlatforms } from "./platforms";
// The platform enumerations, beside the others (components/platforms.ts holds their logic).
export { Platform, PlatformMode, PLATFORMS, PLATFORM_MODES } from "./platforms";
// ---- Sources, triggers and schedules (components/source.ts, triggers.ts, schedule.ts) ----
import { resolveSchedule } from "./schedule";
import { resolveSource, SourceAuthKind, SourceProvider } from "./source";
import { cacheTagSuffix, hasBranchCaches, MAX_BASE_TAG_LENGTH } from "./branchCache";
import {
    PullRequestApproverRole,
    PullRequestCommentApproval,
    resolveTriggers,
    ResolvedWebhook,
    TRIGGER_DEFAULTS,
} from "./triggers";
export {
    PULL_REQUEST_APPROVER_ROLES,
    PULL_REQUEST_COMMENT_APPROVALS,
    PullRequestApproverRole,
    PullRequestCommentApproval,
    type ResolvedWebhook,
} from "./triggers";
export { SOURCE_PROVIDERS, SourceProvider, type SourceAuthKind } from "./source";

/*
 * Enumerations are `as const` objects with a type of the same name: the type is the union of the values, so a
 * plain string such as `"registry"` (from stack config, or written by hand) is accepted as it always was, and
 * the package schema, which refuses bare string-literal unions, gets a named enum with one member per key.
 */

/** How each build imports and exports the Docker layer cache. */
export const CacheStrategy = {
    /** The cache metadata rides inside the pushed image (`--cache-to type=inline`). */
    Inline: "inline",
    /** A separate `mode=max` cache manifest under the cache tag; covers multi-stage builds. */
    Registry: "registry",
    /** The original recipe, `docker pull` then `--cache-from`; kept to be measured, it gets no hits under BuildKit. */
    Pull: "pull",
} as const;
export type CacheStrategy = (typeof CacheStrategy)[keyof typeof CacheStrategy];
export const CACHE_STRATEGIES: readonly CacheStrategy[] = Object.values(CacheStrategy);

/** Which BuildKit builder runs the build when the strategy is `registry`. */
export const RegistryBuilder = {
    /** A buildx `docker-container` builder running the builder image; needed on CodeBuild. */
    DockerContainer: "docker-container",
    /** The daemon's own builder; only where the daemon has the containerd image store. */
    Docker: "docker",
} as const;
export type RegistryBuilder = (typeof RegistryBuilder)[keyof typeof RegistryBuilder];
export const REGISTRY_BUILDERS: readonly RegistryBuilder[] = Object.values(RegistryBuilder);

/** What a build does when importing its layer cache keeps failing on a transient registry error (buildspec/build.sh). */
export const CacheImportFailure = {
    /** The build fails, with an ERROR line naming the cache ref and the last error. */
    Fail: "fail",
    /** The last attempt builds without the cache (cold), with a WARNING line. */
    BuildCold: "build-cold",
} as const;
export type CacheImportFailure = (typeof CacheImportFailure)[keyof typeof CacheImportFailure];
export const CACHE_IMPORT_FAILURES: readonly CacheImportFailure[] = Object.values(CacheImportFailure);

/** CodeBuild compute types for Linux containers (named as CodeBuild names them). */
export const ComputeType = {
    BUILD_GENERAL1_SMALL: "BUILD_GENERAL1_SMALL",
    BUILD_GENERAL1_MEDIUM: "BUILD_GENERAL1_MEDIUM",
    BUILD_GENERAL1_LARGE: "BUILD_GENERAL1_LARGE",
    BUILD_GENERAL1_XLARGE: "BUILD_GENERAL1_XLARGE",
    /** Has no local Docker layer cache. */
    BUILD_GENERAL1_2XLARGE: "BUILD_GENERAL1_2XLARGE",
} as const;
export type ComputeType = (typeof ComputeType)[keyof typeof ComputeType];
export const COMPUTE_TYPES: readonly ComputeType[] = Object.values(ComputeType);
// ---- Docker server ----
export { DockerServerComputeType, DOCKER_SERVER_COMPUTE_TYPES } from "./dockerServer";

/** The retention periods CloudWatch Logs accepts, in days. */
export const LOG_RETENTION_DAYS = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** Server-side encryption types of an ECR repository. */
export const EncryptionType = {
    /** Amazon S3-managed keys. */
    AES256: "AES256",
    /** AWS KMS: the AWS-managed `aws/ecr` key, or `kmsKeyArn`. */
    KMS: "KMS",
} as const;
export type EncryptionType = (typeof EncryptionType)[keyof typeof EncryptionType];
export const ENCRYPTION_TYPES: readonly EncryptionType[] = Object.values(EncryptionType);

/** Tag mutability settings of the repository (`IMMUTABLE` keeps the image and cache tags movable). */
export const TagMutability = {
    Mutable: "MUTABLE",
    /** Immutable, with the image tag and the cache tag as exclusion filters, so that they can still move. */
    Immutable: "IMMUTABLE",
} as const;
export type TagMutability = (typeof TagMutability)[keyof typeof TagMutability];
export const TAG_MUTABILITIES: readonly TagMutability[] = Object.values(TagMutability);

/**
 * Whether the build pulls through ECR pull-through cache rules: `off`; `create` (the stack creates the rules,
 * their repository creation templates and, for Docker Hub, the credential's secret); `existing` (the rules
 * already exist in the account and region; the stack only grants the role their use and points the build at them).
 */
export const PullThroughMode = {
    /** No pull-through cache: the builder image and base images come from their public registries. */
    Off: "off",
    /** The stack creates the rules, their repository creation templates and the Docker Hub credential's secret. */
    Create: "create",
    /** The rules already exist in the account and region; the stack only uses them. */
    Existing: "existing",
} as const;
export type PullThroughMode = (typeof PullThroughMode)[keyof typeof PullThroughMode];
export const PULL_THROUGH_MODES: readonly PullThroughMode[] = Object.values(PullThroughMode);

/** An upstream registry that a pull-through cache can cover (the same values as `Upstream` in `pullThrough.ts`). */
export const PullThroughUpstream = {
    /** ECR Public (`public.ecr.aws`), where the BuildKit image comes from; needs no credential. */
    EcrPublic: "ecr-public",
    /** Docker Hub, where most `FROM` lines point; ECR requires a credential for it. */
    DockerHub: "docker-hub",
} as const;
export type PullThroughUpstream = (typeof PullThroughUpstream)[keyof typeof PullThroughUpstream];

/** The upstream registries a pull-through cache can cover: ECR Public and Docker Hub. */
export const PULL_THROUGH_UPSTREAMS: readonly PullThroughUpstream[] = Object.keys(UPSTREAMS) as Upstream[];

/** The argument that holds each upstream's repository prefix. */
export const PREFIX_KEYS = {
    "ecr-public": "ecrPublicCachePrefix",
    "docker-hub": "dockerHubCachePrefix",
} as const satisfies Record<Upstream, string>;

/** `--network` values for RUN steps. */
export const BuildNetwork = {
    /** No network at all. */
    None: "none",
    /** The host's network. */
    Host: "host",
} as const;
export type BuildNetwork = (typeof BuildNetwork)[keyof typeof BuildNetwork];
export const BUILD_NETWORKS: readonly BuildNetwork[] = Object.values(BuildNetwork);

/** Arguments of the {@link CachedDockerBuild} component. */
export interface CachedDockerBuildArgs {
    /**
     * Name of the ECR repository that holds the image and its layer cache: 2 to 256 characters, lowercase
     * letters and digits separated by single `.`, `_`, `-` or `/` (ECR's rule).
     * @default "<component name>-<stack>", lowercased
     */
    readonly repositoryName?: string;
    /**
     * Name of the CodeBuild project, which also names its log group and IAM role: 2 to 59 characters (so that
     * `<name>-role` fits IAM's 64), letters, digits, `-` and `_`, starting with a letter or digit.
     * @default "<component name>-<stack>"
     */
    readonly projectName?: string;
    /**
     * Tag of the image that trusted builds push, which the `inline` and `pull` strategies also read their cache
     * from: a Docker tag, 1 to 128 letters, digits, `_`, `.` and `-`, not starting with `.` or `-` (at most 122 with
     * two platforms built natively, which also push `<imageTag>-<arch>`).
     * @default "latest"
     */
    readonly imageTag?: string;
    /**
     * Tag of the cache manifest that the `registry` strategy reads and writes, never expired by the lifecycle
     * rules: a Docker tag like `imageTag`, and different from it (at most 122 characters with two platforms, whose
     * builds also cache to `<cacheTag>-<arch>`).
     * @default "buildcache"
     */
    readonly cacheTag?: string;
    /**
     * How the layer cache travels through ECR: `inline` (cache metadata inside the pushed image),
     * `registry` (a separate `mode=max` cache manifest, covers multi-stage builds), or `pull`
     * (the original recipe: `docker pull` then `--cache-from`; kept to be measured against, it gets no hits under BuildKit).
     * The default was `inline` before 0.2.0; `registry` on CodeBuild's `docker-container` builder measured ahead
     * (warm time, nothing pulled on a warm build, builder stages cached; see the README's "Choosing the default").
     * @default "registry"
     */
    readonly cacheStrategy?: CacheStrategy;
    /**
     * Builder for the `registry` strategy: `docker-container` creates a buildx builder whose image is
     * `builderImage` (needed on CodeBuild, whose daemon has no containerd image store), and
     * `docker` uses the daemon's own builder, which works only where the daemon has the containerd image store.
     * @default "docker-container"
     */
    readonly registryBuilder?: RegistryBuilder;
    /**
     * What a build does when BuildKit's import of the layer cache fails on a transient registry error (throttling, a
     * server error, a dropped connection) on every attempt. BuildKit itself would go on without the cache, a cold
     * build that succeeds; instead the build is stopped as soon as the import fails and run again (the same retries
     * as every registry operation, 6 attempts within about 23 s). When those run out: `fail` fails the build, with an
     * ERROR line naming the cache ref and the last error; `build-cold` lets the last attempt build without the cache.
     * A permanent error (not found, 401, 403) is never retried: BuildKit's own handling, as before.
     * @default "fail"
     */
    readonly onCacheImportFailure?: CacheImportFailure;
    /**
     * How the image's and the layer cache's new layers are compressed: `gzip`, which every puller reads, or `zstd`
     * (with OCI media types), which Docker 23 and later, containerd 1.5 and later, ECR and ECS on Fargate read; the
     * image and the cache share their blobs either way. `zstd` needs `cacheStrategy: registry`: the daemon's own
     * builder on CodeBuild's image store (`inline`, `pull`) pushes gzip whatever it is asked. The measurements:
     * docs/decisions/layerTransfer.md.
     * @default "gzip"
     */
    readonly layerCompression?: LayerCompression;
    /**
     * BuildKit image of the `docker-container` builder: an image reference (`registry/path[:tag][@sha256:digest]`,
     * lowercase path, no spaces). The default is BuildKit v0.32.2 pinned by the digest of its multi-platform index,
     * from ECR Public's mirror, so the builder never changes under a stack without notice (as the floating
     * `buildx-stable-1` tag would) and every source's bytes are checked against the digest. A build pulls it from the
     * first source that serves it: the pull-through cache (when `pullThroughCache` covers the registry), this
     * reference, then `builderImageMirrors` by the same digest. A reference without a digest works as before, with a
     * warning at `pulumi up`. The README's "The builder image" says how to move the digest.
     * @default "public.ecr.aws/vend/moby/buildkit@sha256:28a898719c18a33f4e8000685287fa36fd0dd9560c6440227d3a732d79bb41d8"
     */
    readonly builderImage?: string;
    /**
     * Other repositories that serve `builderImage`'s digest, tried in order after it when it fails (missing, other
     * bytes, or down after the retries): repository references without tag or digest. Used only when
     * `builderImage` has a digest, which holds each of them to the same bytes. With `pullThroughCache` on, each
     * mirror on a cached registry is tried through the cache first.
     * @default ["docker.io/moby/buildkit"]
     */
    readonly builderImageMirrors?: string[];
    /**
     * Pull the builder image and the Dockerfile's base images through ECR pull-through cache rules, so that a
     * build reaches no public registry (no rate limits, no outage of Docker Hub or ECR Public in the build's
     * path): `off`, `create` (the stack creates the rules) or `existing` (they exist in the account and region).
     * When on, `builderImage` is pulled from `<registry>/<ecrPublicCachePrefix>/…` if it is on ECR Public,
     * BuildKit gets each cached upstream as a registry mirror (base images of `FROM` lines come through the
     * cache without a change to the Dockerfile, and BuildKit falls back to the upstream when the mirror fails),
     * and the role may pull, import and create repositories under the cache prefixes only. It needs `cacheStrategy: "registry"` with
     * `registryBuilder: "docker-container"`, the only builder that takes a BuildKit configuration.
     *
     * Pull-through cache rules and repository creation templates belong to the registry (the account and
     * region), not to a stack: two stacks of one account and region must not both `create` the same prefix.
     * Let one stack `create` them and the others use them as `existing`, or give each stack its own prefixes.
     * @default "off"
     */
    readonly pullThroughCache?: PullThroughMode;
    /**
     * The upstream registries to pull through a cache, when `pullThroughCache` is on: a non-empty list of
     * `ecr-public` and `docker-hub`, each at most once. With `create`, `docker-hub` needs a credential (ECR
     * requires one for Docker Hub): `dockerHubCredentialArn`, or `dockerHubUsername` with
     * `dockerHubAccessToken`.
     * @default ["ecr-public"]
     */
    readonly pullThroughUpstreams?: PullThroughUpstream[];
    /**
     * Repository prefix of the ECR Public cache rule: images of `public.ecr.aws/<path>` are pulled as
     * `<registry>/<prefix>/<path>`. 2 to 30 characters, lowercase letters and digits in `/`-separated
     * components, with single `.`, `_` or `-` inside a component (ECR's rule).
     * @default "ecr-public"
     */
    readonly ecrPublicCachePrefix?: string;
    /**
     * Repository prefix of the Docker Hub cache rule (`node:22` is pulled as `<registry>/<prefix>/library/node:22`);
     * same rule as `ecrPublicCachePrefix`, and different from it.
     * @default "docker-hub"
     */
    readonly dockerHubCachePrefix?: string;
    /**
     * ARN of an existing Secrets Manager secret holding the Docker Hub credential
     * (`{"username": "…", "accessToken": "…"}`), for a Docker Hub rule that the stack creates. ECR takes only a
     * secret whose name starts with `ecr-pullthroughcache/`. Only with `pullThroughCache: "create"` and
     * `docker-hub` in `pullThroughUpstreams`; not together with `dockerHubUsername`.
     * @default undefined
     */
    readonly dockerHubCredentialArn?: string;
    /**
     * Docker Hub user name (or organization name, for an organization access token) for a Docker Hub rule that
     * the stack creates together with its secret `ecr-pullthroughcache/<projectName>-docker-hub`: 1 to 255
     * printable characters without spaces. Only together with `dockerHubAccessToken`, with
     * `pullThroughCache: "create"` and `docker-hub` in `pullThroughUpstreams`.
     * @default undefined
     */
    readonly dockerHubUsername?: string;
    /**
     * Docker Hub access token of `dockerHubUsername`, best given as a Pulumi secret: it becomes the secret's
     * value and never appears in plain text in state, the buildspec, the logs or an error message.
     * @default undefined
     */
    readonly dockerHubAccessToken?: pulumi.Input<string>;
    /**
     * Days after which untagged images (superseded cache manifests, old image versions) expire: 1 to 3650.
     * @default 7
     */
    readonly untaggedExpiryDays?: number;
    /**
     * How many tagged images to keep besides the image tag and the cache tag, which never expire: 1 to 10000.
     * @default 20
     */
    readonly maxTaggedImages?: number;
    /**
     * Server-side encryption of the repository: `AES256` or `KMS`.
     * @default "AES256"
     */
    readonly encryptionType?: EncryptionType;
    /**
     * ARN of the KMS key (or alias) for `KMS` encryption; set it only with `encryptionType: "KMS"`, and leave it
     * unset for the AWS-managed `aws/ecr` key. A plain string must be a KMS key or alias ARN; a
     * `pulumi.Output` (a key created in the same program) is passed to ECR as it is and checked by AWS.
     * @default undefined (the AWS-managed key)
     */
    readonly kmsKeyArn?: pulumi.Input<string>;
    /**
     * `MUTABLE`, or `IMMUTABLE`, which still lets the image tag and the cache tag move (they are exclusion filters).
     * @default "MUTABLE"
     */
    readonly imageTagMutability?: TagMutability;
    /**
     * Let `pulumi destroy` delete the repository while it still holds images (they are a cache and can be rebuilt).
     * @default true
     */
    readonly forceDelete?: boolean;
    /**
     * Protect every child resource from deletion (`protect`) and keep the repository and log group in AWS
     * when they leave the stack (`retainOnDelete`), for production stacks.
     * @default false
     */
    readonly protect?: boolean;
    /**
     * URL of the GitHub repository to build: `https://github.com/<owner>/<repo>`, optionally ending in `.git`.
     * @default "https://github.com/aws/aws-codebuild-docker-images.git"
     */
    readonly sourceUrl?: string;
    /**
     * Branch, tag or commit the project builds by default, in git ref syntax: 1 to 255 characters without
     * whitespace, control characters, `~^:?*[\`, `..`, `@{` or `//`, not starting or ending with `/`, not
     * ending in `.` or `.lock`.
     * @default "master"
     */
    readonly sourceVersion?: string;
    /**
     * Folder of the Dockerfile inside the source, which is also the build context: a relative path of 1 to
     * 1024 printable characters, without `..` segments, not starting with `/` or with `-` (docker would read
     * it as an option; write `./-dir`). Empty and `.` segments and trailing slashes are dropped, so
     * `./app//` becomes `app` and `./` becomes `.`; a path that would then start with `-` keeps its `./`.
     * @default "al/x86_64/standard/5.0"
     */
    readonly dockerfileDir?: string;
    /**
     * File name of the Dockerfile inside `dockerfileDir`: no `/`, not `.` or `..`, printable characters.
     * @default "Dockerfile"
     */
    readonly dockerfileName?: string;
    /**
     * `--build-arg` values passed to the build: names are letters, digits and `_`, not starting with a digit;
     * values may hold anything but NUL, DEL, C1 control characters, U+2028/U+2029 and a byte-order mark. They are part of
     * the buildspec (an S3 object, so no length limit applies to them).
     * @default {}
     */
    readonly buildArgs?: Readonly<Record<string, string>>;
    /**
     * Source refs whose builds may write the cache and push the image; builds of any other ref (pull requests,
     * manual source-version overrides) read the cache but never write it. A non-empty list in git ref syntax
     * (see `sourceVersion`), without pull-request refs (`pr/…`). A bare name is a branch (`main` =
     * `refs/heads/main`); a tag must be written `refs/tags/<name>`, so that a tag named like a trusted branch
     * never counts as that branch.
     * @default [sourceVersion]
     */
    readonly trustedRefs?: string[];
    /**
     * CodeBuild image the build runs on, which must have Docker with buildx (current standard images do):
     * 1 to 255 letters, digits and `._/:@-`, starting with a letter or digit.
     * @default "aws/codebuild/amazonlinux-x86_64-standard:5.0"
     */
    readonly buildImage?: string;
    /**
     * CodeBuild compute type: `BUILD_GENERAL1_SMALL`, `_MEDIUM`, `_LARGE`, `_XLARGE` or `_2XLARGE`.
     * @default "BUILD_GENERAL1_MEDIUM"
     */
    readonly computeType?: ComputeType;
    /**
     * Build timeout in minutes: 5 to 2160 (CodeBuild's range).
     * @default 60
     */
    readonly buildTimeoutMinutes?: number;
    /**
     * Also switch on CodeBuild's own host-local cache (`LOCAL_DOCKER_LAYER_CACHE`, `LOCAL_SOURCE_CACHE`),
     * best effort, on top of the ECR cache. `BUILD_GENERAL1_2XLARGE` doesn't support it, so `true` is refused there.
     * @default true, except on `BUILD_GENERAL1_2XLARGE`, where it is false
     */
    readonly localCache?: boolean;
    /**
     * Retention of the build log group in days: one of CloudWatch's values, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150,
     * 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653.
     * @default 30
     */
    readonly logRetentionDays?: number;
    /**
     * GitHub personal access token for a private source, best given as a Pulumi secret; it becomes a CodeBuild
     * source credential and never appears in plain text in state, the buildspec or the logs.
     * @default undefined (public source, no credential)
     */
    readonly githubToken?: pulumi.Input<string>;
    /**
     * `--network` for RUN steps, `none` or `host`: unset on CodeBuild; the local stand-in sets `none` because its
     * daemons have no bridge.
     * @default undefined (docker's default network)
     */
    readonly buildNetwork?: BuildNetwork;
    /**
     * Tags for every taggable resource.
     * @default {}
     */
    readonly tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;

    // ---- Monitoring (components/monitoring.ts): metric filters, alarms, their SNS topic, a dashboard. ----

    /**
     * Create the monitoring: log metric filters that turn each build's JSON line into metrics, three alarms (low hit
     * ratio over trusted builds, failed builds, and, with `durationAlarmMinutes`, slow builds), an SNS topic
     * for them (unless `alarmTopicArn` is given) and a CloudWatch dashboard. It needs no new permission: the
     * filters read the log group CodeBuild already writes to. Set `false` to create none of it.
     * @default true
     */
    readonly monitoring?: boolean;
    /**
     * ARN of an existing SNS topic the alarms notify, instead of a topic the stack creates:
     * `arn:aws:sns:<region>:<account>:<name>`. Only with `monitoring: true`. A `pulumi.Output` (a topic created in
     * the same program, such as the one topic a stack of several images shares) is passed on as it is.
     * @default undefined (the stack creates `<projectName>-alarms`)
     */
    readonly alarmTopicArn?: pulumi.Input<string>;
    /**
     * Email addresses subscribed to the alarms' topic (each must confirm AWS's email before it receives anything):
     * a list of addresses, each at most once. Only with `monitoring: true`.
     * @default []
     */
    readonly alarmEmails?: string[];
    /**
     * The low-hit-ratio alarm fires when trusted builds' cache hit ratio (0 to 1) stays below this: more than 0, at
     * most 1.
     * @default 0.5
     */
    readonly hitRatioThreshold?: number;
    /**
     * How many consecutive hourly datapoints must each stay below `hitRatioThreshold` (an hour's best trusted build
     * counts) before the low-hit-ratio alarm fires: 1 to 24. An hour without a trusted build is missing data, which keeps
     * the alarm's state; CloudWatch looks back only a little beyond that many hours, so builds hours apart need a lower value.
     * @default 3
     */
    readonly hitRatioBuilds?: number;
    /**
     * The failed-builds alarm fires when at least this many builds fail within 5 minutes (CodeBuild's `FailedBuilds`):
     * 1 to 1000.
     * @default 1
     */
    readonly failedBuildsThreshold?: number;
    /**
     * The slow-build alarm fires when a build takes longer than this many minutes (CodeBuild's `Duration`): 1 to
     * `buildTimeoutMinutes`. Unset, there is no slow-build alarm (no bound fits every Dockerfile).
     * @default undefined (no slow-build alarm)
     */
    readonly durationAlarmMinutes?: number;

    // ---- Several images (issue 10): a build context apart from the Dockerfile's folder, and a target stage. ----

    /**
     * Folder of the build context inside the source, when it is not `dockerfileDir` (the Dockerfile is always
     * passed with `--file <dockerfileDir>/<dockerfileName>`, so it may lie outside the context): the same rule
     * as `dockerfileDir`, and normalized the same way.
     * @default dockerfileDir
     */
    readonly contextDir?: string;
    /**
     * Stage of a multi-stage Dockerfile to build and push (`--target`), instead of the last one: a stage name as
     * BuildKit stores it, a lowercase letter followed by lowercase letters, digits, `-`, `_` and `.`; not `scratch`
     * or `context` (reserved).
     * @default undefined (the Dockerfile's last stage)
     */
    readonly target?: string;

    // ---- Platforms (components/platforms.ts): one image for amd64, arm64 or both, natively or under emulation. ----

    /**
     * The platforms the image is built for: a non-empty list of `linux/amd64` and `linux/arm64`, each at most once.
     * One platform: one build on a host of that architecture (`linux/arm64` runs on CodeBuild's `ARM_CONTAINER` with
     * `armBuildImage`), pushing `imageTag` as today. Both: see `platformMode`.
     * @default ["linux/amd64"]
     */
    readonly platforms?: Platform[];
    /**
     * How two platforms are built. `native`: a CodeBuild batch build (a build graph, started with
     * `aws codebuild start-build-batch`) runs one job per platform on its own host (`build_amd64` on
     * `LINUX_CONTAINER`, `build_arm64` on `ARM_CONTAINER`), each pushing `<imageTag>-<arch>` and keeping its own
     * cache `<cacheTag>-<arch>`, then a `manifest` job joins them under `imageTag` with
     * `docker buildx imagetools create` (no layer is pulled). `emulated`: one build of both platforms on one amd64
     * host, pushing `imageTag` and keeping a cache per platform, `<cacheTag>-<arch>` (one cache of both can lose a
     * platform: moby/buildkit#2822), the arm64 steps under QEMU (much slower: see the README's "Two architectures"); it needs the
     * `registry` strategy with the `docker-container` builder. Only with two platforms.
     * @default "native"
     */
    readonly platformMode?: PlatformMode;
    /**
     * CodeBuild image of the arm64 host (`ARM_CONTAINER`): same rule as `buildImage`.
     * @default "aws/codebuild/amazonlinux-aarch64-standard:3.0"
     */
    readonly armBuildImage?: string;

    // ---- Sources, triggers and schedules (components/source.ts, triggers.ts, schedule.ts) ----

    /**
     * The source's provider: `github`, `gitlab` or `bitbucket`; `sourceUrl` must have its URL shape
     * (`https://github.com/<owner>/<repo>`, `https://gitlab.com/<group>[/<subgroup>…]/<project>`,
     * `https://bitbucket.org/<workspace>/<repo>`, each optionally ending in `.git`).
     * @default the provider of sourceUrl's host
     */
    readonly sourceProvider?: SourceProvider;
    /**
     * ARN of an existing AWS CodeConnections connection to the source's provider, the recommended sign-in for a
     * private repository: `arn:aws:codeconnections:<region>:<account>:connection/<id>` (or `codestar-connections`).
     * It is attached to this project only (source auth `CODECONNECTIONS`), and the role may only
     * `GetConnectionToken`, `GetConnection` and `UseConnection` on it (what CodeBuild checks, see `source.ts`).
     * Not with `createConnection` or `githubToken`.
     * @default undefined (no connection)
     */
    readonly connectionArn?: string;
    /**
     * Create a CodeConnections connection to the source's provider and sign in with it. A new connection is
     * PENDING until someone completes its one-time handshake in the console (Developer Tools, Settings,
     * Connections); builds and the webhook work once it is AVAILABLE. Not with `connectionArn` or `githubToken`.
     * @default false
     */
    readonly createConnection?: boolean;
    /**
     * Name of the connection that `createConnection` makes: 1 to 32 letters, digits and `.@_-`, unique in the
     * account. Only with `createConnection: true`.
     * @default projectName
     */
    readonly connectionName?: string;
    /**
     * Build on every push to a trusted ref (`trustedRefs`): a webhook with an `EVENT` `PUSH` group whose `HEAD_REF`
     * is one of them. Needs a source of your own with a sign-in (`connectionArn`, `createConnection` or
     * `githubToken`); the default public source can't take a webhook.
     * @default false
     */
    readonly webhookPushes?: boolean;
    /**
     * Build every pull request when it is created, updated or reopened. Such a build reads the cache and never
     * writes it. Fork pull requests wait for an approver's comment unless `pullRequestCommentApproval` says
     * otherwise. Needs what `webhookPushes` needs.
     * @default false
     */
    readonly webhookPullRequests?: boolean;
    /**
     * Build pushes of tags whose names match one of these regular expressions (e.g. `v[0-9]+\..*`). Such a build
     * writes the cache only if the tag is also in `trustedRefs` as `refs/tags/<name>`. Needs what `webhookPushes` needs.
     * @default []
     */
    readonly webhookTags?: string[];
    /**
     * Only changes to files under one of these path prefixes build (e.g. the Dockerfile's folder, `app/docker/`):
     * relative to the repository root, no leading `/`, no `..`. Only with a webhook trigger.
     * @default [] (every change builds)
     */
    readonly webhookFilePaths?: string[];
    /**
     * Don't let CodeBuild create the hook in the repository (e.g. a token that may not create hooks); the
     * component then outputs the payload URL and the secret (a Pulumi secret) to create it by hand. Only with a
     * webhook trigger.
     * @default false
     */
    readonly webhookManualCreation?: boolean;
    /**
     * Which pull requests wait for an approver's `/codebuild_run(<commit>)` comment before they build:
     * `FORK_PULL_REQUESTS`, `ALL_PULL_REQUESTS` or `DISABLED` (a fork's code then runs at once in the privileged
     * build, with the role). Only with `webhookPullRequests: true`.
     * @default "FORK_PULL_REQUESTS"
     */
    readonly pullRequestCommentApproval?: PullRequestCommentApproval;
    /**
     * Repository roles whose comment approves a held pull-request build, and whose own pull requests never wait:
     * a non-empty list of the source provider's roles (`GITHUB_…`, `GITLAB_…` or `BITBUCKET_…`), each once. Only
     * with `webhookPullRequests: true` and an approval that isn't `DISABLED`.
     * @default the roles that can push: GITHUB_WRITE, GITHUB_MAINTAIN, GITHUB_ADMIN (GitLab: DEVELOPER, MAINTAINER, OWNER; Bitbucket: WRITE, ADMIN)
     */
    readonly pullRequestApproverRoles?: PullRequestApproverRole[];
    /**
     * Start a build on a schedule (EventBridge Scheduler), to pick up base images that moved and keep the cache
     * warm: `rate(<n> minutes|hours|days)` (singular for 1) or `cron(minutes hours day-of-month month day-of-week
     * year)` with one of the day fields `?`. The build builds `sourceVersion`, so it writes the cache.
     * @default undefined (no schedule)
     */
    readonly scheduleExpression?: string;
    /**
     * Time zone of `scheduleExpression`: an IANA name such as `Europe/Berlin`, or `UTC`. Only with `scheduleExpression`.
     * @default undefined (UTC)
     */
    readonly scheduleTimezone?: string;

    // ---- Skip unchanged builds (components/skip.ts, buildspec/key.sh) ----

    /**
     * Skip a build whose inputs an earlier build already built: before building, the buildspec computes a content
     * key (build context and Dockerfile, build flags, cache strategy, builder image, resolved `FROM` digests); when
     * `<repository>:key-<hex>` exists, the requested tag is pointed at that image registry-side (no layer pulled or
     * pushed) and nothing is built. A trusted build that does run also pushes the key tag; the lifecycle rules keep
     * the newest 10 key-tagged images. When in doubt it builds (a `FROM` naming an ARG, an unresolvable base image,
     * an expired key). One build is forced with the start-build override `LAYER_CACHE_FORCE_BUILD=1`. Only `inline`
     * and `registry` skip; `true` with `pull` is refused.
     * @default true, except with cacheStrategy `pull`, where it is false
     */
    readonly skipUnchanged?: boolean;

    // ---- A cache per trusted branch (components/branchCache.ts, buildspec/branch.sh) ----

    /**
     * Days after its last push that a branch's image and cache tags (`<imageTag>-br-…`, `<cacheTag>-br-…`, written
     * by trusted refs other than `sourceVersion`) expire: 1 to 3650. The default branch's tags never expire. Only
     * when `trustedRefs` holds such a ref; then `imageTag` and `cacheTag` may be at most 111 characters, so that a
     * branch's tags stay within Docker's 128.
     * @default 14
     */
    readonly branchCacheExpiryDays?: number;

    // ---- Docker server (components/dockerServer.ts): CodeBuild's remote Docker daemon, one per project. ----

    /**
     * Give the project CodeBuild's Docker server (`environment.dockerServer`) of this compute type: a Docker daemon
     * that every build of the project uses (its DOCKER_HOST) and that keeps its layers between builds until it is
     * recycled. Each build still reads and writes the ECR cache, which serves the builds after a recycle. Not for a
     * project that pull requests trigger: their builds would share the daemon with trusted builds
     * (`dockerServerProblems` refuses the pair).
     * @default undefined (no Docker server: each build has a fresh daemon of its own)
     */
    readonly dockerServerComputeType?: DockerServerComputeType;
}

/**
 * Arguments that hold secrets: marked `secret` in the package schema, so that every language's SDK wraps them as
 * secrets, and never shown in an error message.
 */
export const SECRET_ARGS = [
    "githubToken",
    "dockerHubAccessToken",
] as const satisfies readonly (keyof CachedDockerBuildArgs)[];

/** Arguments handed to resources untouched: never validated, so they may be `pulumi.Input`s. Not in {@link ResolvedArgs}. */
type PassThroughArg = "githubToken" | "dockerHubAccessToken" | "tags";
/** Arguments without a default: unset stays unset after resolution. */
type UnsetByDefaultArg =
    | "kmsKeyArn"
    | "buildNetwork"
    | "dockerHubCredentialArn"
    | "dockerHubUsername"
    | "alarmTopicArn"
    | "durationAlarmMinutes"
    | "connectionArn"
    | "scheduleExpression"
    | "scheduleTimezone"
    | "target"
    | "dockerServerComputeType";

/**
 * The arguments after defaults and validation: every argument but the pass-through ones, present
 * (those without a default may be `undefined`), with the types of {@link CachedDockerBuildArgs}; plus
 * `upstreamCaches`, the caches the build pulls through (none when `pullThroughCache` is `off`).
 */
export type ResolvedArgs = Readonly<Required<Omit<CachedDockerBuildArgs, PassThroughArg | UnsetByDefaultArg>>> & {
    readonly [K in UnsetByDefaultArg]: CachedDockerBuildArgs[K] | undefined;
} & {
    /** The upstream caches the build pulls through, with their prefixes, in the order of `pullThroughUpstreams`; empty when off. */
    readonly upstreamCaches: readonly UpstreamCache[];
    /** The webhook's triggers resolved (`webhook.enabled`, `webhook.pullRequests`, …); see `triggers.ts`. */
    readonly webhook: ResolvedWebhook;
    /** How the project signs in to its source: `none`, `connection` or `token`; see `source.ts`. */
    readonly sourceAuth: SourceAuthKind;
};

/**
 * The defaults that are constants. The others follow other values: `repositoryName` and `projectName` the
 * component's name and the stack, `trustedRefs` the `sourceVersion`, `localCache` the `computeType`;
 * `kmsKeyArn`, `buildNetwork`, `dockerHubCredentialArn` and `dockerHubUsername` have none.
 */
export const DEFAULTS = {
    imageTag: "latest",
    cacheTag: "buildcache",
    cacheStrategy: "registry",
    registryBuilder: "docker-container",
    onCacheImportFailure: "fail",
    layerCompression: DEFAULT_LAYER_COMPRESSION,
    builderImage: `${ECR_PUBLIC_BUILDKIT}@${BUILDKIT_V0_32_2}`,
    builderImageMirrors: [DOCKER_HUB_BUILDKIT],
    pullThroughCache: "off",
    pullThroughUpstreams: ["ecr-public"],
    ecrPublicCachePrefix: "ecr-public",
    dockerHubCachePrefix: "docker-hub",
    untaggedExpiryDays: 7,
    maxTaggedImages: 20,
    encryptionType: "AES256",
    imageTagMutability: "MUTABLE",
    forceDelete: true,
    protect: false,
    sourceUrl: "https://github.com/aws/aws-codebuild-docker-images.git",
    sourceVersion: "master",
    dockerfileDir: "al/x86_64/standard/5.0",
    dockerfileName: "Dockerfile",
    buildArgs: {},
    buildImage: "aws/codebuild/amazonlinux-x86_64-standard:5.0",
    computeType: "BUILD_GENERAL1_MEDIUM",
    buildTimeoutMinutes: 60,
    logRetentionDays: 30,
    ...TRIGGER_DEFAULTS,
    createConnection: false,
} as const satisfies Partial<ResolvedArgs>;

/** One bad value: the key (a component argument, or a config key), the value received, and what is allowed. */
export interface ConfigProblem {
    readonly key: string;
    readonly value: unknown;
    /** What is allowed; for an unknown key, the nearest known key and where the keys are listed. */
    readonly allowed: string;
    /** Set when the key itself is unknown (a typo, say): its line then reads `Unknown key …`, not `Invalid value …`. */
    readonly unknownKey?: true;
}

/** The value a problem of a secret argument carries instead of the secret. */
export const SECRET_VALUE: unique symbol = Symbol("a secret value");

/** A value as an error message shows it: JSON, except for secrets and values only known at deployment. */
function shown(value: unknown): string {
    if (value === SECRET_VALUE) {
        return "(a secret, not shown)";
    }
    if (pulumi.Output.isInstance(value) || value instanceof Promise) {
        return "(a pulumi.Output, known only at deployment)";
    }
    return JSON.stringify(value) ?? String(value);
}

/** `Invalid value for '<key>': <value>. <what is allowed>`, or `Unknown key '<key>' (value <value>). <suggestion>` */
function describeProblem(p: ConfigProblem): string {
    if (p.unknownKey) {
        return `Unknown key '${p.key}' (value ${shown(p.value)}). ${p.allowed}`;
    }
    return `Invalid value for '${p.key}': ${shown(p.value)}. ${p.allowed}`;
}

const counted = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/**
 * One problem: its line. Several: a count (`<n> invalid values:`, `<n> unknown keys:`, or with both kinds
 * `<n> problems: <u> unknown key(s), <v> invalid value(s):`) and one indented `- <line>` per problem.
 */
function messageOf(problems: readonly ConfigProblem[]): string {
    if (problems.length === 1) {
        return describeProblem(problems[0]);
    }
    const unknown = problems.filter((p) => p.unknownKey).length;
    const invalid = problems.length - unknown;
    const head =
        unknown === 0
            ? `${problems.length} invalid values:`
            : invalid === 0
              ? `${problems.length} unknown keys:`
              : `${problems.length} problems: ${counted(unknown, "unknown key", "unknown keys")}, ${counted(invalid, "invalid value", "invalid values")}:`;
    return [head, ...problems.map((p) => `  - ${describeProblem(p)}`)].join("\n");
}

/**
 * Bad arguments or config values, all of them at once. A `pulumi.RunError`, so that the Pulumi CLI prints
 * only the message, without a stack trace. With one problem the message is that problem's line; with
 * several, a count followed by one line per problem.
 */
export class ConfigError extends pulumi.RunError {
    /** Every problem, in the order found. */
    readonly problems: readonly ConfigProblem[];
    /** The first problem's key. */
    readonly key: string;
    /** The first problem's value. */
    readonly value: unknown;

    constructor(problems: readonly ConfigProblem[]) {
        if (problems.length === 0) {
            throw new Error("ConfigError needs at least one problem");
        }
        super(messageOf(problems));
        this.name = "ConfigError";
        this.problems = problems;
        this.key = problems[0].key;
        this.value = problems[0].value;
    }
}

/** Collects problems instead of stopping at the first one. */
export class Problems {
    readonly list: ConfigProblem[] = [];

    /** Records a problem unless `ok`; returns `ok`, so that checks of one key can be chained with `&&`. */
    check(ok: boolean, key: string, value: unknown, allowed: string): boolean {
        if (!ok) {
            this.list.push({ key, value, allowed });
        }
        return ok;
    }

    /** Throws one {@link ConfigError} listing every problem, if there is any. */
    throwIfAny(): void {
        if (this.list.length > 0) {
            throw new ConfigError(this.list);
        }
    }
}

// ECR: https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html (repositoryName pattern).
const ECR_REPOSITORY_NAME = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
// CodeBuild allows 2 to 255 characters, [A-Za-z0-9][A-Za-z0-9\-_]*; the role name "<project>-role" must
// fit IAM's 64 characters, which makes 59 the binding limit.
const CODEBUILD_PROJECT_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{1,58}$/;
// Docker tag grammar (distribution/reference): [\w][\w.-]{0,127}.
const DOCKER_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const BUILD_ARG_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Docker image references (used for builderImage): registry/path:tag or @digest, no whitespace or shell metacharacters.
const IMAGE_REFERENCE =
    /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;
// An image reference without tag or digest (used for builderImageMirrors).
const IMAGE_REPOSITORY = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
// Git ref names (git check-ref-format, simplified to what matters here).
// JS's \s already covers U+2028/U+2029/U+FEFF; C1 controls (incl. NEL, U+0085) are added for the buildspec's sake (below).
const GIT_REF = /^(?!\/|.*\/\/|.*\/$|.*\.\.|.*@\{|.*\.lock$|.*\.$)[^\s~^:?*[\\\x00-\x1f\x7f-\x9f]{1,255}$/;
// Printable, no control characters: for values that end up inside a single shell word and a YAML scalar.
// C1 controls (U+0080-U+009F, with NEL), U+2028/U+2029 and the BOM are refused too: the YAML library
// writes them raw, and a YAML 1.1 reader (SnakeYAML, PyYAML) takes NEL/U+2028/U+2029 as line breaks,
// which can end a block scalar early and turn the rest of the value into buildspec structure.
const NO_CONTROL = /^[^\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]*$/;
/** What a build-arg value can't hold: NUL (no argv can), and what NO_CONTROL refuses for YAML 1.1's sake, bar C0 (escaped). */
const BUILD_ARG_VALUE_FORBIDDEN = /[\x00\x7f-\x9f\u2028\u2029\ufeff]/;
const KMS_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)\/[A-Za-z0-9/_-]+$/;

const DOCKER_TAG_RULE =
    "Allowed: a Docker tag: 1 to 128 of letters, digits, '_', '.', '-', not starting with '.' or '-'.";

function integerIn(p: Problems, key: string, value: number, min: number, max: number): boolean {
    return p.check(
        Number.isInteger(value) && value >= min && value <= max,
        key,
        value,
        `Allowed: a whole number from ${min} to ${max}.`,
    );
}

function oneOf<T extends string | number>(p: Problems, key: string, value: T, allowed: readonly T[]): boolean {
    return p.check(allowed.includes(value), key, value, `Allowed: ${allowed.join(", ")}.`);
}

/**
 * Checks the Dockerfile folder (relative, inside the source, not read as an option, printable) and returns it
 * normalized: empty and `.` segments dropped, `.` for the source root, and a leading `./` kept where the path
 * would otherwise start with `-`. Returns the value unchanged when it is refused.
 */
function normalizeDockerfileDir(p: Problems, value: string, key = "dockerfileDir"): string {
    const ok =
        p.check(
            value.length > 0 && value.length <= 1024,
            key,
            value,
            "Allowed: a non-empty relative path of at most 1024 characters.",
        ) &&
        p.check(
            !value.startsWith("/"),
            key,
            value,
            "Allowed: a path relative to the source root; absolute paths are not.",
        ) &&
        p.check(
            !value.split("/").includes(".."),
            key,
            value,
            "Allowed: a path inside the source; '..' segments are not.",
        ) &&
        p.check(
            !value.startsWith("-"),
            key,
            value,
            "Allowed: a path not starting with '-', which docker would read as an option; write './-…' instead.",
        ) &&
        p.check(
            NO_CONTROL.test(value),
            key,
            value,
            "Allowed: printable characters; control characters and newlines are not.",
        );
    if (!ok) {
        return value;
    }
    const segments = value.split("/").filter((s) => s !== "" && s !== ".");
    if (segments.length === 0) {
        return ".";
    }
    const path = segments.join("/");
    return path.startsWith("-") ? `./${path}` : path;
}

const PREFIX_RULE =
    "Allowed: an ECR pull-through cache prefix: 2 to 30 characters, lowercase letters and digits in '/'-separated components, with single '.', '_' or '-' inside a component (ECR's rule).";
const DOCKER_HUB_USERNAME = /^[\x21-\x7e]{1,255}$/;
const DOCKER_HUB_CREDENTIAL_ONLY_WITH =
    "Allowed only when pullThroughCache is create and pullThroughUpstreams includes docker-hub: the stack then creates the Docker Hub rule with this credential.";

/** The pull-through arguments, resolved; and the caches the build pulls through. */
type PullThroughArgs = Pick<
    ResolvedArgs,
    | "pullThroughCache"
    | "pullThroughUpstreams"
    | "ecrPublicCachePrefix"
    | "dockerHubCachePrefix"
    | "dockerHubCredentialArn"
    | "dockerHubUsername"
    | "upstreamCaches"
>;

/**
 * Defaults and checks of the pull-through cache arguments: the mode, the upstreams, their prefixes (ECR's rule,
 * distinct, not around the stack's own repository), the builder it needs, and the Docker Hub credential (exactly
 * one form, and only where the stack creates the Docker Hub rule). The access token is never shown in a problem.
 */
function resolvePullThrough(
    p: Problems,
    args: CachedDockerBuildArgs,
    other: Pick<ResolvedArgs, "cacheStrategy" | "registryBuilder" | "repositoryName">,
): PullThroughArgs {
    const pullThroughCache = args.pullThroughCache ?? DEFAULTS.pullThroughCache;
    const modeOk = oneOf(p, "pullThroughCache", pullThroughCache, PULL_THROUGH_MODES);
    const on = modeOk && pullThroughCache !== "off";
    if (
        on &&
        (CACHE_STRATEGIES as readonly string[]).includes(other.cacheStrategy) &&
        (REGISTRY_BUILDERS as readonly string[]).includes(other.registryBuilder)
    ) {
        p.check(
            other.cacheStrategy === "registry" && other.registryBuilder === "docker-container",
            "pullThroughCache",
            pullThroughCache,
            `Allowed: off, unless cacheStrategy is registry and registryBuilder is docker-container (got cacheStrategy ${other.cacheStrategy}, registryBuilder ${other.registryBuilder}): only a docker-container builder takes the BuildKit configuration that sends pulls through the cache.`,
        );
    }

    const pullThroughUpstreams = args.pullThroughUpstreams ?? DEFAULTS.pullThroughUpstreams;
    let upstreamsOk = p.check(
        Array.isArray(pullThroughUpstreams) && pullThroughUpstreams.length > 0,
        "pullThroughUpstreams",
        pullThroughUpstreams,
        `Allowed: a non-empty list of ${PULL_THROUGH_UPSTREAMS.join(", ")}.`,
    );
    for (const [i, u] of (upstreamsOk ? pullThroughUpstreams : []).entries()) {
        upstreamsOk =
            oneOf(p, "pullThroughUpstreams", u, PULL_THROUGH_UPSTREAMS) &&
            p.check(pullThroughUpstreams.indexOf(u) === i, "pullThroughUpstreams", u, "Allowed: each upstream once.") &&
            upstreamsOk;
    }

    const prefixes: Record<Upstream, string> = {
        "ecr-public": args.ecrPublicCachePrefix ?? DEFAULTS.ecrPublicCachePrefix,
        "docker-hub": args.dockerHubCachePrefix ?? DEFAULTS.dockerHubCachePrefix,
    };
    const prefixOk = (u: Upstream) => prefixProblem(prefixes[u]) === undefined;
    for (const u of PULL_THROUGH_UPSTREAMS) {
        p.check(prefixOk(u), PREFIX_KEYS[u], prefixes[u], PREFIX_RULE);
    }
    const enabled = upstreamsOk ? pullThroughUpstreams : [];
    // Nested prefixes would make one rule's repositories look like the other's.
    const nested = (a: string, b: string) => a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
    if (enabled.length === 2 && prefixOk("ecr-public") && prefixOk("docker-hub")) {
        p.check(
            !nested(prefixes["docker-hub"], prefixes["ecr-public"]),
            "dockerHubCachePrefix",
            prefixes["docker-hub"],
            `Allowed: a prefix other than ecrPublicCachePrefix (${prefixes["ecr-public"]}), neither inside it nor around it: each upstream needs its own repositories.`,
        );
    }
    if (on && ECR_REPOSITORY_NAME.test(other.repositoryName)) {
        for (const u of enabled.filter(prefixOk)) {
            p.check(
                !other.repositoryName.startsWith(`${prefixes[u]}/`),
                "repositoryName",
                other.repositoryName,
                `Allowed: a name outside the pull-through cache prefix ${prefixes[u]}/ (${PREFIX_KEYS[u]}), whose repositories hold cached upstream images.`,
            );
        }
    }

    const dockerHubCredentialArn = args.dockerHubCredentialArn;
    const dockerHubUsername = args.dockerHubUsername;
    const hasToken = args.dockerHubAccessToken !== undefined;
    const credentialWanted = on && pullThroughCache === "create" && enabled.includes("docker-hub");
    if (modeOk && upstreamsOk) {
        if (!credentialWanted) {
            p.check(
                dockerHubCredentialArn === undefined,
                "dockerHubCredentialArn",
                dockerHubCredentialArn,
                DOCKER_HUB_CREDENTIAL_ONLY_WITH,
            );
            p.check(
                dockerHubUsername === undefined,
                "dockerHubUsername",
                dockerHubUsername,
                DOCKER_HUB_CREDENTIAL_ONLY_WITH,
            );
            p.check(!hasToken, "dockerHubAccessToken", SECRET_VALUE, DOCKER_HUB_CREDENTIAL_ONLY_WITH);
        } else if (dockerHubCredentialArn !== undefined) {
            if (
                p.check(
                    dockerHubUsername === undefined && !hasToken,
                    "dockerHubCredentialArn",
                    dockerHubCredentialArn,
                    "Allowed: either dockerHubCredentialArn (an existing secret) or dockerHubUsername with dockerHubAccessToken (the stack creates the secret), not both.",
                )
            ) {
                p.check(
                    credentialArnProblem(dockerHubCredentialArn) === undefined,
                    "dockerHubCredentialArn",
                    dockerHubCredentialArn,
                    "Allowed: the ARN of a Secrets Manager secret whose name starts with 'ecr-pullthroughcache/' (ECR takes no other as a pull-through cache credential).",
                );
            }
        } else if (dockerHubUsername === undefined && !hasToken) {
            p.check(
                false,
                "pullThroughUpstreams",
                pullThroughUpstreams,
                "Allowed: docker-hub only with a Docker Hub credential when pullThroughCache is create (ECR requires one): set dockerHubCredentialArn, or dockerHubUsername and the secret dockerHubAccessToken.",
            );
        } else if (dockerHubUsername === undefined) {
            p.check(
                false,
                "dockerHubAccessToken",
                SECRET_VALUE,
                "Allowed only together with dockerHubUsername, the user name the token belongs to.",
            );
        } else if (
            p.check(
                typeof dockerHubUsername === "string" && DOCKER_HUB_USERNAME.test(dockerHubUsername),
                "dockerHubUsername",
                dockerHubUsername,
                "Allowed: a Docker Hub user or organization name, 1 to 255 printable characters without spaces.",
            )
        ) {
            p.check(
                hasToken,
                "dockerHubUsername",
                dockerHubUsername,
                "Allowed only together with dockerHubAccessToken (pulumi config set --secret dockerHubAccessToken <token>).",
            );
        }
    }

    return {
        pullThroughCache,
        pullThroughUpstreams,
        ecrPublicCachePrefix: prefixes["ecr-public"],
        dockerHubCachePrefix: prefixes["docker-hub"],
        dockerHubCredentialArn,
        dockerHubUsername,
        upstreamCaches: on ? enabled.map((upstream) => ({ upstream, prefix: prefixes[upstream] })) : [],
    };
}

/**
 * Applies defaults and validates every plain argument. Throws one {@link ConfigError} that lists every bad
 * value. `name` is the component's name and `stack` the stack's, used for default resource names.
 */
export function resolveArgs(name: string, stack: string, args: CachedDockerBuildArgs = {}): ResolvedArgs {
    const p = new Problems();
    const defaultName = `${name}-${stack}`;

    const repositoryName = args.repositoryName ?? defaultName.toLowerCase();
    p.check(
        repositoryName.length >= 2 && repositoryName.length <= 256 && ECR_REPOSITORY_NAME.test(repositoryName),
        "repositoryName",
        repositoryName,
        "Allowed: 2 to 256 characters, lowercase letters and digits, separated by single '.', '_', '-' or '/' (ECR's rule).",
    );

    const projectName = args.projectName ?? defaultName;
    p.check(
        CODEBUILD_PROJECT_NAME.test(projectName),
        "projectName",
        projectName,
        "Allowed: 2 to 59 characters (so '<name>-role' fits IAM's 64), letters, digits, '-' and '_', starting with a letter or digit.",
    );

    const imageTag = args.imageTag ?? DEFAULTS.imageTag;
    const imageTagOk = p.check(DOCKER_TAG.test(imageTag), "imageTag", imageTag, DOCKER_TAG_RULE);
    const cacheTag = args.cacheTag ?? DEFAULTS.cacheTag;
    const cacheTagOk = p.check(DOCKER_TAG.test(cacheTag), "cacheTag", cacheTag, DOCKER_TAG_RULE);
    if (imageTagOk && cacheTagOk) {
        p.check(
            cacheTag !== imageTag,
            "cacheTag",
            cacheTag,
            "Allowed: any tag other than imageTag; the cache manifest must not replace the image.",
        );
    }

    const cacheStrategy = args.cacheStrategy ?? DEFAULTS.cacheStrategy;
    oneOf(p, "cacheStrategy", cacheStrategy, CACHE_STRATEGIES);
    const registryBuilder = args.registryBuilder ?? DEFAULTS.registryBuilder;
    oneOf(p, "registryBuilder", registryBuilder, REGISTRY_BUILDERS);
    const onCacheImportFailure = args.onCacheImportFailure ?? DEFAULTS.onCacheImportFailure;
    oneOf(p, "onCacheImportFailure", onCacheImportFailure, CACHE_IMPORT_FAILURES);
    const layerCompression = args.layerCompression ?? DEFAULTS.layerCompression;
    if (oneOf(p, "layerCompression", layerCompression, LAYER_COMPRESSIONS) && cacheStrategy !== "registry") {
        p.check(
            layerCompression === "gzip",
            "layerCompression",
            layerCompression,
            `Allowed: gzip with cacheStrategy ${cacheStrategy}; zstd needs cacheStrategy registry (the daemon's own builder on CodeBuild's image store pushes gzip whatever the output asks: measured, docs/decisions/layerTransfer.md).`,
        );
    }
    const builderImage = args.builderImage ?? DEFAULTS.builderImage;
    p.check(
        IMAGE_REFERENCE.test(builderImage),
        "builderImage",
        builderImage,
        "Allowed: an image reference such as public.ecr.aws/vend/moby/buildkit@sha256:<digest> or moby/buildkit:v0.32.2.",
    );
    const builderImageMirrors = args.builderImageMirrors ?? DEFAULTS.builderImageMirrors;
    for (const mirror of builderImageMirrors) {
        p.check(
            IMAGE_REPOSITORY.test(mirror),
            "builderImageMirrors",
            mirror,
            "Allowed: a repository reference without tag or digest, such as docker.io/moby/buildkit (the build adds builderImage's digest).",
        );
    }

    const pullThrough = resolvePullThrough(p, args, { cacheStrategy, registryBuilder, repositoryName });

    const untaggedExpiryDays = args.untaggedExpiryDays ?? DEFAULTS.untaggedExpiryDays;
    integerIn(p, "untaggedExpiryDays", untaggedExpiryDays, 1, 3650);
    const maxTaggedImages = args.maxTaggedImages ?? DEFAULTS.maxTaggedImages;
    integerIn(p, "maxTaggedImages", maxTaggedImages, 1, 10000);

    const encryptionType = args.encryptionType ?? DEFAULTS.encryptionType;
    const encryptionTypeOk = oneOf(p, "encryptionType", encryptionType, ENCRYPTION_TYPES);
    const kmsKeyArn = args.kmsKeyArn;
    if (kmsKeyArn !== undefined && encryptionTypeOk) {
        // An Output (a key made in the same program) can't be checked here; ECR checks it at deployment.
        const withKms = p.check(
            encryptionType === "KMS",
            "kmsKeyArn",
            kmsKeyArn,
            "Allowed only when encryptionType is KMS.",
        );
        if (withKms && typeof kmsKeyArn === "string") {
            p.check(KMS_ARN.test(kmsKeyArn), "kmsKeyArn", kmsKeyArn, "Allowed: a KMS key or alias ARN.");
        }
    }
    const imageTagMutability = args.imageTagMutability ?? DEFAULTS.imageTagMutability;
    oneOf(p, "imageTagMutability", imageTagMutability, TAG_MUTABILITIES);

    const sourceUrl = args.sourceUrl ?? DEFAULTS.sourceUrl;
    // The URL's shape is the source provider's (components/source.ts).
    const source = resolveSource(p, args, { sourceUrl, projectName });
    const sourceVersion = args.sourceVersion ?? DEFAULTS.sourceVersion;
    const sourceVersionOk = p.check(
        GIT_REF.test(sourceVersion),
        "sourceVersion",
        sourceVersion,
        "Allowed: a branch, tag or commit name (git ref syntax, no spaces or control characters).",
    );

    const dockerfileDir = normalizeDockerfileDir(p, args.dockerfileDir ?? DEFAULTS.dockerfileDir);
    const dockerfileName = args.dockerfileName ?? DEFAULTS.dockerfileName;
    p.check(
        dockerfileName.length > 0 &&
            !dockerfileName.includes("/") &&
            dockerfileName !== "." &&
            dockerfileName !== ".." &&
            NO_CONTROL.test(dockerfileName),
        "dockerfileName",
        dockerfileName,
        "Allowed: a file name without '/', control characters, '.' or '..'.",
    );

    const buildArgs = args.buildArgs ?? DEFAULTS.buildArgs;
    for (const [argName, argValue] of Object.entries(buildArgs)) {
        const key = `buildArgs.${argName}`;
        if (
            p.check(
                BUILD_ARG_NAME.test(argName),
                key,
                argName,
                "Allowed names: letters, digits and '_', not starting with a digit.",
            )
        ) {
            p.check(
                typeof argValue === "string" && !BUILD_ARG_VALUE_FORBIDDEN.test(argValue),
                key,
                argValue,
                "Allowed: a string without NUL, DEL, C1 control characters, U+2028/U+2029 or a byte-order mark.",
            );
        }
    }

    // The default follows sourceVersion; a bad sourceVersion is reported once, under its own key.
    const trustedRefs = args.trustedRefs ?? [sourceVersion];
    if (args.trustedRefs !== undefined || sourceVersionOk) {
        const listOk = p.check(
            Array.isArray(trustedRefs) && trustedRefs.length > 0,
            "trustedRefs",
            trustedRefs,
            "Allowed: a non-empty list of branch or tag names.",
        );
        for (const ref of listOk ? trustedRefs : []) {
            const syntaxOk = p.check(
                typeof ref === "string" && GIT_REF.test(ref),
                "trustedRefs",
                ref,
                "Allowed: branch or tag names (git ref syntax).",
            );
            if (syntaxOk) {
                p.check(
                    !/^pr\//.test(ref),
                    "trustedRefs",
                    ref,
                    "Allowed: branch or tag names; pull-request refs (pr/...) must never write the cache.",
                );
            }
        }
    }

    const buildImage = args.buildImage ?? DEFAULTS.buildImage;
    p.check(
        /^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,254}$/.test(buildImage),
        "buildImage",
        buildImage,
        "Allowed: a CodeBuild image name such as aws/codebuild/amazonlinux-x86_64-standard:5.0.",
    );
    const computeType = args.computeType ?? DEFAULTS.computeType;
    const computeTypeOk = oneOf(p, "computeType", computeType, COMPUTE_TYPES);
    const buildTimeoutMinutes = args.buildTimeoutMinutes ?? DEFAULTS.buildTimeoutMinutes;
    integerIn(p, "buildTimeoutMinutes", buildTimeoutMinutes, 5, 2160);
    // CodeBuild has no local cache on 2XLARGE: off there by default, and refused only when asked for.
    const localCacheSupported = computeType !== "BUILD_GENERAL1_2XLARGE";
    const localCache = args.localCache ?? localCacheSupported;
    if (computeTypeOk) {
        p.check(
            localCacheSupported || !localCache,
            "localCache",
            localCache,
            "Allowed: false or unset when computeType is BUILD_GENERAL1_2XLARGE, which has no local Docker layer cache.",
        );
    }
    const logRetentionDays = args.logRetentionDays ?? DEFAULTS.logRetentionDays;
    oneOf<number>(p, "logRetentionDays", logRetentionDays, LOG_RETENTION_DAYS);
    const buildNetwork = args.buildNetwork;
    if (buildNetwork !== undefined) {
        oneOf(p, "buildNetwork", buildNetwork, BUILD_NETWORKS);
    }

    const monitoring = resolveMonitoring(p, args, buildTimeoutMinutes);
    const triggers = resolveTriggers(p, args, { ...source, defaultSource: sourceUrl === DEFAULTS.sourceUrl });
    const schedule = resolveSchedule(p, args);
    const branchCaches = resolveBranchCaches(p, args, { imageTag, cacheTag, trustedRefs, sourceVersion });
    const contextAndTarget = resolveContextAndTarget(p, args, dockerfileDir);
    const platforms = resolvePlatforms(p, args, { cacheStrategy, registryBuilder, projectName, computeType });
    // Two platforms push per-platform tags (`<tag>-<arch>`: the image's and the cache's when native, the cache's when
    // emulated): each must still be a Docker tag (128 characters at most).
    if (imageTagOk && cacheTagOk) {
        for (const [key, tag] of [
            ["imageTag", imageTag],
            ["cacheTag", cacheTag],
        ] as const) {
            const pushed = platformTags({ ...platforms, imageTag, cacheTag, cacheStrategy });
            const longest = platforms.platforms
                .map((x) => platformTag(tag, x))
                .filter((t) => pushed.includes(t))
                .reduce((m, t) => Math.max(m, t.length - tag.length), 0);
            p.check(
                tag.length + longest <= 128,
                key,
                tag,
                `Allowed: at most ${128 - longest} characters with these platforms, whose builds push ${tag.length > 20 ? `<${key}>` : tag}-<arch> (Docker tags end at 128).`,
            );
        }
    }
    // ---- Skip unchanged builds ----
    const skipUnchanged = resolveSkipUnchanged(p, args, cacheStrategy);
    // A cache per branch and two platforms built natively don't compose yet: the manifest job joins the platform tags
    // of the default branch, so a branch's batch would publish no manifest list of its own.
    if (isNative(platforms) && hasBranchCaches({ trustedRefs, sourceVersion })) {
        p.check(
            false,
            "trustedRefs",
            args.trustedRefs,
            `Allowed with two platforms built natively (platformMode native): only sourceVersion (${JSON.stringify(sourceVersion)}); a cache per branch is not yet built per platform. Trust one branch, or build one platform, or use platformMode emulated.`,
        );
    }
    // ---- Docker server: one daemon shared by every build of the project, so never with pull-request builds ----
    p.list.push(
        ...dockerServerComputeTypeProblems(args.dockerServerComputeType),
        ...dockerServerProblems(args.dockerServerComputeType, triggers.webhook.pullRequests),
    );
    const dockerServerComputeType = args.dockerServerComputeType;

    p.throwIfAny();
    const resolved: ResolvedArgs = {
        ...monitoring,
        dockerServerComputeType,
        skipUnchanged,
        ...contextAndTarget,
        ...platforms,
        repositoryName,
        projectName,
        imageTag,
        cacheTag,
        cacheStrategy,
        registryBuilder,
        onCacheImportFailure,
        layerCompression,
        builderImage,
        builderImageMirrors,
        ...pullThrough,
        untaggedExpiryDays,
        maxTaggedImages,
        encryptionType,
        kmsKeyArn,
        imageTagMutability,
        forceDelete: args.forceDelete ?? DEFAULTS.forceDelete,
        protect: args.protect ?? DEFAULTS.protect,
        sourceUrl,
        sourceVersion,
        dockerfileDir,
        dockerfileName,
        buildArgs,
        trustedRefs,
        buildImage,
        computeType,
        buildTimeoutMinutes,
        localCache,
        logRetentionDays,
        buildNetwork,
        ...source,
        ...triggers,
        ...schedule,
        ...branchCaches,
    };
    return resolved;
}

// ---- Monitoring ----

/** Defaults of the monitoring arguments (kept apart from {@link DEFAULTS}, with the block they belong to). */
export const MONITORING_DEFAULTS = {
    monitoring: true,
    alarmEmails: [],
    hitRatioThreshold: 0.5,
    hitRatioBuilds: 3,
    failedBuildsThreshold: 1,
} as const satisfies Partial<ResolvedArgs>;

const SNS_TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/;
const EMAIL = /^[^\s@"'<>,;]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;
const ONLY_WITH_MONITORING = "Allowed only when monitoring is true (it creates the alarms this notifies about).";

type MonitoringArgs = Pick<
    ResolvedArgs,
    | "monitoring"
    | "alarmTopicArn"
    | "alarmEmails"
    | "hitRatioThreshold"
    | "hitRatioBuilds"
    | "failedBuildsThreshold"
    | "durationAlarmMinutes"
>;

/** Defaults and checks of the monitoring arguments. */
function resolveMonitoring(p: Problems, args: CachedDockerBuildArgs, buildTimeoutMinutes: number): MonitoringArgs {
    const monitoring = args.monitoring ?? MONITORING_DEFAULTS.monitoring;
    const alarmTopicArn = args.alarmTopicArn;
    const topicOk =
        alarmTopicArn === undefined || p.check(monitoring, "alarmTopicArn", alarmTopicArn, ONLY_WITH_MONITORING);
    // An Output (a topic made in the same program) can't be checked here; SNS checks it at deployment.
    if (topicOk && typeof alarmTopicArn === "string") {
        p.check(
            SNS_TOPIC_ARN.test(alarmTopicArn),
            "alarmTopicArn",
            alarmTopicArn,
            "Allowed: an SNS topic ARN, arn:aws:sns:<region>:<account>:<name>.",
        );
    }
    const alarmEmails = args.alarmEmails ?? MONITORING_DEFAULTS.alarmEmails;
    if (p.check(Array.isArray(alarmEmails), "alarmEmails", alarmEmails, "Allowed: a list of email addresses.")) {
        if (alarmEmails.length > 0) {
            p.check(monitoring, "alarmEmails", alarmEmails, ONLY_WITH_MONITORING);
        }
        alarmEmails.forEach((e, i) => {
            p.check(
                typeof e === "string" && EMAIL.test(e) && alarmEmails.indexOf(e) === i,
                "alarmEmails",
                e,
                "Allowed: email addresses (name@example.com), each once.",
            );
        });
    }
    const hitRatioThreshold = args.hitRatioThreshold ?? MONITORING_DEFAULTS.hitRatioThreshold;
    p.check(
        typeof hitRatioThreshold === "number" && hitRatioThreshold > 0 && hitRatioThreshold <= 1,
        "hitRatioThreshold",
        hitRatioThreshold,
        "Allowed: a number more than 0 and at most 1 (the share of steps taken from the cache).",
    );
    const hitRatioBuilds = args.hitRatioBuilds ?? MONITORING_DEFAULTS.hitRatioBuilds;
    integerIn(p, "hitRatioBuilds", hitRatioBuilds, 1, 24);
    const failedBuildsThreshold = args.failedBuildsThreshold ?? MONITORING_DEFAULTS.failedBuildsThreshold;
    integerIn(p, "failedBuildsThreshold", failedBuildsThreshold, 1, 1000);
    const durationAlarmMinutes = args.durationAlarmMinutes;
    if (durationAlarmMinutes !== undefined) {
        integerIn(p, "durationAlarmMinutes", durationAlarmMinutes, 1, Math.max(1, buildTimeoutMinutes));
    }
    return {
        monitoring,
        alarmTopicArn,
        alarmEmails,
        hitRatioThreshold,
        hitRatioBuilds,
        failedBuildsThreshold,
        durationAlarmMinutes,
    };
}

/** The problems {@link resolveArgs} reports, as a list: empty when the arguments are valid. */
export function argProblems(name: string, stack: string, args: CachedDockerBuildArgs): readonly ConfigProblem[] {
    try {
        resolveArgs(name, stack, args);
        return [];
    } catch (e) {
        if (e instanceof ConfigError) {
            return e.problems;
        }
        throw e;
    }
}

// ---- Several images (issue 10): build context and target stage ----

// BuildKit's rule for a stage name (frontend/dockerfile/instructions/parse.go, validStageName), which it applies
// after lowercasing `FROM … AS <name>`; `scratch` and `context` are reserved (build check ReservedStageName).
const STAGE_NAME = /^[a-z][a-z0-9_.-]*$/;
const RESERVED_STAGE_NAMES = ["scratch", "context"];

/** The build context (default: the Dockerfile's folder, checked and normalized like it) and the target stage. */
function resolveContextAndTarget(
    p: Problems,
    args: CachedDockerBuildArgs,
    dockerfileDir: string,
): Pick<ResolvedArgs, "contextDir" | "target"> {
    const contextDir =
        args.contextDir === undefined ? dockerfileDir : normalizeDockerfileDir(p, args.contextDir, "contextDir");
    const target = args.target;
    if (target !== undefined) {
        p.check(
            typeof target === "string" && STAGE_NAME.test(target) && !RESERVED_STAGE_NAMES.includes(target),
            "target",
            target,
            "Allowed: a Dockerfile stage name as BuildKit stores it: a lowercase letter, then lowercase letters, digits, '-', '_' and '.'; not scratch or context (reserved).",
        );
    }
    return { contextDir, target };
}

// ---- A cache per trusted branch ----

/** Defaults of the branch-cache arguments. */
export const BRANCH_CACHE_DEFAULTS = { branchCacheExpiryDays: 14 } as const satisfies Partial<ResolvedArgs>;

/**
 * Defaults and checks of the branch-cache arguments: the expiry, and, when some trusted ref is not the project's own
 * (so that branch tags are written), tags short enough to carry a branch's part (components/branchCache.ts).
 */
function resolveBranchCaches(
    p: Problems,
    args: CachedDockerBuildArgs,
    o: Pick<ResolvedArgs, "imageTag" | "cacheTag" | "trustedRefs" | "sourceVersion">,
): Pick<ResolvedArgs, "branchCacheExpiryDays"> {
    const branchCacheExpiryDays = args.branchCacheExpiryDays ?? BRANCH_CACHE_DEFAULTS.branchCacheExpiryDays;
    integerIn(p, "branchCacheExpiryDays", branchCacheExpiryDays, 1, 3650);
    if (hasBranchCaches(o)) {
        for (const key of ["imageTag", "cacheTag"] as const) {
            // Emulated platforms: a cache per platform, so a branch's cache tags end in -<arch> too.
            const suffix = key === "cacheTag" ? cacheTagSuffix(args) : 0;
            p.check(
                o[key].length <= MAX_BASE_TAG_LENGTH - suffix,
                key,
                o[key],
                `Allowed: at most ${MAX_BASE_TAG_LENGTH - suffix} characters when trustedRefs holds a ref other than sourceVersion, whose builds push <tag>-br-<branch>-<hash>${suffix > 0 ? " and cache to <cacheTag>-br-<branch>-<hash>-<arch>" : ""} (Docker tags end at 128).`,
            );
        }
    }
    return { branchCacheExpiryDays };
}
