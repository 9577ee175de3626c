/**
 * The ECR lifecycle policy, as a pure function of its inputs.
 *
 * ECR evaluates rules by ascending `rulePriority`. An image selected by a higher-priority rule can't be
 * expired by a lower one, even when that higher rule doesn't expire it, and each image is expired by at
 * most one rule. So the first rule selects exactly the image tag and the cache tag and keeps up to
 * 10000 of them: that can never be exceeded by two tags, so those images are shielded from every later
 * rule. The last rule, `tagged` with the pattern `*`, keeps at most N of the other tagged images; it
 * would shield nothing else, and an `any` rule in its place would be held off the protected tags all the
 * same. (ECR user guide, "Lifecycle policy evaluation rules".)
 */

export interface LifecycleRule {
    readonly rulePriority: number;
    readonly description: string;
    readonly selection: {
        readonly tagStatus: "tagged" | "untagged" | "any";
        readonly tagPatternList?: readonly string[];
        readonly countType: "imageCountMoreThan" | "sinceImagePushed";
        readonly countUnit?: "days";
        readonly countNumber: number;
    };
    readonly action: { readonly type: "expire" };
}

export interface LifecyclePolicyDocument {
    readonly rules: readonly LifecycleRule[];
}

export interface LifecycleOptions {
    /** Tags that must never expire: the pushed image tag and the cache tag. */
    readonly protectedTags: readonly string[];
    /** Days after which untagged images expire. */
    readonly untaggedExpiryDays: number;
    /** How many other tagged images to keep at most. */
    readonly maxTaggedImages: number;
}

/** ECR's largest `countNumber` for `imageCountMoreThan` is far above 2; 10000 makes the shield rule's intent plain. */
export const PROTECT_COUNT = 10000;

export function lifecyclePolicy(opts: LifecycleOptions): LifecyclePolicyDocument {
    if (opts.protectedTags.length === 0) {
        throw new Error("lifecyclePolicy: at least one protected tag is required");
    }
    for (const tag of opts.protectedTags) {
        // A tagPatternList entry is matched whole, with '*' as the only wildcard. Docker tags can't contain '*'.
        if (tag.includes("*")) {
            throw new Error(`lifecyclePolicy: protected tag ${JSON.stringify(tag)} contains '*'`);
        }
    }
    return {
        rules: [
            {
                rulePriority: 1,
                description: `Never expire the image and cache tags (${opts.protectedTags.join(", ")}): selecting them here shields them from the rules below.`,
                selection: {
                    tagStatus: "tagged",
                    tagPatternList: [...opts.protectedTags],
                    countType: "imageCountMoreThan",
                    countNumber: PROTECT_COUNT,
                },
                action: { type: "expire" },
            },
            {
                rulePriority: 2,
                description: `Expire untagged images (superseded images and cache manifests) after ${opts.untaggedExpiryDays} days.`,
                selection: {
                    tagStatus: "untagged",
                    countType: "sinceImagePushed",
                    countUnit: "days",
                    countNumber: opts.untaggedExpiryDays,
                },
                action: { type: "expire" },
            },
            {
                rulePriority: 3,
                description: `Keep at most ${opts.maxTaggedImages} other tagged images.`,
                selection: {
                    tagStatus: "tagged",
                    tagPatternList: ["*"],
                    countType: "imageCountMoreThan",
                    countNumber: opts.maxTaggedImages,
                },
                action: { type: "expire" },
            },
        ],
    };
}
