/**
 * Platforms: one image for `linux/amd64`, `linux/arm64` or both, as pure functions of the resolved arguments.
 *
 * - One platform: one build, as before, on a host of that architecture (`LINUX_CONTAINER` or `ARM_CONTAINER`).
 * - Two platforms, `native` (the default): a CodeBuild batch build, one build graph started by one
 *   `aws codebuild start-build-batch`. Jobs `build_amd64` and `build_arm64` each build their own platform on a host
 *   of that architecture, pushing `<imageTag>-<arch>` and keeping their own cache `<cacheTag>-<arch>`, so neither
 *   platform's export evicts the other's cache; then `manifest`, which depends on both, joins the two images into a
 *   manifest list under `imageTag` with `docker buildx imagetools create` (registry-side: no layer is pulled).
 * - Two platforms, `emulated`: one build of both platforms on one amd64 host (`--platform linux/amd64,linux/arm64`),
 *   the arm64 steps under QEMU (BuildKit's image ships QEMU emulators), pushing one manifest list under `imageTag`
 *   and keeping a cache per platform, `<cacheTag>-<arch>` ({@link cachePlatforms}).
 *
 * Facts this relies on (looked up, 2026):
 * - CodeBuild's current arm64 image is `aws/codebuild/amazonlinux-aarch64-standard:3.0` (Amazon Linux 2023;
 *   aws-codebuild-docker-images `al/aarch64/standard/3.0`).
 * - `ARM_CONTAINER` takes `BUILD_GENERAL1_SMALL`, `_MEDIUM`, `_LARGE`, `_XLARGE` and `_2XLARGE` (CodeBuild user guide,
 *   "Build environment compute modes and types"; the China regions list only SMALL and LARGE, checked by region in
 *   `hostFacts.ts`).
 * - A batch build needs its own service role, which CodeBuild uses to call `codebuild:StartBuild`, `StopBuild` and
 *   `RetryBuild` on the project; AWS advises a role apart from the build's, so a build can't start more builds or
 *   get around the batch's restrictions (CodeBuild user guide, "Run builds in batches", "Security role").
 * - A build-graph task's `env` overrides `type`, `image`, `compute-type`, `privileged-mode` and `variables`; a task
 *   with `depend-on` "will not run until these tasks are completed" (CodeBuild user guide, "Batch build buildspec
 *   reference"). Every job runs the project's one buildspec, and CodeBuild tells each its identifier in
 *   `CODEBUILD_BATCH_BUILD_IDENTIFIER`.
 */
import type * as aws from "@pulumi/aws";
import {
    type CacheStrategy,
    type ComputeType,
    Platform,
    PLATFORM_MODES,
    PlatformMode,
    PLATFORMS,
    type RegistryBuilder,
} from "./args";
import { COMPUTE_TYPES_DOC } from "./hostFacts";
import { isDockerTag } from "./layerCache";
import type { Problems } from "./problems";
// The platform enumerations live with the other enumerations, in args.ts; this file holds their logic.
export { Platform, PlatformMode, PLATFORMS, PLATFORM_MODES } from "./args";

/** Defaults of the platform arguments (not in the package schema's defaults: `resolveArgs.ts`'s `DEFAULTS`). */
export const PLATFORM_DEFAULTS = {
    platforms: ["linux/amd64"] as Platform[],
    platformMode: "native" as PlatformMode,
    armBuildImage: "aws/codebuild/amazonlinux-aarch64-standard:3.0",
};

/** The compute types CodeBuild's `ARM_CONTAINER` accepts (user guide, "Build environment compute modes and types"). */
export const ARM_COMPUTE_TYPES: readonly ComputeType[] = [
    "BUILD_GENERAL1_SMALL",
    "BUILD_GENERAL1_MEDIUM",
    "BUILD_GENERAL1_LARGE",
    "BUILD_GENERAL1_XLARGE",
    "BUILD_GENERAL1_2XLARGE",
];

/** The identifier of the build-graph job that joins the platforms' images. */
export const MANIFEST_JOB = "manifest";

/** A platform's architecture: `amd64`, `arm64`; the suffix of its tags and of its job's identifier. */
export function archOf(platform: Platform): string {
    return platform.split("/")[1];
}

/** The build-graph job that builds `platform`: `build_amd64`, `build_arm64`. */
export function jobOf(platform: Platform): string {
    return `build_${archOf(platform)}`;
}

/** A platform's own tag: `<tag>-<arch>` (`latest-arm64`, `buildcache-arm64`). */
export function platformTag(tag: string, platform: Platform): string {
    return `${tag}-${archOf(platform)}`;
}

export interface PlatformArgs {
    readonly platforms: readonly Platform[];
    readonly platformMode: PlatformMode;
}

/** Whether the build is a batch of one job per platform plus the manifest job. */
export function isNative(a: Partial<PlatformArgs>): boolean {
    return (a.platforms?.length ?? 1) > 1 && (a.platformMode ?? PLATFORM_DEFAULTS.platformMode) === "native";
}

