# shellcheck shell=bash
# pre_build, right before key.sh, when skipUnchanged is on (with two platforms built natively, in each platform job).
# It makes key.sh's registry calls cheap: a skipped build makes two or three (the `FROM`
# images, the key's manifest, the retag), and each costs about 100 ms through the docker CLI and buildx against about
# 13 ms for one curl on the registry's HTTP API (measured in a skip's trace).
#
# It writes to this build's file HTTP_SH functions that replace key.sh's own (key.sh defines its buildx ones, then
# sources HTTP_SH when it is set), with the same arguments:
#   k_get REF FILE            REF's manifest, exactly as the registry serves it (the same Accept list as buildx: an
#                             index for a multi-platform image), in FILE;
#   k_look TRUSTED TAG KEY FILE  a trusted build's retag: GET KEY's manifest and PUT the same bytes, with their media
#                             type, as TAG (what `imagetools create --prefer-index=false` does with one source: no blob
#                             moves); an untrusted build's lookup: k_get of KEY.
# Each goes over HTTP only for a ref in the project's own registry (IMAGE_REF's, k_reg) and when `docker login` stored
# a credential for it in the docker config; otherwise (another registry, a credential helper) it
# does what key.sh's own function does. The credential is read when first needed, into key.sh's shell, which unsets
# it; it is never written to a file. As Docker does, it speaks plain HTTP to a registry on localhost or 127.0.0.1.
# A response other than 2xx fails with `HTTP <status>: <body>`: registry_retry judges it like buildx's errors (429 and
# 5xx are retried) and key.sh reads 404 as "no image has these inputs yet".
#
# Sets: HTTP_SH, the file key.sh sources.
: "${IMAGE_REF:?set by the buildspec prelude}"
: "${CODEBUILD_BUILD_ID:?set by CodeBuild}"

k_reg=${IMAGE_REF%%/*}
# k_http REF: status 0 if REF is in the project's registry and a credential for it is stored (then in k_auth). The
# credential is the `auth` member of the registry's entry in the docker config, which `docker login` writes as
# {"auths": {"<registry>": {"auth": "<base64 of user:password>"}}}; it is read with bash's own regex matching (a
# jq process costs 14 ms here, most of a skip's budget). An entry without it (a credential helper's, an identity
# token) or a config that doesn't parse this way leaves k_auth empty, and buildx is used.
k_http() {
    [[ $1 == "$k_reg"/* ]] || return 1
    if [ -z "${k_auth+set}" ]; then
        local c re="\"${k_reg//./\\.}\"[[:space:]]*:[[:space:]]*\\{[^{}]*\"auth\"[[:space:]]*:[[:space:]]*\"([A-Za-z0-9+/=]+)\""
        { read -rd '' c || :; } 2>/dev/null <"${DOCKER_CONFIG:-${HOME:-}/.docker}/config.json"
        k_auth=
        if [[ $c =~ $re ]]; then k_auth=${BASH_REMATCH[1]}; fi
    fi
    [ -n "$k_auth" ]
}
# k_api REF FILE CURL-ARGS…: one request on REF's manifest; the response body in FILE, its media type in k_type.
k_api() {
    local h=${1%%/*} n=${1#*/} o=$2 t c s=https
    shift 2
    case $n in *@*) t=${n#*@} n=${n%%@*} n=${n%:*} ;; *:*) t=${n##*:} n=${n%:*} ;; *) t=latest ;; esac
    case $h in localhost:* | 127.0.0.1:*) s=http ;; esac
    c=$(curl -sS -o "$o" -w '%{http_code} %{content_type}' -H "Authorization: Basic $k_auth" "$@" "$s://$h/v2/$n/manifests/$t") || return
    k_type=${c#* }
    [[ $c == 2* ]] || { echo "HTTP ${c%% *}: $(head -c 300 "$o")" && return 1; }
}
k_get() {
    if k_http "$1"; then
        k_api "$1" "$2" -H 'Accept: application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json'
    else
        docker buildx imagetools inspect --raw "$1" </dev/null >"$2"
    fi
}
k_look() {
    if [ "$1" != 1 ]; then
        k_get "$3" "$4"
    elif k_http "$3"; then
        k_get "$3" "$4" && k_api "$2" "$4.put" -X PUT -H "Content-Type: $k_type" --data-binary @"$4"
    else
        docker buildx imagetools create --prefer-index=false -t "$2" "$3"
    fi
}
HTTP_SH="/tmp/layer-cache-http.${CODEBUILD_BUILD_ID##*:}.sh"
{
    declare -p k_reg
    declare -f k_http k_api k_get k_look
} >"$HTTP_SH"
