/**
 * How the image's and the cache's new layers are compressed (`layerCompression`): the BuildKit exporter options each
 * value renders, and its check. docs/decisions/layerTransfer.md has the measurements behind the default.
 *
 * Both values render `compression=<value>,force-compression=true` on the registry cache's `--cache-to` and on the
 * image's output, the same on both, so that the two name the same blobs and upload each once
 * ({@link cacheCompressionOptions}).
 * - `gzip` (the default): BuildKit's default compression, which every puller reads.
 * - `zstd` also gives the image OCI media types (`oci-mediatypes=true`): a zstd layer is defined only in an OCI
 *   manifest (opencontainers/image-spec#788; a Docker schema 2 manifest with zstd layers is refused by strict
 *   pullers, e.g. podman). `force-compression` recompresses layers BuildKit already holds in another compression
 *   (the base image's, gzip), so that every layer of the image and of the cache is zstd and the two share blobs.
 *   Pullers: Docker Engine 23.0 and later (moby/moby#41759; CodeBuild's images ship 28.5), containerd 1.5 and later,
 *   BuildKit; ECR stores and serves such images, ECS on Fargate pulls them and ECR's enhanced scanning reads them
 *   (AWS Containers blog, "Reducing AWS Fargate Startup Times with zstd Compressed Container Images", updated
 *   2022-10-19; awslabs/amazon-ecr-containerd-resolver#35). Older pullers (Docker before 23) can't.
 */
import { type CachedDockerBuildArgs, LAYER_COMPRESSIONS, type LayerCompression, type ResolvedArgs } from "./args";
import { oneOf, type Problems } from "./problems";

/** The default: gzip, what every puller reads (docs/decisions/layerTransfer.md says why it stays). */
export const LAYER_COMPRESSION_DEFAULTS = { layerCompression: "gzip" } as const satisfies Partial<ResolvedArgs>;

/**
 * Default and check of `layerCompression`: one of LAYER_COMPRESSIONS, and zstd only with the registry strategy (the
 * daemon's own builder of `inline` and `pull` pushes gzip whatever its output asks: measured).
 */
export function resolveLayerCompression(
    p: Problems,
    args: CachedDockerBuildArgs,
    other: Pick<ResolvedArgs, "cacheStrategy">,
): Pick<ResolvedArgs, "layerCompression"> {
    const layerCompression = args.layerCompression ?? LAYER_COMPRESSION_DEFAULTS.layerCompression;
    if (oneOf(p, "layerCompression", layerCompression, LAYER_COMPRESSIONS) && other.cacheStrategy !== "registry") {
        p.check(
            layerCompression === "gzip",
            "layerCompression",
            layerCompression,
            `Allowed: gzip with cacheStrategy ${other.cacheStrategy}; zstd needs cacheStrategy registry (the daemon's own builder on CodeBuild's image store pushes gzip whatever the output asks: measured, docs/decisions/layerTransfer.md).`,
        );
    }
    return { layerCompression };
}

/**
 * Options appended to the registry cache's `--cache-to type=registry,…` (after `oci-mediatypes=true`, which it has
 * already): `compression=<value>,force-compression=true` for both values.
 *
 * `force-compression=true` for gzip too: with it, the image's push and the cache export, which BuildKit runs side by
 * side when the build writes the cache beside its push (buildspec/build.sh, CACHE_IN_BUILD), uploaded each new blob
 * once in the light bench workload (49 layers) on loopback; without it both uploaded 4 or 5 of them each time, 8 to
 * 31 % more bytes pushed (docs/decisions/layerTransfer.md). It makes the race rarer, not impossible: builds of 3 to 8
 * layers still uploaded 1 to 3 blobs twice, and the heavy workload (25 layers of 4 MB) 4 of them on every cold build
 * under the `writeup` network. A layer already in the requested compression is not recompressed (a change
 * build pulled the same bytes with it as without). With zstd it also recompresses the layers BuildKit holds in gzip
 * (the base image's), so that every layer of the image and of the cache is zstd.
 */
export function cacheCompressionOptions(c: LayerCompression): readonly string[] {
    return [`compression=${c}`, "force-compression=true"];
}

/** Options appended to the image's `--output type=image,…`: the cache's, and for zstd OCI media types. */
export function imageCompressionOptions(c: LayerCompression): readonly string[] {
    return [...(c === "zstd" ? ["oci-mediatypes=true"] : []), ...cacheCompressionOptions(c)];
}
