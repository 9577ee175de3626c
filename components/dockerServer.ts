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
import type { ConfigProblem } from "./args";
import { DOCKER_SERVER_DOC } from "./hostFacts";

/** The Docker server's compute types (the AWS provider's list). */
export const DockerServerComputeType = {
    /** 2 vCPUs, 4 GiB. */
    Small: "BUILD_GENERAL1_SMALL",
    /** 4 vCPUs, 8 GiB. */
    Medium: "BUILD_GENERAL1_MEDIUM",
    /** 8 vCPUs, 16 GiB. */
    Large: "BUILD_GENERAL1_LARGE",
    /** 32 vCPUs, 64 GiB. */
    XLarge: "BUILD_GENERAL1_XLARGE",
    /** 64 vCPUs, 128 GiB. */
    XXLarge: "BUILD_GENERAL1_2XLARGE",
} as const;
export type DockerServerComputeType = (typeof DockerServerComputeType)[keyof typeof DockerServerComputeType];
export const DOCKER_SERVER_COMPUTE_TYPES: readonly DockerServerComputeType[] = Object.values(DockerServerComputeType);

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

/** The project's `environment.dockerServer`, or undefined for none. */
export function projectDockerServer(
    dockerServerComputeType: DockerServerComputeType | undefined,
): { computeType: DockerServerComputeType } | undefined {
    return dockerServerComputeType === undefined ? undefined : { computeType: dockerServerComputeType };
}
