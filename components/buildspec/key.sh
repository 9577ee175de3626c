# shellcheck shell=bash
# pre_build, after login and before the probe and builder.sh, when skipUnchanged is on (inline and registry strategies):
# skips a build whose exact inputs an earlier build already built; a skipped build neither reads the cache nor starts a builder. Before building, it computes a content key, the sha256 of:
# - the build context, Dockerfile included: a deterministic tar of CONTEXT (sorted names, fixed mtime and owner),
#   hashed; more than .dockerignore lets in (only `.git`, when .dockerignore names it, is left out), which can only
#   make it rebuild more often;
# - the rendered BUILD_FLAGS (Dockerfile path, build args, network, and any target or platform flag), the cache
#   strategy and DRIVER_OPTS (the builder image);
# - the resolved manifest of every `FROM` image (`imagetools inspect --raw`, its stdout alone: a warning on stderr
#   is not hashed; retried on a transient error), so a
#   base tag that moved changes the key. A FROM naming an earlier stage, or `scratch`, is not resolved.
# If `<repository>:key-<hex>` exists, the requested tag (this build's: its branch's, BRANCH_SH) is pointed at it registry-side (`imagetools create
# --prefer-index=false`: the same manifest, no layer blob pulled or pushed) and the build is skipped. That one call is
# the lookup too (it reads the key's manifest; "not found" means no image has the key yet), so a skip costs the base
# images' lookups and one retag. An untrusted build only looks the key up (`imagetools inspect`) and ends, pushing nothing. When in doubt it builds: a FROM with `$` (an ARG), a key it can't compute, a
# key tag that doesn't exist (never built, or expired by the lifecycle rules), a lookup or retag that fails.
# These registry calls are key.sh's k_get and k_look, through buildx; when http.sh ran (one build per project), its
# versions replace them: one curl on the registry's HTTP API for a ref in the project's own registry.
# LAYER_CACHE_FORCE_BUILD=1 (e.g. `start-build --environment-variables-override
# name=LAYER_CACHE_FORCE_BUILD,value=1,type=PLAINTEXT`) skips the lookup and builds.
#
# Sets: SKIPPED (1: the build is skipped; probe.sh, build.sh, export.sh and metrics.sh read it) and KEY_REF (the key tag,
# empty without a key; a trusted build tags its image with it too, and a `registry` one whose key missed writes its
# cache in the same invocation, build.sh).
: "${TRUSTED:?set by trust.sh}"
: "${IMAGE_REF:?set by the buildspec prelude}"
: "${CACHE_STRATEGY:?set by the buildspec prelude}"
: "${BUILD_FLAGS[@]?set by the buildspec prelude}"
: "${DRIVER_OPTS[@]?set by the buildspec prelude}"
: "${CONTEXT:?set by the buildspec prelude}"
: "${RETRY_SH:?set by retry.sh}"
: "${BRANCH_SH:?set by branch.sh}"

# shellcheck disable=SC1090 # the functions of retry.sh, and this build's refs (its branch's IMAGE_REF), written for this build
. "$RETRY_SH"
# shellcheck disable=SC1090
. "$BRANCH_SH"
set -o pipefail
SKIPPED=0
KEY_REF=
k_why=
k_tmp=$(mktemp)
for i in "${!BUILD_FLAGS[@]}"; do [ "${BUILD_FLAGS[i]}" != --file ] || k_df=${BUILD_FLAGS[i + 1]}; done
# The FROM images: flags skipped; earlier stage names (case-insensitive) and scratch left out.
k_from=$(awk 'toupper($1) == "FROM" { i = 2; while ($i ~ /^--/) i++; s = tolower($i); if (s != "scratch" && !(s in st)) print $i; if (tolower($(i + 1)) == "as") st[tolower($(i + 2))] = 1 }' "$k_df") || k_why="cannot read $k_df"
k_excl=()
if grep -qsxE '/?\.git/?' "$CONTEXT/.dockerignore"; then k_excl=(--exclude=./.git); fi
{
    printf '%s\0' key-v1 "$CACHE_STRATEGY" "${BUILD_FLAGS[@]}" "${DRIVER_OPTS[@]}"
    tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner "${k_excl[@]}" -cf - -C "$CONTEXT" . | sha256sum
} >"$k_tmp" || k_why="cannot hash $CONTEXT"
# k_get REF FILE: REF's manifest, raw (an index for a multi-platform image), in FILE: only stdout is hashed, never a
# warning on stderr.
k_get() { docker buildx imagetools inspect --raw "$1" </dev/null >"$2"; }
# k_look TRUSTED TAG KEY FILE: a trusted build retags at once (TAG to KEY's image): the retag reads the key's manifest, so
# it is the lookup too. An untrusted one only looks.
k_look() { if [ "$1" = 1 ]; then docker buildx imagetools create --prefer-index=false -t "$2" "$3"; else k_get "$3" "$4"; fi; }
# http.sh's k_get and k_look, over the registry's HTTP API, replace these when it ran (one build per project).
# shellcheck disable=SC1090
[ -z "${HTTP_SH:-}" ] || . "${HTTP_SH:-}"
# Image references hold no space or glob character, so the list is split on whitespace.
for ref in $k_from; do
    [ -z "$k_why" ] || break
    case $ref in *'$'*) k_why="FROM $ref uses an ARG" && break ;; esac
    if registry_retry -q "resolving $ref" "$k_tmp.f" k_get "$ref" "$k_tmp.m"; then
        echo "$ref $(sha256sum <"$k_tmp.m")" >>"$k_tmp"
    else
        k_why="FROM $ref unresolved: $RETRY_ERROR"
    fi
done
if [ -z "$k_why" ]; then
    KEY_REF="${IMAGE_REF%:*}:key-$(sha256sum <"$k_tmp" | cut -c1-64)"
    if [ "${LAYER_CACHE_FORCE_BUILD:-}" = 1 ]; then
        k_why="LAYER_CACHE_FORCE_BUILD=1"
    elif registry_retry -q "looking up $KEY_REF" "$k_tmp.f" k_look "$TRUSTED" "$IMAGE_REF" "$KEY_REF" "$k_tmp.m"; then
        SKIPPED=1
        k_why="$KEY_REF was built from these exact inputs"
    elif grep -qiE 'not found|manifest unknown|^HTTP 404' "$k_tmp.f"; then
        k_why="no image has these inputs yet ($KEY_REF)"
    else
        k_why="$KEY_REF: $RETRY_ERROR"
    fi
fi
rm -f "$k_tmp" "$k_tmp.f" "$k_tmp.m" "$k_tmp.m.put"
unset k_auth
echo "layer cache: $([ "$SKIPPED" = 1 ] && echo skipped || echo building): $k_why"
