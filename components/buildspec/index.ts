/**
 * The CodeBuild buildspec, as a pure function of resolved values.
 *
 * The bash lives in the `.sh` files next to this one, one per buildspec command, with no interpolation:
 * `platform.sh` (two native platforms), `trust.sh`, `branch.sh`, `caches.sh` (two emulated platforms), `retry.sh`, `login.sh`, `http.sh` and `key.sh` (skipUnchanged),
 * `probe.sh` / `pull.sh`, `builder.sh` (pre_build, in this order: {@link phaseFragments}), `build.sh`, `report.sh`,
 * `export.sh` (build), `post_build.sh` and `metrics.sh` (post_build). Each declares its inputs at its top: `: "${NAME:?set by …}"`
 * (`${NAME[@]?…}` for an array, `${NAME?…}` for a value that may be empty), so a broken contract between
 * commands fails loudly. This module computes only data: for each command, a prelude of shell assignments of
 * exactly the values its fragment declares as "set by the buildspec prelude", each value quoted by
 * {@link shellWord}, so it is exactly one shell word. A command is a header line naming the fragment's file, the
 * command's marker if it has one ({@link marker}), that prelude, then the fragment's file exactly as written (indented,
 * commented, its declarations kept): any line a build log shows can be found in the repository's file. The buildspec
 * is built as an object and serialized with a YAML library, so each command is exactly one YAML scalar. Nothing is
 * string-templated into shell or YAML. CodeBuild reads it from an S3 object the component owns, not inline, so its
 * size is not bound by the inline limit (docs/decisions/buildspecDelivery.md, `../buildspecObject.ts`).
 *
 * CodeBuild semantics this relies on (buildspec reference, "Build phase transitions"):
 * - version 0.2 runs all commands of a build in one shell instance, so variables set in pre_build are
 *   seen in build and post_build; `env.shell: bash` makes that shell bash on every image.
 * - a failing command ends its phase; a failure in pre_build skips build and post_build, a failure in
 *   build still runs post_build, with `CODEBUILD_BUILD_SUCCEEDING=0`.
 * The image push is part of the build command (`--push`), so a failed build pushes nothing and never
 * exports a cache; post_build only reports. Each command sets its own shell options (`pipefail`) rather
 * than trusting state from an earlier command.
 *
 * Transient registry errors (throttling, 5xx, a dropped connection, a timeout) are retried in every command that
 * talks to a registry: `retry.sh` defines the retry functions once and writes them to a file of this build
 * (`RETRY_SH`), which each such command declares as an input and sources. The functions are in the buildspec once,
 * and no command relies on a function surviving from an earlier one. Bounds: {@link RETRY_DELAYS_SECONDS}.
 */
import * as fs from "fs";
import * as path from "path";
import type { ResolvedArgs } from "../args";
import { builderSettings } from "../builderImage";
import { cacheCompressionOptions, imageCompressionOptions, LAYER_COMPRESSION_DEFAULTS } from "../layerCompression";
import { branchSlugMax } from "../branchCache";
import { buildGraph, cachePlatforms, isEmulated, isNative, jobOf, PLATFORM_DEFAULTS, platformTag } from "../platforms";

/** The resolved arguments the buildspec reads. */
const FROM_ARGS = [
    "imageTag",
    "cacheTag",
    "cacheStrategy",
    "registryBuilder",
    "onCacheImportFailure",
    "layerCompression",
    "builderImage",
    "builderImageMirrors",
    "dockerfileDir",
    "dockerfileName",
    "buildArgs",
    "trustedRefs",
    "sourceVersion",
    "buildNetwork",
    "upstreamCaches",
    "contextDir",
    "target",
    // Platforms (components/platforms.ts, ./batch.ts).
    "platforms",
    "platformMode",
    "buildImage",
    "armBuildImage",
    "computeType",
    // ---- Skip unchanged builds ----
    "skipUnchanged",
] as const satisfies readonly (keyof ResolvedArgs)[];
type FromArgs = (typeof FROM_ARGS)[number];
/** Options the buildspec also renders without (a component always passes them); no platforms: linux/amd64 alone. */
type Optional =
    | "onCacheImportFailure"
    | "layerCompression"
    | "builderImageMirrors"
    | "sourceVersion"
    | "buildNetwork"
    | "upstreamCaches"
    | "contextDir"
    | "target"
    | "platforms"
    | "platformMode"
    | "buildImage"
    | "armBuildImage"
    | "computeType"
    | "skipUnchanged";

