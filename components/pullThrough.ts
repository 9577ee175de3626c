/**
 * ECR pull-through cache: the pure part. Which upstream registries can be cached, how an image reference is
 * rewritten to come through the account's own ECR, the BuildKit configuration that makes base images come
 * that way, the IAM statement a build needs to pull through the cache, and the pull-through arguments' defaults
 * and checks ({@link resolvePullThrough}, called by `resolveArgs`).
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

import {
    CACHE_STRATEGIES,
    type CachedDockerBuildArgs,
    PULL_THROUGH_MODES,
    PULL_THROUGH_UPSTREAMS,
    type PullThroughUpstream,
    REGISTRY_BUILDERS,
    type ResolvedArgs,
    type UpstreamCache,
} from "./args";
import { oneOf, type Problems, SECRET_VALUE } from "./problems";

/** The upstream registries this project can cache. */
export const UPSTREAMS = {
    /** ECR Public (`public.ecr.aws`): no credential needed. Where the BuildKit image comes from. */
    "ecr-public": { upstreamRegistryUrl: "public.ecr.aws", host: "public.ecr.aws", needsCredential: false },
    /** Docker Hub: ECR requires a credential for it. Where most `FROM` lines point. */
    "docker-hub": { upstreamRegistryUrl: "registry-1.docker.io", host: "docker.io", needsCredential: true },
} as const satisfies Record<PullThroughUpstream, unknown>;
export type Upstream = keyof typeof UPSTREAMS;

/** One upstream registry reached through a pull-through cache rule (declared with the arguments, args.ts). */
export type { UpstreamCache } from "./args";

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

// ---- The pull-through arguments: defaults and checks (called by `resolveArgs`) ----

/** Defaults of the pull-through arguments: off; ECR Public when on, under prefixes named after the upstreams. */
export const PULL_THROUGH_DEFAULTS = {
    pullThroughCache: "off",
    pullThroughUpstreams: ["ecr-public"],
    ecrPublicCachePrefix: "ecr-public",
    dockerHubCachePrefix: "docker-hub",
} as const satisfies Partial<ResolvedArgs>;

/** The argument that holds each upstream's repository prefix. */
export const PREFIX_KEYS = {
    "ecr-public": "ecrPublicCachePrefix",
    "docker-hub": "dockerHubCachePrefix",
} as const satisfies Record<Upstream, string>;

const PREFIX_RULE =
    "Allowed: an ECR pull-through cache prefix: 2 to 30 characters, lowercase letters and digits in '/'-separated components, with single '.', '_' or '-' inside a component (ECR's rule).";
const DOCKER_HUB_USERNAME = /^[\x21-\x7e]{1,255}$/;
const DOCKER_HUB_CREDENTIAL_ONLY_WITH =
    "Allowed only when pullThroughCache is create and pullThroughUpstreams includes docker-hub: the stack then creates the Docker Hub rule with this credential.";

/** The pull-through arguments, resolved; and the caches the build pulls through. */
export type PullThroughArgs = Pick<
    ResolvedArgs,
    | "pullThroughCache"
    | "pullThroughUpstreams"
    | "ecrPublicCachePrefix"
    | "dockerHubCachePrefix"
    | "dockerHubCredentialArn"
    | "dockerHubUsername"
    | "upstreamCaches"
>;

/**
 * Defaults and checks of the pull-through cache arguments: the mode, the upstreams, their prefixes (ECR's rule,
 * distinct, not around the stack's own repository), the builder it needs, and the Docker Hub credential (exactly
 * one form, and only where the stack creates the Docker Hub rule). The access token is never shown in a problem.
 */
