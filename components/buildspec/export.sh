# shellcheck shell=bash
# build, third command, registry strategy only: the cache export, a second invocation on the same builder
# after the build succeeded, for trusted builds only. Every step it needs is in the builder's local cache by
# then, so it only writes the cache manifest.
#
# It reads the cache in ECR too (CACHE_FROM, as the build does): without it, records the build took from that
# cache without loading them (a multi-stage builder stage behind a cached `COPY --from`) are dropped from the
# export, and mode=max loses the builder stage (seen here: a 3-layer cache instead of 8 after a change below
# the COPY, then every builder step rebuilt). ECR needs an image manifest with OCI media types for a cache
# manifest (BuildKit >= 0.12).
#
# It is skipped when every step came from the cache in ECR and that cache is this build's own (CACHE_FOUND, probe.sh: a
# branch's first build, whose hits came from the default branch's cache, still writes its own): it is already complete, and exporting it
# again costs BuildKit time on every lazy layer for nothing, growing faster than the layer count
# (moby/buildkit#2184; bench/exportCost.ts measured 0.8 s at 24 steps and 2.3 s at 48 on the docker-container
# builder, about doubling a warm build, and 3.6 s / 20 s on the daemon's builder with the containerd store).
# report.sh's count is exact (a hit downloaded as DONE counts), so the skip fires exactly on a full hit. After a build
# that took more than one attempt it always exports: the count is then of the last attempt, whose hits include what
# the failed attempts built on this host (build.sh).
#
# A skipped build (key.sh) exports nothing: the build that made the key's image wrote its cache. A build whose key
# missed wrote the cache itself (CACHE_IN_BUILD, build.sh).
#
# With a cache per platform (two platforms emulated, CACHE_PLATFORMS) it writes each, <CACHE_REF>-<arch>, in an
# invocation of its own with that platform's `--platform` (this command's BUILD_FLAGS are the build's without its
# `--platform`): one export of both can miss one platform's records at random (moby/buildkit#2822;
# components/platforms.ts, cachePlatforms). The builder's local cache, which the build just filled, serves every step.
#
# A transient registry error is retried (registry_retry, retry.sh). The cache tag moves only when the export's last
# write, the cache manifest, succeeds, so an export that fails leaves the previous cache in place, complete and
# usable; the build then fails, after the image was pushed, and post_build says the cache was not updated.
: "${TRUSTED:?set by trust.sh}"
: "${CACHE_FOUND:?set by probe.sh}"
: "${BUILD_LOG:?set by build.sh}"
: "${N_STEPS:?set by report.sh}"
: "${N_CACHED:?set by report.sh}"
: "${BUILD_ATTEMPTS:?set by build.sh}"
: "${CACHE_REF:?set by the buildspec prelude}"
: "${CACHE_TO_OPTS?set by the buildspec prelude}"
: "${BUILD_FLAGS[@]?set by the buildspec prelude}"
: "${CACHE_PLATFORMS[@]?set by the buildspec prelude}"
: "${CACHE_FROM[@]?set by the buildspec prelude}"
: "${CONTEXT:?set by the buildspec prelude}"
: "${RETRY_SH:?set by retry.sh}"
: "${BRANCH_SH:?set by branch.sh}"

# shellcheck disable=SC1090 # the functions of retry.sh, and the refs of branch.sh and probe.sh or pull.sh, written for this build
. "$RETRY_SH"
# shellcheck disable=SC1090
. "$BRANCH_SH"
if [ "$TRUSTED" != 1 ]; then
    echo "layer cache: untrusted ref: the cache is not exported"
elif [ "${SKIPPED:-0}" = 1 ]; then
    echo "layer cache: the build was skipped: the cache is not exported"
elif [ "${CACHE_IN_BUILD:-0}" = 1 ]; then
    echo "layer cache: the build wrote the cache (a new key)"
elif [ "$CACHE_FOUND" = 1 ] && [ "$N_STEPS" -gt 0 ] && [ "$N_CACHED" = "$N_STEPS" ] && [ "$BUILD_ATTEMPTS" = 1 ]; then
    echo "layer cache: every step came from $CACHE_REF, which is already complete: not exported again"
else
    # The export of platform p's cache (none: CACHE_REF, with the build's flags alone).
    export_once() {
        docker buildx build "${BUILD_FLAGS[@]}" ${p:+--platform "$p"} "${CACHE_FROM[@]}" \
            --cache-to "type=registry,ref=$e_ref,$CACHE_TO_OPTS" \
            --output type=cacheonly "$CONTEXT"
    }
    # One export per entry of CACHE_PLATFORMS (its one empty entry: one cache).
    for p in "${CACHE_PLATFORMS[@]}"; do
        e_ref=$CACHE_REF${p:+-${p#*/}}
        registry_retry "the cache export to $e_ref" "$BUILD_LOG.export" export_once
        export_status=$?
        cat "$BUILD_LOG.export" >>"$BUILD_LOG"
        [ "$export_status" = 0 ] || break
    done
    (exit "$export_status")
fi
