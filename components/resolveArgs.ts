/**
 * `resolveArgs`: the arguments of {@link CachedDockerBuild} with their defaults applied and every plain value checked,
 * before any resource is registered. Bad values are reported all at once, in one `ConfigError` (`problems.ts`),
 * each naming the key, the value and what is allowed.
 *
 * Each feature's file holds its slice: its defaults, its checks and its messages (`layerCache.ts`,
 * `builderImage.ts`, `pullThrough.ts`, `lifecycle.ts`, `ecr.ts`, `buildContext.ts`, `source.ts`, `codebuild.ts`,
 * `monitoring.ts`, `triggers.ts`, `schedule.ts`, `platforms.ts`, `skip.ts`, `branchCache.ts`, `dockerServer.ts`).
 * This file calls each of them once, in the order of the problems it reports, handing each what it needs of the
 * slices before it, and composes the defaults that the package schema carries ({@link DEFAULTS}).
 *
 * The arguments' interface and enumerations are in `args.ts`, which imports none of this: the features import
 * `args.ts` and `problems.ts`, and this file imports the features.
 */
import type { CachedDockerBuildArgs, ResolvedArgs } from "./args";
import { BRANCH_CACHE_DEFAULTS, resolveBranchCaches } from "./branchCache";
import { BUILD_CONTEXT_DEFAULTS, resolveBuildContext } from "./buildContext";
import { BUILDER_IMAGE_DEFAULTS, resolveBuilderImage } from "./builderImage";
import { PROJECT_DEFAULTS, resolveProject } from "./codebuild";
import { resolveDockerServer } from "./dockerServer";
import { REPOSITORY_DEFAULTS, resolveRepository } from "./ecr";
import { LAYER_CACHE_DEFAULTS, resolveLayerCache } from "./layerCache";
import { LAYER_COMPRESSION_DEFAULTS, resolveLayerCompression } from "./layerCompression";
import { LIFECYCLE_DEFAULTS, resolveLifecycle } from "./lifecycle";
import { MONITORING_DEFAULTS, resolveMonitoring } from "./monitoring";
import { PLATFORM_DEFAULTS, resolvePlatforms } from "./platforms";
import { type ConfigProblem, ConfigError, Problems } from "./problems";
import { pullRequestProjectProblems } from "./pullRequestProject";
import { PULL_THROUGH_DEFAULTS, resolvePullThrough } from "./pullThrough";
import { resolveSchedule } from "./schedule";
import { resolveSkipUnchanged } from "./skip";
import { resolveSource, SOURCE_DEFAULTS } from "./source";
import { resolveTriggers, TRIGGER_DEFAULTS } from "./triggers";

/**
 * The defaults that are constants, as the package schema carries them (`provider.ts`), composed from the features'
 * own. The others follow other values: `repositoryName` and `projectName` the component's name and the stack,
 * `trustedRefs` the `sourceVersion`, `localCache` the `computeType`; `kmsKeyArn`, `buildNetwork`,
 * `dockerHubCredentialArn` and `dockerHubUsername` have none. The defaults of monitoring, platforms and branch caches
 * are their features' ({@link MONITORING_DEFAULTS}, {@link PLATFORM_DEFAULTS}, {@link BRANCH_CACHE_DEFAULTS}) and
 * not in the schema.
 */
export const DEFAULTS = {
    ...LAYER_CACHE_DEFAULTS,
    ...LAYER_COMPRESSION_DEFAULTS,
    ...BUILDER_IMAGE_DEFAULTS,
    ...PULL_THROUGH_DEFAULTS,
    ...LIFECYCLE_DEFAULTS,
    ...REPOSITORY_DEFAULTS,
    protect: false,
    ...SOURCE_DEFAULTS,
    ...BUILD_CONTEXT_DEFAULTS,
    ...PROJECT_DEFAULTS,
    ...TRIGGER_DEFAULTS,
} as const satisfies Partial<ResolvedArgs>;

export { BRANCH_CACHE_DEFAULTS, MONITORING_DEFAULTS, PLATFORM_DEFAULTS };

