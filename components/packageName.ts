/**
 * The name of the Pulumi package this repository is, as `pulumi package add` consumers know it: their SDK's
 * module (`ecr_layer_cache` in Python, `ecr-layer-cache` in Pulumi YAML type tokens) and the first part of every
 * type token. Chosen once: changing it changes every consumer's code and every resource's URN.
 */
export const PACKAGE_NAME = "ecr-layer-cache";
