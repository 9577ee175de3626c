# shellcheck shell=bash
# build, first command: the build. It reads the cache (CACHE_FROM) on every build. A trusted build adds
# PUSH_FLAGS, which push the image (and, for the inline strategy, write the cache into it); an untrusted one
# gets `--output type=cacheonly`: it reads the cache, produces no image and pushes nothing, and a builder with
# lazy cache refs then downloads no cached layer at all. The push is part of the build, so a failed build
# pushes nothing.
#
# A build that fails on a transient registry error (a push or a layer fetch throttled, a server error, a dropped
# connection) runs again, the same invocation on the same builder (registry_retry, retry.sh): every step an earlier attempt
# finished is in the builder's local cache by then, so a retry redoes only the registry traffic that failed. A
# failed Dockerfile step is never retried.
#
# This build's refs (IMAGE_REF, CACHE_REF, PUSH_FLAGS, CACHE_FROM) are the prelude's with its branch's tags: BRANCH_SH
# (branch.sh, probe.sh or pull.sh) holds them and is sourced after the prelude.
#
# BUILD_FLAGS is the part of the argv that the registry strategy's export shares: progress, no provenance or
# SBOM manifests, the Dockerfile, the build args, the network, the target stage.
#
# Sets: BUILD_LOG, the plain progress of the build's last attempt (one file per build: builds that share a /tmp,
# as with the local stand-in, must not read each other's log); BUILD_ATTEMPTS, how many attempts it took;
# IMAGE_PUSHED, 1 only if a trusted build, and so its push, succeeded (or, skipped, its tag was pointed at the key's
# image; or, failed with the cache export beside the push, the push had finished); CACHE_IN_BUILD, 1 when this
# invocation writes the cache (export.sh and metrics.sh read it).
: "${TRUSTED:?set by trust.sh}"
: "${CODEBUILD_BUILD_ID:?set by CodeBuild}"
: "${BUILD_FLAGS[@]?set by the buildspec prelude}"
: "${CACHE_FROM[@]?set by the buildspec prelude}"
: "${PUSH_FLAGS[@]?set by the buildspec prelude}"
: "${CACHE_TO_OPTS?set by the buildspec prelude}"
: "${CONTEXT:?set by the buildspec prelude}"
: "${CACHE_REF:?set by the buildspec prelude}"
: "${IMAGE_REF:?set by the buildspec prelude}"
: "${RETRY_SH:?set by retry.sh}"
: "${BRANCH_SH:?set by branch.sh}"
: "${CACHE_IMPORT_FAILURE:?set by the buildspec prelude}"

# shellcheck disable=SC1090 # the functions of retry.sh, and the refs of branch.sh and probe.sh or pull.sh, written for this build
. "$RETRY_SH"
# shellcheck disable=SC1090
. "$BRANCH_SH"
BUILD_LOG="/tmp/layer-cache-build.${CODEBUILD_BUILD_ID##*:}.log"
WRITE_FLAGS=(--output type=cacheonly)
what="the build (reading the layer cache $CACHE_REF)"
if [ "$TRUSTED" = 1 ]; then
    WRITE_FLAGS=("${PUSH_FLAGS[@]}")
    what="the build (reading the layer cache $CACHE_REF, pushing $IMAGE_REF)"
fi
# Skip unchanged builds (key.sh): a trusted build also tags its image with its content key. buildx's --tag replaces the
# name of an --output (registry strategy), so there the image's own tag is named again.
#
# Registry strategy: a trusted build whose key missed (key.sh: no image has these inputs, so some steps are new)
# writes the cache in this invocation, beside the push, rather than in export.sh's second one: BuildKit runs the two
# exports side by side, and the second invocation's solve is saved (measured, 96 light steps: a change build 11.6 s
# → 10.9 s, a cold one 14.8 → 14.0). The two exports push with separate trackers, so both may upload a new blob
# (heavy workload under the `writeup` network: 118.6 MB pushed for 101.8 MB of new layers); the cache after the push
# uploads each once, but export.sh's invocation cost more than those bytes (after / beside, seconds other than the
# steps: 1.02 to 1.40): docs/decisions/layerTransfer.md. Without a key (skip off, or none computed) or with
# LAYER_CACHE_FORCE_BUILD=1 the build may change nothing, so export.sh decides after it.
CACHE_IN_BUILD=0 more=()
if [ "$TRUSTED" = 1 ] && [ -n "${KEY_REF:-}" ]; then
    more=(--tag "${KEY_REF:-}")
    if [[ " ${PUSH_FLAGS[*]} " != *" --tag "* ]]; then more+=(--tag "$IMAGE_REF"); fi
    if [ -n "$CACHE_TO_OPTS" ] && [ "${LAYER_CACHE_FORCE_BUILD:-}" != 1 ]; then CACHE_IN_BUILD=1 more+=(--cache-to "type=registry,ref=$CACHE_REF,$CACHE_TO_OPTS"); fi
