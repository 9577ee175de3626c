/**
 * ECR pull-through cache: the pure part. Which upstream registries can be cached, how an image reference is
 * rewritten to come through the account's own ECR, the BuildKit configuration that makes base images come
 * that way, and the IAM statement a build needs to pull through the cache.
 *
 * How ECR does it (ECR user guide, "Sync an upstream registry with an Amazon ECR private registry"):
 * - a pull-through cache rule maps a repository prefix of the private registry to an upstream registry;
 *   pulling `<account>.dkr.ecr.<region>.amazonaws.com/<prefix>/<upstream path>:<tag>` fetches the image from
 *   upstream on a miss, creates the repository `<prefix>/<upstream path>` and stores it there;
 * - the prefix is 2–30 characters of lowercase path components (`ROOT` is reserved for creation templates);
 * - Docker Hub requires a credential: a Secrets Manager secret whose name starts with `ecr-pullthroughcache/`;
 *   ECR Public needs none;
 * - the puller needs `ecr:BatchImportUpstreamImage`, and `ecr:CreateRepository` for the first pull of an image,
 *   on the cached repositories, besides the usual pull actions (`policies.ts` grants them).
 *
 * How BuildKit does it: a registry mirror in `buildkitd.toml` may carry a path (moby/buildkit#3427), so
 * `[registry."docker.io"] mirrors = ["<ecr host>/<prefix>"]` sends `FROM node:22` to
 * `<ecr host>/<prefix>/library/node:22` without touching the Dockerfile. BuildKit falls back to the upstream
 * registry when the mirror fails. Only a `docker-container` builder takes a BuildKit config; the daemon's own
 * builder does not.
 */

/** The upstream registries this project can cache. */
export const UPSTREAMS = {
    /** ECR Public (`public.ecr.aws`): no credential needed. Where the BuildKit image comes from. */
    "ecr-public": { upstreamRegistryUrl: "public.ecr.aws", host: "public.ecr.aws", needsCredential: false },
    /** Docker Hub: ECR requires a credential for it. Where most `FROM` lines point. */
    "docker-hub": { upstreamRegistryUrl: "registry-1.docker.io", host: "docker.io", needsCredential: true },
} as const;
export type Upstream = keyof typeof UPSTREAMS;

/** One upstream registry reached through a pull-through cache rule under `prefix`. */
export interface UpstreamCache {
    readonly upstream: Upstream;
    /** The ECR repository prefix of the rule, e.g. `ecr-public`. */
    readonly prefix: string;
}

/** ECR's rule for `ecrRepositoryPrefix` (CreatePullThroughCacheRule), without `ROOT`, which only templates take. */
const PREFIX_PATTERN = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

/** Why `prefix` can't be a pull-through cache prefix, or undefined if it can. */
export function prefixProblem(prefix: string): string | undefined {
    if (prefix.length < 2 || prefix.length > 30) {
        return `must be 2–30 characters, got ${prefix.length}`;
    }
    if (!PREFIX_PATTERN.test(prefix)) {
        return "must be lowercase letters and digits in '/'-separated components, with single '.', '_' or '-' inside a component";
    }
    return undefined;
}

/** ECR's rule for a pull-through cache credential (CreatePullThroughCacheRule `credentialArn`). */
const CREDENTIAL_ARN =
    /^arn:aws[a-z-]*:secretsmanager:[a-zA-Z0-9-:]+:secret:ecr-pullthroughcache\/[a-zA-Z0-9/_+=.@-]+$/;

/** Why `arn` can't be a pull-through cache credential, or undefined if it can. */
export function credentialArnProblem(arn: string): string | undefined {
    if (arn.length < 50 || arn.length > 612 || !CREDENTIAL_ARN.test(arn)) {
        return "must be the ARN of a Secrets Manager secret whose name starts with 'ecr-pullthroughcache/' (ECR refuses any other)";
    }
    return undefined;
}

/** The name ECR requires for a secret that holds an upstream credential. */
export function credentialSecretName(name: string): string {
    return `ecr-pullthroughcache/${name}`;
}

interface ImageRef {
    /** Registry host as written, or `docker.io` for a reference without one. */
    readonly host: string;
    /** Repository path, `library/` added for a one-component Docker Hub name. */
    readonly path: string;
    /** `:tag`, `@digest`, `:tag@digest` or "". */
    readonly suffix: string;
}

/**
 * Splits an image reference the way Docker does: the first component is a registry host only if it contains
 * `.` or `:`, or is `localhost`; otherwise the image is on Docker Hub, where a one-component name is in `library/`.
 */
export function parseImageRef(ref: string): ImageRef {
    const at = ref.indexOf("@");
    const nameAndTag = at >= 0 ? ref.slice(0, at) : ref;
    const digest = at >= 0 ? ref.slice(at) : "";
    const lastSlash = nameAndTag.lastIndexOf("/");
    const colon = nameAndTag.lastIndexOf(":");
    const tag = colon > lastSlash ? nameAndTag.slice(colon) : "";
    const name = colon > lastSlash ? nameAndTag.slice(0, colon) : nameAndTag;
    const first = name.split("/")[0];
    const hasHost = name.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost");
    let host = hasHost ? first : "docker.io";
    let path = hasHost ? name.slice(first.length + 1) : name;
    if (host === "index.docker.io" || host === "registry-1.docker.io") {
        host = "docker.io";
    }
    if (host === "docker.io" && !path.includes("/")) {
        path = `library/${path}`;
    }
    return { host, path, suffix: `${tag}${digest}` };
}

/**
 * The reference that pulls `image` through the cache of its upstream in `registry` (`<account>.dkr.ecr.<region>.amazonaws.com`),
 * or `image` unchanged when none of `caches` covers its registry.
 */
export function viaPullThroughCache(image: string, registry: string, caches: readonly UpstreamCache[]): string {
    const ref = parseImageRef(image);
    const cache = caches.find((c) => UPSTREAMS[c.upstream].host === ref.host);
    return cache ? `${registry}/${cache.prefix}/${ref.path}${ref.suffix}` : image;
}

/**
 * The BuildKit daemon configuration (`buildkitd.toml`) that sends each cached upstream's pulls to its mirror
 * in the private registry, e.g. `[registry."docker.io"] mirrors = ["<registry>/docker-hub"]`.
 * Values are TOML basic strings; hosts and prefixes are validated before they get here, and are quoted anyway.
 */
export function buildkitdConfig(registry: string, caches: readonly UpstreamCache[]): string {
    return caches
        .map(
            (c) =>
                `[registry.${JSON.stringify(UPSTREAMS[c.upstream].host)}]\n  mirrors = [${JSON.stringify(`${registry}/${c.prefix}`)}]\n`,
        )
        .join("\n");
}

/**
 * Where each cached upstream is reached in `registry`, e.g. `{"ecr-public": "<registry>/ecr-public"}`: an image
 * `public.ecr.aws/<path>:<tag>` is `<that>/<path>:<tag>`, a Docker Hub image `node:22` is `<that>/library/node:22`.
 */
export function upstreamCacheUrls(
    registry: string,
    caches: readonly UpstreamCache[],
): Partial<Record<Upstream, string>> {
    return Object.fromEntries(caches.map((c) => [c.upstream, `${registry}/${c.prefix}`]));
}
