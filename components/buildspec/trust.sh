# shellcheck shell=bash
# pre_build, first command: is this build trusted? Only a trusted build pushes the image and writes the cache;
# every build reads the cache.
#
# Refs are compared in full (refs/heads/…, refs/tags/…), so a tag named like a trusted branch (tags are often
# pushable by people the branch's protection keeps out) is not mistaken for it.
# - Pull-request builds are never trusted: webhook trigger pr/*, a pr/* source version, a PULL_REQUEST_* webhook
#   event, or a webhook base ref (CodeBuild sets one for pull requests only). A fork's pull request is one of them:
#   its head ref is the fork's branch name (refs/heads/main for a fork's main), so the head ref alone can't tell.
# - Otherwise the built ref must be one of TRUSTED_REFS: the webhook head ref (already a full ref), else the
#   requested source version, a bare name being a branch.
# - An empty source version means no override was given, so the project's own configured version is built:
#   OWN_REF, compared like any other ref. An empty OWN_REF (the buildspec was rendered without the project's
#   source version) makes such a build trusted.
#
# - A webhook push's source version is its commit, so the branch or tag comes from the head ref.
# - READ_ONLY=1 (the pull-request project's buildspec, components/pullRequestProject.ts): no build is trusted, whatever
#   started it. That project's role can't write to ECR and its buildspec has no command that writes; this keeps what
#   the log and the build's JSON line say true to that. A pull request still reads its trusted base's cache.
#
# Whose cache a build uses (branch.sh makes the tags): CACHE_BRANCH, a trusted ref other than the project's own
# (OWN_REF, the default branch): a trusted build's own ref, or a pull request's base ref when that one is trusted.
# Empty: only the default branch's cache (always, when OWN_REF is empty).
#
# Sets: BUILD_REF (the ref as compared), TRUSTED (1 or 0), CACHE_BRANCH. Reads CodeBuild's CODEBUILD_WEBHOOK_HEAD_REF,
# CODEBUILD_WEBHOOK_TRIGGER, CODEBUILD_WEBHOOK_EVENT, CODEBUILD_WEBHOOK_BASE_REF and CODEBUILD_SOURCE_VERSION,
# each possibly unset (tests/helpers/events.ts: what each event sets, with sources).
: "${TRUSTED_REFS[@]?set by the buildspec prelude}"
: "${OWN_REF?set by the buildspec prelude}"
: "${READ_ONLY:?set by the buildspec prelude}"

BUILD_REF="${CODEBUILD_WEBHOOK_HEAD_REF:-${CODEBUILD_SOURCE_VERSION:-}}"
case "$BUILD_REF" in
    refs/*) ;;
    "") BUILD_REF="$OWN_REF" ;;
    *) BUILD_REF="refs/heads/$BUILD_REF" ;;
esac
TRUSTED=0
pull_request=0
case "${CODEBUILD_WEBHOOK_TRIGGER:-}" in pr/*) pull_request=1 ;; esac
case "${CODEBUILD_SOURCE_VERSION:-}" in pr/*) pull_request=1 ;; esac
case "${CODEBUILD_WEBHOOK_EVENT:-}" in PULL_REQUEST*) pull_request=1 ;; esac
if [ -n "${CODEBUILD_WEBHOOK_BASE_REF:-}" ]; then pull_request=1; fi
CACHE_BRANCH=""
for trusted_ref in "${TRUSTED_REFS[@]}"; do
    if [ "$pull_request" = 0 ] && [ "$BUILD_REF" = "$trusted_ref" ]; then TRUSTED=1; fi
    if [ "$pull_request" = 1 ] && [ "${CODEBUILD_WEBHOOK_BASE_REF:-}" = "$trusted_ref" ]; then CACHE_BRANCH=$trusted_ref; fi
done
if [ "$pull_request" = 0 ] && [ -z "$BUILD_REF" ]; then TRUSTED=1; fi
if [ "$READ_ONLY" = 1 ]; then TRUSTED=0; fi
if [ "$TRUSTED" = 1 ]; then CACHE_BRANCH=$BUILD_REF; fi
if [ -z "$OWN_REF" ] || [ "$CACHE_BRANCH" = "$OWN_REF" ]; then CACHE_BRANCH=""; fi
if [ "$READ_ONLY" = 1 ]; then
    echo "layer cache: ref '$BUILD_REF' (trigger '${CODEBUILD_WEBHOOK_TRIGGER:-}') builds in the read-only pull-request project: this build reads the cache and can push nothing"
elif [ "$TRUSTED" = 1 ]; then
    echo "layer cache: ref '$BUILD_REF' is trusted: this build reads the cache and, if it succeeds, pushes the image and writes the cache"
else
    echo "layer cache: ref '$BUILD_REF' (trigger '${CODEBUILD_WEBHOOK_TRIGGER:-}') is not trusted: this build reads the cache but pushes nothing"
fi
