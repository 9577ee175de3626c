# shellcheck shell=bash
# pre_build, registry strategy with the docker-container builder only: creates and selects a buildx builder
# running BuildKit in a container (CodeBuild's daemon has no containerd image store, which the registry cache
# export needs from the default builder). DRIVER_OPTS holds `--driver-opt image=<BuildKit image>` and, on a
# host network, `--driver-opt network=host`.
: "${BUILDER_NAME:?set by the buildspec prelude}"
: "${DRIVER_OPTS[@]?set by the buildspec prelude}"

docker buildx create --name "$BUILDER_NAME" --driver docker-container "${DRIVER_OPTS[@]}" --use --bootstrap
