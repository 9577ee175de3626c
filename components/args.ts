/**
 * The arguments of {@link CachedDockerBuild}, their defaults, and their validation.
 *
 * This is the one place where defaults live and where every plain value is checked, so a bad value
 * is reported (naming the key, the value and what is allowed) before any resource is registered.
 * Fields that shape resource names, lifecycle rules, IAM scoping or buildspec commands are plain
 * values rather than `pulumi.Input`s on purpose: they must be known and checked up front.
 */
import * as pulumi from "@pulumi/pulumi";

/** How each build imports and exports the Docker layer cache. */
export const CACHE_STRATEGIES = ["inline", "registry", "pull"] as const;
export type CacheStrategy = (typeof CACHE_STRATEGIES)[number];

/** Which BuildKit builder runs the build when the strategy is `registry`. */
export const REGISTRY_BUILDERS = ["docker-container", "docker"] as const;
export type RegistryBuilder = (typeof REGISTRY_BUILDERS)[number];

/** CodeBuild compute types for Linux containers. */
export const COMPUTE_TYPES = [
    "BUILD_GENERAL1_SMALL",
    "BUILD_GENERAL1_MEDIUM",
    "BUILD_GENERAL1_LARGE",
    "BUILD_GENERAL1_XLARGE",
    "BUILD_GENERAL1_2XLARGE",
] as const;
export type ComputeType = (typeof COMPUTE_TYPES)[number];

/** The retention periods CloudWatch Logs accepts, in days. */
export const LOG_RETENTION_DAYS = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

export const ENCRYPTION_TYPES = ["AES256", "KMS"] as const;
export type EncryptionType = (typeof ENCRYPTION_TYPES)[number];

export const TAG_MUTABILITIES = ["MUTABLE", "IMMUTABLE"] as const;
export type TagMutability = (typeof TAG_MUTABILITIES)[number];

