# shellcheck shell=bash
# pre_build, right after trust.sh: a cache per trusted branch (components/branchCache.ts has the names).
# - The default branch (CACHE_BRANCH empty, trust.sh) keeps the configured tags: IMAGE_REF and CACHE_REF as the prelude
#   has them, so a stack's existing cache stays its cache. It reads only its own cache.
# - A trusted CACHE_BRANCH pushes <imageTag>-br-<slug>-<hash> and writes its cache to <cacheTag>-br-<slug>-<hash>
#   (inline and pull, whose cache is the image: only the former); it reads its own cache, then the default branch's.
# - An untrusted build writes nothing and reads its pull request's base branch's cache (CACHE_BRANCH), if any, then
#   the default branch's.
# The tag part: the ref without refs/heads/ (else without refs/), each byte outside [A-Za-z0-9_.-] made '-', cut to
# SLUG_MAX characters (so the tags stay within Docker's 128), then '-' and 12 hex digits of the SHA-256 of the full
# ref, so that two refs never share a tag (release/1.x and release-1.x differ in the hash).
#
# Sets: CACHE_REFS (the refs to read, in order, the one this build would write first; probe.sh or pull.sh looks
# each up), and BRANCH_SH, a file of this build's IMAGE_REF, CACHE_REF and PUSH_FLAGS (the prelude's with the tags
# above): every later command whose prelude sets those sources it after its prelude.
: "${TRUSTED:?set by trust.sh}"
: "${CACHE_BRANCH?set by trust.sh}"
: "${CODEBUILD_BUILD_ID:?set by CodeBuild}"
: "${SLUG_MAX:?set by the buildspec prelude}"
: "${IMAGE_REF:?set by the buildspec prelude}"
: "${CACHE_REF:?set by the buildspec prelude}"
: "${PUSH_FLAGS[@]?set by the buildspec prelude}"

own_tag=""
CACHE_REFS=("$CACHE_REF")
if [ -n "$CACHE_BRANCH" ]; then
    slug=${CACHE_BRANCH#refs/heads/}
    slug=$(printf %s "${slug#refs/}" | LC_ALL=C tr -c 'A-Za-z0-9_.-' - | head -c "$SLUG_MAX")
    branch_tag=-br-$slug-$(printf %s "$CACHE_BRANCH" | sha256sum | cut -c1-12)
    # shellcheck disable=SC2034 # CACHE_REFS is an output: probe.sh or pull.sh reads it.
    CACHE_REFS=("$CACHE_REF$branch_tag" "$CACHE_REF")
    if [ "$TRUSTED" = 1 ]; then own_tag=$branch_tag; fi
fi
BRANCH_SH="/tmp/layer-cache-branch.${CODEBUILD_BUILD_ID##*:}.sh"
printf 'IMAGE_REF=%q\nCACHE_REF=%q\nPUSH_FLAGS=(%s)\n' "$IMAGE_REF$own_tag" "$CACHE_REF$own_tag" \
    "$(printf '%q ' "${PUSH_FLAGS[@]/"$IMAGE_REF"/"$IMAGE_REF$own_tag"}")" >"$BRANCH_SH"
