/**
 * Skip unchanged builds: the component side of `buildspec/key.sh`, as pure values and checks.
 *
 * Before building, the buildspec computes a content key over everything that determines the image (the build
 * context and Dockerfile, the rendered build flags, the cache strategy and builder image, the resolved digests of
 * the `FROM` images). When `<repository>:key-<hex>` exists, the requested tag is pointed at that image
 * registry-side and nothing is built; otherwise the build runs and a trusted one also pushes the key tag. The key
 * tags are bounded by one lifecycle rule ({@link KEY_TAG_PATTERN}, {@link KEY_IMAGES_KEPT}). A forced rebuild is one
 * environment variable at `start-build` ({@link forceBuildHint}).
 */
import type { CacheStrategy, CachedDockerBuildArgs } from "./args";
import type { Problems } from "./problems";

/** The prefix of the content-key tags (`key-<64 hex>`; the branch and platform tags of other features look different). */
export const KEY_TAG_PREFIX = "key-";

/** The lifecycle pattern of the key tags. */
export const KEY_TAG_PATTERN = `${KEY_TAG_PREFIX}*`;

/**
 * How many key-tagged images the lifecycle rules keep (the newest by push time): enough to skip back to any of the
 * last 10 distinct inputs (a revert, branches that alternate). An expired key only means one more real build.
 */
export const KEY_IMAGES_KEPT = 10;

/** The environment variable that forces a build whatever the key (`1`); `key.sh` reads it. */
export const FORCE_BUILD_VARIABLE = "LAYER_CACHE_FORCE_BUILD";

/** The strategies that skip: `pull` is the original recipe, kept to be measured against, so it always builds. */
export const SKIP_STRATEGIES: readonly CacheStrategy[] = ["inline", "registry"];

/**
 * `skipUnchanged`, resolved: the value given, else true for the strategies that skip ({@link SKIP_STRATEGIES}) and
 * false for `pull`; `true` with `pull` is a problem.
 */
export function resolveSkipUnchanged(
    p: Problems,
    args: Pick<CachedDockerBuildArgs, "skipUnchanged">,
    cacheStrategy: CacheStrategy,
): boolean {
    const supported = SKIP_STRATEGIES.includes(cacheStrategy);
    const skipUnchanged = args.skipUnchanged ?? supported;
    if (typeof skipUnchanged !== "boolean") {
        p.check(false, "skipUnchanged", skipUnchanged, "Allowed: true or false.");
        return false;
    }
    // An unknown strategy is cacheStrategy's problem, not this one's.
    p.check(
        cacheStrategy !== "pull" || !skipUnchanged,
        "skipUnchanged",
        skipUnchanged,
        `Allowed: false or unset when cacheStrategy is ${cacheStrategy}; only ${SKIP_STRATEGIES.join(" and ")} skip unchanged builds (pull is the original recipe, kept to be measured against).`,
    );
    return skipUnchanged;
}

/** The `aws codebuild start-build` command that forces one build of `projectName` to run whatever its key. */
export function forceBuildHint(projectName: string): string {
    return `aws codebuild start-build --project-name ${projectName} --environment-variables-override name=${FORCE_BUILD_VARIABLE},value=1,type=PLAINTEXT`;
}