/** Arguments of the {@link CachedDockerBuild} component. */
export interface CachedDockerBuildArgs {
    /**
     * Name of the ECR repository that holds the image and its layer cache.
     * Lowercase letters, digits and `._-/` separators, 2 to 256 characters (ECR's rule).
     * @default "<component name>-<stack>"
     */
    readonly repositoryName?: string;
    /**
     * Name of the CodeBuild project (also names its log group and IAM role).
     * Letters, digits, `-` and `_`, 2 to 150 characters, starting with a letter or digit.
     * @default "<component name>-<stack>"
     */
    readonly projectName?: string;
    /**
     * Tag of the image that trusted builds push. The `inline` and `pull` strategies also read their cache from it.
     * @default "latest"
     */
    readonly imageTag?: string;
    /**
     * Tag of the cache manifest that the `registry` strategy reads and writes. Never expired by the lifecycle rules.
     * @default "buildcache"
     */
    readonly cacheTag?: string;
    /**
     * How the layer cache travels through ECR: `inline` (cache metadata inside the pushed image),
     * `registry` (a separate `mode=max` cache manifest, covers multi-stage builds), or `pull`
     * (the original recipe: `docker pull` then `--cache-from`; kept to be measured against, it gets no hits under BuildKit).
     * @default "inline"
     */
    readonly cacheStrategy?: CacheStrategy;
    /**
     * Builder for the `registry` strategy. `docker-container` creates a buildx builder whose image is
     * {@link builderImage} (needed on CodeBuild, whose daemon has no containerd image store);
     * `docker` uses the daemon's own builder, which works only where the daemon has the containerd image store.
     * @default "docker-container"
     */
    readonly registryBuilder?: RegistryBuilder;
    /**
     * BuildKit image for the `docker-container` builder. ECR Public by default, to avoid Docker Hub's rate limits.
     * @default "public.ecr.aws/vend/moby/buildkit:buildx-stable-1"
     */
    readonly builderImage?: string;
    /**
     * Days after which untagged images (superseded cache manifests, old image versions) expire. 1 to 3650.
     * @default 7
     */
    readonly untaggedExpiryDays?: number;
    /**
     * How many tagged images to keep, besides the image tag and the cache tag, which are never expired. 1 to 10000.
     * @default 20
     */
    readonly maxTaggedImages?: number;
    /**
     * Server-side encryption of the repository: `AES256` or `KMS`.
     * @default "AES256"
     */
    readonly encryptionType?: EncryptionType;
    /**
     * KMS key ARN for `KMS` encryption. Leave unset to use the AWS-managed `aws/ecr` key. Only allowed with `KMS`.
     * @default undefined
     */
    readonly kmsKeyArn?: string;
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
     * when they leave the stack (`retainOnDelete`). For production stacks.
     * @default false
     */
    readonly protect?: boolean;
    /**
     * HTTPS URL of the GitHub repository to build.
     * @default "https://github.com/aws/aws-codebuild-docker-images.git"
     */
    readonly sourceUrl?: string;
    /**
     * Branch, tag or commit the project builds by default.
     * @default "master"
     */
    readonly sourceVersion?: string;
    /**
     * Folder of the Dockerfile inside the source, relative, without `..`, not starting with `-` (docker would
     * read it as an option; write `./-dir`), printable. It is also the build context.
     * @default "al/x86_64/standard/5.0"
     */
    readonly dockerfileDir?: string;
    /**
     * File name of the Dockerfile inside {@link dockerfileDir}.
     * @default "Dockerfile"
     */
    readonly dockerfileName?: string;
    /**
     * `--build-arg` values passed to the build. Names are letters, digits and `_`; values may hold anything
     * but NUL, DEL, C1 control characters, U+2028/U+2029 and a byte-order mark.
     * @default {}
     */
    readonly buildArgs?: Readonly<Record<string, string>>;
    /**
     * Source refs whose builds may write the cache and push the image. Builds of any other ref
     * (pull requests, manual source-version overrides) read the cache but never write it.
     * A bare name is a branch (`main` = `refs/heads/main`); a tag must be written `refs/tags/<name>`,
     * so that a tag named like a trusted branch never counts as that branch.
     * @default [sourceVersion]
     */
    readonly trustedRefs?: readonly string[];
    /**
     * CodeBuild image the build runs on. It must have Docker with buildx (current standard images do).
     * @default "aws/codebuild/amazonlinux-x86_64-standard:5.0"
     */
    readonly buildImage?: string;
    /**
     * CodeBuild compute type.
     * @default "BUILD_GENERAL1_MEDIUM"
     */
    readonly computeType?: ComputeType;
    /**
     * Build timeout in minutes, 5 to 2160 (CodeBuild's range).
     * @default 60
     */
    readonly buildTimeoutMinutes?: number;
    /**
     * Also switch on CodeBuild's own host-local cache (`LOCAL_DOCKER_LAYER_CACHE`, `LOCAL_SOURCE_CACHE`),
     * best effort, on top of the ECR cache. Not available on `BUILD_GENERAL1_2XLARGE`.
     * @default true
     */
    readonly localCache?: boolean;
    /**
     * Retention of the build log group, in days; one of CloudWatch's allowed values.
     * @default 30
     */
    readonly logRetentionDays?: number;
    /**
     * GitHub personal access token for a private source, as a Pulumi secret. It becomes a CodeBuild
     * source credential; it never appears in plain text in state, the buildspec or the logs.
     * @default undefined (public source, no credential)
     */
    readonly githubToken?: pulumi.Input<string>;
    /**
     * `--network` for RUN steps. Unset on CodeBuild; the local stand-in sets `none` because its daemons have no bridge.
     * @default undefined
     */
    readonly buildNetwork?: "none" | "host";
    /**
     * Tags for every taggable resource.
     * @default {}
     */
    readonly tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** The plain arguments after defaults, all present. */
export interface ResolvedArgs {
    readonly repositoryName: string;
    readonly projectName: string;
    readonly imageTag: string;
    readonly cacheTag: string;
    readonly cacheStrategy: CacheStrategy;
    readonly registryBuilder: RegistryBuilder;
    readonly builderImage: string;
    readonly untaggedExpiryDays: number;
    readonly maxTaggedImages: number;
    readonly encryptionType: EncryptionType;
    readonly kmsKeyArn: string | undefined;
    readonly imageTagMutability: TagMutability;
    readonly forceDelete: boolean;
    readonly protect: boolean;
    readonly sourceUrl: string;
    readonly sourceVersion: string;
    readonly dockerfileDir: string;
    readonly dockerfileName: string;
    readonly buildArgs: Readonly<Record<string, string>>;
    readonly trustedRefs: readonly string[];
    readonly buildImage: string;
    readonly computeType: ComputeType;
    readonly buildTimeoutMinutes: number;
    readonly localCache: boolean;
    readonly logRetentionDays: number;
    readonly buildNetwork: "none" | "host" | undefined;
}

export const DEFAULTS = {
    imageTag: "latest",
    cacheTag: "buildcache",
    cacheStrategy: "inline",
    registryBuilder: "docker-container",
    builderImage: "public.ecr.aws/vend/moby/buildkit:buildx-stable-1",
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
    buildImage: "aws/codebuild/amazonlinux-x86_64-standard:5.0",
    computeType: "BUILD_GENERAL1_MEDIUM",
    buildTimeoutMinutes: 60,
    localCache: true,
    logRetentionDays: 30,
} as const;

/** A bad argument or config value. The message names the key, the value and what is allowed. */
export class ConfigError extends Error {
    constructor(
        readonly key: string,
        readonly value: unknown,
        readonly allowed: string,
    ) {
        super(`Invalid value for '${key}': ${JSON.stringify(value)}. ${allowed}`);
        this.name = "ConfigError";
    }
}

// ECR: https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html (repositoryName pattern).
const ECR_REPOSITORY_NAME = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
// CodeBuild: project names are 2 to 255 characters, [A-Za-z0-9][A-Za-z0-9\-_]*. The role name
// "<project>-role" must fit IAM's 64 characters, so 150 here is not the binding limit; see below.
const CODEBUILD_PROJECT_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{1,149}$/;
// Docker tag grammar (distribution/reference): [\w][\w.-]{0,127}.
const DOCKER_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const BUILD_ARG_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Docker image references (used for builderImage): registry/path:tag or @digest, no whitespace or shell metacharacters.
const IMAGE_REFERENCE =
    /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;
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

function check(ok: boolean, key: string, value: unknown, allowed: string): void {
    if (!ok) {
        throw new ConfigError(key, value, allowed);
    }
}

function integerIn(key: string, value: number, min: number, max: number): number {
    check(
        Number.isInteger(value) && value >= min && value <= max,
        key,
        value,
        `Allowed: a whole number from ${min} to ${max}.`,
    );
    return value;
}

function oneOf<T extends string | number>(key: string, value: T, allowed: readonly T[]): T {
    check(allowed.includes(value), key, value, `Allowed: ${allowed.join(", ")}.`);
    return value;
}

/** Checks a Dockerfile folder: relative, normalized, never climbing out of the source. Exported for tests. */
export function checkRelativePath(key: string, value: string): string {
    const segments = value.split("/");
    check(
        value.length > 0 && value.length <= 1024,
        key,
        value,
        "Allowed: a non-empty relative path of at most 1024 characters.",
    );
    check(!value.startsWith("/"), key, value, "Allowed: a path relative to the source root; absolute paths are not.");
    check(!segments.includes(".."), key, value, "Allowed: a path inside the source; '..' segments are not.");
    check(
        !value.startsWith("-"),
        key,
        value,
        "Allowed: a path not starting with '-', which docker would read as an option; write './-…' instead.",
    );
    check(
        NO_CONTROL.test(value),
        key,
        value,
        "Allowed: printable characters; control characters and newlines are not.",
    );
    return value;
}

/**
 * Applies defaults and validates every plain argument. Throws {@link ConfigError} on the first bad value.
 * `name` is the component's name and `stack` the stack's, used for default resource names.
 */
export function resolveArgs(name: string, stack: string, args: CachedDockerBuildArgs = {}): ResolvedArgs {
    const defaultName = `${name}-${stack}`;
    const repositoryName = args.repositoryName ?? defaultName.toLowerCase();
    check(
        repositoryName.length >= 2 && repositoryName.length <= 256 && ECR_REPOSITORY_NAME.test(repositoryName),
        "repositoryName",
        repositoryName,
        "Allowed: 2 to 256 characters, lowercase letters and digits, separated by single '.', '_', '-' or '/' (ECR's rule).",
    );

    const projectName = args.projectName ?? defaultName;
    check(
        CODEBUILD_PROJECT_NAME.test(projectName) && projectName.length <= 59,
        "projectName",
        projectName,
        "Allowed: 2 to 59 characters (so '<name>-role' fits IAM's 64), letters, digits, '-' and '_', starting with a letter or digit.",
    );

    const imageTag = args.imageTag ?? DEFAULTS.imageTag;
    check(
        DOCKER_TAG.test(imageTag),
        "imageTag",
        imageTag,
        "Allowed: a Docker tag: 1 to 128 of letters, digits, '_', '.', '-', not starting with '.' or '-'.",
    );
    const cacheTag = args.cacheTag ?? DEFAULTS.cacheTag;
    check(
        DOCKER_TAG.test(cacheTag),
        "cacheTag",
        cacheTag,
        "Allowed: a Docker tag: 1 to 128 of letters, digits, '_', '.', '-', not starting with '.' or '-'.",
    );
    check(
        cacheTag !== imageTag,
        "cacheTag",
        cacheTag,
        "Allowed: any tag other than imageTag; the cache manifest must not replace the image.",
    );

    const cacheStrategy = oneOf("cacheStrategy", args.cacheStrategy ?? DEFAULTS.cacheStrategy, CACHE_STRATEGIES);
    const registryBuilder = oneOf(
        "registryBuilder",
        args.registryBuilder ?? DEFAULTS.registryBuilder,
        REGISTRY_BUILDERS,
    );
    const builderImage = args.builderImage ?? DEFAULTS.builderImage;
    check(
        IMAGE_REFERENCE.test(builderImage),
        "builderImage",
        builderImage,
        "Allowed: an image reference such as public.ecr.aws/vend/moby/buildkit:buildx-stable-1.",
    );

    const untaggedExpiryDays = integerIn(
        "untaggedExpiryDays",
        args.untaggedExpiryDays ?? DEFAULTS.untaggedExpiryDays,
        1,
        3650,
    );
    const maxTaggedImages = integerIn("maxTaggedImages", args.maxTaggedImages ?? DEFAULTS.maxTaggedImages, 1, 10000);

    const encryptionType = oneOf("encryptionType", args.encryptionType ?? DEFAULTS.encryptionType, ENCRYPTION_TYPES);
    const kmsKeyArn = args.kmsKeyArn;
    if (kmsKeyArn !== undefined) {
        check(encryptionType === "KMS", "kmsKeyArn", kmsKeyArn, "Allowed only when encryptionType is KMS.");
        check(
            /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)\/[A-Za-z0-9/_-]+$/.test(kmsKeyArn),
            "kmsKeyArn",
            kmsKeyArn,
            "Allowed: a KMS key or alias ARN.",
        );
    }
    const imageTagMutability = oneOf(
        "imageTagMutability",
        args.imageTagMutability ?? DEFAULTS.imageTagMutability,
        TAG_MUTABILITIES,
    );

