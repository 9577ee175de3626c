# shellcheck shell=bash
# pre_build, first command: is this build trusted? Only a trusted build pushes the image and writes the cache;
# every build reads the cache.
#
# Refs are compared in full (refs/heads/…, refs/tags/…), so a tag named like a trusted branch (tags are often
# pushable by people the branch's protection keeps out) is not mistaken for it.
# - Pull-request builds are never trusted: webhook trigger pr/*, or a pr/* source version.
# - Otherwise the built ref must be one of TRUSTED_REFS: the webhook head ref (already a full ref), else the
#   requested source version, a bare name being a branch.
# - An empty source version means no override was given, so the project's own configured version is built:
#   OWN_REF, compared like any other ref. An empty OWN_REF (the buildspec was rendered without the project's
#   source version) makes such a build trusted.
#
# Sets: BUILD_REF (the ref as compared), TRUSTED (1 or 0). Reads CodeBuild's CODEBUILD_WEBHOOK_HEAD_REF,
# CODEBUILD_WEBHOOK_TRIGGER and CODEBUILD_SOURCE_VERSION, each possibly unset.
: "${TRUSTED_REFS[@]?set by the buildspec prelude}"
: "${OWN_REF?set by the buildspec prelude}"

BUILD_REF="${CODEBUILD_WEBHOOK_HEAD_REF:-${CODEBUILD_SOURCE_VERSION:-}}"
case "$BUILD_REF" in
    refs/*) ;;
    "") BUILD_REF="$OWN_REF" ;;
    *) BUILD_REF="refs/heads/$BUILD_REF" ;;
esac
TRUSTED=0
case "${CODEBUILD_WEBHOOK_TRIGGER:-}" in
    pr/*) ;;
    *)
        case "${CODEBUILD_SOURCE_VERSION:-}" in
            pr/*) ;;
            *)
                if [ -z "$BUILD_REF" ]; then TRUSTED=1; fi
                for trusted_ref in "${TRUSTED_REFS[@]}"; do
                    if [ "$BUILD_REF" = "$trusted_ref" ]; then TRUSTED=1; fi
                done
                ;;
        esac
        ;;
esac
if [ "$TRUSTED" = 1 ]; then
    echo "layer cache: ref '$BUILD_REF' is trusted: this build reads the cache and, if it succeeds, pushes the image and writes the cache"
else
    echo "layer cache: ref '$BUILD_REF' (trigger '${CODEBUILD_WEBHOOK_TRIGGER:-}') is not trusted: this build reads the cache but pushes nothing"
fi