/** Whether one build makes both platforms under emulation. */
export function isEmulated(a: Partial<PlatformArgs>): boolean {
    return (a.platforms?.length ?? 1) > 1 && a.platformMode === "emulated";
}

/**
 * The platforms that each keep a cache of their own, `<cacheTag>-<arch>`, in one build of several: in `emulated` mode,
 * both; none otherwise (one platform, or a native batch, whose jobs each build one platform with its own cache tag).
 *
 * Why not one cache for both: one build of several platforms that exports one registry cache can export it without
 * one platform's records, at random (moby/buildkit#2822, open since 2022: single-node builds; gha, registry and local
 * caches alike, by the sizes its reporter measured).
 * Seen here in about 1 rebuild of 8: every arm64 step hit and every amd64 step ran again. A cache exporter takes no
 * platform: BuildKit's `runCacheExporters` (solver/llbsolver/export.go, v0.32.2) walks every platform's result into
 * each exporter of the build, so one `docker buildx build --platform a,b` can't write a cache per platform, however
 * many `--cache-to` it gets. So the emulated build pushes its image of both platforms in one invocation, as before,
 * and export.sh writes each platform's cache in an invocation of its own (`--platform <p>`, on the same builder, where
 * every step is in its local cache): the workaround users of #2822 report (a cache ref per platform; docker/buildx#1044
 * describes this single-platform export after a multi-platform push).
 */
export function cachePlatforms(a: Partial<PlatformArgs>): Platform[] {
    return isEmulated(a) ? [...(a.platforms ?? [])] : [];
}

/**
 * The tags each platform pushes and caches in, on top of `imageTag` and `cacheTag`: in `native` mode, per platform,
 * `<imageTag>-<arch>` and (for `registry`, whose cache is apart from the image) `<cacheTag>-<arch>`; in `emulated`
 * mode, the per-platform caches `<cacheTag>-<arch>` ({@link cachePlatforms}; the image is one manifest list under
 * `imageTag`); none otherwise. The lifecycle rules protect them, and an `IMMUTABLE` repository lets them move.
 */
export function platformTags(
    a: PlatformArgs & { readonly imageTag: string; readonly cacheTag: string; readonly cacheStrategy: CacheStrategy },
): string[] {
    if (!isNative(a)) {
        return cachePlatforms(a).map((p) => platformTag(a.cacheTag, p));
    }
    return a.platforms.flatMap((p) => [
        platformTag(a.imageTag, p),
        ...(a.cacheStrategy === "registry" ? [platformTag(a.cacheTag, p)] : []),
    ]);
}

/** The CodeBuild environment type and image of a host of `platform`. */
export function hostOf(
    platform: Platform,
    a: { readonly buildImage: string; readonly armBuildImage: string },
): { type: "LINUX_CONTAINER" | "ARM_CONTAINER"; image: string } {
    return platform === "linux/arm64"
        ? { type: "ARM_CONTAINER", image: a.armBuildImage }
        : { type: "LINUX_CONTAINER", image: a.buildImage };
}

/**
 * The project's own environment: the one platform's host, or amd64 for two (emulated builds run there; in a batch,
 * each job overrides it).
 */
export function projectHost(
    a: PlatformArgs & { readonly buildImage: string; readonly armBuildImage: string },
): ReturnType<typeof hostOf> {
    return hostOf(a.platforms.length === 1 ? a.platforms[0] : "linux/amd64", a);
}

/** One task of the build graph, as the buildspec's `batch.build-graph` lists it. */
export interface BuildGraphTask {
    readonly identifier: string;
    readonly env?: {
        readonly type: string;
        readonly image: string;
        readonly "compute-type": string;
    };
    readonly "depend-on"?: string[];
}

/**
 * The buildspec's `batch` section in `native` mode: one task per platform on its own host, then the manifest task,
 * which depends on all of them and runs on the project's (amd64) host. `fast-fail: false`: a platform that fails
 * lets the other finish, so its cache is written and the retried batch hits it.
 */
export function buildGraph(
    a: PlatformArgs & { readonly buildImage: string; readonly armBuildImage: string; readonly computeType: string },
): { "fast-fail": false; "build-graph": BuildGraphTask[] } {
    const jobs = a.platforms.map((p): BuildGraphTask => ({
        identifier: jobOf(p),
        env: { ...hostOf(p, a), "compute-type": a.computeType },
    }));
    return {
        "fast-fail": false,
        "build-graph": [...jobs, { identifier: MANIFEST_JOB, "depend-on": jobs.map((j) => j.identifier) }],
    };
}

/** How many builds a batch runs: one per platform, plus the manifest job (the batch's `maximumBuildsAllowed`). */
export function batchBuildCount(a: PlatformArgs): number {
    return a.platforms.length + 1;
}

/** The batch's timeout: the platform jobs run side by side, then the manifest job; CodeBuild's bound is 2160. */
export function batchTimeoutMinutes(buildTimeoutMinutes: number): number {
    return Math.min(2160, 2 * buildTimeoutMinutes);
}

