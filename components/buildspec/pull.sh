# shellcheck shell=bash
# pre_build, pull strategy (the original recipe): pulls the image so that a plain --cache-from can use it.
# A missing image (the first build) is tolerated; whether the pull worked is recorded so the report can say when a
# pulled image gave no cache hit. A transient error is retried (registry_retry, retry.sh); one that outlasts the retries, or any
# other error (authentication, permission), fails the build: it would otherwise pass for a cold first build.
#
# Sets: CACHE_FOUND (1 or 0).
: "${IMAGE_REF:?set by the buildspec prelude}"
: "${RETRY_SH:?set by retry.sh}"

# shellcheck disable=SC1090 # the functions of retry.sh, written by it for this build
. "$RETRY_SH"
pull_output=$(mktemp)
pull_once() { docker pull "$IMAGE_REF"; }
# shellcheck disable=SC2034 # CACHE_FOUND is an output: report.sh reads it.
if registry_retry "docker pull $IMAGE_REF" "$pull_output" pull_once; then
    CACHE_FOUND=1
    rm -f "$pull_output"
else
    rm -f "$pull_output"
    CACHE_FOUND=0
    case "$RETRY_OUTCOME:$RETRY_ERROR" in
        exhausted:*) false ;;
        *"not found"* | *"manifest unknown"* | *MANIFEST_UNKNOWN*)
            echo "layer cache: $IMAGE_REF is not there yet (first build): this build is cold"
            ;;
        *)
            echo "ERROR: cannot pull $IMAGE_REF: $RETRY_ERROR" >&2
            false
            ;;
    esac
fi
