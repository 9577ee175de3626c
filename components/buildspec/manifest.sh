# shellcheck shell=bash
# build, last command, the manifest job of a batch build only (components/platforms.ts): joins the platform jobs'
# images (PLATFORM_REFS, `<image tag>-<arch>`) into one manifest list under IMAGE_REF with
# `docker buildx imagetools create`, which copies manifests registry-side and pulls no layer.
#
# CodeBuild runs this job after the platform jobs completed. It first reads each platform's image, and fails, naming
# the platform and its job, when one is missing (its job failed, or never pushed to this repository) or is not of
# its platform; it then writes nothing, and IMAGE_REF keeps its previous manifest list. An untrusted build pushed no
# platform image and writes no manifest list. A transient registry error is retried (registry_retry, retry.sh).
: "${TRUSTED:?set by trust.sh}"
: "${IMAGE_REF:?set by the buildspec prelude}"
: "${PLATFORMS[@]?set by the buildspec prelude}"
: "${PLATFORM_JOBS[@]?set by the buildspec prelude}"
: "${PLATFORM_REFS[@]?set by the buildspec prelude}"
: "${RETRY_SH:?set by retry.sh}"

# shellcheck disable=SC1090 # the functions of retry.sh, written by it for this build
. "$RETRY_SH"
manifest_out=$(mktemp)
manifest_ok=1
if [ "$TRUSTED" != 1 ]; then
    echo "layer cache: untrusted ref: no platform image was pushed, and no manifest list is written"
else
    for i in "${!PLATFORMS[@]}"; do
        ref=${PLATFORM_REFS[$i]}
        inspect_once() { docker buildx imagetools inspect --format '{{json .Image}}' "$ref"; }
        if ! registry_retry -q "reading $ref" "$manifest_out" inspect_once ||
            ! grep -Eq "\"architecture\": ?\"${PLATFORMS[$i]#*/}\"" "$manifest_out"; then
            echo "ERROR: no ${PLATFORMS[$i]} image at $ref (job ${PLATFORM_JOBS[$i]} failed or pushed nothing): the manifest list $IMAGE_REF is not written. $RETRY_ERROR" >&2
            manifest_ok=0
        fi
    done
    create_once() { docker buildx imagetools create --tag "$IMAGE_REF" "${PLATFORM_REFS[@]}"; }
    if [ "$manifest_ok" = 1 ] && registry_retry "writing the manifest list $IMAGE_REF" "$manifest_out" create_once; then
        echo "layer cache: pushed the manifest list $IMAGE_REF (${PLATFORMS[*]})"
    else
        manifest_ok=0
    fi
fi
rm -f "$manifest_out"
[ "$manifest_ok" = 1 ]
