/**
 * The arguments of {@link CachedDockerBuild}: the one public interface ({@link CachedDockerBuildArgs}, each field with
 * its JSDoc and `@default`), the enumerations its fields take, and the shape of the arguments once resolved
 * ({@link ResolvedArgs}).
 *
 * Only declarations live here. Each feature's file holds its slice of the resolution (its defaults, its checks and
 * its errors: `pullThrough.ts`, `monitoring.ts`, `platforms.ts`, …), `resolveArgs.ts` calls them in turn, and
 * `problems.ts` holds the problem types. So this file imports no feature, and every feature may import it.
 *
 * Why the interface stays whole, in this one file: the package schema is inferred from it (`provider.ts`: the SDK's
 * analyzer reads the component's args type, and `argDefaultTexts` reads the `@default` tags of this file), and
 * `schema.json` is generated from that (`npm run schema`).
 *
 * Fields that shape resource names, lifecycle rules, IAM scoping or buildspec commands are plain values rather than
 * `pulumi.Input`s on purpose: they must be known and checked up front. Only values handed to a resource untouched
 * (`kmsKeyArn`, `githubToken`, `tags`, `alarmTopicArn`) may be `pulumi.Input`s.
 */
import type * as pulumi from "@pulumi/pulumi";

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

/** How the image's and the cache's new layers are compressed (layerCompression.ts: the options each renders). */
export const LayerCompression = {
    /** gzip: BuildKit's default, read by every puller. */
    Gzip: "gzip",
    /** zstd, with OCI media types: Docker 23+, containerd 1.5+, ECR, ECS on Fargate. */
    Zstd: "zstd",
} as const;
export type LayerCompression = (typeof LayerCompression)[keyof typeof LayerCompression];
export const LAYER_COMPRESSIONS: readonly LayerCompression[] = Object.values(LayerCompression);

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

/** The Docker server's compute types (the AWS provider's list; components/dockerServer.ts). */
export const DockerServerComputeType = {
    /** 2 vCPUs, 4 GiB. */
    Small: "BUILD_GENERAL1_SMALL",
    /** 4 vCPUs, 8 GiB. */
    Medium: "BUILD_GENERAL1_MEDIUM",
    /** 8 vCPUs, 16 GiB. */
    Large: "BUILD_GENERAL1_LARGE",
    /** 32 vCPUs, 64 GiB. */
    XLarge: "BUILD_GENERAL1_XLARGE",
    /** 64 vCPUs, 128 GiB. */
    XXLarge: "BUILD_GENERAL1_2XLARGE",
} as const;
export type DockerServerComputeType = (typeof DockerServerComputeType)[keyof typeof DockerServerComputeType];
export const DOCKER_SERVER_COMPUTE_TYPES: readonly DockerServerComputeType[] = Object.values(DockerServerComputeType);

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
export const PULL_THROUGH_UPSTREAMS: readonly PullThroughUpstream[] = Object.values(PullThroughUpstream);

/** `--network` values for RUN steps. */
export const BuildNetwork = {
    /** No network at all. */
    None: "none",
    /** The host's network. */
    Host: "host",
} as const;
export type BuildNetwork = (typeof BuildNetwork)[keyof typeof BuildNetwork];
export const BUILD_NETWORKS: readonly BuildNetwork[] = Object.values(BuildNetwork);

// ---- Platforms (components/platforms.ts) ----

/** A platform the image can be built for. */
export const Platform = {
    LinuxAmd64: "linux/amd64",
    LinuxArm64: "linux/arm64",
} as const;
export type Platform = (typeof Platform)[keyof typeof Platform];
export const PLATFORMS: readonly Platform[] = Object.values(Platform);

/** How two platforms are built. */
export const PlatformMode = {
    /** One job per platform, each on a host of its own architecture, then a job that joins them (a batch build). */
    Native: "native",
    /** One build of both platforms on one amd64 host, arm64 under QEMU emulation. */
    Emulated: "emulated",
} as const;
export type PlatformMode = (typeof PlatformMode)[keyof typeof PlatformMode];
export const PLATFORM_MODES: readonly PlatformMode[] = Object.values(PlatformMode);

// ---- Sources and triggers (components/source.ts, triggers.ts) ----

/** The source providers CodeBuild reaches through a connection, and that this component supports. */
export const SourceProvider = {
    /** github.com. */
    GitHub: "github",
    /** gitlab.com. */
    GitLab: "gitlab",
    /** bitbucket.org. */
    Bitbucket: "bitbucket",
} as const;
export type SourceProvider = (typeof SourceProvider)[keyof typeof SourceProvider];
export const SOURCE_PROVIDERS: readonly SourceProvider[] = Object.values(SourceProvider);

/** How the project signs in to its source. */
export const SourceAuthKind = {
    /** A public repository: no sign-in. */
    None: "none",
    /** A CodeConnections connection (`connectionArn` or `createConnection`). */
    Connection: "connection",
    /** The `githubToken` fallback, in a Secrets Manager secret the stack owns. */
    Token: "token",
} as const;
export type SourceAuthKind = (typeof SourceAuthKind)[keyof typeof SourceAuthKind];