/**
 * What the buildspec needs: the resolved arguments it reads (documented on `CachedDockerBuildArgs`), plus the
 * repository, known once it exists. `sourceVersion` is the project's configured source version: a build
 * started without a source-version override builds it, so such a build writes the cache only if this ref is
 * trusted; unset, such a build is trusted. `buildNetwork` unset means docker's default network. `upstreamCaches`
 * (the pull-through caches, none when unset) make the `docker-container` builder pull its own image and, through a
 * `buildkitd.toml` of registry mirrors, every base image from the private registry ({@link builderSettings}).
 * `builderImageMirrors` unset means none. `contextDir` unset means the Dockerfile's folder is the context; `target` unset, the Dockerfile's last stage.
 * `skipUnchanged` unset is off: no `key.sh` command (a component always passes it). `onCacheImportFailure` unset is
 * `fail`, its default (a component always passes it).
 */
export type BuildspecOptions = Pick<ResolvedArgs, Exclude<FromArgs, Optional>> &
    Partial<Pick<ResolvedArgs, Optional>> & {
        /** `<registry>/<repository>`, e.g. `123456789012.dkr.ecr.eu-west-1.amazonaws.com/app`. */
        readonly repositoryUrl: string;
        /** Region of the registry, for `aws ecr get-login-password`. */
        readonly region: string;
        /**
         * The read-only rendering, for the pull-request project (components/pullRequestProject.ts): no command that
         * can write is rendered (no `export.sh`, `manifest.sh`, `key.sh`/`http.sh`, whose retag writes), the build's
         * write flags are `--output type=cacheonly` and it writes no cache beside them, and `trust.sh` never
         * trusts (READ_ONLY=1). Unset: the main project's buildspec.
         */
        readonly readOnly?: boolean;
    };

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
    /** Two platforms built natively: the build graph (./batch.ts). */
    readonly batch?: ReturnType<typeof buildGraph>;
}

/** The shell fragments, one per buildspec command; each is `<name>.sh` in this folder. */
export const FRAGMENTS = [
    "trust",
    "branch",
    "caches",
    "retry",
    "login",
    "builder",
    "probe",
    "pull",
    "http",
    "key",
    "build",
    "report",
    "export",
    "post_build",
    "metrics",
    "platform",
    "manifest",
] as const;
export type FragmentName = (typeof FRAGMENTS)[number];

/**
 * The waits, in seconds, between the attempts of a registry operation that failed on a transient error
 * (`retry.sh`): at most 1 + their count attempts (6), and at most their sum of waiting (23 s); each wait is drawn
 * between half of its entry and all of it. Transient: throttling (429), a server error (500, 502, 503, 504), a
 * dropped connection or a timeout; never authentication, permission, "not found" or a failed Dockerfile step.
 *
 * Six attempts, not four: on the daemon's builder (`inline`, `pull`), dockerd's own push fails the whole build on a
 * single 429 with an empty body, so each attempt is a whole push that meets the registry's error rate again
 * (measured under 10 % of requests throttled: `pull` failed 1 build of 3 with four attempts). A retry costs little:
 * every step comes from the builder's local cache (0.3 to 0.4 s measured, plus the wait).
 */
export const RETRY_DELAYS_SECONDS: readonly number[] = [1, 2, 4, 8, 8];

/** Where a fragment says a declared input comes from, when the command markers set it (see {@link marker}). */
export const FROM_MARKERS = "the command markers";

/** Where a fragment says a declared input comes from, when the prelude sets it. */
export const FROM_PRELUDE = "the buildspec prelude";

