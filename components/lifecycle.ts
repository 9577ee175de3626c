/**
 * The ECR lifecycle policy, as a pure function of its inputs.
 *
 * ECR evaluates rules by ascending `rulePriority`. An image selected by a higher-priority rule can't be
 * expired by a lower one, even when that higher rule doesn't expire it, and each image is expired by at
 * most one rule. So the first rules select exactly the image tag and the cache tag, one rule per tag, and
 * keep up to 10000 images each: that can never be exceeded by one tag, so those images are shielded from
 * every later rule. One rule per tag because a `tagPatternList` with several patterns selects only images
 * that carry ALL of them ("If you specify multiple tags, only the images with all specified tags are
 * selected"): `[imageTag, cacheTag]` in one list would select nothing, since the image and the cache
 * manifest are different images, and shield nothing. The last rule, `tagged` with the pattern `*`, keeps
 * at most N of the other tagged images; it would shield nothing else, and an `any` rule in its place would
 * be held off the protected tags all the same. (ECR user guide, "Lifecycle policy properties" and
 * "Lifecycle policy evaluation rules".)
 *
 * With `boundedTags` (skip unchanged builds: the content-key tags `key-<hex>`), one more rule after the shields
 * keeps the newest N images whose tag matches its pattern. A skipped build's image carries both the requested tag
 * and its key tag; the image tag's shield selects it first, so it stays. Images the rule selects are, by the same
 * semantics, held off the rules below it, so key tags neither count toward `maxTaggedImages` nor crowd out other tags.
 */

import type { CachedDockerBuildArgs, ResolvedArgs } from "./args";
import { integerIn, type Problems } from "./problems";

/** Defaults of the lifecycle arguments: untagged images live a week, 20 other tagged images are kept. */
export const LIFECYCLE_DEFAULTS = {
    untaggedExpiryDays: 7,
    maxTaggedImages: 20,
} as const satisfies Partial<ResolvedArgs>;

/** Defaults and checks of the lifecycle arguments (called by `resolveArgs`). */
export function resolveLifecycle(
    p: Problems,
    args: CachedDockerBuildArgs,
): Pick<ResolvedArgs, "untaggedExpiryDays" | "maxTaggedImages"> {
    const untaggedExpiryDays = args.untaggedExpiryDays ?? LIFECYCLE_DEFAULTS.untaggedExpiryDays;
    integerIn(p, "untaggedExpiryDays", untaggedExpiryDays, 1, 3650);
    const maxTaggedImages = args.maxTaggedImages ?? LIFECYCLE_DEFAULTS.maxTaggedImages;
    integerIn(p, "maxTaggedImages", maxTaggedImages, 1, 10000);
    return { untaggedExpiryDays, maxTaggedImages };
}

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
    // ---- A cache per trusted branch ----
    /**
     * Tag patterns (`*` the wildcard) of tags that expire `expiringTagDays` after their push: the branches' image and
     * cache tags (`<tag>-br-*`). One rule each, right after the shields (so a protected tag is never among them), and
     * the images they select younger than that are kept from the keep-N rule below. None by default.
     */
    readonly expiringTagPatterns?: readonly string[];
    /** Days after its push that an image with an `expiringTagPatterns` tag expires. */
    readonly expiringTagDays?: number;
    readonly protectedTags: readonly string[];
    /** Days after which untagged images expire. */
    readonly untaggedExpiryDays: number;
    /** How many other tagged images to keep at most. */
    readonly maxTaggedImages: number;
    // ---- Skip unchanged builds ----
    /** Tags that are kept apart and bounded: at most `keep` images with a tag matching `pattern` (e.g. `key-*`). */
    readonly boundedTags?: { readonly pattern: string; readonly keep: number };
}

/** A shield rule selects one tag, so at most one image; 10000 keeps it from ever expiring anything and makes its intent plain. */
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
    const n = opts.protectedTags.length;
    const expiring = expiringRules(n + 1, opts);
    return {
        rules: [
            // One shield rule per tag: a tagPatternList with several entries selects only images with all of them.
            ...opts.protectedTags.map((tag, i): LifecycleRule => ({
                rulePriority: 1 + i,
                description: `Never expire the image tagged ${tag}: selecting it here shields it from the rules below.`,
                selection: {
                    tagStatus: "tagged",
                    tagPatternList: [tag],
                    countType: "imageCountMoreThan",
                    countNumber: PROTECT_COUNT,
                },
                action: { type: "expire" },
            })),
            ...expiring,
            ...boundedTagRules(n + 1 + expiring.length, opts.boundedTags),
            ...expiryRules(n + 1 + expiring.length + (opts.boundedTags ? 1 : 0), opts),
        ],
    };
}

/** One rule per `expiringTagPatterns` entry, from priority `first` on: the tag's images expire N days after their push. */
function expiringRules(first: number, opts: LifecycleOptions): LifecycleRule[] {
    const patterns = opts.expiringTagPatterns ?? [];
    if (patterns.length > 0 && opts.expiringTagDays === undefined) {
        throw new Error("lifecyclePolicy: expiringTagPatterns needs expiringTagDays");
    }
    return patterns.map((pattern, i) => ({
        rulePriority: first + i,
        description: `Expire images tagged ${pattern} (a branch's cache or image) ${opts.expiringTagDays} days after their push.`,
        selection: {
            tagStatus: "tagged",
            tagPatternList: [pattern],
            countType: "sinceImagePushed",
            countUnit: "days",
            countNumber: opts.expiringTagDays ?? 0,
        },
        action: { type: "expire" },
    }));
}

/** The rule of `boundedTags`, at priority `priority`; none without them. */
function boundedTagRules(priority: number, bounded: LifecycleOptions["boundedTags"]): LifecycleRule[] {
    if (bounded === undefined) {
        return [];
    }
    if (!Number.isInteger(bounded.keep) || bounded.keep < 1) {
        throw new Error(`lifecyclePolicy: boundedTags.keep must be a whole number of at least 1, got ${bounded.keep}`);
    }
    return [
        {
            rulePriority: priority,
            description: `Keep at most ${bounded.keep} images tagged ${bounded.pattern} (content keys of skipped builds).`,
            selection: {
                tagStatus: "tagged",
                tagPatternList: [bounded.pattern],
                countType: "imageCountMoreThan",
                countNumber: bounded.keep,
            },
            action: { type: "expire" },
        },
    ];
}

/** The rules after the shields, from priority `first` on: untagged images expire after N days, at most N tagged ones are kept. */
function expiryRules(first: number, opts: Omit<LifecycleOptions, "protectedTags">): LifecycleRule[] {
    return [
        {
            rulePriority: first,
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
            rulePriority: first + 1,
            description: `Keep at most ${opts.maxTaggedImages} ${first > 1 ? "other " : ""}tagged images.`,
            selection: {
                tagStatus: "tagged",
                tagPatternList: ["*"],
                countType: "imageCountMoreThan",
                countNumber: opts.maxTaggedImages,
            },
            action: { type: "expire" },
        },
    ];
}

/**
 * The lifecycle policy of the repositories that a pull-through cache creates (set through a repository creation
 * template): no tag is protected, since an expired upstream image is fetched again on its next pull.
 */
export function upstreamCacheLifecyclePolicy(opts: Omit<LifecycleOptions, "protectedTags">): LifecyclePolicyDocument {
    return { rules: expiryRules(1, opts) };
}
