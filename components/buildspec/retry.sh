# shellcheck shell=bash
# pre_build, before any registry operation: the retries for transient registry errors, in one place. It defines the
# functions below and writes them, with RETRY_DELAYS, to this build's own file RETRY_SH; every later command that
# talks to a registry (login, builder, probe or pull, build, export) sources that file (`. "$RETRY_SH"`). So the
# functions are defined once, in this file, and no command
# relies on a function surviving from an earlier command (CodeBuild carries variables between commands, but not
# necessarily functions).
#
# registry_retry [-q] OPERATION OUTPUT COMMAND [ARG...]
#   Runs COMMAND (a small function of the calling fragment) at most 1 + ${#RETRY_DELAYS[@]} times. Each attempt's
#   output, stdout and stderr, goes to the file OUTPUT (overwritten by each attempt) and, without -q, to stdout.
#   After a failure it tries again only if the attempt's last error is transient (registry_transient), after a wait
#   of between half and all of the next RETRY_DELAYS entry (random, so that builds throttled together don't retry
#   in step), and says so in one line: what failed, on which attempt, the error, and when the next try comes.
#   When the retries run out it prints one ERROR line: the operation (whose text names the registry or the ref),
#   the attempts, the time and the last error. The status is the last attempt's.
#   Sets RETRY_OUTCOME (ok; failed: not transient, the caller says what it means; exhausted: already reported),
#   RETRY_TRIES (attempts made) and RETRY_ERROR (the last attempt's last error line, empty on success). While COMMAND
#   runs, RETRY_LAST is 1 on the last attempt, else 0 (build.sh lets its last attempt build cold, if so configured).
#
# Bounds: RETRY_DELAYS (seconds) is both: at most 1 + its length attempts, and at most its sum of waiting.
#
# Sets: RETRY_SH, the file to source.
: "${RETRY_DELAYS[@]?set by the buildspec prelude}"
: "${CODEBUILD_BUILD_ID:?set by CodeBuild}"

# The last error line of an attempt's output (the file $1): the last line that mentions an error, a status or a
# connection problem, else the last non-empty line. BuildKit and docker end a failure with their own summary line
# (`ERROR: failed to build: failed to solve: …`, `Error response from daemon: …`), so that line is what is judged,
# not an earlier warning (a first build's "not found" cache import) or a step's own output.
registry_last_error() {
    awk '{ sub(/\r$/, "") } tolower($0) ~ /error|fail|denied|unauthori|forbidden|not found|unknown|status|reset|refused|timeout|eof|too ?many ?requests|throttl/ { last = $0 } NF { any = $0 } END { print (last != "" ? last : any) }' "$1"
}

# registry_transient LINE: status 0 if the error is transient (throttling: 429, `toomanyrequests`; a server error: 500,
# 502, 503, 504, or the registry's UNAVAILABLE error, which BuildKit prints as just `unavailable`; a dropped connection;
# a timeout), 1 otherwise. Never transient, whatever else the line says: authentication and
# permission (401, 403, denied), "not found", and a Dockerfile step that failed. Anything unknown is not retried.
registry_transient() {
    local e=${1,,}
    local never='(^|[^[:alnum:]])(401|403|404)([^[:alnum:]]|$)|unauthori[sz]ed|forbidden|denied|not found|manifest unknown|name unknown|no basic auth credentials|authentication required|did not complete successfully'
    local transient='(^|[^[:alnum:]])(429|500|502|503|504)([^[:alnum:]]|$)|too ?many ?requests|throttl|rate exceeded|(^|[^[:alnum:]])unavailable([^[:alnum:]]|$)|internal server error|bad gateway|gateway time-?out|connection reset|connection refused|broken pipe|i/o timeout|handshake timeout|deadline exceeded|client\.timeout|timeout awaiting|(^|[^[:alnum:]])(unexpected )?eof([^[:alnum:]]|$)|server closed idle connection|could not connect to the endpoint'
    [[ ! $e =~ $never && $e =~ $transient ]]
}

# shellcheck disable=SC2034 # RETRY_OUTCOME, RETRY_TRIES, RETRY_ERROR and RETRY_LAST are outputs: the callers read them.
registry_retry() {
    local quiet=0
    if [ "$1" = -q ]; then
        quiet=1
        shift
    fi
    local operation=$1 output=$2
    shift 2
    local attempts=$((${#RETRY_DELAYS[@]} + 1)) attempt=1 started=$SECONDS status delay wait
    while :; do
        RETRY_LAST=$((attempt >= attempts))
        if [ "$quiet" = 1 ]; then
            "$@" >"$output" 2>&1
            status=$?
        else
            "$@" 2>&1 | tee "$output"
            status=${PIPESTATUS[0]}
        fi
        RETRY_TRIES=$attempt
        if [ "$status" = 0 ]; then
            RETRY_OUTCOME=ok
            RETRY_ERROR=
            return 0
        fi
        RETRY_ERROR=$(registry_last_error "$output")
        if ! registry_transient "$RETRY_ERROR"; then
            RETRY_OUTCOME=failed
            return "$status"
        fi
        if [ "$attempt" -ge "$attempts" ]; then
            RETRY_OUTCOME=exhausted
            echo "ERROR: $operation failed after $attempt attempts in $((SECONDS - started)) s, each on a transient registry error (throttling, a server error, a dropped connection or a timeout); the retries ran out. Last error: $RETRY_ERROR" >&2
            return "$status"
        fi
        delay=${RETRY_DELAYS[attempt - 1]}
        wait=$(((delay + 1) / 2 + RANDOM % (delay / 2 + 1)))
        echo "layer cache: $operation failed on a transient registry error (attempt $attempt of $attempts): $RETRY_ERROR; next try in $wait s"
        sleep "$wait"
        attempt=$((attempt + 1))
    done
}

RETRY_SH="/tmp/layer-cache-retry.${CODEBUILD_BUILD_ID##*:}.sh"
{
    # The delays are whole numbers of seconds (RETRY_DELAYS_SECONDS in index.ts), so they need no quoting.
    printf 'RETRY_DELAYS=(%s)\n' "${RETRY_DELAYS[*]}"
    declare -f registry_last_error registry_transient registry_retry
} >"$RETRY_SH"