/** When CodeBuild holds a pull request's build until an approver comments `/codebuild_run(<commit>)`. */
export const PullRequestCommentApproval = {
    /** Only pull requests from forks wait for an approval (unless their author has an approver role). */
    ForkPullRequests: "FORK_PULL_REQUESTS",
    /** Every pull request waits for an approval (unless its author has an approver role). */
    AllPullRequests: "ALL_PULL_REQUESTS",
    /** No pull request waits: a fork's code runs in the privileged build with the role at once. */
    Disabled: "DISABLED",
} as const;
export type PullRequestCommentApproval = (typeof PullRequestCommentApproval)[keyof typeof PullRequestCommentApproval];
export const PULL_REQUEST_COMMENT_APPROVALS: readonly PullRequestCommentApproval[] =
    Object.values(PullRequestCommentApproval);

/** Repository roles that may approve a held pull-request build (CodeBuild API `PullRequestBuildPolicy`). */
export const PullRequestApproverRole = {
    GITHUB_READ: "GITHUB_READ",
    GITHUB_TRIAGE: "GITHUB_TRIAGE",
    GITHUB_WRITE: "GITHUB_WRITE",
    GITHUB_MAINTAIN: "GITHUB_MAINTAIN",
    GITHUB_ADMIN: "GITHUB_ADMIN",
    GITLAB_GUEST: "GITLAB_GUEST",
    GITLAB_PLANNER: "GITLAB_PLANNER",
    GITLAB_REPORTER: "GITLAB_REPORTER",
    GITLAB_DEVELOPER: "GITLAB_DEVELOPER",
    GITLAB_MAINTAINER: "GITLAB_MAINTAINER",
    GITLAB_OWNER: "GITLAB_OWNER",
    BITBUCKET_READ: "BITBUCKET_READ",
    BITBUCKET_WRITE: "BITBUCKET_WRITE",
    BITBUCKET_ADMIN: "BITBUCKET_ADMIN",
} as const;
export type PullRequestApproverRole = (typeof PullRequestApproverRole)[keyof typeof PullRequestApproverRole];
export const PULL_REQUEST_APPROVER_ROLES: readonly PullRequestApproverRole[] = Object.values(PullRequestApproverRole);

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
     * `<name>-role` fits IAM's 64; at most 56 with `webhookPullRequests`, whose project `<name>-pr` has the role
     * `<name>-pr-role`), letters, digits, `-` and `_`, starting with a letter or digit.
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
     * (warm time, nothing pulled on a warm build, builder stages cached; see docs/decisions/registryDefault.md).
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
     * warning at `pulumi up`. docs/publicRegistries.md ("The builder image") says how to move the digest.
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
     * HTTPS URL of the repository to build, on GitHub, GitLab or Bitbucket: `https://github.com/<owner>/<repo>`,
     * `https://gitlab.com/<group>[/<subgroup>…]/<project>` or `https://bitbucket.org/<workspace>/<repo>`, optionally
     * ending in `.git` (see `sourceProvider`).
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
     * GitHub personal access token for a private source (a fallback: a connection is recommended), best given as a
     * Pulumi secret; it goes into a Secrets Manager secret of the stack, `codebuild/<projectName>/github-token`,
     * attached to this project only, and never appears in plain text in state, the buildspec or the logs.
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
     * platform: moby/buildkit#2822), the arm64 steps under QEMU (much slower: see docs/platforms.md); it needs the
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
     * Build every pull request when it is created, updated or reopened, in a second, read-only project
     * `<projectName>-pr` with a webhook of its own: its role can pull from ECR and can't write to it, and its buildspec
     * has no command that writes (docs/decisions/readOnlyPullRequests.md). Such a build reads the cache and never
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
     * webhook trigger. With `webhookPullRequests`, the pull-request project has a hook of its own
     * (`pullRequestWebhookPayloadUrl`, `pullRequestWebhookSecret`).
     * @default false
     */
    readonly webhookManualCreation?: boolean;
    /**
     * Which pull requests wait for an approver's `/codebuild_run(<commit>)` comment before they build:
     * `FORK_PULL_REQUESTS`, `ALL_PULL_REQUESTS` or `DISABLED` (a fork's code then runs at once in the privileged
     * build, with the pull-request project's read-only role). Set on the pull-request project's webhook. Only with
     * `webhookPullRequests: true`.
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
     * recycled. Each build still reads and writes the ECR cache, which serves the builds after a recycle. The main
     * project only: with `webhookPullRequests`, pull requests build in the `-pr` project, which has no Docker server,
     * so no pull request's layers or cache mounts reach this daemon.
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

/** One upstream registry reached through a pull-through cache rule under `prefix`. */
export interface UpstreamCache {
    readonly upstream: PullThroughUpstream;
    /** The ECR repository prefix of the rule, e.g. `ecr-public`. */
    readonly prefix: string;
}

/** The trigger arguments after defaults and validation. `pullRequests` is what other options check against. */
export interface ResolvedWebhook {
    /** Whether there is a webhook at all: pushes, pull requests or tags. */
    readonly enabled: boolean;
    /** Pushes to the trusted refs build (and, being trusted, write the cache). */
    readonly pushes: boolean;
    /** Pull requests (created, updated, reopened) build; they read the cache and never write it. */
    readonly pullRequests: boolean;
    /** Regular expressions of tag names whose pushes build; empty for none. */
    readonly tags: readonly string[];
    /** Path prefixes: only a change to a file under one of them builds; empty for every change. */
    readonly filePaths: readonly string[];
    /** CodeBuild returns the payload URL and secret instead of creating the hook. */
    readonly manualCreation: boolean;
    /** Comment approval of pull-request builds (meaningful only with `pullRequests`). */
    readonly commentApproval: PullRequestCommentApproval;
    /** Who may approve (empty when `commentApproval` is `DISABLED`). */
    readonly approverRoles: readonly PullRequestApproverRole[];
}

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
