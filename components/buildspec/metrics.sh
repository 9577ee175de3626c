# shellcheck shell=bash
# post_build, last command: prints the build's one machine-readable line, a JSON object on a line of its own,
# which the log metric filters of components/monitoring.ts turn into CloudWatch metrics. It is an interface:
# its fields are pinned by BUILD_EVENT_SCHEMA (components/buildEvent.ts) and tested; add fields, never rename.
# It never fails the build.
#
# The times come from the markers the buildspec puts before every command: LAYER_CACHE_T_<fragment>, the
# epoch milliseconds (`date +%s%3N`) at which that command started (CodeBuild exposes no phase durations as
# variables). A marker of a command that never ran is unset, and so is every value a command that never ran
# would have set (a failed build sets neither N_STEPS nor N_CACHED, and may not set IMAGE_PUSHED): such
# fields are null. `seconds.total` runs from the first command of pre_build to the start of this one, so
# CodeBuild's provisioning, install and source download are not in it (CodeBuild's own Duration metric has them).
#
# The export field: `written` when this build wrote the layer cache (inline: with its push; registry: the
# export ran and wrote it, or the build wrote it beside its push, CACHE_IN_BUILD: then `seconds.export` is only
# export.sh's check and the export's time is in `seconds.build`), `skipped` when the registry export was skipped because every step came from the
# cache (export.sh's rule: a retried build always exports), `none` otherwise (untrusted, failed, or the pull strategy, which writes no cache).
#
# Skip unchanged builds (key.sh): `skipped` is true when the build was skipped (its export is then `none`), `key`
# the content key's tag, null without one (skipUnchanged off, or no key could be computed).
: "${TRUSTED:?set by trust.sh}"
: "${CACHE_FOUND:?set by probe.sh or pull.sh}"
: "${CACHE_STRATEGY:?set by the buildspec prelude}"
: "${IMAGE_REF:?set by the buildspec prelude}"
: "${CACHE_REF:?set by the buildspec prelude}"
: "${BRANCH_SH:?set by branch.sh}"
: "${CODEBUILD_BUILD_ID:?set by CodeBuild}"
: "${LAYER_CACHE_T_trust:?set by the command markers}"
: "${LAYER_CACHE_T_metrics:?set by the command markers}"

# shellcheck disable=SC1090 # this build's refs (branch.sh)
. "$BRANCH_SH"
# A JSON string; a JSON boolean of a 1 (else false); a number, null when empty.
lc_str() {
    local s=${1//\\/\\\\}
    printf '"%s"' "${s//\"/\\\"}"
}
lc_bool() { if [ "$1" = 1 ]; then printf true; else printf false; fi; }
lc_num() { printf %s "${1:-null}"; }
# Seconds between two millisecond markers, 3 decimals; null when either is unset.
lc_sec() { if [ -n "$1" ] && [ -n "$2" ]; then printf %d.%03d $((($2 - $1) / 1000)) $((($2 - $1) % 1000)); else printf null; fi; }

lc_ok=0
if [ "${CODEBUILD_BUILD_SUCCEEDING:-0}" = 1 ]; then lc_ok=1; fi
lc_steps=${N_STEPS:-}
lc_cached=${N_CACHED:-}
lc_rebuilt=
lc_ratio=
if [ -n "$lc_steps" ] && [ -n "$lc_cached" ]; then
    lc_rebuilt=$((lc_steps - lc_cached))
    if [ "$lc_steps" -gt 0 ]; then lc_ratio=$(awk -v c="$lc_cached" -v s="$lc_steps" 'BEGIN { printf "%.3f", c / s }'); fi
fi
lc_pushed=${IMAGE_PUSHED:-0}
lc_export=none
if [ "$lc_ok" = 1 ] && [ "$TRUSTED" = 1 ] && [ "${SKIPPED:-0}" != 1 ]; then
    case "$CACHE_STRATEGY" in
        inline) if [ "$lc_pushed" = 1 ]; then lc_export=written; fi ;;
        registry)
            if [ -n "${LAYER_CACHE_T_export:-}" ]; then
                lc_export=written
                if [ "${CACHE_IN_BUILD:-0}" != 1 ] && [ "$CACHE_FOUND" = 1 ] && [ "${lc_steps:-0}" -gt 0 ] && [ "$lc_cached" = "$lc_steps" ] && [ "${BUILD_ATTEMPTS:-1}" = 1 ]; then lc_export=skipped; fi
            fi
            ;;
    esac
fi
lc_key=null
if [ -n "${KEY_REF:-}" ]; then lc_key=$(lc_str "${KEY_REF:-}"); fi
# MB pushed: the sizes BuildKit prints on `pushing layer <id> <done> / <total>` lines, when it prints them (the
# daemon's builder does; the docker-container builder prints only `pushing layers`): null when there are none.
# awk reads a size's number from its leading digits ("12.5MB" is 12.5).
lc_mb=
lc_log=${BUILD_LOG:-}
if [ -n "$lc_log" ] && [ -s "$lc_log" ]; then
    # The awk program is written unindented: a command carries its lines without indentation (index.ts), and a test
    # holds that to changing nothing bash runs, strings included.
    lc_mb=$(awk '$2 == "pushing" && $3 == "layer" && $5 ~ /B$/ && $6 == "/" { last[$4] = $7 }
END { for (id in last) { v = last[id]; u = v; sub(/^[0-9.]+/, "", u); t += v * (u == "GB" ? 1000 : u == "MB" ? 1 : u == "kB" ? 0.001 : u == "B" ? 0.000001 : 0); n++ }
if (n) printf "%.3f", t }' "$lc_log")
fi
# The build command ended when report.sh started; without report.sh (a failed build), when post_build did.
lc_post=${LAYER_CACHE_T_post_build:-$LAYER_CACHE_T_metrics}
lc_build=${LAYER_CACHE_T_build:-}
printf '{"layerCache":1,"project":%s,"buildId":%s,"strategy":%s,"trusted":%s,"succeeded":%s,"cacheFound":%s,"steps":%s,"cached":%s,"rebuilt":%s,"hitRatio":%s,"pushed":%s,"export":"%s","mbPushed":%s,"seconds":{"preBuild":%s,"build":%s,"export":%s,"total":%s},"image":%s,"cacheRef":%s,"skipped":%s,"key":%s}\n' \
    "$(lc_str "${CODEBUILD_BUILD_ID%%:*}")" "$(lc_str "$CODEBUILD_BUILD_ID")" "$(lc_str "$CACHE_STRATEGY")" \
    "$(lc_bool "$TRUSTED")" "$(lc_bool "$lc_ok")" "$(lc_bool "$CACHE_FOUND")" \
    "$(lc_num "$lc_steps")" "$(lc_num "$lc_cached")" "$(lc_num "$lc_rebuilt")" "$(lc_num "$lc_ratio")" \
    "$(lc_bool "$lc_pushed")" "$lc_export" "$(lc_num "$lc_mb")" \
    "$(lc_sec "$LAYER_CACHE_T_trust" "$lc_build")" "$(lc_sec "$lc_build" "${LAYER_CACHE_T_report:-$lc_post}")" \
    "$(lc_sec "${LAYER_CACHE_T_export:-}" "$lc_post")" "$(lc_sec "$LAYER_CACHE_T_trust" "$LAYER_CACHE_T_metrics")" \
    "$(lc_str "$IMAGE_REF")" "$(lc_str "$CACHE_REF")" "$(lc_bool "${SKIPPED:-0}")" "$lc_key"
