/**
 * CodeBuild's cap on an inline buildspec, checked while the arguments are resolved: before anything is created, and
 * with the longest repository URL the settings can get, so a project that passes fits in every region.
 */
import type { CachedDockerBuildArgs, ConfigProblem, ResolvedArgs } from "../args";
import { buildspecOptions, buildspecYaml } from "./index";

/** CodeBuild refuses a longer inline buildspec: UpdateProject's "Max buildspec length is 25600" (aws/aws-cdk#30326). */
export const INLINE_BUILDSPEC_MAX = 25_600;

/**
 * The longest region names (14 characters: `ap-southeast-5`, `cn-northwest-1`) with the China partition's registry
 * domain, the longest there is: the repository URL the length is checked with.
 */
export const LONGEST_REGION = "cn-northwest-1";
export const LONGEST_REGISTRY = `123456789012.dkr.ecr.${LONGEST_REGION}.amazonaws.com.cn`;

/** A repository name longer than this is named as a way to fit (it is in the buildspec about a dozen times). */
const LONG_REPOSITORY_NAME = 64;

/** The buildspec's length for these arguments with the longest registry host ({@link LONGEST_REGISTRY}). */
export function worstCaseBuildspecLength(a: ResolvedArgs): number {
    return buildspecYaml(buildspecOptions(a, `${LONGEST_REGISTRY}/${a.repositoryName}`, LONGEST_REGION)).length;
}

/**
 * A problem when the buildspec these arguments render would be over {@link INLINE_BUILDSPEC_MAX}: it names the
 * setting the user can shorten first (build args, trusted refs, pull-through caches, a repository name over 64
 * characters, skipUnchanged, platforms), the
 * length, and what each way out saves.
 */
export function buildspecLengthProblem(a: ResolvedArgs, args: CachedDockerBuildArgs): ConfigProblem | undefined {
    const length = worstCaseBuildspecLength(a);
    if (length <= INLINE_BUILDSPEC_MAX) {
        return undefined;
    }
    const over = length - INLINE_BUILDSPEC_MAX;
    const saving = (other: ResolvedArgs) => length - worstCaseBuildspecLength(other);
    const shortName = a.repositoryName.slice(0, LONG_REPOSITORY_NAME);
    // The settings that lengthen it, the user's own first: the first that applies is the key named.
    const fixes: { key: keyof CachedDockerBuildArgs; applies: boolean; way: () => string }[] = [
        { key: "buildArgs", applies: Object.keys(a.buildArgs).length > 0, way: () => "fewer or shorter buildArgs" },
        { key: "trustedRefs", applies: a.trustedRefs.length > 1, way: () => "fewer trustedRefs" },
        {
            key: "pullThroughUpstreams",
            applies: a.upstreamCaches.length > 0,
            way: () => "fewer pullThroughUpstreams",
        },
        {
            key: "repositoryName",
            applies: a.repositoryName.length > LONG_REPOSITORY_NAME,
            way: () =>
                `a shorter repositoryName (${saving({ ...a, repositoryName: shortName })} characters less at ${LONG_REPOSITORY_NAME} characters)`,
        },
        {
            key: "skipUnchanged",
            applies: a.skipUnchanged,
            way: () => `skipUnchanged false (${saving({ ...a, skipUnchanged: false })} characters less)`,
        },
        { key: "platforms", applies: a.platforms.length > 1, way: () => "one platform per project" },
    ];
    const applicable = fixes.filter((f) => f.applies);
    const ways = applicable.map((f) => f.way());
    const key = applicable[0]?.key ?? "platforms";
    return {
        key,
        value: args[key] ?? a[key as keyof ResolvedArgs],
        allowed:
            `Allowed: settings whose inline buildspec fits CodeBuild's ${INLINE_BUILDSPEC_MAX.toLocaleString("en-US")} characters. ` +
            `These render ${length.toLocaleString("en-US")} in the longest region (${LONGEST_REGION}), ${over} too many. ` +
            `Ways to fit: ${ways.length > 0 ? ways.join("; ") : "none among the settings (report it: the buildspec itself is too long)"}.`,
    };
}
