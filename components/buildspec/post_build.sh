# shellcheck shell=bash
# post_build: says what the build did to ECR. It runs even when the build failed (CodeBuild then sets
# CODEBUILD_BUILD_SUCCEEDING=0), and only reports.
#
# IMAGE_PUSHED (set by build.sh) and CODEBUILD_BUILD_SUCCEEDING may be unset: a build that never got to set
# IMAGE_PUSHED pushed nothing, and no CODEBUILD_BUILD_SUCCEEDING counts as a failure.
: "${TRUSTED:?set by trust.sh}"
: "${CACHE_STRATEGY:?set by the buildspec prelude}"
: "${IMAGE_REF:?set by the buildspec prelude}"
: "${CACHE_REF:?set by the buildspec prelude}"
: "${BRANCH_SH:?set by branch.sh}"

# shellcheck disable=SC1090 # this build's refs (branch.sh)
. "$BRANCH_SH"

if [ "${CODEBUILD_BUILD_SUCCEEDING:-0}" != 1 ] && [ "${IMAGE_PUSHED:-0}" = 1 ]; then
    echo "layer cache: the build pushed $IMAGE_REF but then failed: the cache in ECR was not updated"
elif [ "${CODEBUILD_BUILD_SUCCEEDING:-0}" != 1 ]; then
    echo "layer cache: the build failed: nothing was pushed and the cache in ECR is unchanged"
elif [ "$TRUSTED" = 1 ]; then
    case "$CACHE_STRATEGY" in
        inline) echo "layer cache: pushed $IMAGE_REF and wrote the layer cache to $CACHE_REF" ;;
        registry) echo "layer cache: pushed $IMAGE_REF; the layer cache in $CACHE_REF is up to date" ;;
        pull) echo "layer cache: pushed $IMAGE_REF" ;;
        *)
            echo "ERROR: unknown CACHE_STRATEGY '$CACHE_STRATEGY'" >&2
            false
            ;;
    esac
else
    echo "layer cache: untrusted ref: nothing was pushed"
fi
