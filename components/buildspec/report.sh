# shellcheck shell=bash
# build, second command: counts the Dockerfile steps (FROM excluded) and those BuildKit reported as CACHED,
# says so, and warns loudly when the cache was not used as configured. It never fails the build.
#
# Sets: N_STEPS and N_CACHED (the registry strategy's export reads them).
: "${BUILD_LOG:?set by build.sh}"
: "${CACHE_FOUND:?set by probe.sh or pull.sh}"

steps=$(grep -E '^#[0-9]+ \[[^]]*[0-9]+/[0-9]+\] ' "$BUILD_LOG" | grep -vE '^#[0-9]+ \[[^]]*\] FROM ' | cut -d' ' -f1 | sort -u)
cached=$(grep -E '^#[0-9]+ CACHED' "$BUILD_LOG" | cut -d' ' -f1 | sort -u)
N_STEPS=$(printf '%s\n' "$steps" | grep -c . || true)
N_CACHED=$(comm -12 <(printf '%s\n' "$steps") <(printf '%s\n' "$cached") | grep -c . || true)
echo "layer cache: $N_CACHED of $N_STEPS steps cached"

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

# A hit whose layer BuildKit has to download may end in DONE rather than CACHED, with the download
# (`sha256:… done`, `extracting sha256:…`) on its lines: the count above is then a lower bound, and such
# downloads keep the warning below from firing on a build that did use the cache.
fetched=$(grep -E '^#[0-9]+ (extracting sha256:|sha256:[0-9a-f]{64} )' "$BUILD_LOG" | cut -d' ' -f1 | sort -u)
n_fetched=$(comm -12 <(printf '%s\n' "$steps") <(printf '%s\n' "$fetched") | grep -c . || true)
if [ "$CACHE_FOUND" = 1 ] && [ "$N_STEPS" -gt 0 ] && [ "$N_CACHED" = 0 ] && [ "$n_fetched" = 0 ]; then
    echo "WARNING: a layer cache was found in ECR but no step used it: every step was rebuilt"
fi
