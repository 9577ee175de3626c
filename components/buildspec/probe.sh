# shellcheck shell=bash
# pre_build, inline and registry strategies: looks the cache up before the build. BuildKit treats every
# cache-import error as a warning and builds cold, so a wrong password, a missing permission or a malformed
# ref would otherwise go unnoticed. Only "not found" (the first build) is accepted; a transient error is retried
# (registry_retry, retry.sh), and anything else, or a transient error that outlasts the retries, fails the build here.
#
# It looks up each of CACHE_REFS in order (branch.sh: a branch's cache, then the default branch's) and imports every
# one it finds (BuildKit takes several --cache-from and uses whichever holds a step); a missing one is passed over,
# so a new branch starts from the default branch's cache. With none found, the build imports the first, which
# BuildKit then reports as not found.
#
# A build key.sh skipped (SKIPPED=1) reads no cache: CACHE_FOUND=0, nothing is looked up.
#
# Sets: CACHE_FOUND (1 if the first was found: the build's own cache, the one a trusted build writes; with a cache per
# platform, the first of CACHE_PLATFORMS' count, all of them; what report.sh warns about and export.sh's skip rests
# on), and CACHE_FROM, appended to BRANCH_SH: `--cache-from type=registry,ref=<ref>` per ref imported (the prelude's form).
: "${CACHE_REFS[@]?set by branch.sh}"
: "${CACHE_PLATFORMS[@]?set by the buildspec prelude}"
: "${BRANCH_SH:?set by branch.sh}"
: "${RETRY_SH:?set by retry.sh}"

# shellcheck disable=SC1090 # the functions of retry.sh, written by it for this build
. "$RETRY_SH"
probe_output=$(mktemp)
probe_once() { docker buildx imagetools inspect "$1"; }
# shellcheck disable=SC2034 # CACHE_FOUND is an output: report.sh, export.sh and metrics.sh read it.
CACHE_FOUND=0 CACHE_FROM=() probe_ok=1 own=0
for i in "${!CACHE_REFS[@]}"; do
    ref=${CACHE_REFS[i]}
    [ "${SKIPPED:-0}" != 1 ] || break
    if registry_retry -q "reading the layer cache $ref" "$probe_output" probe_once "$ref"; then
        # own: how many of the build's own caches (the first, one per entry of CACHE_PLATFORMS) were found.
        # shellcheck disable=SC2034
        if [ $((own += i < ${#CACHE_PLATFORMS[@]})) = ${#CACHE_PLATFORMS[@]} ]; then CACHE_FOUND=1; fi
        CACHE_FROM+=(--cache-from "type=registry,ref=$ref")
        echo "layer cache: found $ref"
    else
        probe=$(cat "$probe_output")
        case "$RETRY_OUTCOME:$probe" in
            exhausted:*) probe_ok=0 ;;
            *"not found"* | *"manifest unknown"* | *MANIFEST_UNKNOWN*)
                echo "layer cache: $ref is not there yet$([ "${#CACHE_FROM[@]}$ref" = "0${CACHE_REFS[-1]}" ] && echo " (first build): this build is cold")"
                ;;
            *)
                echo "ERROR: cannot read the layer cache $ref: $probe" >&2
                probe_ok=0
                ;;
        esac
    fi
    if [ "$probe_ok" = 0 ]; then break; fi
done
rm -f "$probe_output"
if [ "${#CACHE_FROM[@]}" = 0 ]; then CACHE_FROM=(--cache-from "type=registry,ref=${CACHE_REFS[0]}"); fi
declare -p CACHE_FROM >>"$BRANCH_SH"
[ "$probe_ok" = 1 ]
