/**
 * How the layer cache travels through ECR, as settings: the image tag and the cache tag, the cache strategy, the
 * builder of the `registry` strategy, and what a build does when its cache import keeps failing. The buildspec
 * (`buildspec/`) turns them into commands; this file holds their defaults and checks (called by `resolveArgs`).
 */
import {
    CACHE_IMPORT_FAILURES,
    CACHE_STRATEGIES,
    type CachedDockerBuildArgs,
    REGISTRY_BUILDERS,
    type ResolvedArgs,
} from "./args";
import { oneOf, type Problems } from "./problems";

/** Defaults of the layer-cache arguments. */
export const LAYER_CACHE_DEFAULTS = {
    imageTag: "latest",
    cacheTag: "buildcache",
    cacheStrategy: "registry",
    registryBuilder: "docker-container",
    onCacheImportFailure: "fail",
} as const satisfies Partial<ResolvedArgs>;

// Docker tag grammar (distribution/reference): [\w][\w.-]{0,127}.
const DOCKER_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

const DOCKER_TAG_RULE =
    "Allowed: a Docker tag: 1 to 128 of letters, digits, '_', '.', '-', not starting with '.' or '-'.";

/** Whether `tag` is a Docker tag (what `imageTag` and `cacheTag` are checked against). */
export function isDockerTag(tag: string): boolean {
    return DOCKER_TAG.test(tag);
}

/** The layer-cache arguments, resolved. */
export type LayerCacheArgs = Pick<
    ResolvedArgs,
    "imageTag" | "cacheTag" | "cacheStrategy" | "registryBuilder" | "onCacheImportFailure"
>;

/** Defaults and checks of the layer-cache arguments: two Docker tags, apart, and the three enumerations. */
export function resolveLayerCache(p: Problems, args: CachedDockerBuildArgs): LayerCacheArgs {
    const imageTag = args.imageTag ?? LAYER_CACHE_DEFAULTS.imageTag;
    const imageTagOk = p.check(isDockerTag(imageTag), "imageTag", imageTag, DOCKER_TAG_RULE);
    const cacheTag = args.cacheTag ?? LAYER_CACHE_DEFAULTS.cacheTag;
    const cacheTagOk = p.check(isDockerTag(cacheTag), "cacheTag", cacheTag, DOCKER_TAG_RULE);
    if (imageTagOk && cacheTagOk) {
        p.check(
            cacheTag !== imageTag,
            "cacheTag",
            cacheTag,
            "Allowed: any tag other than imageTag; the cache manifest must not replace the image.",
        );
    }

    const cacheStrategy = args.cacheStrategy ?? LAYER_CACHE_DEFAULTS.cacheStrategy;
    oneOf(p, "cacheStrategy", cacheStrategy, CACHE_STRATEGIES);
    const registryBuilder = args.registryBuilder ?? LAYER_CACHE_DEFAULTS.registryBuilder;
    oneOf(p, "registryBuilder", registryBuilder, REGISTRY_BUILDERS);
    const onCacheImportFailure = args.onCacheImportFailure ?? LAYER_CACHE_DEFAULTS.onCacheImportFailure;
    oneOf(p, "onCacheImportFailure", onCacheImportFailure, CACHE_IMPORT_FAILURES);
    return { imageTag, cacheTag, cacheStrategy, registryBuilder, onCacheImportFailure };
}
