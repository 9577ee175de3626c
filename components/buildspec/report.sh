# shellcheck shell=bash
# build, second command: counts the Dockerfile steps (FROM excluded) and those that came from the cache, says
# so, and warns loudly when the cache was not used as configured. It never fails the build.
#
# A build that took more than one attempt (build.sh) is counted on its last attempt, where the steps an earlier
# attempt finished come from the builder's own cache: the line after the count says so.
#
# A build key.sh skipped (SKIPPED=1) ran no step: 0 and 0, nothing said.
#
# Sets: N_STEPS and N_CACHED (the registry strategy's export reads them).
: "${BUILD_LOG:?set by build.sh}"
: "${BUILD_ATTEMPTS:?set by build.sh}"
: "${CACHE_FOUND:?set by probe.sh or pull.sh}"

# A build key.sh skipped ran no step: nothing to count or warn about.
if [ "${SKIPPED:-0}" = 1 ]; then
    N_STEPS=0 N_CACHED=0
else
    steps=$(grep -E '^#[0-9]+ \[[^]]*[0-9]+/[0-9]+\] ' "$BUILD_LOG" | grep -vE '^#[0-9]+ \[[^]]*\] FROM ' | cut -d' ' -f1 | sort -u)
    # A hit is a step BuildKit printed as CACHED, or one it printed only as DONE while downloading its layers: a
    # hit whose layer a later step needs (the step just before a change, a builder stage's last step behind a
    # COPY --from) can end that way. Its download (`sha256:… done`, `extracting sha256:…`) is on its own lines,
    # and, unlike a step that ran, it prints no process output (`#N <seconds> <text>`).
    cached=$(grep -E '^#[0-9]+ CACHED' "$BUILD_LOG" | cut -d' ' -f1 | sort -u)
    fetched=$(grep -E '^#[0-9]+ (extracting sha256:|sha256:[0-9a-f]{64} )' "$BUILD_LOG" | cut -d' ' -f1 | sort -u)
    ran=$(grep -E '^#[0-9]+ [0-9]+\.[0-9]+ ' "$BUILD_LOG" | cut -d' ' -f1 | sort -u)
    hits=$({
        printf '%s\n' "$cached"
        comm -23 <(printf '%s\n' "$fetched") <(printf '%s\n' "$ran")
    } | grep . | sort -u || true)
    N_STEPS=$(printf '%s\n' "$steps" | grep -c . || true)
    N_CACHED=$(comm -12 <(printf '%s\n' "$steps") <(printf '%s\n' "$hits") | grep -c . || true)
    echo "layer cache: $N_CACHED of $N_STEPS steps cached"
    if [ "$BUILD_ATTEMPTS" -gt 1 ]; then
        echo "layer cache: counted on attempt $BUILD_ATTEMPTS of the build, which took what the earlier attempts built from the builder's own cache"
    fi

    # BuildKit reports a missing cache ref as an ERROR line and carries on; that is expected on a first build (the
    # probe said so), and any other import or export error is not. BuildKit prints a failed import (e.g. a cache
    # manifest whose blobs can't be fetched) as `#N ERROR: …` on the import vertex's own line, so the ERROR lines
    # of the cache vertices are collected too.
    cache_vertices=$(grep -E '^#[0-9]+ (importing cache manifest from|exporting cache)' "$BUILD_LOG" | cut -d' ' -f1 | sort -u | paste -sd'|' - || true)
    cache_errors=$({
        grep -iE 'failed to configure .*cache (importer|exporter)|importing cache manifest.*(error|failed)|exporting cache.*(error|failed)' "$BUILD_LOG"
        if [ -n "$cache_vertices" ]; then grep -E "^($cache_vertices) ERROR" "$BUILD_LOG"; fi
    } | sort -u || true)
    if [ "$CACHE_FOUND" = 0 ]; then cache_errors=$(printf '%s\n' "$cache_errors" | grep -viE ': not found$' || true); fi
    if [ -n "$cache_errors" ]; then
        echo "WARNING: BuildKit reported a layer-cache error, so this build did not use the cache as configured: $cache_errors"
    fi

    # Downloads on a step's lines (a hit, or the parent of a step that ran) also keep the warning below from firing
    # on a build that did use the cache.
    n_fetched=$(comm -12 <(printf '%s\n' "$steps") <(printf '%s\n' "$fetched") | grep -c . || true)
    if [ "$CACHE_FOUND" = 1 ] && [ "$N_STEPS" -gt 0 ] && [ "$N_CACHED" = 0 ] && [ "$n_fetched" = 0 ]; then
        echo "WARNING: a layer cache was found in ECR but no step used it: every step was rebuilt"
    fi
fi
