# shellcheck shell=bash
# pre_build: logs docker in to the registry with the project role's credentials (AWS CLI v2; the v1
# `aws ecr get-login` no longer exists). A failure ends pre_build, so nothing else runs. Transient errors (ECR
# throttling or a server error, of the AWS API or of the registry) are retried (registry_retry, retry.sh). When `aws` fails, its own
# error is printed last, after docker's complaint about the empty password, so that it is the error judged.
: "${REGION:?set by the buildspec prelude}"
: "${REGISTRY:?set by the buildspec prelude}"
: "${RETRY_SH:?set by retry.sh}"

# shellcheck disable=SC1090 # the functions of retry.sh, written by it for this build
. "$RETRY_SH"
set -o pipefail
login_output=$(mktemp)
login_once() {
    local pipe_status
    aws ecr get-login-password --region "$REGION" 2>"$login_output.aws" | docker login --username AWS --password-stdin "$REGISTRY"
    pipe_status=("${PIPESTATUS[@]}")
    if [ "${pipe_status[0]}" != 0 ]; then
        cat "$login_output.aws"
        return "${pipe_status[0]}"
    fi
    return "${pipe_status[1]}"
}
registry_retry "docker login to $REGISTRY" "$login_output" login_once
login_status=$?
rm -f "$login_output" "$login_output.aws"
if [ "$login_status" != 0 ] && [ "$RETRY_OUTCOME" != exhausted ]; then
    echo "ERROR: docker login to $REGISTRY failed, so the layer cache can be neither read nor written. Check the role's ecr:GetAuthorizationToken permission and the registry address." >&2
fi
(exit "$login_status")
