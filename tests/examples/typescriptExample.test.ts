/**
 * The TypeScript example (`examples/typescript`, shown in README.md and docs/componentPackage.md) under Pulumi's mock
 * runtime (mocked engine and AWS; the component's code is real): it creates the component with the arguments it
 * shows, and those arguments reach the project, the repository and the buildspec.
 */
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { createCache } from "../../examples/typescript";
import { findResource, projectBuildspec, runWithConfig, valueOf } from "../../scripts/mockRuntime";

describe("TypeScript example (examples/typescript) under mocks", () => {
    after(() => pulumi.runtime.setAllConfig({}, []));

    it("builds the named source with the named compute, and its outputs resolve", async () => {
        const out = await runWithConfig(createCache, { project: "my-app", stack: "dev", config: {} });
        const project = findResource("aws:codebuild/project:Project");
        const source = project.inputs.source as { location: string };
        assert.equal(source.location, "https://github.com/my-org/my-app.git");
        assert.equal((project.inputs.environment as { computeType: string }).computeType, "BUILD_GENERAL1_LARGE");
        assert.deepEqual((project.inputs.tags as Record<string, string>).team, "platform");
        assert.match(await valueOf(out.imageUri), /:latest$/);
        assert.match(await valueOf(out.repositoryArn), /^arn:aws:ecr:/);
        assert.equal(typeof (await valueOf(out.projectName)), "string");
    });

    it("its trusted refs and build args reach the buildspec CodeBuild runs", async () => {
        await runWithConfig(createCache, { project: "my-app", stack: "dev", config: {} });
        const yaml = projectBuildspec(findResource("aws:codebuild/project:Project"));
        assert.match(yaml, /refs\/heads\/main/);
        assert.match(yaml, /refs\/tags\/v1\.0\.0/);
        assert.match(yaml, /NODE_ENV=production/);
    });
});
