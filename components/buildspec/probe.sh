# shellcheck shell=bash
# pre_build, inline and registry strategies: looks the cache up before the build. BuildKit treats every
# cache-import error as a warning and builds cold, so a wrong password, a missing permission or a malformed
# ref would otherwise go unnoticed. Only "not found" (the first build) is accepted; anything else fails the
# build here.
#
# Sets: CACHE_FOUND (1 or 0).
: "${CACHE_REF:?set by the buildspec prelude}"

# shellcheck disable=SC2034 # CACHE_FOUND is an output: report.sh and export.sh read it.
if probe=$(docker buildx imagetools inspect "$CACHE_REF" 2>&1); then
    CACHE_FOUND=1
    echo "layer cache: found $CACHE_REF"
else
    CACHE_FOUND=0
    case "$probe" in
        *"not found"* | *"manifest unknown"* | *MANIFEST_UNKNOWN*)
            echo "layer cache: $CACHE_REF is not there yet (first build): this build is cold"
            ;;
        *)
            echo "ERROR: cannot read the layer cache $CACHE_REF: $probe" >&2
            false
            ;;
    esac
fi
