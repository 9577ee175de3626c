/**
 * The buildspec's size (docs/decisions/buildspecDelivery.md). The buildspec is an S3 object (components/buildspecObject.ts)
 * and the project's `source.buildspec` holds its ARN, the one value still under CodeBuild's 25,600-character cap
 * (components/buildspec/limit.ts). Pure functions first; the component's wiring under the mock runtime
 * (scripts/mockRuntime.ts: no AWS, no Docker).
 */
import { strict as assert } from "assert";
import * as YAML from "yaml";
import { CachedDockerBuildArgs } from "../../../components/args";
import { resolveArgs } from "../../../components/resolveArgs";
import { buildspecOptions } from "../../../components/buildspec";
import { buildspecYaml } from "../../../components/buildspec/render";
import { checkedProjectBuildspec, INLINE_BUILDSPEC_MAX } from "../../../components/buildspec/limit";
import { BUCKET_NAME_MAX, buildspecBucketName, buildspecKey, objectArn } from "../../../components/buildspecObject";
import { CachedDockerBuild } from "../../../components/cachedDockerBuild";
import { findResource, installMocks, projectBuildspec, settle } from "../../../scripts/mockRuntime";

const TWO: CachedDockerBuildArgs = {
    cacheStrategy: "registry",
    platforms: ["linux/amd64", "linux/arm64"],
    computeType: "BUILD_GENERAL1_SMALL",
};

/** S3's bucket naming rules (bucketnamingrules.html): 3–63 of a-z 0-9 . -, starting and ending with a letter or digit. */
const S3_BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

describe("the buildspec's size: an S3 object, its ARN the one value under CodeBuild's 25,600 characters", () => {
    it("the project's source.buildspec: up to 25,600 characters taken as they are, one more refused with both numbers", () => {
        const fits = "a".repeat(INLINE_BUILDSPEC_MAX);
        assert.equal(checkedProjectBuildspec(fits), fits);
        assert.throws(
            () => checkedProjectBuildspec(`${fits}a`),
            /source\.buildspec is 25,601 characters; CodeBuild takes at most 25,600/,
        );
    });

    it("the longest ARN the component can name is under half the cap (over 50 % headroom)", () => {
        // The longest project name resolveArgs takes (59), the longest region and the China partition.
        const bucket = buildspecBucketName("p".repeat(59), "123456789012", "ap-southeast-5");
        const arn = objectArn(`arn:aws-cn:s3:::${bucket}`, buildspecKey("x"));
        assert.ok(bucket.length <= BUCKET_NAME_MAX, bucket);
        assert.ok(arn.length < INLINE_BUILDSPEC_MAX / 2, `${arn.length} characters`);
    });

    it("bucket names: valid for S3, readable when they can be, and distinct for project names that differ", () => {
        assert.equal(
            buildspecBucketName("docker-cache-dev", "123456789012", "eu-west-1"),
            "docker-cache-dev-buildspec-123456789012-eu-west-1",
        );
        const names = ["App", "app", "my_app", "my-app", "x".repeat(59), `${"x".repeat(58)}y`, "a-", "A_B"].map((n) =>
            buildspecBucketName(n, "123456789012", "cn-northwest-1"),
        );
        for (const n of names) {
            assert.match(n, S3_BUCKET_NAME);
            assert.ok(!n.includes(".."), n);
        }
        assert.equal(new Set(names).size, names.length, names.join("\n"));
    });

    it("the key is content-addressed: the same YAML gives the same key, one character more another", () => {
        assert.match(buildspecKey("version: 0.2\n"), /^buildspec\/[0-9a-f]{64}\.yml$/);
        assert.equal(buildspecKey("version: 0.2\n"), buildspecKey("version: 0.2\n"));
        assert.notEqual(buildspecKey("version: 0.2\n"), buildspecKey("version: 0.2\n\n"));
    });

    describe("under the mock runtime: settings the inline cap used to refuse", function () {
        this.timeout(60_000);
        const refusedBefore: [string, CachedDockerBuildArgs][] = [
            [
                "two native platforms, skipUnchanged, 20 kB of build args",
                { ...TWO, buildArgs: { PAD: "x".repeat(20_000) } },
            ],
            ["a 256-character repository name", { repositoryName: "a".repeat(256) }],
            [
                "120 trusted refs",
                {
                    cacheStrategy: "registry",
                    trustedRefs: Array.from({ length: 120 }, (_, i) => `release/branch-number-${i}`),
                    sourceVersion: "main",
                },
            ],
        ];
        for (const [what, args] of refusedBefore) {
            it(`${what}: accepted; CodeBuild gets the whole buildspec from S3, the project only its ARN`, async () => {
                installMocks({ stack: "dev" });
                const c = new CachedDockerBuild("big", args);
                await settle();
                const project = findResource("aws:codebuild/project:Project");
                const arn = String(project.inputs.source.buildspec);
                assert.match(arn, /^arn:aws:s3:::[a-z0-9.-]+\/buildspec\/[0-9a-f]{64}\.yml$/);
                assert.ok(arn.length < INLINE_BUILDSPEC_MAX / 2);
                const text = projectBuildspec(project);
                assert.ok(text.length > INLINE_BUILDSPEC_MAX, `${text.length} characters: over the inline cap`);
                const a = resolveArgs("big", "dev", args);
                const repoUrl = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/${a.repositoryName}`;
                assert.equal(text, buildspecYaml(buildspecOptions(a, repoUrl, "eu-west-1")));
                assert.ok(YAML.parse(text).phases.build.commands.length > 0);
                // The component's `buildspec` output is that same text.
                const out = await new Promise<string>((resolve) => c.buildspec.apply(resolve));
                assert.equal(out, text);
            });
        }
    });
});
