/**
 * The CodeBuild project, its log group, and the optional GitHub source credential.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import type { ResolvedArgs } from "./args";
import { projectDockerServer } from "./dockerServer";

export interface ProjectResources {
    readonly project: aws.codebuild.Project;
    readonly sourceCredential?: aws.codebuild.SourceCredential;
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
    readonly githubToken?: pulumi.Input<string>;
    readonly tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

export function createProject(
    name: string,
    a: ResolvedArgs,
    inputs: ProjectInputs,
    opts: pulumi.ResourceOptions,
): ProjectResources {
    // A private GitHub source authenticates with a personal access token imported as a source credential.
    // CodeBuild keeps one such credential per account and region for GitHub and uses it for every GitHub
    // project there, so the project needs no `auth` block, only to be created after it. The token is a
    // secret in state and never reaches the buildspec or the build's environment.
    const sourceCredential =
        inputs.githubToken === undefined
            ? undefined
            : new aws.codebuild.SourceCredential(
                  `${name}-github-credential`,
                  { authType: "PERSONAL_ACCESS_TOKEN", serverType: "GITHUB", token: pulumi.secret(inputs.githubToken) },
                  opts,
              );
    const project = new aws.codebuild.Project(
        `${name}-project`,
        {
            name: a.projectName,
            description: `Builds ${a.dockerfileDir}/${a.dockerfileName} with a Docker layer cache kept in ECR (${a.cacheStrategy} strategy)`,
            serviceRole: inputs.serviceRoleArn,
            buildTimeout: a.buildTimeoutMinutes,
            source: {
                type: "GITHUB",
                location: a.sourceUrl,
                gitCloneDepth: 1,
                buildspec: inputs.buildspec,
            },
            sourceVersion: a.sourceVersion,
            artifacts: { type: "NO_ARTIFACTS" },
            environment: {
                type: "LINUX_CONTAINER",
                image: a.buildImage,
                computeType: a.computeType,
                imagePullCredentialsType: "CODEBUILD",
                // Docker needs privileged mode to run its daemon inside the build container.
                privilegedMode: true,
                // ---- Docker server ----
                dockerServer: projectDockerServer(a.dockerServerComputeType),
            },
            cache: a.localCache ? { type: "LOCAL", modes: LOCAL_CACHE_MODES } : { type: "NO_CACHE" },
            logsConfig: { cloudwatchLogs: { status: "ENABLED", groupName: inputs.logGroupName } },
            tags: inputs.tags,
        },
        { ...opts, dependsOn: sourceCredential ? [sourceCredential] : [] },
    );
    return { project, sourceCredential };
}
