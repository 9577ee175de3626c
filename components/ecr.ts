/**
 * The ECR repository that holds the image and its layer cache, and its lifecycle policy.
 *
 * Plain `aws.ecr.*` rather than `awsx.ecr.Repository`; the README ("Why plain aws.ecr") says why:
 * awsx's rules can't select a tag exactly (no `tagPatternList`), and as a remote component its
 * lifecycle policy can't be seen, let alone tested, before it reaches AWS.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { type CachedDockerBuildArgs, ENCRYPTION_TYPES, type ResolvedArgs, TAG_MUTABILITIES } from "./args";
import { oneOf, type Problems } from "./problems";
import { lifecyclePolicy } from "./lifecycle";
import { branchTagPattern, hasBranchCaches } from "./branchCache";
import { KEY_IMAGES_KEPT, KEY_TAG_PATTERN } from "./skip";
import { platformTags } from "./platforms";

/** Defaults of the repository arguments. */
export const REPOSITORY_DEFAULTS = {
    encryptionType: "AES256",
    imageTagMutability: "MUTABLE",
    forceDelete: true,
} as const satisfies Partial<ResolvedArgs>;

const KMS_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)\/[A-Za-z0-9/_-]+$/;

/**
 * Defaults and checks of the repository arguments (called by `resolveArgs`; its name is checked with the project's,
 * first): the encryption and its key, the tag mutability, and whether a destroy may delete images.
 */
export function resolveRepository(
    p: Problems,
    args: CachedDockerBuildArgs,
): Pick<ResolvedArgs, "encryptionType" | "kmsKeyArn" | "imageTagMutability" | "forceDelete"> {
    const encryptionType = args.encryptionType ?? REPOSITORY_DEFAULTS.encryptionType;
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
    const imageTagMutability = args.imageTagMutability ?? REPOSITORY_DEFAULTS.imageTagMutability;
    oneOf(p, "imageTagMutability", imageTagMutability, TAG_MUTABILITIES);
    const forceDelete = args.forceDelete ?? REPOSITORY_DEFAULTS.forceDelete;
    return { encryptionType, kmsKeyArn, imageTagMutability, forceDelete };
}

export interface RepositoryResources {
    readonly repository: aws.ecr.Repository;
    readonly lifecyclePolicy: aws.ecr.LifecyclePolicy;
}

/**
 * The tags that must stay pushable and must never expire: the image tag and the cache tag, and with two platforms
 * built natively each platform's own image and cache tags (`<tag>-<arch>`, components/platforms.ts).
 */
export function protectedTags(
    a: Pick<ResolvedArgs, "imageTag" | "cacheTag"> &
        Partial<Pick<ResolvedArgs, "platforms" | "platformMode" | "cacheStrategy">>,
): string[] {
    return [
        a.imageTag,
        a.cacheTag,
        ...platformTags({
            imageTag: a.imageTag,
            cacheTag: a.cacheTag,
            cacheStrategy: a.cacheStrategy ?? "registry",
            platforms: a.platforms ?? [],
            platformMode: a.platformMode ?? "native",
        }),
    ];
}

/**
 * The tags an IMMUTABLE repository must still let move (its exclusion filters): the protected tags, the branches' tags
 * (`<tag>-br-*`, with a cache per branch), and with `skipUnchanged` the key tags (a forced rebuild pushes its key tag
 * again). ECR takes at most 5 filters, so past that the per-platform and per-branch tags go as `<imageTag>-*` and
 * `<cacheTag>-*` wildcards.
 */
export function mutableTagFilters(
    a: Pick<ResolvedArgs, "imageTag" | "cacheTag"> & Partial<Pick<ResolvedArgs, "skipUnchanged">>,
    moving: readonly string[],
    branchPatterns: readonly string[] = [],
): string[] {
    const keys = a.skipUnchanged ? [KEY_TAG_PATTERN] : [];
    const all = [...moving, ...branchPatterns, ...keys];
    return all.length <= 5 ? all : [a.imageTag, a.cacheTag, `${a.imageTag}-*`, `${a.cacheTag}-*`, ...keys];
}

export function createRepository(
    name: string,
    a: ResolvedArgs,
    tags: pulumi.Input<Record<string, pulumi.Input<string>>> | undefined,
    opts: pulumi.ResourceOptions,
): RepositoryResources {
    const moving = protectedTags(a);
    // ---- A cache per trusted branch: its tags move too, and expire after branchCacheExpiryDays ----
    const branchPatterns = hasBranchCaches(a) ? [a.imageTag, a.cacheTag].map(branchTagPattern) : [];
    const repository = new aws.ecr.Repository(
        `${name}-repo`,
        {
            name: a.repositoryName,
            // An IMMUTABLE repository would refuse to move the image and cache tags, so they are its exclusions.
            imageTagMutability: a.imageTagMutability === "IMMUTABLE" ? "IMMUTABLE_WITH_EXCLUSION" : "MUTABLE",
            imageTagMutabilityExclusionFilters:
                a.imageTagMutability === "IMMUTABLE"
                    ? mutableTagFilters(a, moving, branchPatterns).map((filter) => ({ filter, filterType: "WILDCARD" }))
                    : undefined,
            imageScanningConfiguration: { scanOnPush: true },
            encryptionConfigurations: [{ encryptionType: a.encryptionType, kmsKey: a.kmsKeyArn }],
            forceDelete: a.forceDelete,
            tags,
        },
        { ...opts, retainOnDelete: a.protect },
    );
    const policy = new aws.ecr.LifecyclePolicy(
        `${name}-lifecycle`,
        {
            repository: repository.name,
            policy: JSON.stringify(
                lifecyclePolicy({
                    protectedTags: moving,
                    untaggedExpiryDays: a.untaggedExpiryDays,
                    maxTaggedImages: a.maxTaggedImages,
                    expiringTagPatterns: branchPatterns,
                    expiringTagDays: a.branchCacheExpiryDays,
                    // Skip unchanged builds: the key tags are bounded apart.
                    ...(a.skipUnchanged ? { boundedTags: { pattern: KEY_TAG_PATTERN, keep: KEY_IMAGES_KEPT } } : {}),
                }),
            ),
        },
        opts,
    );
    return { repository, lifecyclePolicy: policy };
}
