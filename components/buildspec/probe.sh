# shellcheck shell=bash
# pre_build, inline and registry strategies: looks the cache up before the build. BuildKit treats every
# cache-import error as a warning and builds cold, so a wrong password, a missing permission or a malformed
# ref would otherwise go unnoticed. Only "not found" (the first build) is accepted; a transient error is retried
# (registry_retry, retry.sh), and anything else, or a transient error that outlasts the retries, fails the build here.
#
# Sets: CACHE_FOUND (1 or 0).
: "${CACHE_REF:?set by the buildspec prelude}"
: "${RETRY_SH:?set by retry.sh}"

# shellcheck disable=SC1090 # the functions of retry.sh, written by it for this build
. "$RETRY_SH"
probe_output=$(mktemp)
probe_once() { docker buildx imagetools inspect "$CACHE_REF"; }
# shellcheck disable=SC2034 # CACHE_FOUND is an output: report.sh and export.sh read it.
if registry_retry -q "reading the layer cache $CACHE_REF" "$probe_output" probe_once; then
    CACHE_FOUND=1
    rm -f "$probe_output"
    echo "layer cache: found $CACHE_REF"
else
    CACHE_FOUND=0
    probe=$(cat "$probe_output")
    rm -f "$probe_output"
    case "$RETRY_OUTCOME:$probe" in
        exhausted:*) false ;;
        *"not found"* | *"manifest unknown"* | *MANIFEST_UNKNOWN*)
            echo "layer cache: $CACHE_REF is not there yet (first build): this build is cold"
            ;;
        *)
            echo "ERROR: cannot read the layer cache $CACHE_REF: $probe" >&2
            false
            ;;
    esac
fi