// ECR: https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html (repositoryName pattern).
const ECR_REPOSITORY_NAME = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
// CodeBuild allows 2 to 255 characters, [A-Za-z0-9][A-Za-z0-9\-_]*; the role name "<project>-role" must
// fit IAM's 64 characters, which makes 59 the binding limit.
const CODEBUILD_PROJECT_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{1,58}$/;

/**
 * The names every resource's name follows (`<component name>-<stack>` by default; lowercased for ECR), and whether
 * the children are protected.
 */
function resolveNames(
    p: Problems,
    name: string,
    stack: string,
    args: CachedDockerBuildArgs,
): Pick<ResolvedArgs, "repositoryName" | "projectName" | "protect"> {
    const defaultName = `${name}-${stack}`;
    const repositoryName = args.repositoryName ?? defaultName.toLowerCase();
    p.check(
        repositoryName.length >= 2 && repositoryName.length <= 256 && ECR_REPOSITORY_NAME.test(repositoryName),
        "repositoryName",
        repositoryName,
        "Allowed: 2 to 256 characters, lowercase letters and digits, separated by single '.', '_', '-' or '/' (ECR's rule).",
    );
    const projectName = args.projectName ?? defaultName;
    p.check(
        CODEBUILD_PROJECT_NAME.test(projectName),
        "projectName",
        projectName,
        "Allowed: 2 to 59 characters (so '<name>-role' fits IAM's 64), letters, digits, '-' and '_', starting with a letter or digit.",
    );
    return { repositoryName, projectName, protect: args.protect ?? DEFAULTS.protect };
}

/**
 * Applies defaults and validates every plain argument. Throws one {@link ConfigError} that lists every bad
 * value. `name` is the component's name and `stack` the stack's, used for default resource names.
 */
export function resolveArgs(name: string, stack: string, args: CachedDockerBuildArgs = {}): ResolvedArgs {
    const p = new Problems();
    const names = resolveNames(p, name, stack, args);
    const layerCache = resolveLayerCache(p, args);
    const layerCompression = resolveLayerCompression(p, args, layerCache);
    const builderImage = resolveBuilderImage(p, args);
    const pullThrough = resolvePullThrough(p, args, { ...layerCache, ...names });
    const lifecycle = resolveLifecycle(p, args);
    const repository = resolveRepository(p, args);
    const buildContext = resolveBuildContext(p, args);
    const source = resolveSource(p, args, names);
    const project = resolveProject(p, args);
    const monitoring = resolveMonitoring(p, args, project.buildTimeoutMinutes);
    const triggers = resolveTriggers(p, args, {
        ...source,
        defaultSource: source.sourceUrl === SOURCE_DEFAULTS.sourceUrl,
    });
    pullRequestProjectProblems(p, {
        projectName: names.projectName,
        webhookPullRequests: triggers.webhookPullRequests,
    });
    const schedule = resolveSchedule(p, args);
    const platforms = resolvePlatforms(p, args, { ...names, ...layerCache, ...project });
    const skipUnchanged = resolveSkipUnchanged(p, args, layerCache.cacheStrategy);
    const branchCaches = resolveBranchCaches(p, args, { ...layerCache, ...source, ...platforms });
    const dockerServer = resolveDockerServer(p, args);
    p.throwIfAny();

    return {
        ...names,
        ...layerCache,
        ...layerCompression,
        ...builderImage,
        ...pullThrough,
        ...lifecycle,
        ...repository,
        ...buildContext,
        ...source,
        ...project,
        ...monitoring,
        ...triggers,
        ...schedule,
        ...platforms,
        skipUnchanged,
        ...branchCaches,
        ...dockerServer,
    };
}

/** The problems {@link resolveArgs} reports, as a list: empty when the arguments are valid. */
export function argProblems(name: string, stack: string, args: CachedDockerBuildArgs): readonly ConfigProblem[] {
    try {
        resolveArgs(name, stack, args);
        return [];
    } catch (e) {
        if (e instanceof ConfigError) {
            return e.problems;
        }
        throw e;
    }
}
