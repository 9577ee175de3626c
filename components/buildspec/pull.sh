# shellcheck shell=bash
# pre_build, pull strategy (the original recipe): pulls the image so that a plain --cache-from can use it.
# A failed pull (the first build) is tolerated; whether it worked is recorded so the report can say when a
# pulled image gave no cache hit.
#
# Sets: CACHE_FOUND (1 or 0).
: "${IMAGE_REF:?set by the buildspec prelude}"

# shellcheck disable=SC2034 # CACHE_FOUND is an output: report.sh reads it.
if docker pull "$IMAGE_REF"; then CACHE_FOUND=1; else CACHE_FOUND=0; fi
