// layerCompression (components/layerCompression.ts): the value's check in resolveArgs, and the BuildKit options the
// buildspec renders for each value. Pure functions, no mocks: resolveArgs, preludeValues and the buildspec object.
import { strict as assert } from "assert";
import type { CachedDockerBuildArgs } from "../../components/args";
import { ConfigError } from "../../components/problems";
import { resolveArgs } from "../../components/resolveArgs";
import { BuildspecOptions, preludeValues } from "../../components/buildspec";
import { buildspec } from "../../components/buildspec/render";
import { LAYER_COMPRESSIONS } from "../../components/args";
import { cacheCompressionOptions, imageCompressionOptions } from "../../components/layerCompression";

const REPO = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app";

function options(over: Partial<BuildspecOptions> = {}): BuildspecOptions {
    return {
        repositoryUrl: REPO,
        region: "eu-west-1",
        imageTag: "latest",
        cacheTag: "buildcache",
        cacheStrategy: "registry",
        registryBuilder: "docker-container",
        builderImage: "public.ecr.aws/vend/moby/buildkit:buildx-stable-1",
        dockerfileDir: "app",
        dockerfileName: "Dockerfile",
        buildArgs: {},
        trustedRefs: ["main"],
        ...over,
    };
}

function refuses(args: CachedDockerBuildArgs, value: unknown, message: string): void {
    assert.throws(
        () => resolveArgs("docker-cache", "dev", args),
        (e: unknown) => {
            assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
            assert.equal(e.message, message);
            assert.equal(e.key, "layerCompression");
            assert.deepEqual(e.value, value);
            return true;
        },
    );
}

/** The prelude line `NAME=…` of the buildspec command that runs `<fragment>.sh`. */
function preludeLine(commands: readonly string[], fragment: string, name: string): string | undefined {
    const command = commands.find((c) => c.startsWith(`# ---- components/buildspec/${fragment}.sh,`));
    assert.ok(command, `no command runs ${fragment}.sh`);
    return command.split("\n").find((l) => l.startsWith(`${name}=`));
}

describe("layerCompression", () => {
    describe("resolveArgs", () => {
        it("is gzip by default, whatever the strategy", () => {
            for (const cacheStrategy of ["inline", "registry", "pull"] as const)
                assert.equal(resolveArgs("c", "s", { cacheStrategy }).layerCompression, "gzip");
        });

        it("takes zstd with the registry strategy, on either builder", () => {
            for (const registryBuilder of ["docker-container", "docker"] as const)
                assert.equal(
                    resolveArgs("c", "s", { cacheStrategy: "registry", registryBuilder, layerCompression: "zstd" })
                        .layerCompression,
                    "zstd",
                );
        });

        it("refuses a value that is not gzip or zstd, naming the key, the value and what is allowed", () => {
            refuses(
                { layerCompression: "lz4" as never },
                "lz4",
                `Invalid value for 'layerCompression': "lz4". Allowed: gzip, zstd.`,
            );
        });

        it("refuses zstd with inline and pull: the daemon's own builder pushes gzip whatever it is asked", () => {
            for (const cacheStrategy of ["inline", "pull"] as const)
                refuses(
                    { cacheStrategy, layerCompression: "zstd" },
                    "zstd",
                    `Invalid value for 'layerCompression': "zstd". Allowed: gzip with cacheStrategy ${cacheStrategy}; zstd needs cacheStrategy registry (the daemon's own builder on CodeBuild's image store pushes gzip whatever the output asks: measured, docs/decisions/layerTransfer.md).`,
                );
        });
    });

    describe("the rendered BuildKit options", () => {
        it("gzip (the default): compression=gzip,force-compression=true on the cache export and on the image output", () => {
            for (const o of [options(), options({ layerCompression: "gzip" })]) {
                const v = preludeValues(o);
                assert.equal(
                    v.CACHE_TO_OPTS,
                    "mode=max,image-manifest=true,oci-mediatypes=true,compression=gzip,force-compression=true",
                );
                assert.deepEqual(v.PUSH_FLAGS, [
                    "--output",
                    `type=image,name=${REPO}:latest,push=true,store=false,compression=gzip,force-compression=true`,
                ]);
            }
        });

        it("inline: the plain --push, no compression options (the daemon's own builder pushes gzip whatever it is asked)", () => {
            const inline = preludeValues(options({ cacheStrategy: "inline" }));
            assert.deepEqual(inline.PUSH_FLAGS, ["--cache-to", "type=inline", "--tag", `${REPO}:latest`, "--push"]);
            assert.equal(inline.CACHE_TO_OPTS, "");
        });

        it("zstd: compression=zstd,force-compression=true on both; the image also gets OCI media types", () => {
            const v = preludeValues(options({ layerCompression: "zstd" }));
            assert.equal(
                v.CACHE_TO_OPTS,
                "mode=max,image-manifest=true,oci-mediatypes=true,compression=zstd,force-compression=true",
            );
            assert.deepEqual(v.PUSH_FLAGS, [
                "--output",
                `type=image,name=${REPO}:latest,push=true,store=false,oci-mediatypes=true,compression=zstd,force-compression=true`,
            ]);
        });

        it("the image and the cache get the same compression options for every value, so that they can share blobs", () => {
            for (const c of LAYER_COMPRESSIONS) {
                const image = imageCompressionOptions(c).filter((x) => x !== "oci-mediatypes=true");
                assert.deepEqual(image, cacheCompressionOptions(c), c);
            }
        });

        it("zstd reaches both commands that write the cache: the build (beside its push) and export.sh", () => {
            const spec = buildspec(options({ layerCompression: "zstd", skipUnchanged: true }));
            const expected =
                "CACHE_TO_OPTS=mode=max,image-manifest=true,oci-mediatypes=true,compression=zstd,force-compression=true";
            assert.equal(preludeLine(spec.phases.build.commands, "build", "CACHE_TO_OPTS"), expected);
            assert.equal(preludeLine(spec.phases.build.commands, "export", "CACHE_TO_OPTS"), expected);
            assert.equal(
                preludeLine(spec.phases.build.commands, "build", "PUSH_FLAGS"),
                `PUSH_FLAGS=(--output type=image,name=${REPO}:latest,push=true,store=false,oci-mediatypes=true,compression=zstd,force-compression=true)`,
            );
        });
    });
});
