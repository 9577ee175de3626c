/**
 * The `docker-container` builder's BuildKit image: the pure part. Which references a build pulls it from, in
 * order, under which local name buildx then starts it, and what a reference without a digest risks.
 *
 * The default is BuildKit v0.32.2 pinned by the digest of its multi-platform index, `moby/buildkit:v0.32.2` on
 * Docker Hub ({@link BUILDKIT_V0_32_2}), served first by ECR Public's mirror and then by Docker Hub. A pull by
 * digest checks what it receives against the digest (the daemon refuses other bytes), so every source gives the
 * same image, or none. `builder.sh` pulls from the first source that serves it, then names it
 * {@link localBuilderImage}, and `docker buildx create --driver-opt image=<that name>` starts the builder from it:
 * buildx's docker-container driver always tries a pull of its image first and, when that fails, uses the local
 * image of that name ("pulling failed, using local image", docker/buildx driver/docker-container/driver.go,
 * `create`). The local name is on `localhost`, which no registry serves here, so buildx's own pull fails at once
 * and sends no request to any registry.
 */
import type { CachedDockerBuildArgs, ResolvedArgs, UpstreamCache } from "./args";
import type { Problems } from "./problems";
import { buildkitdConfig, parseImageRef, viaPullThroughCache } from "./pullThrough";

/**
 * The digest of BuildKit v0.32.2's multi-platform index (`docker buildx imagetools inspect moby/buildkit:v0.32.2`;
 * public projects pin `moby/buildkit:v0.32.2@sha256:28a8…` alike). The README says how to move it.
 */
export const BUILDKIT_V0_32_2 = "sha256:28a898719c18a33f4e8000685287fa36fd0dd9560c6440227d3a732d79bb41d8";

/** ECR Public's mirror of `moby/buildkit` (what AWS's own remote-cache guide uses), without tag or digest. */
export const ECR_PUBLIC_BUILDKIT = "public.ecr.aws/vend/moby/buildkit";

/** Docker Hub's `moby/buildkit`, upstream. */
export const DOCKER_HUB_BUILDKIT = "docker.io/moby/buildkit";

/** Defaults of the builder-image arguments: the pinned BuildKit on ECR Public, then Docker Hub's by the same digest. */
export const BUILDER_IMAGE_DEFAULTS = {
    builderImage: `${ECR_PUBLIC_BUILDKIT}@${BUILDKIT_V0_32_2}`,
    builderImageMirrors: [DOCKER_HUB_BUILDKIT],
} as const satisfies Partial<ResolvedArgs>;

// Docker image references (used for builderImage): registry/path:tag or @digest, no whitespace or shell metacharacters.
const IMAGE_REFERENCE =
    /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;
// An image reference without tag or digest (used for builderImageMirrors).
const IMAGE_REPOSITORY = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

/** Defaults and checks of the builder-image arguments: an image reference, and mirrors without tag or digest. */
export function resolveBuilderImage(
    p: Problems,
    args: CachedDockerBuildArgs,
): Pick<ResolvedArgs, "builderImage" | "builderImageMirrors"> {
    const builderImage = args.builderImage ?? BUILDER_IMAGE_DEFAULTS.builderImage;
    p.check(
        IMAGE_REFERENCE.test(builderImage),
        "builderImage",
        builderImage,
        "Allowed: an image reference such as public.ecr.aws/vend/moby/buildkit@sha256:<digest> or moby/buildkit:v0.32.2.",
    );
    const builderImageMirrors = args.builderImageMirrors ?? BUILDER_IMAGE_DEFAULTS.builderImageMirrors;
    for (const mirror of builderImageMirrors) {
        p.check(
            IMAGE_REPOSITORY.test(mirror),
            "builderImageMirrors",
            mirror,
            "Allowed: a repository reference without tag or digest, such as docker.io/moby/buildkit (the build adds builderImage's digest).",
        );
    }
    return { builderImage, builderImageMirrors };
}

/** Whether the builds start a `docker-container` builder, the only one whose image is `builderImage`. */
export function usesBuilderImage(a: { readonly cacheStrategy: string; readonly registryBuilder: string }): boolean {
    return a.cacheStrategy === "registry" && a.registryBuilder === "docker-container";
}

