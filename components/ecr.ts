/**
 * The ECR repository that holds the image and its layer cache, and its lifecycle policy.
 *
 * Plain `aws.ecr.*` rather than `awsx.ecr.Repository`; the README ("Why plain aws.ecr") says why:
 * awsx's rules can't select a tag exactly (no `tagPatternList`), and as a remote component its
 * lifecycle policy can't be seen, let alone tested, before it reaches AWS.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import type { ResolvedArgs } from "./args";
import { lifecyclePolicy } from "./lifecycle";
import { branchTagPattern, hasBranchCaches } from "./branchCache";

export interface RepositoryResources {
    readonly repository: aws.ecr.Repository;
    readonly lifecyclePolicy: aws.ecr.LifecyclePolicy;
}

/** The tags that must stay pushable and must never expire: the image tag and the cache tag. */
export function protectedTags(a: Pick<ResolvedArgs, "imageTag" | "cacheTag">): string[] {
    return [a.imageTag, a.cacheTag];
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
                    ? [...moving, ...branchPatterns].map((filter) => ({ filter, filterType: "WILDCARD" }))
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
                }),
            ),
        },
        opts,
    );
    return { repository, lifecyclePolicy: policy };
}
