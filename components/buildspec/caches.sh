# shellcheck shell=bash
# pre_build, right after branch.sh, two platforms emulated only: a cache per platform (components/platforms.ts,
# cachePlatforms: one cache of both can miss one platform's records at random, moby/buildkit#2822). Each ref of
# CACHE_REFS becomes one per platform of CACHE_PLATFORMS, <ref>-<arch>, in the same order: the build's own caches
# first (`buildcache-amd64`, `buildcache-arm64`, or a branch's `buildcache-br-<slug>-<hash>-amd64`, which the expiry
# pattern `<cacheTag>-br-*` still selects), then the default branch's. probe.sh imports each it finds; export.sh writes
# the build's own, one invocation per platform.
#
# Reads CACHE_REFS (set by branch.sh; not declared below, since this command sets it anew: run before branch.sh, it
# would leave CACHE_REFS empty, which probe.sh's declaration refuses). Sets: CACHE_REFS (per platform).
: "${CACHE_PLATFORMS[@]?set by the buildspec prelude}"

refs=()
for ref in "${CACHE_REFS[@]}"; do
    for plat in "${CACHE_PLATFORMS[@]}"; do refs+=("$ref-${plat#*/}"); done
done
# shellcheck disable=SC2034 # CACHE_REFS is an output: probe.sh reads it.
CACHE_REFS=("${refs[@]}")
echo "layer cache: a cache per platform: ${CACHE_REFS[*]}"
