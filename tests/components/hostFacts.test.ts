/**
 * Issue 20, item 4: facts per host type and region (components/hostFacts.ts). Pure: `hostsOf` and
 * `hostFactProblems` (exact problems). Under the mock runtime (scripts/mockRuntime.ts: AWS and the engine mocked, the
 * program and the component real): the program refuses an unsupported combination at config time when the stack
 * sets `aws:region`, before anything is registered; the component refuses it once the region is known from the
 * repository's ARN (a region from the environment), and the project is never registered.
 */
import { strict as assert } from "node:assert";
import { ConfigError } from "../../components/problems";
import { CachedDockerBuild } from "../../components/cachedDockerBuild";
import { ARM_COMPUTE_TYPES_BY_REGION, COMPUTE_TYPES_DOC, hostFactProblems, hostsOf } from "../../components/hostFacts";
import { findResources, installMocks, registrations, runProgram, settle } from "../../scripts/mockRuntime";

const CHINA_ARM =
    'Allowed on an arm64 host (ARM_CONTAINER) in cn-north-1: BUILD_GENERAL1_SMALL, BUILD_GENERAL1_LARGE (CodeBuild user guide, "Build environment compute modes and types", https://docs.aws.amazon.com/codebuild/latest/userguide/build-env-ref-compute-types.html).';

describe("host facts (pure)", () => {
    it("hostsOf: amd64 on LINUX_CONTAINER, arm64 on ARM_CONTAINER, both natively on both, emulated on the amd64 host only", () => {
        assert.deepEqual(hostsOf({ platforms: ["linux/amd64"], platformMode: "native" }), ["LINUX_CONTAINER"]);
        assert.deepEqual(hostsOf({ platforms: ["linux/arm64"], platformMode: "native" }), ["ARM_CONTAINER"]);
        assert.deepEqual(hostsOf({ platforms: ["linux/amd64", "linux/arm64"], platformMode: "native" }), [
            "LINUX_CONTAINER",
            "ARM_CONTAINER",
        ]);
        assert.deepEqual(hostsOf({ platforms: ["linux/amd64", "linux/arm64"], platformMode: "emulated" }), [
            "LINUX_CONTAINER",
        ]);
    });

    it("an arm64 host in a China region takes only SMALL and LARGE: the key, the value, what is allowed, the page", () => {
        assert.deepEqual(ARM_COMPUTE_TYPES_BY_REGION["cn-north-1"], ["BUILD_GENERAL1_SMALL", "BUILD_GENERAL1_LARGE"]);
        for (const computeType of ["BUILD_GENERAL1_MEDIUM", "BUILD_GENERAL1_XLARGE", "BUILD_GENERAL1_2XLARGE"]) {
            assert.deepEqual(hostFactProblems({ hosts: ["ARM_CONTAINER"], computeType }, "cn-north-1"), [
                { key: "computeType", value: computeType, allowed: CHINA_ARM },
            ]);
            assert.equal(
                hostFactProblems({ hosts: ["LINUX_CONTAINER", "ARM_CONTAINER"], computeType }, "cn-northwest-1").length,
                1,
            );
        }
        assert.ok(CHINA_ARM.includes(COMPUTE_TYPES_DOC));
    });

    it("takes what the docs allow, and checks nothing where the region isn't known or the docs don't say", () => {
        for (const computeType of ["BUILD_GENERAL1_SMALL", "BUILD_GENERAL1_LARGE"]) {
            assert.deepEqual(hostFactProblems({ hosts: ["ARM_CONTAINER"], computeType }, "cn-north-1"), []);
        }
        // An amd64 host in China: the five.
        assert.deepEqual(
            hostFactProblems({ hosts: ["LINUX_CONTAINER"], computeType: "BUILD_GENERAL1_MEDIUM" }, "cn-north-1"),
            [],
        );
        // Outside China the ARM table lists the five.
        assert.deepEqual(
            hostFactProblems({ hosts: ["ARM_CONTAINER"], computeType: "BUILD_GENERAL1_2XLARGE" }, "eu-west-1"),
            [],
        );
        // Regions where ARM_CONTAINER exists at all: the docs disagree (hostFacts.ts), so not checked.
        assert.deepEqual(
            hostFactProblems({ hosts: ["ARM_CONTAINER"], computeType: "BUILD_GENERAL1_SMALL" }, "af-south-1"),
            [],
        );
        assert.deepEqual(
            hostFactProblems({ hosts: ["ARM_CONTAINER"], computeType: "BUILD_GENERAL1_MEDIUM" }, undefined),
            [],
        );
    });
});

describe("host facts where the region becomes known (under mocks)", () => {
    const ARM = { platforms: ["linux/arm64"], computeType: "BUILD_GENERAL1_MEDIUM" };

    it("the program, with aws:region in the stack: a ConfigError before anything is registered", async () => {
        await assert.rejects(runProgram("dev", { "aws:region": "cn-north-1", ...ARM }), (e: unknown) => {
            assert.ok(e instanceof ConfigError, String(e));
            assert.deepEqual(e.problems, [{ key: "computeType", value: "BUILD_GENERAL1_MEDIUM", allowed: CHINA_ARM }]);
            assert.match(e.message, /computeType/);
            return true;
        });
        assert.deepEqual(
            registrations.map((r) => r.type),
            [],
        );
    });

    it("the program takes the same arguments in a region whose table lists the five", async () => {
        await runProgram("dev", { "aws:region": "eu-west-1", ...ARM });
        assert.equal(findResources("aws:codebuild/project:Project").length, 1);
    });

    it("the component, with the region only from the provider (the repository's ARN): the ConfigError on the buildspec, which the project needs", async () => {
        installMocks({ region: "cn-northwest-1", stack: "dev" });
        const build = new CachedDockerBuild("docker-cache", {
            platforms: ["linux/arm64"],
            computeType: "BUILD_GENERAL1_XLARGE",
        });
        // The buildspec output rejects (read through the SDK's promise: valueOf would wait on isKnown).
        const buildspec = (build.buildspec as unknown as { promise(): Promise<string> }).promise();
        await assert.rejects(buildspec, (e: unknown) => {
            assert.ok(e instanceof ConfigError, String(e));
            assert.equal(e.problems[0].key, "computeType");
            assert.match(e.problems[0].allowed, /in cn-northwest-1: BUILD_GENERAL1_SMALL, BUILD_GENERAL1_LARGE/);
            return true;
        });
        // The repository has resolved by now (it told the region); with the buildspec rejected, neither the buildspec's
        // S3 object, nor the role that reads that object, nor the project can register.
        await (build.repositoryUrl as unknown as { promise(): Promise<string> }).promise();
        assert.equal(findResources("aws:ecr/repository:Repository").length, 1, "the repository told the region");
        assert.equal(findResources("aws:s3/bucketObjectv2:BucketObjectv2").length, 0);
        assert.equal(findResources("aws:codebuild/project:Project").length, 0);
    });

    it("the same component in a region whose table lists the five: the project", async () => {
        installMocks({ region: "eu-west-1", stack: "dev" });
        new CachedDockerBuild("docker-cache", { platforms: ["linux/arm64"], computeType: "BUILD_GENERAL1_XLARGE" });
        await settle();
        assert.equal(findResources("aws:codebuild/project:Project").length, 1);
    });
});