/** One input a fragment declares at its top: `: "${NAME:?set by <from>}"`. */
export interface FragmentInput {
    readonly name: string;
    /** Declared as `${NAME[@]?…}`: a bash array, which must hold at least one element. */
    readonly array: boolean;
    /** Declared with `:?` (scalar, must not be empty) rather than `?` (must be set, may be empty). */
    readonly nonEmpty: boolean;
    /** Who sets it: {@link FROM_PRELUDE}, an earlier fragment (`trust.sh`, `probe.sh or pull.sh`, …) or `CodeBuild`. */
    readonly from: string;
}

export interface Fragment {
    readonly name: FragmentName;
    /** Absolute path of the `.sh` file. */
    readonly file: string;
    /** The file as written. */
    readonly source: string;
    /** The code: the file without comment lines and blank lines (what the contract tests run). */
    readonly body: string;
    /** What a buildspec command carries after its prelude: the file as written, without its final newline. */
    readonly rendered: string;
    readonly inputs: readonly FragmentInput[];
}

const DECLARATION = /^: "\$\{([A-Za-z_][A-Za-z0-9_]*)(\[@\])?(:?)\?set by ([^}"]+)\}"$/;

function readFragment(name: FragmentName): Fragment {
    // Next to this module: components/buildspec/ under ts-node (`pulumi up`), tsx and mocha alike.
    const file = path.join(__dirname, `${name}.sh`);
    const source = fs.readFileSync(file, "utf8");
    const lines = source.split("\n");
    const inputs: FragmentInput[] = [];
    for (const line of lines) {
        const m = DECLARATION.exec(line);
        if (m) {
            inputs.push({ name: m[1], array: m[2] !== undefined, nonEmpty: m[3] === ":", from: m[4] });
        }
    }
    const code = lines.filter((l) => l.trim() !== "" && !/^\s*#/.test(l));
    const body = code.join("\n");
    return { name, file, source, body, rendered: source.replace(/\n$/, ""), inputs };
}

const fragments = new Map<FragmentName, Fragment>();

/** A fragment, read from disk the first time it is needed. */
export function fragment(name: FragmentName): Fragment {
    let f = fragments.get(name);
    if (f === undefined) {
        f = readFragment(name);
        fragments.set(name, f);
    }
    return f;
}

/** Name of the buildx builder the `registry` strategy creates with the `docker-container` driver. */
export const BUILDER_NAME = "layer-cache";

/**
 * Where the build's plain progress is kept, so the build can count its cached steps: the value `build.sh`
 * assigns to `BUILD_LOG` (read from it), a shell word meant to be used inside double quotes. One file per
 * build (the UUID part of `CODEBUILD_BUILD_ID`): builds that share a /tmp (several builds on one host, as
 * with the local stand-in) must not read each other's log.
 */
export const BUILD_LOG: string = (() => {
    const m = /^BUILD_LOG="([^"]+)"$/m.exec(fragment("build").source);
    if (!m) {
        throw new Error(`${fragment("build").file} no longer assigns BUILD_LOG="…" on a line of its own`);
    }
    return m[1];
})();

/**
 * Words left unquoted. A leading `=` is quoted: bash reads `X=(=a)` fine, but zsh expands `=cmd` to a path and
 * static shell parsers (mvdan-sh, which the injection tests use) refuse it as an array element.
 */
const SAFE_WORD = /^[A-Za-z0-9_@%+:,./-][A-Za-z0-9_@%+=:,./-]*$/;

/**
 * Characters that must not reach the YAML raw: C0 controls other than tab and line feed, DEL, the C1 controls
 * (U+0085 among them), U+2028, U+2029 and U+FEFF. YAML 1.1 readers (PyYAML, SnakeYAML) take several of them
 * for line breaks or refuse them, and the YAML library writes them unescaped even in a double-quoted scalar.
 */
const NOT_YAML_SAFE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff]/u;

/**
 * Quotes a value as exactly one shell word that expands to the value itself.
 * - A safe word (letters, digits and `_@%+=:,./-`, not starting with `=`) is left as it is.
 * - Otherwise single quotes keep everything literal; a single quote inside is written as `'\''`.
 * - A value holding a character that must not reach the YAML raw (`NOT_YAML_SAFE`) is written in bash's
 *   `$'...'` quoting, each such character as the `\xHH` escapes of its UTF-8 bytes: the buildspec and the
 *   stand-in both run bash, and the escapes don't depend on the locale the way `\uHHHH` does.
 * NUL can't be passed in an argument at all, so it is refused.
 */