/** The digest of `ref` (`sha256:<64 hex>`, after its `@`), or undefined when it has none. */
export function digestOf(ref: string): string | undefined {
    return /@(sha256:[0-9a-f]{64})$/.exec(ref)?.[1];
}

/**
 * Where a build pulls the builder image from, in order, the first that serves it winning:
 * 1. the account's pull-through cache of each source below that one of `caches` covers (`<registry>/<prefix>/…`);
 * 2. `image` itself;
 * 3. each of `mirrors` (repositories, no tag or digest), by `image`'s digest: only when `image` has one, since only
 *    a digest makes another repository's answer the same image.
 * Each appears once.
 */
export function builderImageSources(
    image: string,
    mirrors: readonly string[],
    registry: string,
    caches: readonly UpstreamCache[],
): string[] {
    const digest = digestOf(image);
    const direct = [image, ...(digest === undefined ? [] : mirrors.map((m) => `${m}@${digest}`))];
    const cached = direct.map((d) => viaPullThroughCache(d, registry, caches)).filter((c, i) => c !== direct[i]);
    const key = (ref: string) => {
        const r = parseImageRef(ref);
        return `${r.host}/${r.path}${r.suffix}`;
    };
    const seen = new Set<string>();
    const sources: string[] = [];
    for (const ref of [...cached, ...direct]) {
        if (!seen.has(key(ref))) {
            seen.add(key(ref));
            sources.push(ref);
        }
    }
    return sources;
}

/** The repository on `localhost` under which a build keeps the builder image it pulled. */
export const LOCAL_BUILDER_REPOSITORY = "localhost/layer-cache-builder";

/**
 * The local name `builder.sh` gives the builder image once pulled, and `docker buildx create` starts:
 * `localhost/layer-cache-builder:sha256-<hex>` for a pinned image (the name says what it holds, so a host that
 * already has it, such as a Docker server after an earlier build, needs no pull), else
 * `localhost/layer-cache-builder:unpinned` (pulled on every build).
 */
export function localBuilderImage(image: string): string {
    const digest = digestOf(image);
    return `${LOCAL_BUILDER_REPOSITORY}:${digest === undefined ? "unpinned" : digest.replace(":", "-")}`;
}

/**
 * The warning `pulumi up` prints for a builder image without a digest, or undefined for a pinned one: what such a
 * reference risks, and how to pin it.
 */
export function unpinnedBuilderImageWarning(image: string): string | undefined {
    if (digestOf(image) !== undefined) {
        return undefined;
    }
    return (
        `builderImage ${JSON.stringify(image)} has no digest: every build runs whatever that tag points to at the ` +
        `time (the tag can move, or be deleted, and the bytes are not checked), and builderImageMirrors are not ` +
        `tried. Pin it: ${image.includes("@") ? image : `${image}@sha256:<digest>`}, the digest from ` +
        "`docker buildx imagetools inspect <image>` (README: the builder image)."
    );
}

/** What the `docker-container` builder needs: where its image comes from, and how it pulls through the caches. */
export interface BuilderSettings {
    /**
     * The references `builder.sh` pulls the builder image from, in order, the first that serves it winning: through
     * the caches first, then the image itself and its mirrors ({@link builderImageSources}).
     */
    readonly sources: string[];
    /** The local name of the pulled image, which `docker buildx create --driver-opt image=` starts ({@link localBuilderImage}). */
    readonly localImage: string;
    /** The `buildkitd.toml` for `docker buildx create --buildkitd-config`; "" without caches (then no file is needed). */
    readonly buildkitdConfig: string;
}

/**
 * The builder image's sources and local name, and the BuildKit configuration (`pullThrough.ts`), of a build that
 * pulls through `caches` of `registry` (`<account>.dkr.ecr.<region>.amazonaws.com`): with no cache, the image and
 * its mirrors as they are, and no configuration.
 */
export function builderSettings(
    registry: string,
    builderImage: string,
    mirrors: readonly string[],
    caches: readonly UpstreamCache[],
): BuilderSettings {
    return {
        sources: builderImageSources(builderImage, mirrors, registry, caches),
        localImage: localBuilderImage(builderImage),
        buildkitdConfig: buildkitdConfig(registry, caches),
    };
}
