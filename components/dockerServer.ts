/**
 * CodeBuild's Docker server (2025): `environment.dockerServer` of the project, a Docker daemon of its own compute
 * type that every build of the project talks to (the build's DOCKER_HOST) and that keeps its layers between builds.
 * AWS: the server "is active while builds are actively run for the project, and the instance is stopped when builds
 * are not running. The provisioned instance is stored for up to a month before it is recycled"
 * (https://docs.aws.amazon.com/codebuild/latest/userguide/sample-docker-server.html); compute types from the API's
 * DockerServer type (https://docs.aws.amazon.com/codebuild/latest/APIReference/API_DockerServer.html) as the AWS
 * provider accepts them (`ProjectEnvironmentDockerServer.computeType`).
 *
 * Trust: one daemon serves every build of the project, so whatever a build leaves on it, its layers and the contents
 * of its `RUN --mount=type=cache` mounts, is there for the next build, which may take it as a cache hit. Pull requests
 * never build in this project: with `webhookPullRequests` they build in the read-only `<projectName>-pr` project
 * (`pullRequestProject.ts`), which never gets a Docker server. So the main project's daemon only ever holds what
 * pushes, tags, schedules and manual builds left, and the ECR cache's rule "untrusted builds read, never write"
 * holds with the Docker server too.
 */
import { type CachedDockerBuildArgs, DOCKER_SERVER_COMPUTE_TYPES, type DockerServerComputeType } from "./args";
import { DOCKER_SERVER_DOC } from "./hostFacts";
import type { ConfigProblem, Problems } from "./problems";
// The compute types live with the other enumerations, in args.ts.
export { DockerServerComputeType, DOCKER_SERVER_COMPUTE_TYPES } from "./args";

/** The value's problems: unset or one of {@link DOCKER_SERVER_COMPUTE_TYPES}. */
export function dockerServerComputeTypeProblems(value: unknown): ConfigProblem[] {
    if (value === undefined || (DOCKER_SERVER_COMPUTE_TYPES as readonly unknown[]).includes(value)) return [];
    return [
        {
            key: "dockerServerComputeType",
            value,
            // The API model's enum also has BUILD_LAMBDA_*, ATTRIBUTE_BASED_COMPUTE and CUSTOM_INSTANCE_TYPE, but the
            // DockerServer reference describes only these five (hostFacts.ts).
            allowed: `Allowed: unset (no Docker server) or one of ${DOCKER_SERVER_COMPUTE_TYPES.join(", ")} (${DOCKER_SERVER_DOC}).`,
        },
    ];
}

/**
 * Checks of the Docker server argument (called by `resolveArgs`): one of the compute types. It has no default:
 * unset, there is no Docker server. It is taken together with `webhookPullRequests`, because pull requests build in
 * the `-pr` project, which has none (`createPullRequestProject`).
 */
export function resolveDockerServer(
    p: Problems,
    args: CachedDockerBuildArgs,
): { dockerServerComputeType: DockerServerComputeType | undefined } {
    p.list.push(...dockerServerComputeTypeProblems(args.dockerServerComputeType));
    return { dockerServerComputeType: args.dockerServerComputeType };
}

/** The project's `environment.dockerServer`, or undefined for none. */
export function projectDockerServer(
    dockerServerComputeType: DockerServerComputeType | undefined,
): { computeType: DockerServerComputeType } | undefined {
    return dockerServerComputeType === undefined ? undefined : { computeType: dockerServerComputeType };
}
