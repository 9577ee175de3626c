/**
 * CodeBuild's cap on an inline buildspec (components/buildspec/limit.ts), checked by resolveArgs before anything is
 * created, with the longest repository URL the settings can get. Pure: no mocks, no Docker.
 */
import { strict as assert } from "assert";
import { CachedDockerBuildArgs, ConfigError, resolveArgs } from "../components/args";
import { buildspecOptions, buildspecYaml } from "../components/buildspec";
import {
    INLINE_BUILDSPEC_MAX,
    LONGEST_REGION,
    LONGEST_REGISTRY,
    worstCaseBuildspecLength,
} from "../components/buildspec/limit";

const TWO: CachedDockerBuildArgs = {
    cacheStrategy: "registry",
    platforms: ["linux/amd64", "linux/arm64"],
    computeType: "BUILD_GENERAL1_SMALL",
};

function refused(args: CachedDockerBuildArgs): ConfigError {
    try {
        resolveArgs("app", "dev", args);
    } catch (e) {
        assert.ok(e instanceof ConfigError, String(e));
        return e;
    }
    assert.fail("expected a ConfigError");
}

/** Build args of about `n` characters in the buildspec, in one value. */
const padding = (n: number) => ({ PAD: "x".repeat(n) });

describe("the inline buildspec's length: CodeBuild's 25,600 characters, checked before anything is created", () => {
    it("the longest registry host is the one checked: 12-digit account, a 14-character region, the China domain", () => {
        assert.equal(LONGEST_REGISTRY.length, 52);
        assert.equal(LONGEST_REGION.length, 14);
        const a = resolveArgs("app", "dev", TWO);
        for (const region of ["eu-west-1", "ap-southeast-5", "us-gov-west-1"]) {
            const url = `123456789012.dkr.ecr.${region}.amazonaws.com/${a.repositoryName}`;
            assert.ok(buildspecYaml(buildspecOptions(a, url, region)).length <= worstCaseBuildspecLength(a), region);
        }
    });

    it("every default fits, two native platforms with skipUnchanged included, with room for build args", () => {
        for (const args of [
            {},
            { cacheStrategy: "registry" as const },
            TWO,
            { ...TWO, platformMode: "emulated" as const },
        ]) {
            const a = resolveArgs("app", "dev", args);
            const length = worstCaseBuildspecLength(a);
            assert.ok(length <= INLINE_BUILDSPEC_MAX - 400, `${JSON.stringify(args)}: ${length} characters`);
        }
    });

    it("too long: a ConfigError naming buildArgs, the length, how much too long and what each way out saves", () => {
        const a = resolveArgs("app", "dev", TWO);
        const room = INLINE_BUILDSPEC_MAX - worstCaseBuildspecLength(a);
        const e = refused({ ...TWO, buildArgs: padding(room + 50) });
        assert.equal(e.problems.length, 1);
        assert.equal(e.key, "buildArgs");
        assert.deepEqual(e.value, padding(room + 50));
        const m = /These render ([\d,]+) in the longest region \(cn-northwest-1\), (\d+) too many/.exec(e.message);
        assert.ok(m, e.message);
        const length = Number(m[1].replace(/,/g, ""));
        assert.equal(length - INLINE_BUILDSPEC_MAX, Number(m[2]));
        const saved = Number(/skipUnchanged false \((\d+) characters less\)/.exec(e.message)?.[1]);
        const without = worstCaseBuildspecLength(
            resolveArgs("app", "dev", { ...TWO, buildArgs: padding(room + 50), skipUnchanged: false }),
        );
        assert.equal(saved, length - without, "the saving it names is the real one");
        assert.match(e.message, /fewer or shorter buildArgs/);
        assert.match(e.message, /one platform per project/);
        assert.ok(e.message.includes("'buildArgs'"), "the message names the key");
    });

    it("refused when it would fit in eu-west-1 but not in the longest region; one character less is accepted", () => {
        const a = resolveArgs("app", "dev", TWO);
        // The lengths of the same settings with padded build args, computed without the check.
        const worst = (n: number) => worstCaseBuildspecLength({ ...a, buildArgs: padding(n) });
        const euWest = (n: number) =>
            buildspecYaml(
                buildspecOptions(
                    { ...a, buildArgs: padding(n) },
                    `123456789012.dkr.ecr.eu-west-1.amazonaws.com/${a.repositoryName}`,
                    "eu-west-1",
                ),
            ).length;
        let fits = 0;
        while (worst(fits + 1) <= INLINE_BUILDSPEC_MAX) {
            fits++;
        }
        assert.ok(fits > 0);
        assert.doesNotThrow(() => resolveArgs("app", "dev", { ...TWO, buildArgs: padding(fits) }));
        assert.equal(refused({ ...TWO, buildArgs: padding(fits + 1) }).key, "buildArgs");
        assert.ok(euWest(fits + 1) <= INLINE_BUILDSPEC_MAX, "it would fit in eu-west-1: the check is for every region");
    });

    it("ECR's longest repository name: refused on repositoryName, saying what a 64-character name saves", () => {
        const e = refused({ repositoryName: "a".repeat(256) });
        assert.equal(e.key, "repositoryName");
        const saved = Number(
            /a shorter repositoryName \((\d+) characters less at 64 characters\)/.exec(e.message)?.[1],
        );
        const a = resolveArgs("app", "dev", { repositoryName: "a".repeat(256), skipUnchanged: false });
        assert.equal(
            saved,
            worstCaseBuildspecLength({ ...a, skipUnchanged: true }) -
                worstCaseBuildspecLength({ ...a, skipUnchanged: true, repositoryName: "a".repeat(64) }),
        );
        assert.doesNotThrow(() => resolveArgs("app", "dev", { repositoryName: "a".repeat(64) }));
    });

    it("many trusted refs: refused on trustedRefs, the key the user can shorten", () => {
        // Many trusted refs lengthen one platform's buildspec too; refused on trustedRefs.
        const refs = Array.from({ length: 120 }, (_, i) => `release/branch-number-${i}`);
        const e = refused({ cacheStrategy: "registry", trustedRefs: refs, sourceVersion: "main" });
        assert.equal(e.key, "trustedRefs");
        assert.match(e.message, /fewer trustedRefs/);
    });
});
