/**
 * Issue 12: CodeBuild's Docker server as a component option (`dockerServerComputeType`): validated, off by default,
 * wired to the main project's `environment.dockerServer`, never to the read-only `-pr` project's, where pull requests
 * build (so the pair is taken, and no pull request's build reaches the main project's daemon).
 * Real: resolveArgs, the component's resources. Mocked: the Pulumi engine and AWS (scripts/mockRuntime.ts).
 */
import { strict as assert } from "assert";
import { DOCKER_SERVER_COMPUTE_TYPES } from "../../components/args";
import { ConfigError } from "../../components/problems";
import { resolveArgs } from "../../components/resolveArgs";
import { CachedDockerBuild } from "../../components/cachedDockerBuild";
import { projectDockerServer } from "../../components/dockerServer";
import { CONFIG_KEYS } from "../../components/config";
import { findResource, installMocks, registrations, runProgram, settle } from "../../scripts/mockRuntime";

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

    describe("with pull requests: the main project has the Docker server, the -pr project never does", () => {
        it("the github stack with a Docker server: the main project's environment has it, the -pr project's has none and is otherwise the same", async () => {
            await runProgram("github", { dockerServerComputeType: "BUILD_GENERAL1_MEDIUM" });
            const main = findResource("aws:codebuild/project:Project", "docker-cache-project");
            const pr = findResource("aws:codebuild/project:Project", "docker-cache-pr-project");
            assert.equal(
                pr.inputs.name,
                `${main.inputs.name}-pr`,
                "control: the second project is the pull-request one",
            );
            assert.deepEqual(main.inputs.environment.dockerServer, { computeType: "BUILD_GENERAL1_MEDIUM" });
            assert.equal(pr.inputs.environment.dockerServer, undefined);
            const { dockerServer: _m, ...mainRest } = main.inputs.environment;
            const { dockerServer: _p, ...prRest } = pr.inputs.environment;
            assert.deepEqual(prRest, mainRest, "the same image, compute type and privileged mode otherwise");
        });
    });
});
