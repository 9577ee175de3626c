# shellcheck shell=bash
# pre_build, first command, batch builds only (two platforms built natively, components/platforms.ts): says which
# job of the build graph this build is. Every job runs this one buildspec; CodeBuild tells each its identifier in
# CODEBUILD_BATCH_BUILD_IDENTIFIER. A platform job (one of PLATFORM_JOBS) builds its platform and runs every command
# but manifest.sh; the manifest job runs only trust.sh, retry.sh, login.sh and manifest.sh (./batch.ts wraps the other
# commands in a test of the identifier). This command's prelude also sets, per platform job, the refs and flags that
# differ between platforms. A build started without a batch (start-build instead of start-build-batch) has no
# identifier, and fails here, before it touches a registry. `uname -m` shows where the job runs: on CodeBuild each
# platform natively; on the local stand-in, an arm64 job runs on an amd64 host, where BuildKit emulates arm64.
: "${CODEBUILD_BATCH_BUILD_IDENTIFIER:?set by CodeBuild in a batch build: start this project with aws codebuild start-build-batch}"
: "${PLATFORM_JOBS[@]?set by the buildspec prelude}"

case " ${PLATFORM_JOBS[*]} manifest " in
    *" $CODEBUILD_BATCH_BUILD_IDENTIFIER "*) echo "layer cache: batch job $CODEBUILD_BATCH_BUILD_IDENTIFIER, on a $(uname -m) host" ;;
    *)
        echo "ERROR: unknown batch job '$CODEBUILD_BATCH_BUILD_IDENTIFIER' (this buildspec's jobs: ${PLATFORM_JOBS[*]} manifest)" >&2
        false
        ;;
esac
