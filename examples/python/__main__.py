"""CachedDockerBuild from Python, through the ecr-layer-cache package (`pulumi package add`).

The SDK `pulumi_ecr_layer_cache` is generated from the package schema: arguments in snake_case, enums as
classes whose members may also be given as plain strings, outputs as attributes.
"""

import pulumi
import pulumi_ecr_layer_cache as ecr_layer_cache

config = pulumi.Config()

cache = ecr_layer_cache.CachedDockerBuild(
    "cache",
    source_url="https://github.com/aws/aws-codebuild-docker-images.git",
    source_version="master",
    trusted_refs=["master", "refs/tags/v1.0.0"],
    dockerfile_dir="al/x86_64/standard/5.0",
    cache_strategy=ecr_layer_cache.CacheStrategy.REGISTRY,
    compute_type=ecr_layer_cache.ComputeType.BUILD_GENERAL1_MEDIUM,
    encryption_type=ecr_layer_cache.EncryptionType.KMS,
    image_tag_mutability=ecr_layer_cache.TagMutability.IMMUTABLE,
    untagged_expiry_days=14,
    max_tagged_images=50,
    build_args={"PYTHON_VERSION": "3.12"},
    # A secret in config and in the package schema: None (public source) when unset.
    github_token=config.get_secret("githubToken"),
    tags={"team": "platform"},
)

pulumi.export("project_name", cache.project_name)
pulumi.export("image_uri", cache.image_uri)
pulumi.export("repository_arn", cache.repository_arn)
pulumi.export("role_arn", cache.role_arn)
