# shellcheck shell=bash
# pre_build, registry strategy with the docker-container builder only: creates and selects a buildx builder
# running BuildKit in a container (CodeBuild's daemon has no containerd image store, which the registry cache
# export needs from the default builder). DRIVER_OPTS holds `--driver-opt image=<BuildKit image>` and, on a
# host network, `--driver-opt network=host`. BUILDKITD_CONFIG, when not empty, is a buildkitd.toml (the registry
# mirrors of the pull-through caches): it is written to this build's own file and handed to the builder.
# Starting the builder pulls its image: a transient registry error is retried (registry_retry, retry.sh), after removing what the
# failed attempt may have left of the builder. It runs last in pre_build, after key.sh: a build that key.sh skipped
# (SKIPPED=1) starts no builder.
: "${BUILDER_NAME:?set by the buildspec prelude}"
: "${DRIVER_OPTS[@]?set by the buildspec prelude}"
: "${BUILDKITD_CONFIG?set by the buildspec prelude}"
: "${CODEBUILD_BUILD_ID:?set by CodeBuild}"
: "${RETRY_SH:?set by retry.sh}"

# shellcheck disable=SC1090 # the functions of retry.sh, written by it for this build
. "$RETRY_SH"
config_flags=()
if [ -n "$BUILDKITD_CONFIG" ]; then
    buildkitd_toml="/tmp/layer-cache-buildkitd.${CODEBUILD_BUILD_ID##*:}.toml"
    printf '%s' "$BUILDKITD_CONFIG" >"$buildkitd_toml"
    config_flags=(--buildkitd-config "$buildkitd_toml")
    echo "layer cache: the builder pulls through the pull-through caches (registry mirrors in $buildkitd_toml)"
fi
create_builder() {
    docker buildx create --name "$BUILDER_NAME" --driver docker-container "${DRIVER_OPTS[@]}" "${config_flags[@]}" --use --bootstrap || {
        local status=$?
        docker buildx rm "$BUILDER_NAME" >/dev/null 2>&1
        return "$status"
    }
}
# A build that key.sh skipped builds nothing: no builder to start.
if [ "${SKIPPED:-0}" = 1 ]; then
    echo "layer cache: skipped: the builder $BUILDER_NAME is not started"
else
    registry_retry "starting the builder $BUILDER_NAME (docker buildx create, ${DRIVER_OPTS[*]})" "$(mktemp)" create_builder
fi
