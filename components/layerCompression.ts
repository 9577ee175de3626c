/**
 * How the image's and the cache's new layers are compressed (`layerCompression`): the BuildKit exporter options each
 * value renders, and its check. docs/decisions/layerTransfer.md has the measurements behind the default.
 *
 * - `gzip` (the default) renders nothing: BuildKit's default compression, which every puller reads.
 * - `zstd` adds `compression=zstd,force-compression=true` to the registry cache's `--cache-to` and to the image's
 *   output, and gives the image OCI media types (`oci-mediatypes=true`): a zstd layer is defined only in an OCI
 *   manifest (opencontainers/image-spec#788; a Docker schema 2 manifest with zstd layers is refused by strict
 *   pullers, e.g. podman). `force-compression` recompresses layers BuildKit already holds in another compression
 *   (the base image's, gzip), so that every layer of the image and of the cache is zstd and the two share blobs.
 *   Pullers: Docker Engine 23.0 and later (moby/moby#41759; CodeBuild's images ship 28.5), containerd 1.5 and later,
 *   BuildKit; ECR stores and serves such images, ECS on Fargate pulls them and ECR's enhanced scanning reads them
 *   (AWS Containers blog, "Reducing AWS Fargate Startup Times with zstd Compressed Container Images", updated
 *   2022-10-19; awslabs/amazon-ecr-containerd-resolver#35). Older pullers (Docker before 23) can't.
 */
export const LayerCompression = {
    /** gzip: BuildKit's default, read by every puller. */
    Gzip: "gzip",
    /** zstd, with OCI media types: Docker 23+, containerd 1.5+, ECR, ECS on Fargate. */
    Zstd: "zstd",
} as const;
export type LayerCompression = (typeof LayerCompression)[keyof typeof LayerCompression];
export const LAYER_COMPRESSIONS: readonly LayerCompression[] = Object.values(LayerCompression);

/** The default: gzip, what every puller reads (docs/decisions/layerTransfer.md says why it stays). */
export const DEFAULT_LAYER_COMPRESSION: LayerCompression = "gzip";

/**
 * Options appended to the registry cache's `--cache-to type=registry,…` (after `oci-mediatypes=true`, which it has
 * already): none for gzip.
 */
export function cacheCompressionOptions(c: LayerCompression): readonly string[] {
    return c === "zstd" ? ["compression=zstd", "force-compression=true"] : [];
}

/** Options appended to the image's `--output type=image,…`: none for gzip; OCI media types and zstd otherwise. */
export function imageCompressionOptions(c: LayerCompression): readonly string[] {
    return c === "zstd" ? ["oci-mediatypes=true", "compression=zstd", "force-compression=true"] : [];
}
