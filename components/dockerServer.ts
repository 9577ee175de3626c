/**
 * CodeBuild's Docker server (2025): `environment.dockerServer` of the project, a Docker daemon of its own compute
 * type that every build of the project talks to (the build's DOCKER_HOST) and that keeps its layers between builds.
 * AWS: the server "is active while builds are actively run for the project, and the instance is stopped when builds
 * are not running. The provisioned instance is stored for up to a month before it is recycled"
 * (https://docs.aws.amazon.com/codebuild/latest/userguide/sample-docker-server.html); compute types from the API's
 * DockerServer type (https://docs.aws.amazon.com/codebuild/latest/APIReference/API_DockerServer.html) as the AWS
 * provider accepts them (`ProjectEnvironmentDockerServer.computeType`).
 *
 * Trust: one daemon serves every build of the project, so whatever an untrusted build (a pull request) leaves on it,
 * its layers and the contents of its `RUN --mount=type=cache` mounts, is there for the next trusted build, which may
 * take it as a cache hit: the ECR cache's rule "untrusted builds read, never write" no longer holds. So the Docker
 * server is refused together with pull-request triggers ({@link dockerServerProblems}); untrusted builds belong in a
 * separate project without it.
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
 * The safe default: no Docker server in a project that pull requests trigger, because their builds would share the
 * daemon (its layers and `RUN --mount=type=cache` contents) with the trusted builds. Untrusted builds go to a
 * separate project without a Docker server.
 */
export function dockerServerProblems(
    dockerServerComputeType: DockerServerComputeType | undefined,
    pullRequestTriggers: boolean,
): ConfigProblem[] {
    if (dockerServerComputeType === undefined || !pullRequestTriggers) return [];
    return [
        {
            key: "dockerServerComputeType",
            value: dockerServerComputeType,
            allowed:
                "Allowed: unset when pull requests trigger builds of this project: every build shares the Docker server's daemon, so a pull request's layers and RUN --mount=type=cache contents would be visible to the next trusted build. Build pull requests in a separate project without a Docker server.",
        },
    ];
}

/**
 * Checks of the Docker server argument (called by `resolveArgs`, once the triggers are known): a compute type, and
 * none in a project that pull requests trigger. It has no default: unset, there is no Docker server.
 */
export function resolveDockerServer(
    p: Problems,
    args: CachedDockerBuildArgs,
    pullRequestTriggers: boolean,
): { dockerServerComputeType: DockerServerComputeType | undefined } {
    p.list.push(
        ...dockerServerComputeTypeProblems(args.dockerServerComputeType),
        ...dockerServerProblems(args.dockerServerComputeType, pullRequestTriggers),
    );
    return { dockerServerComputeType: args.dockerServerComputeType };
}

/** The project's `environment.dockerServer`, or undefined for none. */
export function projectDockerServer(
    dockerServerComputeType: DockerServerComputeType | undefined,
): { computeType: DockerServerComputeType } | undefined {
    return dockerServerComputeType === undefined ? undefined : { computeType: dockerServerComputeType };
}