export function shellWord(value: string): string {
    if (value.includes("\0")) {
        throw new Error("A shell word can't contain a NUL character");
    }
    if (SAFE_WORD.test(value)) {
        return value;
    }
    if (NOT_YAML_SAFE.test(value)) {
        let out = "";
        for (const ch of value) {
            if (ch === "\\" || ch === "'") {
                out += `\\${ch}`;
            } else if (NOT_YAML_SAFE.test(ch)) {
                out += [...Buffer.from(ch, "utf8")].map((b) => `\\x${b.toString(16).padStart(2, "0")}`).join("");
            } else {
                out += ch;
            }
        }
        return `$'${out}'`;
    }
    return `'${value.replace(/'/g, `'\\''`)}'`;
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

/** A prelude value: one word, or the elements of a bash array. */
export type PreludeValue = string | readonly string[];

/**
 * The platform values every buildspec's prelude may take: the platforms, their jobs and the refs their jobs push
 * (read by `platform.sh` and `manifest.sh`), and the flags of an emulated build of both platforms.
 */
export function platformPreludeValues(
    o: Pick<BuildspecOptions, "repositoryUrl" | "imageTag"> & Partial<BuildspecOptions>,
): {
    values: Record<string, PreludeValue>;
    platformFlags: string[];
} {
    const platforms = o.platforms ?? PLATFORM_DEFAULTS.platforms;
    return {
        values: {
            PLATFORMS: [...platforms],
            PLATFORM_JOBS: platforms.map(jobOf),
            PLATFORM_REFS: platforms.map((p) => `${o.repositoryUrl}:${platformTag(o.imageTag, p)}`),
        },
        platformFlags: isEmulated(o) ? ["--platform", platforms.join(",")] : [],
    };
}

/**
 * Every value a fragment may take from the prelude (a command's prelude holds only those its fragment declares).
 * The `--cache-from` / push flags differ per strategy:
 * - `inline`: reads `type=registry,ref=<image>`; a trusted build writes inline metadata, tags and pushes.
 * - `registry`: reads `type=registry,ref=<cache tag>` (emulated: `<cache tag>-<arch>` per platform,
 *   {@link cachePlatforms}); a trusted build pushes the image without storing it in
 *   the builder's image store (`store=false`): cached layers then stay lazy (never downloaded) on a warm build.
 *   A docker-container builder has no image store, so this is what `--push` does there anyway; on a daemon with
 *   the containerd store it saves the whole image download (measured: 0 MB pulled instead of the image size).
 *   The cache itself is written by `export.sh`, or by the build when its key missed (`build.sh`).
 * - `pull`: the original recipe, a plain `--cache-from <image>` (the pulled image, which carries no cache metadata).
 *
 * These are the default branch's refs. `branch.sh` gives another trusted ref tags of its own (`SLUG_MAX`: how long
 * its slug may be, {@link branchSlugMax}) and writes the build's refs to a file that later commands source after
 * their prelude; `probe.sh` / `pull.sh` add the `--cache-from` of each ref they found, in the forms above.
 */
export function preludeValues(o: BuildspecOptions): Record<string, PreludeValue> {
    const { image, cache } = cacheRefs(o);
    const builder = builderSettings(
        registryOf(o.repositoryUrl),
        o.builderImage,
        o.builderImageMirrors ?? [],
        o.upstreamCaches ?? [],
    );
    const buildFlags = [
        "--progress=plain",
        "--provenance=false",
        "--sbom=false",
        "--file",
        // No double slash when the folder ends in one (options built by hand; resolveArgs may normalize it already).
        `${o.dockerfileDir.replace(/\/+$/, "")}/${o.dockerfileName}`,
    ];
    for (const [name, value] of Object.entries(o.buildArgs)) {
        buildFlags.push("--build-arg", `${name}=${value}`);
    }
    if (o.buildNetwork !== undefined) {
        buildFlags.push(`--network=${o.buildNetwork}`);
    }
    if (o.target !== undefined) {
        buildFlags.push("--target", o.target);
    }
    buildFlags.push(...platformPreludeValues(o).platformFlags);
    // layerCompression (../layerCompression.ts): the same compression options on the image's output and the registry
    // cache's export, so that the two name the same blobs and upload each once. `registry` only: the daemon's own builder (`inline`,
    // `pull`) pushes gzip whatever its output asks (measured, docs/decisions/layerTransfer.md).
    const imageOpts = imageCompressionOptions(o.layerCompression ?? LAYER_COMPRESSION_DEFAULTS.layerCompression)
        .map((x) => `,${x}`)
        .join("");
    const perStrategy = {
        inline: {
            CACHE_FROM: ["--cache-from", `type=registry,ref=${image}`],
            PUSH_FLAGS: ["--cache-to", "type=inline", "--tag", image, "--push"],
        },
        registry: {
            // Emulated: one cache per platform (cachePlatforms), each read.
            CACHE_FROM: (cachePlatforms(o).length > 0
                ? cachePlatforms(o).map((p) => platformTag(cache, p))
                : [cache]
            ).flatMap((ref) => ["--cache-from", `type=registry,ref=${ref}`]),
            PUSH_FLAGS: ["--output", `type=image,name=${image},push=true,store=false${imageOpts}`],
        },
        pull: { CACHE_FROM: ["--cache-from", image], PUSH_FLAGS: ["--tag", image, "--push"] },
    }[o.cacheStrategy];
    // Read-only (the pull-request project): nothing to push, whatever trust.sh decided; no cache export beside it.
    const write = o.readOnly === true ? { PUSH_FLAGS: ["--output", "type=cacheonly"] } : {};
    return {
        // No override: the project's own version is built; it is then compared like any other ref.
        OWN_REF: o.sourceVersion === undefined ? "" : fullRef(o.sourceVersion),
        TRUSTED_REFS: o.trustedRefs.map(fullRef),
        READ_ONLY: o.readOnly === true ? "1" : "0",
        REGION: o.region,
        REGISTRY: registryOf(o.repositoryUrl),
        BUILDER_NAME,
        // builder.sh pulls the builder image from the first of its sources that serves it, and gives it the local name
        // that DRIVER_OPTS starts with, which the builder then starts from (../builderImage.ts).
        BUILDER_SOURCES: builder.sources,
        DRIVER_OPTS: [
            "--driver-opt",
            `image=${builder.localImage}`,
            ...(o.buildNetwork === "host" ? ["--driver-opt", "network=host"] : []),
        ],
        BUILDKITD_CONFIG: builder.buildkitdConfig,
        CACHE_STRATEGY: o.cacheStrategy,
        IMAGE_REF: image,
        CACHE_REF: cache,
        // The registry cache's export options (export.sh, and build.sh when the build writes the cache itself): every
        // stage's steps (mode=max), as an OCI image manifest, which ECR needs for a cache manifest. Empty otherwise.
        CACHE_TO_OPTS:
            o.cacheStrategy === "registry" && o.readOnly !== true
                ? [
                      "mode=max",
                      "image-manifest=true",
                      "oci-mediatypes=true",
                      ...cacheCompressionOptions(o.layerCompression ?? LAYER_COMPRESSION_DEFAULTS.layerCompression),
                  ].join(",")
                : "",
        // The platforms with a cache of their own, `<cache ref>-<arch>` (emulated: cachePlatforms; caches.sh, probe.sh,
        // export.sh); one empty entry: one cache for the build.
        CACHE_PLATFORMS: cachePlatforms(o).length > 0 ? cachePlatforms(o) : [""],
        SLUG_MAX: String(branchSlugMax(o)),
        BUILD_FLAGS: buildFlags,
        ...perStrategy,
        ...write,
        // The Dockerfile comes with --file, so the context may be another folder (contextDir unset: the Dockerfile's).
        CONTEXT: o.contextDir ?? o.dockerfileDir,
        RETRY_DELAYS: RETRY_DELAYS_SECONDS.map(String),
        // build.sh: what the last attempt does when the cache import failed on a transient error on every one.
        CACHE_IMPORT_FAILURE: o.onCacheImportFailure ?? "fail",
        ...platformPreludeValues(o).values,
    };
}

/**
 * The prelude values of one command: {@link preludeValues}, but with a cache per platform (two platforms emulated,
 * {@link cachePlatforms}) build.sh gets no CACHE_TO_OPTS (the build never writes the cache beside its push: one
 * invocation can't write a cache per platform) and export.sh gets BUILD_FLAGS without the build's `--platform` (it
 * exports each platform's cache in an invocation of its own, with that platform's).
 */
export function commandValues(
    name: FragmentName,
    values: Readonly<Record<string, PreludeValue>>,
    o: Partial<Pick<BuildspecOptions, "platforms" | "platformMode">>,
): Readonly<Record<string, PreludeValue>> {
    if (cachePlatforms(o).length === 0) {
        return values;
    }
    if (name === "build") {
        return { ...values, CACHE_TO_OPTS: "" };
    }
    if (name === "export") {
        const flags = values.BUILD_FLAGS as readonly string[];
        const at = flags.indexOf("--platform");
        return at < 0 ? values : { ...values, BUILD_FLAGS: [...flags.slice(0, at), ...flags.slice(at + 2)] };
    }
    return values;
}

/** The prelude of one fragment: `NAME=word` / `NAME=(word …)` for each input it declares as set by the prelude. */
export function prelude(name: FragmentName, values: Readonly<Record<string, PreludeValue>>): string {
    return fragment(name)
        .inputs.filter((i) => i.from === FROM_PRELUDE)
        .map((i) => {
            const v = values[i.name];
            const where = `${name}.sh declares ${i.name}`;
            if (v === undefined) {
                throw new Error(`${where}, which the buildspec prelude has no value for`);
            }
            if (typeof v === "string") {
                if (i.array) {
                    throw new Error(`${where} as an array, but its value is one word: ${JSON.stringify(v)}`);
                }
                if (i.nonEmpty && v === "") {
                    throw new Error(`${where} non-empty, but its value is empty`);
                }
                return `${i.name}=${shellWord(v)}`;
            }
            if (!i.array) {
                throw new Error(`${where} as one word, but its value is an array: ${JSON.stringify(v)}`);
            }
            if (v.length === 0) {
                // `${NAME[@]?…}` fails on an empty array, so an empty one would fail the build at run time.
                throw new Error(`${where}, an array that must not be empty`);
            }
            return `${i.name}=(${v.map(shellWord).join(" ")})`;
        })
        .join("\n");
}

/** The variable that a command's marker sets: `LAYER_CACHE_T_<fragment>`. */
export function markerVariable(name: FragmentName): string {
    return `LAYER_CACHE_T_${name}`;
}

/** The fragments whose start some fragment reads (`LAYER_CACHE_T_<name>` anywhere in a fragment's source). */
export function markedFragments(): ReadonlySet<FragmentName> {
    const read = FRAGMENTS.flatMap((n) =>
        [...fragment(n).source.matchAll(/\bLAYER_CACHE_T_([a-z_]+)\b/g)].map((m) => m[1]),
    );
    for (const r of read) {
        if (!(FRAGMENTS as readonly string[]).includes(r)) {
            throw new Error(`A fragment reads LAYER_CACHE_T_${r}, but there is no fragment ${r}.sh`);
        }
    }
    return new Set(read as FragmentName[]);
}

/**
 * The first line of a command whose start a fragment reads ({@link markedFragments}):
 * `LAYER_CACHE_T_<fragment>=$(date +%s%3N)`, the epoch milliseconds at which the command started, set in the
 * build's one shell; undefined for the other commands. CodeBuild exposes no phase or command durations as
 * variables, so `metrics.sh` computes its `seconds` from these (a command that never ran leaves its marker unset).
 * A fragment that requires one declares it as `set by the command markers`.
 */
export function marker(name: FragmentName): string | undefined {
    return markedFragments().has(name) ? `${markerVariable(name)}=$(date +%s%3N)` : undefined;
}

/**
 * A command's first line: a comment naming the fragment's file, which follows the values of this stack (the marker and
 * the prelude). CodeBuild's log shows each command as it runs, so a reader of a build log knows which file to open.
 */
export function header(name: FragmentName): string {
    return `# ---- components/buildspec/${name}.sh, after the values of this stack ----`;
}

