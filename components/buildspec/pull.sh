# shellcheck shell=bash
# pre_build, pull strategy (the original recipe): pulls the image so that a plain --cache-from can use it.
# A missing image (the first build) is tolerated; whether the pull worked is recorded so the report can say when a
# pulled image gave no cache hit. A transient error is retried (registry_retry, retry.sh); one that outlasts the retries, or any
# other error (authentication, permission), fails the build: it would otherwise pass for a cold first build.
#
# It tries each of CACHE_REFS in order (branch.sh: a branch's image, then the default branch's) and uses the first it
# pulls: with this recipe only a pulled image serves as cache, and each pull is a whole image.
#
# Sets: CACHE_FOUND (1 or 0), and CACHE_FROM, appended to BRANCH_SH: `--cache-from <image>` (the prelude's form) of
# the image pulled, else of the first ref.
: "${CACHE_REFS[@]?set by branch.sh}"
: "${BRANCH_SH:?set by branch.sh}"
: "${RETRY_SH:?set by retry.sh}"

# shellcheck disable=SC1090 # the functions of retry.sh, written by it for this build
. "$RETRY_SH"
pull_output=$(mktemp)
pull_once() { docker pull "$1"; }
pulled=${CACHE_REFS[0]}
pull_ok=1
# shellcheck disable=SC2034 # CACHE_FOUND is an output: report.sh reads it.
CACHE_FOUND=0
for ref in "${CACHE_REFS[@]}"; do
    if registry_retry "docker pull $ref" "$pull_output" pull_once "$ref"; then
        # shellcheck disable=SC2034
        CACHE_FOUND=1
        pulled=$ref
        break
    fi
    case "$RETRY_OUTCOME:$RETRY_ERROR" in
        exhausted:*) pull_ok=0 ;;
        *"not found"* | *"manifest unknown"* | *MANIFEST_UNKNOWN*)
            echo "layer cache: $ref is not there yet$([ "$ref" = "${CACHE_REFS[-1]}" ] && echo " (first build): this build is cold")"
            ;;
        *)
            echo "ERROR: cannot pull $ref: $RETRY_ERROR" >&2
            pull_ok=0
            ;;
    esac
    if [ "$pull_ok" = 0 ]; then break; fi
done
rm -f "$pull_output"
CACHE_FROM=(--cache-from "$pulled")
declare -p CACHE_FROM >>"$BRANCH_SH"
[ "$pull_ok" = 1 ]