const ONE_IMAGE = /^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,254}$/;

/**
 * Defaults and checks of the platform arguments (called by `resolveArgs`), and of what two platforms ask of the
 * others: the builder for `emulated`, the project's name for a batch's role, the compute type of an arm64 host, and
 * tags short enough to carry `-<arch>`.
 */
export function resolvePlatforms(
    p: Problems,
    args: { platforms?: Platform[]; platformMode?: PlatformMode; armBuildImage?: string },
    o: {
        cacheStrategy: CacheStrategy;
        registryBuilder: RegistryBuilder;
        projectName: string;
        computeType: string;
        imageTag: string;
        cacheTag: string;
    },
): { platforms: Platform[]; platformMode: PlatformMode; armBuildImage: string } {
    const platforms = args.platforms ?? [...PLATFORM_DEFAULTS.platforms];
    const listOk = p.check(
        Array.isArray(platforms) &&
            platforms.length > 0 &&
            platforms.every((x, i) => (PLATFORMS as readonly string[]).includes(x) && platforms.indexOf(x) === i),
        "platforms",
        platforms,
        `Allowed: a non-empty list of ${PLATFORMS.join(", ")}, each at most once.`,
    );
    const platformMode = args.platformMode ?? PLATFORM_DEFAULTS.platformMode;
    const modeOk = p.check(
        (PLATFORM_MODES as readonly string[]).includes(platformMode),
        "platformMode",
        platformMode,
        `Allowed: ${PLATFORM_MODES.join(", ")}.`,
    );
    const armBuildImage = args.armBuildImage ?? PLATFORM_DEFAULTS.armBuildImage;
    p.check(
        typeof armBuildImage === "string" && ONE_IMAGE.test(armBuildImage),
        "armBuildImage",
        armBuildImage,
        "Allowed: a CodeBuild image name such as aws/codebuild/amazonlinux-aarch64-standard:3.0.",
    );
    if (listOk && modeOk) {
        const two = platforms.length > 1;
        if (args.platformMode !== undefined) {
            p.check(
                two,
                "platformMode",
                platformMode,
                "Allowed only with two platforms (one platform is always built on a host of its own architecture).",
            );
        }
        if (two && platformMode === "emulated") {
            p.check(
                o.cacheStrategy === "registry" && o.registryBuilder === "docker-container",
                "platformMode",
                platformMode,
                "Allowed: emulated only with cacheStrategy registry and registryBuilder docker-container (a build of two platforms needs BuildKit's own builder; CodeBuild's daemon can't store a multi-platform image).",
            );
        }
        if (two && platformMode === "native") {
            p.check(
                o.projectName.length <= 58,
                "projectName",
                o.projectName,
                "Allowed: at most 58 characters when two platforms are built natively (the batch role '<name>-batch' must fit IAM's 64).",
            );
        }
        if (platforms.includes("linux/arm64") && (two ? platformMode === "native" : true)) {
            p.check(
                (ARM_COMPUTE_TYPES as readonly string[]).includes(o.computeType),
                "computeType",
                o.computeType,
                `Allowed on an arm64 host (ARM_CONTAINER): ${ARM_COMPUTE_TYPES.join(", ")} (${COMPUTE_TYPES_DOC}).`,
            );
        }
    }
    // Two platforms push per-platform tags (`<tag>-<arch>`: the image's and the cache's when native, the cache's when
    // emulated): each must still be a Docker tag (128 characters at most). A tag that is no Docker tag at all is
    // reported under its own key already (layerCache.ts).
    if (isDockerTag(o.imageTag) && isDockerTag(o.cacheTag)) {
        for (const [key, tag] of [
            ["imageTag", o.imageTag],
            ["cacheTag", o.cacheTag],
        ] as const) {
            const pushed = platformTags({ platforms, platformMode, ...o });
            const longest = platforms
                .map((x) => platformTag(tag, x))
                .filter((t) => pushed.includes(t))
                .reduce((m, t) => Math.max(m, t.length - tag.length), 0);
            p.check(
                tag.length + longest <= 128,
                key,
                tag,
                `Allowed: at most ${128 - longest} characters with these platforms, whose builds push ${tag.length > 20 ? `<${key}>` : tag}-<arch> (Docker tags end at 128).`,
            );
        }
    }
    return { platforms, platformMode, armBuildImage };
}

/** What a batch build's service role may do: start, stop and retry the builds of the batch (the project's). */
export const BATCH_ACTIONS = ["codebuild:StartBuild", "codebuild:StopBuild", "codebuild:RetryBuild"] as const;

/**
 * The batch service role's permissions: {@link BATCH_ACTIONS} on this project only. Nothing else: the jobs it starts
 * run with the project's own service role.
 */
export function batchPolicy(projectArn: string): aws.iam.PolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "StartStopRetryThisProjectsBuildsOnly",
                Effect: "Allow",
                Action: [...BATCH_ACTIONS],
                Resource: [projectArn],
            },
        ],
    };
}