/** One buildspec command: its header, the command's marker (if any), the fragment's prelude, then the fragment. */
export function command(name: FragmentName, values: Readonly<Record<string, PreludeValue>>): string {
    const m = marker(name);
    const p = prelude(name, values);
    const body = fragment(name).rendered;
    return [header(name), ...(m === undefined ? [] : [m]), ...(p === "" ? [] : [p]), body].join("\n");
}

/** Which fragment each command of each phase runs, in order. */
export function phaseFragments(
    o: Pick<BuildspecOptions, "cacheStrategy" | "registryBuilder"> &
        Partial<Pick<BuildspecOptions, "platforms" | "platformMode" | "skipUnchanged" | "readOnly">>,
): Record<keyof Buildspec["phases"], FragmentName[]> {
    // Read-only (the pull-request project): none of the commands that write (READ_ONLY_LEFT_OUT).
    const readOnly = o.readOnly === true;
    // Two platforms emulated: a cache per platform, its refs made by caches.sh from branch.sh's.
    const preBuild: FragmentName[] = [
        "trust",
        "branch",
        ...(isEmulated(o) ? (["caches"] as const) : []),
        "retry",
        "login",
    ];
    // Skip unchanged builds: the content key, right after the login (resolveArgs refuses it with `pull`): a skipped
    // build then neither probes the cache nor starts the builder.
    // http.sh makes key.sh's registry calls over HTTP.
    if (o.skipUnchanged === true && !readOnly) {
        preBuild.push("http", "key");
    }
    preBuild.push(o.cacheStrategy === "pull" ? "pull" : "probe");
    if (o.cacheStrategy === "registry" && o.registryBuilder === "docker-container") {
        preBuild.push("builder");
    }
    const build: FragmentName[] =
        o.cacheStrategy === "registry" && !readOnly ? ["build", "report", "export"] : ["build", "report"];
    // Two platforms built natively: platform.sh says which job this is; the manifest job runs manifest.sh.
    const native = isNative(o);
    return {
        pre_build: native ? ["platform", ...preBuild] : preBuild,
        build: native && !readOnly ? [...build, "manifest"] : build,
        post_build: ["post_build", "metrics"],
    };
}

