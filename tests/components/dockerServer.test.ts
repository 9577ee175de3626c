/**
 * Issue 12: CodeBuild's Docker server as a component option (`dockerServerComputeType`): validated, off by default,
 * wired to the project's `environment.dockerServer`, and refused together with pull-request triggers (the pure
 * rule `dockerServerProblems`; the coordinator wires it to the webhook's pull-request switch).
 * Real: resolveArgs, the component's resources. Mocked: the Pulumi engine and AWS (scripts/mockRuntime.ts).
 */
import { strict as assert } from "assert";
import { DOCKER_SERVER_COMPUTE_TYPES } from "../../components/args";
import { ConfigError } from "../../components/problems";
import { resolveArgs } from "../../components/resolveArgs";
import { CachedDockerBuild } from "../../components/cachedDockerBuild";
import { dockerServerProblems, projectDockerServer } from "../../components/dockerServer";
import { CONFIG_KEYS } from "../../components/config";
import { findResource, installMocks, registrations, settle } from "../../scripts/mockRuntime";

describe("the Docker server option (dockerServerComputeType)", () => {
    it("is off by default: resolved unset, and the project has no dockerServer", async () => {
        assert.equal(resolveArgs("docker-cache", "dev", {}).dockerServerComputeType, undefined);
        assert.equal(projectDockerServer(undefined), undefined);
        installMocks();
        new CachedDockerBuild("docker-cache", {});
        await settle();
        const env = findResource("aws:codebuild/project:Project").inputs.environment;
        assert.equal(env.dockerServer, undefined);
        assert.equal(env.privilegedMode, true);
    });

    it("accepts each of the provider's compute types and puts it on the project's environment", async () => {
        assert.deepEqual(
            [...DOCKER_SERVER_COMPUTE_TYPES],
            [
                "BUILD_GENERAL1_SMALL",
                "BUILD_GENERAL1_MEDIUM",
                "BUILD_GENERAL1_LARGE",
                "BUILD_GENERAL1_XLARGE",
                "BUILD_GENERAL1_2XLARGE",
            ],
        );
        for (const t of DOCKER_SERVER_COMPUTE_TYPES) {
            assert.equal(resolveArgs("docker-cache", "dev", { dockerServerComputeType: t }).dockerServerComputeType, t);
        }
        installMocks();
        new CachedDockerBuild("docker-cache", { dockerServerComputeType: "BUILD_GENERAL1_SMALL" });
        await settle();
        const env = findResource("aws:codebuild/project:Project").inputs.environment;
        assert.deepEqual(env.dockerServer, { computeType: "BUILD_GENERAL1_SMALL" });
    });

    it("refuses any other value, naming the key, the value and what is allowed, before registering anything", async () => {
        for (const bad of ["BUILD_LAMBDA_1GB", "small", "", 2]) {
            assert.throws(
                () => resolveArgs("docker-cache", "dev", { dockerServerComputeType: bad as never }),
                (e: unknown) =>
                    e instanceof ConfigError &&
                    e.message ===
                        `Invalid value for 'dockerServerComputeType': ${JSON.stringify(bad)}. Allowed: unset (no Docker server) or one of BUILD_GENERAL1_SMALL, BUILD_GENERAL1_MEDIUM, BUILD_GENERAL1_LARGE, BUILD_GENERAL1_XLARGE, BUILD_GENERAL1_2XLARGE (https://docs.aws.amazon.com/codebuild/latest/APIReference/API_DockerServer.html).`,
            );
        }
        installMocks();
        assert.throws(() => new CachedDockerBuild("bad", { dockerServerComputeType: "huge" as never }), ConfigError);
        await settle();
        assert.deepEqual(registrations, []);
    });

    it("is a stack config key of the program", () => {
        assert.ok(CONFIG_KEYS.includes("dockerServerComputeType"));
    });

    describe("dockerServerProblems: the safe default against pull-request builds", () => {
        it("refuses the Docker server in a project that pull requests trigger, saying why and what to do", () => {
            const problems = dockerServerProblems("BUILD_GENERAL1_MEDIUM", true);
            assert.equal(problems.length, 1);
            assert.equal(problems[0].key, "dockerServerComputeType");
            assert.equal(problems[0].value, "BUILD_GENERAL1_MEDIUM");
            assert.match(problems[0].allowed, /^Allowed: unset when pull requests trigger builds of this project/);
            assert.match(problems[0].allowed, /RUN --mount=type=cache/);
            assert.match(problems[0].allowed, /separate project without a Docker server/);
        });

        it("allows it without pull-request triggers, and allows pull-request triggers without it", () => {
            assert.deepEqual(dockerServerProblems("BUILD_GENERAL1_MEDIUM", false), []);
            assert.deepEqual(dockerServerProblems(undefined, true), []);
            assert.deepEqual(dockerServerProblems(undefined, false), []);
        });
    });
});
