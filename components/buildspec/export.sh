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
# It is skipped when every step came from the cache in ECR: that cache is already complete, and exporting it
# again costs BuildKit time on every lazy layer for nothing, growing faster than the layer count
# (moby/buildkit#2184; bench/export-cost.ts measured 0.8 s at 24 steps and 2.3 s at 48 on the docker-container
# builder, about doubling a warm build, and 3.6 s / 20 s on the daemon's builder with the containerd store).
# report.sh's count is exact (a hit downloaded as DONE counts), so the skip fires exactly on a full hit.
: "${TRUSTED:?set by trust.sh}"
: "${CACHE_FOUND:?set by probe.sh}"
: "${BUILD_LOG:?set by build.sh}"
: "${N_STEPS:?set by report.sh}"
: "${N_CACHED:?set by report.sh}"
: "${CACHE_REF:?set by the buildspec prelude}"
: "${BUILD_FLAGS[@]?set by the buildspec prelude}"
: "${CACHE_FROM[@]?set by the buildspec prelude}"
: "${CONTEXT:?set by the buildspec prelude}"

if [ "$TRUSTED" != 1 ]; then
    echo "layer cache: untrusted ref: the cache is not exported"
elif [ "$CACHE_FOUND" = 1 ] && [ "$N_STEPS" -gt 0 ] && [ "$N_CACHED" = "$N_STEPS" ]; then
    echo "layer cache: every step came from $CACHE_REF, which is already complete: not exported again"
else
    set -o pipefail
    docker buildx build "${BUILD_FLAGS[@]}" "${CACHE_FROM[@]}" \
        --cache-to "type=registry,ref=$CACHE_REF,mode=max,image-manifest=true,oci-mediatypes=true" \
        --output type=cacheonly "$CONTEXT" 2>&1 | tee -a "$BUILD_LOG"
fi