fi
# A cache import that fails on a transient error stops the build (issue 25). What BuildKit v0.32.2 does on its own:
# - It imports each --cache-from in a vertex of its own, `importing cache manifest from REF`
#   (solver/llbsolver/bridge.go:114). An error there is only logged on that vertex (bridge.go:129-131), and the solve
#   goes on without that cache: the lazy cache manager's Query returns no keys after an error (bridge.go:329-335),
#   and every step's cache lookup waits for the import there. So a failed import is a cold build that succeeds.
# - The import reads the cache manifest and the cache config once each (cache/remotecache/import.go:49, :115;
#   readBlob :132), with no retry of its own (pulls and pushes have one: util/resolver/retryhandler). containerd's
#   resolver under it retries a 408 or 429 up to 5 attempts, a 500, 503 or 504 only once, and never the same status
#   twice in a row (vendor/github.com/containerd/containerd/v2/core/remotes/docker/resolver.go:733, :821-852).
# So build_once follows the build's output. When an import vertex ends in a transient error (registry_transient), it
# stops the build at once with a SIGTERM (buildx cancels the solve: `context canceled`; usually before any step runs,
# though BuildKit may start one before the stop lands: it is then in the builder's local cache) and ends
# with one line naming the ref and the error; registry_retry then runs the build again after its delay, with the
# same attempts and waits as every registry operation. A permanent error (not found on a first build, 401, 403) is
# left to BuildKit, as before. On the last attempt (RETRY_LAST, retry.sh) with CACHE_IMPORT_FAILURE=build-cold the
# build is not stopped: it builds cold, with a WARNING line.
build_once() {
    local o p l n e s f=""
    local -A im=()
    o=$(mktemp)
    docker buildx build "${BUILD_FLAGS[@]}" "${CACHE_FROM[@]}" "${WRITE_FLAGS[@]}" "${more[@]}" "$CONTEXT" >"$o" 2>&1 &
    p=$!
    while IFS= read -r l; do
        printf '%s\n' "$l"
        if [[ $l =~ ^#([0-9]+)\ importing\ cache\ manifest\ from\ ([^ ]+) ]]; then
            im[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
        elif [[ -z $f && $l =~ ^#([0-9]+)\ ERROR:\ (.*) ]]; then
            n=${im[${BASH_REMATCH[1]}]:-} e=${BASH_REMATCH[2]}
            if [ -n "$n" ] && registry_transient "$e"; then
                if [ "${RETRY_LAST:-0}$CACHE_IMPORT_FAILURE" = 1build-cold ]; then
                    echo "layer cache: WARNING: building without the layer cache $n (last attempt, build-cold): $e"
                else
                    f=$n
                    kill -TERM "$p" 2>/dev/null
                fi
            fi
        fi
    done < <(tail -n +1 -s 0.2 -f --pid="$p" "$o")
    wait "$p"
    s=$?
    rm -f "$o"
    [ -z "$f" ] || { echo "layer cache: stopped the build before it built without its cache: importing the layer cache $f failed: $e" && return $((s ? s : 1)); }
    return "$s"
}
# A skipped build (key.sh) runs no build: an empty log, no attempt.
if [ "${SKIPPED:-0}" = 1 ]; then
    : >"$BUILD_LOG"
    RETRY_TRIES=0
else
    registry_retry "$what" "$BUILD_LOG" build_once
fi
build_status=$?
# shellcheck disable=SC2034 # IMAGE_PUSHED and BUILD_ATTEMPTS are outputs: post_build.sh, report.sh and export.sh read them.
{
    BUILD_ATTEMPTS=$RETRY_TRIES
    if [ "$build_status" = 0 ]; then IMAGE_PUSHED="$TRUSTED"; else IMAGE_PUSHED=0; fi
    # With the cache export beside it, the push may have finished before the build failed: BuildKit's log says.
    # (IMAGE_REF holds no regex character but `.`, which matches itself too.)
    if [ "$CACHE_IN_BUILD" = 1 ] && grep -q "manifest for $IMAGE_REF@.* done$" "$BUILD_LOG"; then IMAGE_PUSHED=1; fi
}
# The build's status is the command's.
(exit "$build_status")