/**
 * The commands a read-only buildspec leaves out: each can write to the registry (`export.sh` the cache, `manifest.sh`
 * the manifest list, `key.sh` a retag, `http.sh` key.sh's retag over HTTP).
 */
export const READ_ONLY_LEFT_OUT: readonly FragmentName[] = ["export", "manifest", "key", "http"];

/** The buildspec options of a component: its resolved arguments plus the repository, known once it exists. */
export function buildspecOptions(
    a: ResolvedArgs,
    repositoryUrl: string,
    region: string,
    render: { readonly readOnly?: boolean } = {},
): BuildspecOptions {
    const picked = Object.fromEntries(FROM_ARGS.map((k) => [k, a[k]])) as Pick<ResolvedArgs, FromArgs>;
    return { ...picked, repositoryUrl, region, ...(render.readOnly === true ? { readOnly: true } : {}) };
}

/**
 * The buildspec object of one platform (or two emulated) for the given options; two platforms built natively get
 * batch.ts's. `render.ts`'s `buildspec` picks between them.
 */
export function onePlatformBuildspec(o: BuildspecOptions): Buildspec {
    if (o.trustedRefs.length === 0) {
        throw new Error("The buildspec needs at least one trusted ref (trustedRefs is empty)");
    }
    const values = preludeValues(o);
    const phases = phaseFragments(o);
    const commands = (names: FragmentName[]) => names.map((n) => command(n, commandValues(n, values, o)));
    return {
        version: 0.2,
        env: {
            shell: "bash",
            variables: { DOCKER_BUILDKIT: "1" },
        },
        phases: {
            pre_build: { commands: commands(phases.pre_build) },
            build: { commands: commands(phases.build) },
            post_build: { commands: commands(phases.post_build) },
        },
    };
}
