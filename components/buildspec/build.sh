# shellcheck shell=bash
# build, first command: the build. It reads the cache (CACHE_FROM) on every build. A trusted build adds
# PUSH_FLAGS, which push the image (and, for the inline strategy, write the cache into it); an untrusted one
# gets `--output type=cacheonly`: it reads the cache, produces no image and pushes nothing, and a builder with
# lazy cache refs then downloads no cached layer at all. The push is part of the build, so a failed build
# pushes nothing.
#
# BUILD_FLAGS is the part of the argv that the registry strategy's export shares: progress, no provenance or
# SBOM manifests, the Dockerfile, the build args, the network.
#
# Sets: BUILD_LOG, the build's plain progress (one file per build: builds that share a /tmp, as with the local
# stand-in, must not read each other's log); IMAGE_PUSHED, 1 only if a trusted build, and so its push,
# succeeded.
: "${TRUSTED:?set by trust.sh}"
: "${CODEBUILD_BUILD_ID:?set by CodeBuild}"
: "${BUILD_FLAGS[@]?set by the buildspec prelude}"
: "${CACHE_FROM[@]?set by the buildspec prelude}"
: "${PUSH_FLAGS[@]?set by the buildspec prelude}"
: "${CONTEXT:?set by the buildspec prelude}"

set -o pipefail
BUILD_LOG="/tmp/layer-cache-build.${CODEBUILD_BUILD_ID##*:}.log"
WRITE_FLAGS=(--output type=cacheonly)
if [ "$TRUSTED" = 1 ]; then WRITE_FLAGS=("${PUSH_FLAGS[@]}"); fi
IMAGE_PUSHED=0
# `&&` keeps a failure the command's status.
# shellcheck disable=SC2034 # IMAGE_PUSHED is an output: post_build.sh reads it.
docker buildx build "${BUILD_FLAGS[@]}" "${CACHE_FROM[@]}" "${WRITE_FLAGS[@]}" "$CONTEXT" 2>&1 | tee "$BUILD_LOG" &&
    IMAGE_PUSHED="$TRUSTED"