    const sourceUrl = args.sourceUrl ?? DEFAULTS.sourceUrl;
    check(
        /^https:\/\/github\.com\/[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+?(\.git)?$/.test(sourceUrl),
        "sourceUrl",
        sourceUrl,
        "Allowed: an HTTPS GitHub repository URL, https://github.com/<owner>/<repo>[.git].",
    );
    const sourceVersion = args.sourceVersion ?? DEFAULTS.sourceVersion;
    check(
        GIT_REF.test(sourceVersion),
        "sourceVersion",
        sourceVersion,
        "Allowed: a branch, tag or commit name (git ref syntax, no spaces or control characters).",
    );

    const dockerfileDir = checkRelativePath("dockerfileDir", args.dockerfileDir ?? DEFAULTS.dockerfileDir);
    const dockerfileName = args.dockerfileName ?? DEFAULTS.dockerfileName;
    check(
        dockerfileName.length > 0 &&
            !dockerfileName.includes("/") &&
            dockerfileName !== "." &&
            dockerfileName !== ".." &&
            NO_CONTROL.test(dockerfileName),
        "dockerfileName",
        dockerfileName,
        "Allowed: a file name without '/', control characters, '.' or '..'.",
    );

    const buildArgs = args.buildArgs ?? {};
    for (const [argName, argValue] of Object.entries(buildArgs)) {
        check(
            BUILD_ARG_NAME.test(argName),
            `buildArgs.${argName}`,
            argName,
            "Allowed names: letters, digits and '_', not starting with a digit.",
        );
        check(
            typeof argValue === "string" && !BUILD_ARG_VALUE_FORBIDDEN.test(argValue),
            `buildArgs.${argName}`,
            argValue,
            "Allowed: a string without NUL, DEL, C1 control characters, U+2028/U+2029 or a byte-order mark.",
        );
    }

    const trustedRefs = args.trustedRefs ?? [sourceVersion];
    check(
        Array.isArray(trustedRefs) && trustedRefs.length > 0,
        "trustedRefs",
        trustedRefs,
        "Allowed: a non-empty list of branch or tag names.",
    );
    for (const ref of trustedRefs) {
        check(
            typeof ref === "string" && GIT_REF.test(ref),
            "trustedRefs",
            ref,
            "Allowed: branch or tag names (git ref syntax).",
        );
        check(
            !/^pr\//.test(ref),
            "trustedRefs",
            ref,
            "Allowed: branch or tag names; pull-request refs (pr/...) must never write the cache.",
        );
    }

    const buildImage = args.buildImage ?? DEFAULTS.buildImage;
    check(
        /^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,254}$/.test(buildImage),
        "buildImage",
        buildImage,
        "Allowed: a CodeBuild image name such as aws/codebuild/amazonlinux-x86_64-standard:5.0.",
    );
    const computeType = oneOf("computeType", args.computeType ?? DEFAULTS.computeType, COMPUTE_TYPES);
    const buildTimeoutMinutes = integerIn(
        "buildTimeoutMinutes",
        args.buildTimeoutMinutes ?? DEFAULTS.buildTimeoutMinutes,
        5,
        2160,
    );
    const localCache = args.localCache ?? DEFAULTS.localCache;
    check(
        !(localCache && computeType === "BUILD_GENERAL1_2XLARGE"),
        "localCache",
        localCache,
        "Allowed: false when computeType is BUILD_GENERAL1_2XLARGE, which has no local Docker layer cache.",
    );
    const logRetentionDays = oneOf<number>(
        "logRetentionDays",
        args.logRetentionDays ?? DEFAULTS.logRetentionDays,
        LOG_RETENTION_DAYS,
    );
    const buildNetwork = args.buildNetwork;
    if (buildNetwork !== undefined) {
        oneOf("buildNetwork", buildNetwork, ["none", "host"] as const);
    }

    return {
        repositoryName,
        projectName,
        imageTag,
        cacheTag,
        cacheStrategy,
        registryBuilder,
        builderImage,
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
    };
}
