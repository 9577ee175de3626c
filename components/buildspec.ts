/**
 * The CodeBuild buildspec, as a pure function of resolved values.
 *
 * The buildspec is built as an object and serialized with a YAML library. Every configured value reaches a
 * command through {@link shellWord}, so it is exactly one shell word, and the YAML library makes each
 * command exactly one YAML scalar. Nothing is string-templated into YAML.
 *
 * CodeBuild semantics this relies on (buildspec reference, "Build phase transitions"):
 * - version 0.2 runs all commands of a build in one shell instance, so variables set in pre_build are
 *   seen in build and post_build; `env.shell: bash` makes that shell bash on every image.
 * - a failing command ends its phase; a failure in pre_build skips build and post_build, a failure in
 *   build still runs post_build, with `CODEBUILD_BUILD_SUCCEEDING=0`.
 * The image push is part of the build command (`--push`), so a failed build pushes nothing and never
 * exports a cache; post_build only reports. Each command sets its own shell options (`pipefail`) rather
 * than trusting state from an earlier command.
 */
import * as YAML from "yaml";
import type { CacheStrategy, RegistryBuilder, ResolvedArgs } from "./args";

export interface BuildspecOptions {
    /** `<registry>/<repository>`, e.g. `123456789012.dkr.ecr.eu-west-1.amazonaws.com/app`. */
    readonly repositoryUrl: string;
    /** Region of the registry, for `aws ecr get-login-password`. */
    readonly region: string;
    readonly imageTag: string;
    readonly cacheTag: string;
    readonly cacheStrategy: CacheStrategy;
    readonly registryBuilder: RegistryBuilder;
    readonly builderImage: string;
    readonly dockerfileDir: string;
    readonly dockerfileName: string;
    readonly buildArgs: Readonly<Record<string, string>>;
    readonly trustedRefs: readonly string[];
    /**
     * The project's configured source version. A build started without a source-version override builds it,
     * so such a build writes the cache only if this ref is trusted. Unset: such a build is trusted.
     */
    readonly sourceVersion?: string;
    readonly buildNetwork?: "none" | "host";
}

export interface BuildspecPhase {
    readonly commands: string[];
}

export interface Buildspec {
    readonly version: 0.2;
    readonly env: { readonly shell: "bash"; readonly variables: Record<string, string> };
    readonly phases: {
        readonly pre_build: BuildspecPhase;
        readonly build: BuildspecPhase;
        readonly post_build: BuildspecPhase;
    };
}

/** Name of the buildx builder the `registry` strategy creates with the `docker-container` driver. */
export const BUILDER_NAME = "layer-cache";

/**
 * Where the build's plain progress is kept, so the build can count its cached steps. One file per build
 * (the UUID part of `CODEBUILD_BUILD_ID`): builds that share a /tmp (several builds on one host, as with
 * the local stand-in) must not read each other's log. A shell word meant to be used inside double quotes.
 */
export const BUILD_LOG = "/tmp/layer-cache-build.${CODEBUILD_BUILD_ID##*:}.log";

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * Quotes a value as exactly one POSIX shell word that expands to the value itself.
 * Single quotes keep everything literal; a single quote inside is written as `'\''`.
 * NUL can't be passed in an argument at all, so it is refused.
 */
