# shellcheck shell=bash
# pre_build: logs docker in to the registry with the project role's credentials (AWS CLI v2; the v1
# `aws ecr get-login` no longer exists). A failure ends pre_build, so nothing else runs.
: "${REGION:?set by the buildspec prelude}"
: "${REGISTRY:?set by the buildspec prelude}"

set -o pipefail
aws ecr get-login-password --region "$REGION" | docker login --username AWS --password-stdin "$REGISTRY" || {
    echo "ERROR: docker login to $REGISTRY failed, so the layer cache can be neither read nor written. Check the role's ecr:GetAuthorizationToken permission and the registry address." >&2
    false
}