export function resolvePullThrough(
    p: Problems,
    args: CachedDockerBuildArgs,
    other: Pick<ResolvedArgs, "cacheStrategy" | "registryBuilder" | "repositoryName">,
): PullThroughArgs {
    const pullThroughCache = args.pullThroughCache ?? PULL_THROUGH_DEFAULTS.pullThroughCache;
    const modeOk = oneOf(p, "pullThroughCache", pullThroughCache, PULL_THROUGH_MODES);
    const on = modeOk && pullThroughCache !== "off";
    if (
        on &&
        (CACHE_STRATEGIES as readonly string[]).includes(other.cacheStrategy) &&
        (REGISTRY_BUILDERS as readonly string[]).includes(other.registryBuilder)
    ) {
        p.check(
            other.cacheStrategy === "registry" && other.registryBuilder === "docker-container",
            "pullThroughCache",
            pullThroughCache,
            `Allowed: off, unless cacheStrategy is registry and registryBuilder is docker-container (got cacheStrategy ${other.cacheStrategy}, registryBuilder ${other.registryBuilder}): only a docker-container builder takes the BuildKit configuration that sends pulls through the cache.`,
        );
    }

    const pullThroughUpstreams = args.pullThroughUpstreams ?? PULL_THROUGH_DEFAULTS.pullThroughUpstreams;
    let upstreamsOk = p.check(
        Array.isArray(pullThroughUpstreams) && pullThroughUpstreams.length > 0,
        "pullThroughUpstreams",
        pullThroughUpstreams,
        `Allowed: a non-empty list of ${PULL_THROUGH_UPSTREAMS.join(", ")}.`,
    );
    for (const [i, u] of (upstreamsOk ? pullThroughUpstreams : []).entries()) {
        upstreamsOk =
            oneOf(p, "pullThroughUpstreams", u, PULL_THROUGH_UPSTREAMS) &&
            p.check(pullThroughUpstreams.indexOf(u) === i, "pullThroughUpstreams", u, "Allowed: each upstream once.") &&
            upstreamsOk;
    }

    const prefixes: Record<Upstream, string> = {
        "ecr-public": args.ecrPublicCachePrefix ?? PULL_THROUGH_DEFAULTS.ecrPublicCachePrefix,
        "docker-hub": args.dockerHubCachePrefix ?? PULL_THROUGH_DEFAULTS.dockerHubCachePrefix,
    };
    const prefixOk = (u: Upstream) => prefixProblem(prefixes[u]) === undefined;
    for (const u of PULL_THROUGH_UPSTREAMS) {
        p.check(prefixOk(u), PREFIX_KEYS[u], prefixes[u], PREFIX_RULE);
    }
    const enabled = upstreamsOk ? pullThroughUpstreams : [];
    // Nested prefixes would make one rule's repositories look like the other's.
    const nested = (a: string, b: string) => a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
    if (enabled.length === 2 && prefixOk("ecr-public") && prefixOk("docker-hub")) {
        p.check(
            !nested(prefixes["docker-hub"], prefixes["ecr-public"]),
            "dockerHubCachePrefix",
            prefixes["docker-hub"],
            `Allowed: a prefix other than ecrPublicCachePrefix (${prefixes["ecr-public"]}), neither inside it nor around it: each upstream needs its own repositories.`,
        );
    }
    // ECR's repository-name pattern is the prefixes' pattern: a name that fails it is refused under its own key.
    if (on && PREFIX_PATTERN.test(other.repositoryName)) {
        for (const u of enabled.filter(prefixOk)) {
            p.check(
                !other.repositoryName.startsWith(`${prefixes[u]}/`),
                "repositoryName",
                other.repositoryName,
                `Allowed: a name outside the pull-through cache prefix ${prefixes[u]}/ (${PREFIX_KEYS[u]}), whose repositories hold cached upstream images.`,
            );
        }
    }

    const dockerHubCredentialArn = args.dockerHubCredentialArn;
    const dockerHubUsername = args.dockerHubUsername;
    const hasToken = args.dockerHubAccessToken !== undefined;
    const credentialWanted = on && pullThroughCache === "create" && enabled.includes("docker-hub");
    if (modeOk && upstreamsOk) {
        if (!credentialWanted) {
            p.check(
                dockerHubCredentialArn === undefined,
                "dockerHubCredentialArn",
                dockerHubCredentialArn,
                DOCKER_HUB_CREDENTIAL_ONLY_WITH,
            );
            p.check(
                dockerHubUsername === undefined,
                "dockerHubUsername",
                dockerHubUsername,
                DOCKER_HUB_CREDENTIAL_ONLY_WITH,
            );
            p.check(!hasToken, "dockerHubAccessToken", SECRET_VALUE, DOCKER_HUB_CREDENTIAL_ONLY_WITH);
        } else if (dockerHubCredentialArn !== undefined) {
            if (
                p.check(
                    dockerHubUsername === undefined && !hasToken,
                    "dockerHubCredentialArn",
                    dockerHubCredentialArn,
                    "Allowed: either dockerHubCredentialArn (an existing secret) or dockerHubUsername with dockerHubAccessToken (the stack creates the secret), not both.",
                )
            ) {
                p.check(
                    credentialArnProblem(dockerHubCredentialArn) === undefined,
                    "dockerHubCredentialArn",
                    dockerHubCredentialArn,
                    "Allowed: the ARN of a Secrets Manager secret whose name starts with 'ecr-pullthroughcache/' (ECR takes no other as a pull-through cache credential).",
                );
            }
        } else if (dockerHubUsername === undefined && !hasToken) {
            p.check(
                false,
                "pullThroughUpstreams",
                pullThroughUpstreams,
                "Allowed: docker-hub only with a Docker Hub credential when pullThroughCache is create (ECR requires one): set dockerHubCredentialArn, or dockerHubUsername and the secret dockerHubAccessToken.",
            );
        } else if (dockerHubUsername === undefined) {
            p.check(
                false,
                "dockerHubAccessToken",
                SECRET_VALUE,
                "Allowed only together with dockerHubUsername, the user name the token belongs to.",
            );
        } else if (
            p.check(
                typeof dockerHubUsername === "string" && DOCKER_HUB_USERNAME.test(dockerHubUsername),
                "dockerHubUsername",
                dockerHubUsername,
                "Allowed: a Docker Hub user or organization name, 1 to 255 printable characters without spaces.",
            )
        ) {
            p.check(
                hasToken,
                "dockerHubUsername",
                dockerHubUsername,
                "Allowed only together with dockerHubAccessToken (pulumi config set --secret dockerHubAccessToken <token>).",
            );
        }
    }

    return {
        pullThroughCache,
        pullThroughUpstreams,
        ecrPublicCachePrefix: prefixes["ecr-public"],
        dockerHubCachePrefix: prefixes["docker-hub"],
        dockerHubCredentialArn,
        dockerHubUsername,
        upstreamCaches: on ? enabled.map((upstream) => ({ upstream, prefix: prefixes[upstream] })) : [],
    };
}
