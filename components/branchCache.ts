/**
 * A cache per trusted branch: the tag names, shared by the buildspec (`buildspec/branch.sh` computes a branch's tags
 * at build time), the lifecycle rules that expire them (`lifecycle.ts`) and the repository's tag exclusions.
 *
 * The default branch (the project's `sourceVersion`) keeps `imageTag` and `cacheTag`. Any other trusted ref `R`
 * pushes `<imageTag>-br-<slug>-<hash>` and writes its cache to `<cacheTag>-br-<slug>-<hash>`: `<slug>` is `R`
 * without `refs/heads/` (else without `refs/`), each byte outside `[A-Za-z0-9_.-]` made `-`, cut to
 * {@link branchSlugMax} characters; `<hash>` is the first {@link BRANCH_HASH_HEX} hex digits of SHA-256 of the full
 * ref. The slug is for people; the hash keeps two refs apart (`release/1.x` and `release-1.x` share a slug). Every
 * such tag is a valid Docker tag (`[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`) when the configured tag is one of at most
 * {@link MAX_BASE_TAG_LENGTH} characters (6 fewer for a cache tag that also carries `-<arch>`: emulated platforms).
 */
import type { CachedDockerBuildArgs, ResolvedArgs } from "./args";
import { cachePlatforms, isNative, platformTag, type PlatformArgs } from "./platforms";
import { integerIn, type Problems } from "./problems";

/** What separates the configured tag from a branch's part: `<tag>-br-…`, apart from other derived tags' prefixes. */
export const BRANCH_INFIX = "-br-";

/** Hex digits of the ref's SHA-256 in a branch tag: 48 bits. */
export const BRANCH_HASH_HEX = 12;

/** The longest slug a branch tag carries (more says nothing more to a person; the hash tells refs apart). */
export const BRANCH_SLUG_CAP = 40;

/** Docker's longest tag. */
export const DOCKER_TAG_MAX = 128;

/** The longest configured tag a branch tag can extend and stay a Docker tag (with an empty slug). */
export const MAX_BASE_TAG_LENGTH = DOCKER_TAG_MAX - BRANCH_INFIX.length - 1 - BRANCH_HASH_HEX;

/**
 * The slug length the buildspec cuts to, so that both branch tags fit Docker's 128 characters. With a cache per platform
 * (emulated, {@link cachePlatforms}) a branch's cache tags end in `-<arch>` after the branch's part
 * (`<cacheTag>-br-<slug>-<hash>-arm64`, so that the expiry pattern `<cacheTag>-br-*` still selects them): the slug is
 * that much shorter.
 */
export function branchSlugMax(
    o: { readonly imageTag: string; readonly cacheTag: string } & Partial<PlatformArgs>,
): number {
    const longest = Math.max(o.imageTag.length, o.cacheTag.length + cacheTagSuffix(o));
    return Math.max(0, Math.min(BRANCH_SLUG_CAP, MAX_BASE_TAG_LENGTH - longest));
}

/** How long the `-<arch>` after a branch's cache tag is (emulated platforms, {@link cachePlatforms}); 0 without. */
export function cacheTagSuffix(o: Partial<PlatformArgs>): number {
    return Math.max(0, ...cachePlatforms(o).map((p) => platformTag("", p).length));
}

/** The ECR tag pattern (`*` the only wildcard) of every branch tag derived from `tag`. */
export function branchTagPattern(tag: string): string {
    return `${tag}${BRANCH_INFIX}*`;
}

/** A trusted ref as the buildspec compares it: a bare name is a branch. */
function fullRef(ref: string): string {
    return ref.startsWith("refs/") ? ref : `refs/heads/${ref}`;
}

/** Whether some trusted ref is not the project's own version: its builds write branch tags. */
export function hasBranchCaches(o: {
    readonly trustedRefs: readonly string[];
    readonly sourceVersion: string;
}): boolean {
    return o.trustedRefs.some((r) => fullRef(r) !== fullRef(o.sourceVersion));
}

// ---- The branch-cache arguments: defaults and checks (called by `resolveArgs`) ----

/** Defaults of the branch-cache arguments (not in the package schema's defaults: `resolveArgs.ts`'s `DEFAULTS`). */
export const BRANCH_CACHE_DEFAULTS = { branchCacheExpiryDays: 14 } as const satisfies Partial<ResolvedArgs>;

/**
 * Defaults and checks of the branch-cache arguments: the expiry; when some trusted ref is not the project's own (so
 * that branch tags are written), tags short enough to carry a branch's part; and no cache per branch with two
 * platforms built natively.
 */
export function resolveBranchCaches(
    p: Problems,
    args: CachedDockerBuildArgs,
    o: Pick<ResolvedArgs, "imageTag" | "cacheTag" | "trustedRefs" | "sourceVersion"> & PlatformArgs,
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
    // A cache per branch and two platforms built natively don't compose yet: the manifest job joins the platform tags
    // of the default branch, so a branch's batch would publish no manifest list of its own.
    if (isNative(o) && hasBranchCaches(o)) {
        p.check(
            false,
            "trustedRefs",
            args.trustedRefs,
            `Allowed with two platforms built natively (platformMode native): only sourceVersion (${JSON.stringify(o.sourceVersion)}); a cache per branch is not yet built per platform. Trust one branch, or build one platform, or use platformMode emulated.`,
        );
    }
    return { branchCacheExpiryDays };
}
