/**
 * The CodeBuild project and its log group, and the arguments of the project's environment (its image, compute type,
 * timeout, local cache and log retention: defaults and checks, called by `resolveArgs`). How the project signs in
 * to a private source (`source.auth`) comes from `source.ts`.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { projectDockerServer } from "./dockerServer";
import { batchBuildCount, batchTimeoutMinutes, projectHost } from "./platforms";
import { type CachedDockerBuildArgs, COMPUTE_TYPES, LOG_RETENTION_DAYS, type ResolvedArgs } from "./args";
import { integerIn, oneOf, type Problems } from "./problems";
import { PROVIDERS } from "./source";

/** Defaults of the project's environment (`localCache`'s follows the compute type: see {@link resolveProject}). */
export const PROJECT_DEFAULTS = {
    buildImage: "aws/codebuild/amazonlinux-x86_64-standard:5.0",
    computeType: "BUILD_GENERAL1_MEDIUM",
    buildTimeoutMinutes: 60,
    logRetentionDays: 30,
} as const satisfies Partial<ResolvedArgs>;

/** The project's environment arguments, resolved. */
export type ProjectArgs = Pick<
    ResolvedArgs,
    "buildImage" | "computeType" | "buildTimeoutMinutes" | "localCache" | "logRetentionDays"
>;

/**
 * Defaults and checks of the project's environment: the image, the compute type, the timeout (CodeBuild's range),
 * the host-local cache (on by default, except where the compute type has none) and the log retention. The project's
 * name is checked with the repository's, first (`resolveArgs.ts`).
 */
export function resolveProject(p: Problems, args: CachedDockerBuildArgs): ProjectArgs {
    const buildImage = args.buildImage ?? PROJECT_DEFAULTS.buildImage;
    p.check(
        /^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,254}$/.test(buildImage),
        "buildImage",
        buildImage,
        "Allowed: a CodeBuild image name such as aws/codebuild/amazonlinux-x86_64-standard:5.0.",
    );
    const computeType = args.computeType ?? PROJECT_DEFAULTS.computeType;
    const computeTypeOk = oneOf(p, "computeType", computeType, COMPUTE_TYPES);
    const buildTimeoutMinutes = args.buildTimeoutMinutes ?? PROJECT_DEFAULTS.buildTimeoutMinutes;
    integerIn(p, "buildTimeoutMinutes", buildTimeoutMinutes, 5, 2160);
    // CodeBuild has no local cache on 2XLARGE: off there by default, and refused only when asked for.
    const localCacheSupported = computeType !== "BUILD_GENERAL1_2XLARGE";
    const localCache = args.localCache ?? localCacheSupported;
    if (computeTypeOk) {
        p.check(
            localCacheSupported || !localCache,
            "localCache",
            localCache,
            "Allowed: false or unset when computeType is BUILD_GENERAL1_2XLARGE, which has no local Docker layer cache.",
        );
    }
    const logRetentionDays = args.logRetentionDays ?? PROJECT_DEFAULTS.logRetentionDays;
    oneOf<number>(p, "logRetentionDays", logRetentionDays, LOG_RETENTION_DAYS);
    return { buildImage, computeType, buildTimeoutMinutes, localCache, logRetentionDays };
}

export interface ProjectResources {
    readonly project: aws.codebuild.Project;
}

/** The log group CodeBuild writes to; created here so that its retention is ours and the role can be scoped to it. */
export function createLogGroup(
    name: string,
    a: ResolvedArgs,
    tags: pulumi.Input<Record<string, pulumi.Input<string>>> | undefined,
    opts: pulumi.ResourceOptions,
): aws.cloudwatch.LogGroup {
    return new aws.cloudwatch.LogGroup(
        `${name}-logs`,
        { name: `/aws/codebuild/${a.projectName}`, retentionInDays: a.logRetentionDays, tags },
        { ...opts, retainOnDelete: a.protect },
    );
}

/** CodeBuild's host-local cache modes for a Docker build: layers and the source checkout. */
export const LOCAL_CACHE_MODES = ["LOCAL_DOCKER_LAYER_CACHE", "LOCAL_SOURCE_CACHE"];

export interface ProjectInputs {
    readonly buildspec: pulumi.Input<string>;
    readonly serviceRoleArn: pulumi.Input<string>;
    readonly logGroupName: pulumi.Input<string>;
    /** The source's `auth` (`CODECONNECTIONS` or `SECRETS_MANAGER`, see `source.ts`); unset for a public source. */
    readonly sourceAuth?: pulumi.Input<{ type: string; resource: string }>;
    readonly tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** Two platforms built natively: the batch service role (components/batchRole.ts); the project then takes batch builds. */
    readonly batchServiceRoleArn?: pulumi.Input<string>;
}

export function createProject(
    name: string,
    a: ResolvedArgs,
    inputs: ProjectInputs,
    opts: pulumi.ResourceOptions,
): ProjectResources {
    const project = new aws.codebuild.Project(
        `${name}-project`,
        {
            name: a.projectName,
            description: `Builds ${a.dockerfileDir}/${a.dockerfileName} with a Docker layer cache kept in ECR (${a.cacheStrategy} strategy)`,
            serviceRole: inputs.serviceRoleArn,
            buildTimeout: a.buildTimeoutMinutes,
            source: {
                type: PROVIDERS[a.sourceProvider].sourceType,
                location: a.sourceUrl,
                // This project's own sign-in, never the account's default source credential.
                auth: inputs.sourceAuth,
                gitCloneDepth: 1,
                buildspec: inputs.buildspec,
            },
            sourceVersion: a.sourceVersion,
            artifacts: { type: "NO_ARTIFACTS" },
            environment: {
                // The platform's host; with two platforms amd64, which each job of a batch overrides (components/platforms.ts).
                ...projectHost(a),
                computeType: a.computeType,
                imagePullCredentialsType: "CODEBUILD",
                // Docker needs privileged mode to run its daemon inside the build container.
                privilegedMode: true,
                // ---- Docker server ----
                dockerServer: projectDockerServer(a.dockerServerComputeType),
            },
            cache: a.localCache ? { type: "LOCAL", modes: LOCAL_CACHE_MODES } : { type: "NO_CACHE" },
            logsConfig: { cloudwatchLogs: { status: "ENABLED", groupName: inputs.logGroupName } },
            // One batch (start-build-batch): a job per platform and the manifest job, on the one compute type.
            buildBatchConfig:
                inputs.batchServiceRoleArn === undefined
                    ? undefined
                    : {
                          serviceRole: inputs.batchServiceRoleArn,
                          restrictions: {
                              computeTypesAlloweds: [a.computeType],
                              maximumBuildsAllowed: batchBuildCount(a),
                          },
                          timeoutInMins: batchTimeoutMinutes(a.buildTimeoutMinutes),
                      },
            tags: inputs.tags,
        },
        opts,
    );
    return { project };
}
