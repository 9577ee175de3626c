# shellcheck shell=bash
# pre_build, registry strategy with the docker-container builder only: gets the builder's BuildKit image, then creates
# and selects a buildx builder running BuildKit in a container (CodeBuild's daemon has no containerd image store, which
# the registry cache export needs from the default builder).
#
# The image comes from the first of BUILDER_SOURCES that serves it, tried in order: the pull-through cache, the image,
# its mirrors, each by the same digest when the image is pinned (components/builderImage.ts); a pull by digest refuses
# bytes that don't match it. A transient registry error is retried (registry_retry, retry.sh); anything else (the
# reference isn't there, the bytes don't match), or a source still down after its retries, moves on to the next. The
# image pulled is named BUILDER_IMAGE (a name on localhost), and the log says which source served it. When none does:
# one ERROR line naming each source tried and why, and the command fails, so pre_build ends and nothing is built or
# pushed. A host that already has BUILDER_IMAGE of a pinned image (the name holds the digest; e.g. a Docker server
# after an earlier build) pulls nothing.
#
# DRIVER_OPTS starts with `--driver-opt image=<BUILDER_IMAGE>` and, on a host network, adds `--driver-opt network=host`:
# buildx tries a pull of that name first, which fails at once (no registry on localhost), and then starts the local image
# (docker/buildx, driver/docker-container/driver.go). BUILDKITD_CONFIG, when not empty, is a buildkitd.toml (the
# registry mirrors of the pull-through caches): it is written to this build's own file and handed to the builder.
# Starting the builder is retried on a transient error too, after removing what the failed attempt may have left of
# the builder. It runs last in pre_build, after key.sh: a build that key.sh skipped (SKIPPED=1) starts no builder.
: "${BUILDER_NAME:?set by the buildspec prelude}"
: "${BUILDER_SOURCES[@]?set by the buildspec prelude}"
: "${DRIVER_OPTS[@]?set by the buildspec prelude}"
: "${BUILDKITD_CONFIG?set by the buildspec prelude}"
: "${CODEBUILD_BUILD_ID:?set by CodeBuild}"
: "${RETRY_SH:?set by retry.sh}"

# shellcheck disable=SC1090 # the functions of retry.sh, written by it for this build
. "$RETRY_SH"
BUILDER_IMAGE=${DRIVER_OPTS[1]#image=}
config_flags=()
if [ -n "$BUILDKITD_CONFIG" ]; then
    buildkitd_toml="/tmp/layer-cache-buildkitd.${CODEBUILD_BUILD_ID##*:}.toml"
    printf '%s' "$BUILDKITD_CONFIG" >"$buildkitd_toml"
    config_flags=(--buildkitd-config "$buildkitd_toml")
    echo "layer cache: the builder pulls through the pull-through caches (registry mirrors in $buildkitd_toml)"
fi
pull_builder_image() { docker pull --quiet "$1" && docker tag "$1" "$BUILDER_IMAGE"; }
builder_image() {
    local source tried=""
    # Only a pinned image's local name says what it holds (…:sha256-<hex>); an unpinned one is pulled every time.
    if [[ $BUILDER_IMAGE == *:sha256-* ]] && docker image inspect "$BUILDER_IMAGE" >/dev/null 2>&1; then
        echo "layer cache: the builder image is already on this host"
        return
    fi
    for source in "${BUILDER_SOURCES[@]}"; do
        # registry_retry's own ERROR line (retries run out) is left out: the one below names every source tried.
        if registry_retry "pulling the builder image from $source" "$(mktemp)" pull_builder_image "$source" 2>/dev/null; then
            echo "layer cache: the builder image came from $source"
            return
        fi
        tried+="${tried:+; }$source ($RETRY_TRIES attempts): $RETRY_ERROR"
    done
    echo "ERROR: no source served the builder image, so nothing is built: $tried" >&2
    return 1
}
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
    builder_image && registry_retry "starting the builder $BUILDER_NAME (docker buildx create, ${DRIVER_OPTS[*]})" "$(mktemp)" create_builder
fi