export function shellWord(value: string): string {
    if (value.includes("\0")) {
        throw new Error("A shell word can't contain a NUL character");
    }
    if (SAFE_WORD.test(value)) {
        return value;
    }
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

function words(...parts: string[]): string {
    return parts.map(shellWord).join(" ");
}

/** The registry host of a repository URL (what `docker login` takes). */
export function registryOf(repositoryUrl: string): string {
    const slash = repositoryUrl.indexOf("/");
    if (slash <= 0) {
        throw new Error(`Not a repository URL: ${JSON.stringify(repositoryUrl)}`);
    }
    return repositoryUrl.slice(0, slash);
}

/** The refs that each strategy reads its cache from and writes it to. */
export function cacheRefs(o: Pick<BuildspecOptions, "repositoryUrl" | "imageTag" | "cacheTag" | "cacheStrategy">): {
    image: string;
    cache: string;
} {
    const image = `${o.repositoryUrl}:${o.imageTag}`;
    return { image, cache: o.cacheStrategy === "registry" ? `${o.repositoryUrl}:${o.cacheTag}` : image };
}

/**
 * A trusted ref as a full ref name: a bare name is a branch (`main` is `refs/heads/main`); a tag must be
 * written `refs/tags/<name>`. Exported for tests.
 */
export function fullRef(ref: string): string {
    return ref.startsWith("refs/") ? ref : `refs/heads/${ref}`;
}

/**
 * Decides whether this build may write the cache, from CodeBuild's variables. Refs are compared in full
 * (`refs/heads/…`, `refs/tags/…`), so a tag named like a trusted branch (tags are often pushable by
 * people the branch's protection keeps out) is not mistaken for it.
 * - pull-request builds never write: webhook trigger `pr/*`, or a `pr/*` source version;
 * - otherwise the built ref must be one of the trusted refs: the webhook head ref (already a full ref),
 *   else the requested source version, a bare name being a branch;
 * - an empty source version means no override was given, so the project's own configured version is
 *   built: it is trusted only if it is one of the trusted refs (when the options don't name it, it is).
 */
function trustCommand(trustedRefs: readonly string[], sourceVersion: string | undefined): string {
    // No override: the project's own version is built; it is then compared like any other ref.
    const own = sourceVersion === undefined ? `""` : shellWord(fullRef(sourceVersion));
    return [
        `BUILD_REF="\${CODEBUILD_WEBHOOK_HEAD_REF:-\${CODEBUILD_SOURCE_VERSION:-}}"`,
        `case "$BUILD_REF" in refs/*) ;; "") BUILD_REF=${own} ;; *) BUILD_REF="refs/heads/$BUILD_REF" ;; esac`,
        `CACHE_WRITE=0`,
        `case "\${CODEBUILD_WEBHOOK_TRIGGER:-}" in pr/*) ;; *) case "\${CODEBUILD_SOURCE_VERSION:-}" in pr/*) ;; *)`,
        `  if [ -z "$BUILD_REF" ]; then CACHE_WRITE=1; fi`,
        `  for trusted in ${trustedRefs.map((r) => shellWord(fullRef(r))).join(" ")}; do if [ "$BUILD_REF" = "$trusted" ]; then CACHE_WRITE=1; fi; done ;;`,
        `esac ;; esac`,
        `if [ "$CACHE_WRITE" = 1 ]; then echo "layer cache: ref '$BUILD_REF' is trusted: this build reads the cache and, if it succeeds, pushes the image and writes the cache"; ` +
            `else echo "layer cache: ref '$BUILD_REF' (trigger '\${CODEBUILD_WEBHOOK_TRIGGER:-}') is not trusted: this build reads the cache but pushes nothing"; fi`,
    ].join("\n");
}

function loginCommand(o: BuildspecOptions): string {
    const registry = registryOf(o.repositoryUrl);
    return (
        `set -o pipefail; ${words("aws", "ecr", "get-login-password", "--region", o.region)} | ${words("docker", "login", "--username", "AWS", "--password-stdin", registry)}` +
        ` || { echo ${shellWord(`ERROR: docker login to ${registry} failed, so the layer cache can be neither read nor written. Check the role's ecr:GetAuthorizationToken permission and the registry address.`)} >&2; false; }`
    );
}

/**
 * Looks the cache up before the build. BuildKit treats every cache-import error as a warning and builds
 * cold, so a wrong password, a missing permission or a malformed ref would otherwise go unnoticed.
 * Only "not found" (the first build) is accepted; anything else fails the build here.
 */
function probeCommand(ref: string): string {
    const r = shellWord(ref);
    return [
        `if probe=$(docker buildx imagetools inspect ${r} 2>&1); then CACHE_FOUND=1; echo "layer cache: found "${r};`,
        `else CACHE_FOUND=0; case "$probe" in`,
        `  *"not found"*|*"manifest unknown"*|*MANIFEST_UNKNOWN*) echo "layer cache: "${r}" is not there yet (first build): this build is cold" ;;`,
        `  *) echo "ERROR: cannot read the layer cache "${r}": $probe" >&2; false ;;`,
        `esac; fi`,
    ].join("\n");
}

/**
 * The flags that read the cache (every build) and those that write it and push the image (trusted
 * builds only). Untrusted builds get `--output type=cacheonly`: they read the cache, produce no image
 * and push nothing, and a builder with lazy cache refs then downloads no cached layer at all.
 */
function cacheFlags(o: BuildspecOptions): { read: string[]; write: string[]; readOnly: string[] } {
    const { image, cache } = cacheRefs(o);
    const readOnly = ["--output", "type=cacheonly"];
    switch (o.cacheStrategy) {
        case "inline":
            return {
                read: ["--cache-from", `type=registry,ref=${image}`],
                write: ["--cache-to", "type=inline", "--tag", image, "--push"],
                readOnly,
            };
        case "registry":
            return {
                read: ["--cache-from", `type=registry,ref=${cache}`],
                // The cache is exported by a second, separate invocation (see exportCommand).
                write: [
                    // Push without storing the image in the builder's image store: cached layers then stay lazy
                    // (never downloaded) on a warm build. A docker-container builder has no image store, so this
                    // is what --push does there anyway; on a daemon with the containerd store it saves the whole
                    // image download (measured: 0 MB pulled instead of the image size).
                    "--output",
                    `type=image,name=${image},push=true,store=false`,
                ],
                readOnly,
            };
        case "pull":
            // The original recipe: a plain --cache-from the pulled image, which carries no cache metadata.
            return { read: ["--cache-from", image], write: ["--tag", image, "--push"], readOnly };
    }
}

/** `docker buildx build` with what every invocation of this build shares: file, build args, network. */
function baseBuildArgs(o: BuildspecOptions): string[] {
    const dockerfile = `${o.dockerfileDir.replace(/\/+$/, "")}/${o.dockerfileName}`;
    const args = [
        "docker",
        "buildx",
        "build",
        "--progress=plain",
        "--provenance=false",
        "--sbom=false",
        "--file",
        dockerfile,
    ];
    for (const [name, value] of Object.entries(o.buildArgs)) {
        args.push("--build-arg", `${name}=${value}`);
    }
    if (o.buildNetwork !== undefined) {
        args.push(`--network=${o.buildNetwork}`);
    }
    return args;
}

function buildCommand(o: BuildspecOptions): string {
    const { read, write, readOnly } = cacheFlags(o);
    return [
        `set -o pipefail`,
        `WRITE_FLAGS=(${words(...readOnly)})`,
        `if [ "$CACHE_WRITE" = 1 ]; then WRITE_FLAGS=(${words(...write)}); fi`,
        // IMAGE_PUSHED is set only if the build (and so its push) succeeded; `&&` keeps a failure the command's status.
        `IMAGE_PUSHED=0`,
        `${words(...baseBuildArgs(o), ...read)} "\${WRITE_FLAGS[@]}" ${shellWord(o.dockerfileDir)} 2>&1 | tee "${BUILD_LOG}" && IMAGE_PUSHED="$CACHE_WRITE"`,
    ].join("\n");
}

/**
 * The `registry` strategy's cache export, a second invocation on the same builder after the build
 * succeeded, for trusted refs only. Every step it needs is in the builder's local cache by then, so it
 * only writes the cache manifest. It reads the cache in ECR too (`--cache-from`, as the build does):
 * without it, records the build took from that cache without loading them (a multi-stage builder stage
 * behind a cached `COPY --from`) are dropped from the export, and mode=max loses the builder stage
 * (seen here: a 3-layer cache instead of 8 after a change below the COPY, then every builder step rebuilt). It is skipped when every step came from the cache in ECR: that cache
 * is already complete, and exporting it again costs BuildKit seconds per lazy layer for nothing
 * (measured: 7 to 9 s of "preparing build cache for export" for 25 unchanged layers, growing faster
 * than the layer count; moby/buildkit#2184). A count that misses a hit only makes it export.
 */
function exportCommand(o: BuildspecOptions): string {
    const { cache } = cacheRefs(o);
    const exportArgs = [
        ...baseBuildArgs(o),
        ...cacheFlags(o).read,
        // ECR needs an image manifest with OCI media types for a cache manifest (BuildKit >= 0.12).
        "--cache-to",
        `type=registry,ref=${cache},mode=max,image-manifest=true,oci-mediatypes=true`,
        "--output",
        "type=cacheonly",
        o.dockerfileDir,
    ];
    return [
        `if [ "$CACHE_WRITE" != 1 ]; then echo "layer cache: untrusted ref: the cache is not exported";`,
        `elif [ "\${CACHE_FOUND:-0}" = 1 ] && [ "$n_steps" -gt 0 ] && [ "$n_cached" = "$n_steps" ]; then echo ${shellWord(`layer cache: every step came from ${cache}, which is already complete: not exported again`)};`,
        `else set -o pipefail; ${words(...exportArgs)} 2>&1 | tee -a "${BUILD_LOG}"; fi`,
    ].join("\n");
}

/** Counts the Dockerfile steps (FROM excluded) and those BuildKit reported as CACHED, and warns loudly on a miss. */
function reportCommand(): string {
    return [
        `steps=$(grep -E '^#[0-9]+ \\[[^]]*[0-9]+/[0-9]+\\] ' "${BUILD_LOG}" | grep -vE '^#[0-9]+ \\[[^]]*\\] FROM ' | cut -d' ' -f1 | sort -u)`,
        `cached=$(grep -E '^#[0-9]+ CACHED' "${BUILD_LOG}" | cut -d' ' -f1 | sort -u)`,
        `n_steps=$(printf '%s\\n' "$steps" | grep -c . || true)`,
        `n_cached=$(comm -12 <(printf '%s\\n' "$steps") <(printf '%s\\n' "$cached") | grep -c . || true)`,
        `echo "layer cache: $n_cached of $n_steps steps cached"`,
        // BuildKit reports a missing cache ref as an ERROR line and carries on; that is expected on a first
        // build (the probe said so), and any other import or export error is not.
        // BuildKit prints a failed import (e.g. a cache manifest whose blobs can't be fetched) as `#N ERROR: …`
        // on the import vertex's own line, so the ERROR lines of the cache vertices are collected too.
        `cache_vertices=$(grep -E '^#[0-9]+ (importing cache manifest from|exporting cache)' "${BUILD_LOG}" | cut -d' ' -f1 | sort -u | paste -sd'|' - || true)`,
        `cache_errors=$({ grep -iE 'failed to configure .*cache (importer|exporter)|importing cache manifest.*(error|failed)|exporting cache.*(error|failed)' "${BUILD_LOG}"; ` +
            `if [ -n "$cache_vertices" ]; then grep -E "^($cache_vertices) ERROR" "${BUILD_LOG}"; fi; } | sort -u || true)`,
        `if [ "\${CACHE_FOUND:-0}" = 0 ]; then cache_errors=$(printf '%s\\n' "$cache_errors" | grep -viE ': not found$' || true); fi`,
        `if [ -n "$cache_errors" ]; then echo "WARNING: BuildKit reported a layer-cache error, so this build did not use the cache as configured: $cache_errors"; fi`,
        // A hit whose layer BuildKit has to download may end in DONE rather than CACHED, with the download
        // (`sha256:… done`, `extracting sha256:…`) on its lines: the count above is then a lower bound, and
        // such downloads keep the warning below from firing on a build that did use the cache.
        `fetched=$(grep -E '^#[0-9]+ (extracting sha256:|sha256:[0-9a-f]{64} )' "${BUILD_LOG}" | cut -d' ' -f1 | sort -u)`,
        `n_fetched=$(comm -12 <(printf '%s\\n' "$steps") <(printf '%s\\n' "$fetched") | grep -c . || true)`,
        `if [ "\${CACHE_FOUND:-0}" = 1 ] && [ "$n_steps" -gt 0 ] && [ "$n_cached" = 0 ] && [ "$n_fetched" = 0 ]; then echo "WARNING: a layer cache was found in ECR but no step used it: every step was rebuilt"; fi`,
    ].join("\n");
}

function postBuildCommand(o: BuildspecOptions): string {
    const { image, cache } = cacheRefs(o);
    const wrote = {
        pull: `pushed ${image}`,
        inline: `pushed ${image} and wrote the layer cache to ${cache}`,
        registry: `pushed ${image}; the layer cache in ${cache} is up to date`,
    }[o.cacheStrategy];
    return [
        `if [ "\${CODEBUILD_BUILD_SUCCEEDING:-0}" != 1 ] && [ "\${IMAGE_PUSHED:-0}" = 1 ]; then echo ${shellWord(`layer cache: the build pushed ${image} but then failed: the cache in ECR was not updated`)};`,
        `elif [ "\${CODEBUILD_BUILD_SUCCEEDING:-0}" != 1 ]; then echo "layer cache: the build failed: nothing was pushed and the cache in ECR is unchanged";`,
        `elif [ "$CACHE_WRITE" = 1 ]; then echo ${shellWord(`layer cache: ${wrote}`)};`,
        `else echo "layer cache: untrusted ref: nothing was pushed"; fi`,
    ].join("\n");
}

/** The buildspec options of a component: its resolved arguments plus the repository, known once it exists. */
export function buildspecOptions(a: ResolvedArgs, repositoryUrl: string, region: string): BuildspecOptions {
    return {
        repositoryUrl,
        region,
        imageTag: a.imageTag,
        cacheTag: a.cacheTag,
        cacheStrategy: a.cacheStrategy,
        registryBuilder: a.registryBuilder,
        builderImage: a.builderImage,
        dockerfileDir: a.dockerfileDir,
        dockerfileName: a.dockerfileName,
        buildArgs: a.buildArgs,
        trustedRefs: a.trustedRefs,
        sourceVersion: a.sourceVersion,
        buildNetwork: a.buildNetwork,
    };
}

/** The buildspec object for the given options. */
export function buildspec(o: BuildspecOptions): Buildspec {
    const { image, cache } = cacheRefs(o);
    const preBuild = [trustCommand(o.trustedRefs, o.sourceVersion), loginCommand(o)];
    if (o.cacheStrategy === "registry" && o.registryBuilder === "docker-container") {
        const create = [
            "docker",
            "buildx",
            "create",
            "--name",
            BUILDER_NAME,
            "--driver",
            "docker-container",
            "--driver-opt",
            `image=${o.builderImage}`,
        ];
        if (o.buildNetwork === "host") {
            create.push("--driver-opt", "network=host");
        }
        preBuild.push(`${words(...create, "--use", "--bootstrap")}`);
    }
    if (o.cacheStrategy === "pull") {
        // The original recipe tolerates a failed pull (first build) with `|| true`; it records whether the
        // pull worked so the report can say when a pulled image gave no cache hit.
        preBuild.push(`if ${words("docker", "pull", image)}; then CACHE_FOUND=1; else CACHE_FOUND=0; fi`);
    } else {
        preBuild.push(probeCommand(cache));
    }
    return {
        version: 0.2,
        env: {
            shell: "bash",
            variables: { DOCKER_BUILDKIT: "1" },
        },
        phases: {
            pre_build: { commands: preBuild },
            build: {
                commands:
                    o.cacheStrategy === "registry"
                        ? [buildCommand(o), reportCommand(), exportCommand(o)]
                        : [buildCommand(o), reportCommand()],
            },
            post_build: { commands: [postBuildCommand(o)] },
        },
    };
}

/** The buildspec as YAML, the form CodeBuild takes inline. */
export function buildspecYaml(o: BuildspecOptions): string {
    return YAML.stringify(buildspec(o), { lineWidth: 0 });
}
