/**
 * The buildspec (`components/buildspec/`): retries for transient registry errors (retry.sh), run in real bash with stub
 * `docker`/`aws` (tests/helpers/bash.ts); who may write the cache is in tests/security/trust.test.ts.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    BuildspecOptions,
    cacheRefs,
    FragmentName,
    RETRY_DELAYS_SECONDS,
    shellWord,
} from "../../../components/buildspec";
import { DEFAULTS } from "../../../components/resolveArgs";
import { BUILDKIT_V0_32_2 } from "../../../components/builderImage";
import { BashOptions, BashRun, runBash as runBashAlone } from "../../helpers/bash";
import { REGISTRY, REPO, options, STRATEGIES, RETRY_FILE, runnable, buildId, ATTEMPTS } from "./shared";

describe("retries for transient registry errors (retry.sh, executed in bash)", () => {
    /**
     * Mocked: `docker` and `aws` (tests/helpers/bash.ts) and `sleep`, a function that records each wait in
     * $STATE/slept instead of waiting. The docker stub fails its first $FAILS calls, printing $ERR (each
     * call is counted in a file: the calls run in the pipeline's subshell), then prints $OUT and returns $RC.
     */
    const FLAKY_DOCKER = [
        'n=$(cat "$STATE/n" 2>/dev/null || echo 0); echo $((n + 1)) >"$STATE/n"',
        'if [ "$n" -lt "${FAILS:-0}" ]; then printf "%s\\n" "$ERR" >&2; return "${ERR_RC:-1}"; fi',
        'printf "%s\\n" "${OUT:-done}"; return "${RC:-0}"',
    ].join("\n");
    const SLEEP = `sleep() { echo "$1" >>"$STATE/slept"; }\n`;
    /** The waits registry_retry asked for, read back by the script. */
    const SLEPT = `\necho "slept=$(paste -sd, "$STATE/slept" 2>/dev/null)"`;
    const slept = (stdout: string): number[] => {
        const m = /^slept=(.*)$/m.exec(stdout);
        assert.ok(m, stdout);
        return m[1] === "" ? [] : m[1].split(",").map(Number);
    };
    /** runBash with a fresh $STATE folder for the stubs' counters, removed after the run. */
    function runBash(script: string, opts: BashOptions = {}): BashRun {
        const state = fs.mkdtempSync(path.join(os.tmpdir(), "retry-state-"));
        try {
            return runBashAlone(script, { ...opts, env: { ...opts.env, STATE: state } });
        } finally {
            fs.rmSync(state, { recursive: true, force: true });
        }
    }
    const o = options({ cacheStrategy: "registry" });
    const lib = `RETRY_SH=${shellWord(RETRY_FILE)}\n. "$RETRY_SH"\n`;
    const retryLines = (stdout: string) =>
        stdout.split("\n").filter((l) => / failed on a transient registry error /.test(l));

    describe("registry_transient: the classifier", () => {
        const transient = [
            "ERROR: failed to build: failed to solve: failed to push 127.0.0.1:5000/app:latest: unexpected status from PUT request to http://127.0.0.1:5000/v2/app/blobs/uploads/x: 503 Service Unavailable",
            'Error response from daemon: Get "http://127.0.0.1:5000/v2/": received unexpected HTTP status: 503 Service Unavailable',
            'ERROR: error parsing HTTP 429 response body: unexpected end of JSON input: ""',
            "toomanyrequests: Rate exceeded",
            "TOOMANYREQUESTS: too many requests",
            "500 Internal Server Error",
            // A 503 with the registry's UNAVAILABLE error body: BuildKit prints only the error code.
            "ERROR: failed to build: failed to solve: error writing manifest blob: unavailable",
            "unavailable: service unavailable",
            "unexpected status code 502 Bad Gateway",
            "504 Gateway Timeout",
            "read tcp 127.0.0.1:40000->127.0.0.1:5000: read: connection reset by peer",
            "write tcp 127.0.0.1:40000->127.0.0.1:5000: write: broken pipe",
            'failed to do request: Head "http://127.0.0.1:5000/v2/app/manifests/latest": EOF',
            "httpReadSeeker: failed open: unexpected EOF",
            "dial tcp 10.0.0.1:443: i/o timeout",
            "net/http: TLS handshake timeout",
            "context deadline exceeded",
            "An error occurred (ThrottlingException) when calling the GetAuthorizationToken operation (reached max retries: 2): Rate exceeded",
            'Could not connect to the endpoint URL: "https://api.ecr.eu-west-1.amazonaws.com/"',
        ];
        const never = [
            "unauthorized: authentication required",
            "Error response from daemon: login attempt to http://127.0.0.1:5000/v2/ failed with status: 401 Unauthorized",
            "denied: User: arn:aws:sts::1:assumed-role/r is not authorized to perform: ecr:BatchGetImage",
            "403 Forbidden",
            `ERROR: ${REPO}:buildcache: not found`,
            "manifest unknown: manifest unknown",
            "name unknown: repository name not known to registry",
            // A Dockerfile step that failed, even if its own command mentions a status or a timeout.
            'ERROR: failed to build: failed to solve: process "/bin/sh -c curl --max-time 5 http://x/503 || exit 1" did not complete successfully: exit code: 1',
            // Permission beats a transient-looking word in the same line.
            "denied: 503 requests throttled for this principal",
            // Digits inside a digest or a port are not a status.
            'failed commit on ref "layer-sha256:05034291abcd": unexpected status from PUT request: 400 Bad Request',
            "dial tcp 127.0.0.1:50312: connect: no such host",
            "dockerfile parse error on line 3: unknown instruction: RUNN",
            "failed to solve: platform linux/riscv64 unavailableish",
            "",
        ];
        for (const line of transient) {
            it(`transient: ${line.slice(0, 90)}`, () => {
                const r = runBash(`${lib}registry_transient ${shellWord(line)}`);
                assert.equal(r.status, 0, r.stderr);
            });
        }
        for (const line of never) {
            it(`not transient: ${line === "" ? "(no error text)" : line.slice(0, 90)}`, () => {
                const r = runBash(`${lib}registry_transient ${shellWord(line)}`);
                assert.equal(r.status, 1, r.stderr);
            });
        }

        it("registry_last_error judges the last error line, not an earlier warning or a step's output", () => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "retry-"));
            try {
                const file = path.join(dir, "out");
                const last = (text: string) => {
                    fs.writeFileSync(file, text);
                    return runBash(`${lib}registry_last_error ${shellWord(file)}`).stdout.trim();
                };
                // A first build's cache import says "not found"; the push then fails with a 503.
                const push = "ERROR: failed to build: failed to solve: failed to push x: 503 Service Unavailable";
                assert.equal(last(`#3 ERROR: ${REPO}:buildcache: not found\n#9 pushing layers\n${push}\n`), push);
                // A step printed a 503; the build then failed on the step: that is what is judged.
                const step =
                    'ERROR: failed to build: failed to solve: process "/bin/sh -c x" did not complete successfully: exit code: 1';
                assert.equal(last(`#6 0.2 upstream answered 503\n${step}\r\n`), step);
                // No error-like line at all: the last non-empty line.
                assert.equal(last("one\ntwo\n\n"), "two");
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });
    });

    describe("registry_retry: the loop", () => {
        const run = (env: Record<string, string>, args = "-q 'reading the cache r' \"$(mktemp)\" docker x") =>
            runBash(
                `${SLEEP}${lib}registry_retry ${args}\nrc=$?\necho "rc=$rc outcome=$RETRY_OUTCOME tries=$RETRY_TRIES error=$RETRY_ERROR"${SLEPT}`,
                { env, stubs: { docker: FLAKY_DOCKER } },
            );
        const ERR503 = "unexpected status from HEAD request to http://r/v2/x/manifests/t: 503 Service Unavailable";

        it("a success is one call, no retry line, no wait", () => {
            const r = run({});
            assert.match(r.stdout, /^rc=0 outcome=ok tries=1 error=$/m);
            assert.equal(r.calls.length, 1);
            assert.deepEqual(retryLines(r.stdout), []);
            assert.deepEqual(slept(r.stdout), []);
        });

        it("two transient failures, then a success: three calls, one line per retry saying what failed and when the next try comes", () => {
            const r = run({ FAILS: "2", ERR: ERR503, RANDOM_SEED: "1" });
            assert.match(r.stdout, /^rc=0 outcome=ok tries=3 error=$/m);
            assert.equal(r.calls.length, 3);
            const waits = slept(r.stdout);
            assert.equal(waits.length, 2);
            assert.deepEqual(retryLines(r.stdout), [
                `layer cache: reading the cache r failed on a transient registry error (attempt 1 of ${ATTEMPTS}): ${ERR503}; next try in ${waits[0]} s`,
                `layer cache: reading the cache r failed on a transient registry error (attempt 2 of ${ATTEMPTS}): ${ERR503}; next try in ${waits[1]} s`,
            ]);
            assert.equal(r.stderr, "", "retries that end in success print no error");
        });

        it("transient failures that outlast the retries: 6 attempts, 5 waits within the delays, one ERROR line naming the operation and the last error, the command's status", () => {
            const r = run({ FAILS: "99", ERR: ERR503, ERR_RC: "17" });
            assert.match(
                r.stdout,
                /^rc=17 outcome=exhausted tries=6 error=unexpected status .*503 Service Unavailable$/m,
            );
            assert.equal(r.calls.length, 1 + RETRY_DELAYS_SECONDS.length);
            assert.equal(retryLines(r.stdout).length, RETRY_DELAYS_SECONDS.length);
            const errors = r.stderr.split("\n").filter((l) => l.startsWith("ERROR: "));
            assert.equal(errors.length, 1, r.stderr);
            assert.match(
                errors[0],
                /^ERROR: reading the cache r failed after 6 attempts in \d+ s, each on a transient registry error \(throttling, a server error, a dropped connection or a timeout\); the retries ran out\. Last error: unexpected status from HEAD request to http:\/\/r\/v2\/x\/manifests\/t: 503 Service Unavailable$/,
            );
        });

        it("bounds: whatever the draw, at most 1 + len(RETRY_DELAYS) attempts, each wait between half its delay and all of it, at most their sum in all", () => {
            assert.deepEqual(RETRY_DELAYS_SECONDS, [1, 2, 4, 8, 8]);
            for (let seed = 0; seed < 12; seed++) {
                const r = runBash(`RANDOM=${seed}\n${SLEEP}${lib}registry_retry -q op "$(mktemp)" docker x${SLEPT}`, {
                    env: { FAILS: "99", ERR: "503 Service Unavailable" },
                    stubs: { docker: FLAKY_DOCKER },
                });
                const waits = slept(r.stdout);
                assert.equal(r.calls.length, ATTEMPTS);
                assert.equal(waits.length, ATTEMPTS - 1);
                waits.forEach((w, i) => {
                    const d = RETRY_DELAYS_SECONDS[i];
                    assert.ok(
                        w >= Math.ceil(d / 2) && w <= d,
                        `wait ${i + 1} of seed ${seed}: ${w} s for a ${d} s delay`,
                    );
                });
                assert.ok(waits.reduce((a, b) => a + b, 0) <= 23);
            }
        });

        for (const err of [
            "unauthorized: authentication required",
            "denied: not authorized to perform ecr:InitiateLayerUpload",
            "manifest unknown: manifest unknown",
            'process "/bin/sh -c make" did not complete successfully: exit code: 2',
        ]) {
            it(`never retried: "${err.slice(0, 50)}": one call, no wait, the caller decides (outcome failed)`, () => {
                const r = run({ FAILS: "99", ERR: err, ERR_RC: "3" });
                assert.equal(r.calls.length, 1);
                assert.match(r.stdout, new RegExp(`^rc=3 outcome=failed tries=1 error=`, "m"));
                assert.deepEqual(slept(r.stdout), []);
                assert.deepEqual(retryLines(r.stdout), []);
                assert.equal(
                    r.stderr.includes("ERROR: "),
                    false,
                    "the library prints no ERROR for a permanent failure",
                );
            });
        }

        it("without -q the output streams and is kept (the last attempt's) in OUTPUT; with -q it is only kept", () => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "retry-"));
            try {
                const out = path.join(dir, "out");
                const loud = run({ FAILS: "1", ERR: ERR503, OUT: "second attempt" }, `op ${shellWord(out)} docker x`);
                assert.match(loud.stdout, /503 Service Unavailable\n/);
                assert.match(loud.stdout, /^second attempt$/m);
                assert.equal(fs.readFileSync(out, "utf8"), "second attempt\n", "OUTPUT holds the last attempt only");
                const quiet = run({ OUT: "quiet output" }, `-q op ${shellWord(out)} docker x`);
                assert.ok(!quiet.stdout.includes("quiet output"));
                assert.equal(fs.readFileSync(out, "utf8"), "quiet output\n");
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });
    });

    describe("each command that talks to a registry retries", () => {
        const withSleep = (name: FragmentName, opts: BuildspecOptions = o) => `${SLEEP}${runnable(opts, name)}`;

        it("login: a 503 from the registry and a throttled aws are retried; a 401 is not, and says to check the permission; retries that run out print only their own ERROR", () => {
            const login = withSleep("login");
            const ok = runBash(`${login}\necho "rc=$?"${SLEPT}`, {
                env: {
                    FAILS: "2",
                    ERR: 'Error response from daemon: Get "http://r/v2/": received unexpected HTTP status: 503 Service Unavailable',
                },
                stubs: { aws: "echo pw", docker: `cat >/dev/null\n${FLAKY_DOCKER}` },
            });
            assert.match(ok.stdout, /^rc=0$/m);
            assert.equal(ok.calls.filter((c) => c[0] === "docker").length, 3);
            assert.equal(retryLines(ok.stdout).length, 2);
            assert.match(
                retryLines(ok.stdout)[0],
                new RegExp(
                    `^layer cache: docker login to ${REGISTRY.replace(/\./g, "\\.")} failed on a transient registry error \\(attempt 1 of ${ATTEMPTS}\\): .*503`,
                ),
            );

            const throttled = runBash(`${login}\necho "rc=$?"${SLEPT}\n`, {
                stubs: {
                    aws: 'n=$(cat "$STATE/a" 2>/dev/null || echo 0); echo $((n + 1)) >"$STATE/a"; if [ "$n" = 0 ]; then echo "An error occurred (ThrottlingException) when calling the GetAuthorizationToken operation: Rate exceeded" >&2; return 254; fi; echo pw',
                    docker: '[ "$(cat)" = pw ] || { echo "Error: password required" >&2; return 1; }',
                },
            });
            assert.match(throttled.stdout, /^rc=0$/m);
            assert.match(retryLines(throttled.stdout)[0] ?? "", /ThrottlingException/);

            const denied = runBash(`${login}\necho "rc=$?"${SLEPT}`, {
                env: {
                    FAILS: "99",
                    ERR: "Error response from daemon: login attempt to http://r/v2/ failed with status: 401 Unauthorized",
                },
                stubs: { aws: "echo pw", docker: `cat >/dev/null\n${FLAKY_DOCKER}` },
            });
            assert.match(denied.stdout, /^rc=1$/m);
            assert.equal(denied.calls.filter((c) => c[0] === "docker").length, 1);
            assert.match(
                denied.stderr,
                /ERROR: docker login to \S+ failed, so the layer cache can be neither read nor written/,
            );

            const outage = runBash(`${login}\necho "rc=$?"${SLEPT}`, {
                env: { FAILS: "99", ERR: "received unexpected HTTP status: 503 Service Unavailable" },
                stubs: { aws: "echo pw", docker: `cat >/dev/null\n${FLAKY_DOCKER}` },
            });
            assert.match(outage.stdout, /^rc=1$/m);
            assert.deepEqual(
                outage.stderr.split("\n").filter((l) => l.startsWith("ERROR")),
                [
                    outage.stderr
                        .split("\n")
                        .find((l) =>
                            l.startsWith(`ERROR: docker login to ${REGISTRY} failed after ${ATTEMPTS} attempts in `),
                        ),
                ],
                "one ERROR line, the library's, naming the registry and the last error",
            );
            assert.match(outage.stderr, /Last error: received unexpected HTTP status: 503 Service Unavailable$/m);
        });

        it("probe: a 429 then the cache is found; an outage fails the build with one ERROR line, not as a cold build", () => {
            const ref = cacheRefs(o).cache;
            const probe = `${withSleep("probe")}\necho "rc=$? CACHE_FOUND=$CACHE_FOUND"${SLEPT}`;
            const err = 'ERROR: error parsing HTTP 429 response body: unexpected end of JSON input: ""';
            const found = runBash(probe, { env: { FAILS: "1", ERR: err }, stubs: { docker: FLAKY_DOCKER } });
            assert.match(found.stdout, /^rc=0 CACHE_FOUND=1$/m);
            assert.deepEqual(
                found.calls.map((c) => c.join(" ")),
                Array(2).fill(`docker buildx imagetools inspect ${ref}`),
            );
            assert.match(found.stdout, new RegExp(`^layer cache: found ${ref.replace(/\./g, "\\.")}$`, "m"));
            const outage = runBash(probe, { env: { FAILS: "99", ERR: err }, stubs: { docker: FLAKY_DOCKER } });
            assert.match(outage.stdout, /^rc=1 CACHE_FOUND=0$/m);
            assert.equal(outage.calls.length, ATTEMPTS);
            assert.ok(!outage.stdout.includes("is not there yet"), "an outage is not a first build");
            assert.deepEqual(
                outage.stderr
                    .split("\n")
                    .filter((l) => l.startsWith("ERROR"))
                    .map((l) => l.replace(/ in \d+ s,/, " in N s,")),
                [
                    `ERROR: reading the layer cache ${ref} failed after ${ATTEMPTS} attempts in N s, each on a transient registry error (throttling, a server error, a dropped connection or a timeout); the retries ran out. Last error: ${err}`,
                ],
            );
            // A pull-request build reads the cache the same way: the probe doesn't depend on trust.
            const notThere = runBash(probe, {
                env: { FAILS: "1", ERR: `ERROR: ${ref}: not found` },
                stubs: { docker: FLAKY_DOCKER },
            });
            assert.match(notThere.stdout, /^rc=0 CACHE_FOUND=0$/m);
            assert.equal(notThere.calls.length, 1, "not found is never retried");
        });

        it("pull: a reset connection then the image; not found is a cold first build; an outage or a denial fails the build", () => {
            const o2 = options({ cacheStrategy: "pull" });
            const pull = `${withSleep("pull", o2)}\necho "rc=$? F=$CACHE_FOUND"${SLEPT}`;
            const reset =
                "error pulling image configuration: read tcp 1.2.3.4:1->5.6.7.8:443: read: connection reset by peer";
            const ok = runBash(pull, { env: { FAILS: "1", ERR: reset }, stubs: { docker: FLAKY_DOCKER } });
            assert.match(ok.stdout, /^rc=0 F=1$/m);
            assert.equal(ok.calls.length, 2);
            const missing = runBash(pull, {
                env: {
                    FAILS: "1",
                    ERR: `Error response from daemon: manifest for ${REPO}:latest not found: manifest unknown`,
                },
                stubs: { docker: FLAKY_DOCKER },
            });
            assert.match(missing.stdout, /^rc=0 F=0$/m);
            assert.match(missing.stdout, /is not there yet \(first build\): this build is cold/);
            const outage = runBash(pull, { env: { FAILS: "99", ERR: reset }, stubs: { docker: FLAKY_DOCKER } });
            assert.match(outage.stdout, /^rc=1 F=0$/m);
            assert.match(
                outage.stderr,
                new RegExp(
                    `^ERROR: docker pull ${REPO.replace(/\./g, "\\.")}:latest failed after ${ATTEMPTS} attempts`,
                    "m",
                ),
            );
            const denied = runBash(pull, {
                env: { FAILS: "99", ERR: "denied: not authorized" },
                stubs: { docker: FLAKY_DOCKER },
            });
            assert.match(denied.stdout, /^rc=1 F=0$/m);
            assert.match(denied.stderr, /^ERROR: cannot pull \S+: denied: not authorized$/m);
        });

        it("builder: a failed start is cleaned up (buildx rm) before the next try", () => {
            const r = runBash(`${withSleep("builder")}\necho "rc=$?"${SLEPT}`, {
                env: { CODEBUILD_BUILD_ID: "p:id" },
                stubs: {
                    docker: [
                        'if [ "$2" != create ]; then return 0; fi',
                        'n=$(cat "$STATE/n" 2>/dev/null || echo 0); echo $((n + 1)) >"$STATE/n"',
                        'if [ "$n" = 0 ]; then echo "ERROR: failed to pull public.ecr.aws/x: 503 Service Unavailable" >&2; return 1; fi',
                    ].join("\n"),
                },
            });
            assert.match(r.stdout, /^rc=0$/m);
            assert.deepEqual(
                r.calls.map((c) => c.slice(0, 3).join(" ")),
                [
                    "docker pull --quiet",
                    "docker tag public.ecr.aws/vend/moby/buildkit:buildx-stable-1",
                    "docker buildx create",
                    "docker buildx rm",
                    "docker buildx create",
                ],
            );
            assert.match(
                retryLines(r.stdout)[0],
                /^layer cache: starting the builder layer-cache \(docker buildx create, --driver-opt image=\S+\) failed/,
            );
        });

        describe("builder: the image's sources", () => {
            const pinned = options({
                cacheStrategy: "registry",
                builderImage: DEFAULTS.builderImage,
                builderImageMirrors: DEFAULTS.builderImageMirrors,
            });
            const [ecrPublic, hub] = [DEFAULTS.builderImage, `docker.io/moby/buildkit@${BUILDKIT_V0_32_2}`];
            const DOWN =
                'Error response from daemon: Get "https://public.ecr.aws/v2/": dial tcp 1.2.3.4:443: connect: connection refused';

            it("a transient error is retried on the same source, which then serves it", () => {
                const r = runBash(`${withSleep("builder", pinned)}\necho "rc=$?"${SLEPT}`, {
                    env: { CODEBUILD_BUILD_ID: "p:id", FAILS: "1", ERR: DOWN },
                    stubs: {
                        docker: `if [ "$2" = inspect ]; then return 1; fi\nif [ "$1" != pull ]; then return 0; fi\n${FLAKY_DOCKER}`,
                    },
                });
                assert.match(r.stdout, /^rc=0$/m);
                assert.deepEqual(
                    r.calls.filter((c) => c[1] === "pull").map((c) => c[3]),
                    [ecrPublic, ecrPublic],
                );
                assert.equal(slept(r.stdout).length, 1);
                assert.match(
                    r.stdout,
                    new RegExp(`^layer cache: the builder image came from ${ecrPublic.replace(/\./g, "\\.")}$`, "m"),
                );
                assert.equal(r.stderr, "");
            });

            it("every source down: each is retried, then one ERROR line names every source tried and why; no builder, the command fails", () => {
                const r = runBash(`${withSleep("builder", pinned)}\necho "rc=$?"${SLEPT}`, {
                    env: { CODEBUILD_BUILD_ID: "p:id", FAILS: "99", ERR: DOWN },
                    stubs: { docker: `if [ "$2" = inspect ]; then return 1; fi\n${FLAKY_DOCKER}` },
                });
                assert.match(r.stdout, /^rc=1$/m);
                const pulls = r.calls.filter((c) => c[1] === "pull").map((c) => c[3]);
                assert.deepEqual(pulls, [...Array(ATTEMPTS).fill(ecrPublic), ...Array(ATTEMPTS).fill(hub)]);
                assert.ok(!r.calls.some((c) => c[2] === "create"), "no builder is started");
                const errors = r.stderr.split("\n").filter((l) => l.startsWith("ERROR"));
                assert.deepEqual(errors, [
                    `ERROR: no source served the builder image, so nothing is built: ` +
                        `${ecrPublic} (${ATTEMPTS} attempts): ${DOWN}; ${hub} (${ATTEMPTS} attempts): ${DOWN}`,
                ]);
            });
        });

        describe("build, report and export", () => {
            const logs: string[] = [];
            after(() => logs.forEach((l) => fs.rmSync(l, { force: true })));
            const runBuild = (trusted: string, env: Record<string, string>, after = "") => {
                const id = buildId();
                logs.push(id.log, `${id.log}.export`);
                const r = runBash(
                    `${withSleep("build")}\necho "rc=$? IMAGE_PUSHED=$IMAGE_PUSHED BUILD_ATTEMPTS=$BUILD_ATTEMPTS"${after}${SLEPT}`,
                    { env: { TRUSTED: trusted, CODEBUILD_BUILD_ID: id.id, ...env }, stubs: { docker: FLAKY_DOCKER } },
                );
                return { ...r, log: id.log };
            };
            const PUSH_503 =
                "ERROR: failed to build: failed to solve: failed to push r/app:latest: unexpected status from PUT request to http://r/v2/app/manifests/latest: 503 Service Unavailable";

            it("a push that fails on a 503, then works: the same argv twice, IMAGE_PUSHED=1, BUILD_ATTEMPTS=2, the log holds the last attempt", () => {
                const r = runBuild("1", { FAILS: "1", ERR: PUSH_503, OUT: "#5 [2/2] RUN make\n#5 CACHED" });
                assert.match(r.stdout, /^rc=0 IMAGE_PUSHED=1 BUILD_ATTEMPTS=2$/m);
                assert.equal(r.calls.length, 2);
                assert.deepEqual(r.calls[1], r.calls[0], "a retry is the same invocation");
                assert.equal(fs.readFileSync(r.log, "utf8"), "#5 [2/2] RUN make\n#5 CACHED\n");
                assert.match(
                    retryLines(r.stdout)[0],
                    /^layer cache: the build \(reading the layer cache \S+:buildcache, pushing \S+:latest\) failed on a transient registry error \(attempt 1 of 6\): ERROR: failed to build: .*503 Service Unavailable; next try in 1 s$/,
                );
            });

            it("an untrusted build retries its cache read the same way; a failed Dockerfile step is never retried", () => {
                const pr = runBuild("0", {
                    FAILS: "1",
                    ERR: "ERROR: failed to build: failed to solve: r/app:buildcache: failed to do request: EOF",
                });
                assert.match(pr.stdout, /^rc=0 IMAGE_PUSHED=0 BUILD_ATTEMPTS=2$/m);
                assert.match(
                    retryLines(pr.stdout)[0],
                    /^layer cache: the build \(reading the layer cache \S+:buildcache\) failed/,
                );
                const step = runBuild("1", {
                    FAILS: "99",
                    ERR_RC: "1",
                    ERR: 'ERROR: failed to build: failed to solve: process "/bin/sh -c make" did not complete successfully: exit code: 2',
                });
                assert.match(step.stdout, /^rc=1 IMAGE_PUSHED=0 BUILD_ATTEMPTS=1$/m);
                assert.equal(step.calls.length, 1);
            });

            it("an outage: 6 attempts, the build fails with one ERROR line, IMAGE_PUSHED=0", () => {
                const r = runBuild("1", { FAILS: "99", ERR: PUSH_503, ERR_RC: "1" });
                assert.match(r.stdout, /^rc=1 IMAGE_PUSHED=0 BUILD_ATTEMPTS=6$/m);
                assert.equal(r.calls.length, ATTEMPTS);
                assert.equal(r.stderr.split("\n").filter((l) => l.startsWith("ERROR: the build")).length, 1, r.stderr);
            });

            it("after a retried build every step counts as cached (the builder's own cache), so the report says so and the export runs", () => {
                const allCached = "#5 [1/2] FROM b\n#6 [2/2] RUN make\n#6 CACHED";
                const script = `\n${runnable(o, "report")}\n${runnable(o, "export")}\necho "export rc=$?"`;
                const r = runBuild("1", { FAILS: "1", ERR: PUSH_503, OUT: allCached, CACHE_FOUND: "1" }, script);
                assert.match(r.stdout, /^layer cache: 1 of 1 steps cached$/m);
                assert.match(
                    r.stdout,
                    /^layer cache: counted on attempt 2 of the build, which took what the earlier attempts built from the builder's own cache$/m,
                );
                assert.match(r.stdout, /^export rc=0$/m);
                assert.equal(r.calls.length, 3, "build twice, then the export");
                assert.ok(r.calls[2].includes("--cache-to"), JSON.stringify(r.calls[2]));
                // The same build in one attempt: every step from the cache in the registry, no export.
                const once = runBuild("1", { OUT: allCached, CACHE_FOUND: "1" }, script);
                assert.match(once.stdout, /not exported again/);
                assert.equal(once.calls.length, 1);
            });

            describe("the cache import (issue 25): BuildKit would build cold after a failed import, so a transient failure stops the build", () => {
                /**
                 * Mocked: a docker stub shaped like BuildKit's plain progress. Each call prints the import vertex of $REF; its
                 * first $FAILS calls then print that vertex's ERROR ($ERR) and, as BuildKit does, go on without the cache:
                 * after $HANG seconds (a real sleep) they build the step cold (`#5 DONE 9.9s`) and succeed. The others
                 * import fine and print $OUT.
                 */
                const IMPORT_DOCKER = [
                    'n=$(cat "$STATE/n" 2>/dev/null || echo 0); echo $((n + 1)) >"$STATE/n"',
                    'echo "#4 importing cache manifest from $REF"',
                    'if [ "$n" -lt "${FAILS:-0}" ]; then echo "#4 ERROR: $ERR"; /bin/sleep "${HANG:-0}"; printf "#5 [2/2] RUN make\\n#5 DONE 9.9s\\n"; return 0; fi',
                    'printf "#5 [2/2] RUN make\\n#5 CACHED\\n"',
                ].join("\n");
                const IMPORT_503 =
                    "httpReadSeeker: failed open: unexpected status from GET request to http://r/v2/app/manifests/sha256:ab: 503 Service Unavailable";
                const importBuild = (opts: BuildspecOptions, env: Record<string, string>) => {
                    const id = buildId();
                    logs.push(id.log);
                    const r = runBash(
                        `${withSleep("build", opts)}\necho "rc=$? BUILD_ATTEMPTS=$BUILD_ATTEMPTS"${SLEPT}`,
                        { env: { TRUSTED: "1", CODEBUILD_BUILD_ID: id.id, ...env }, stubs: { docker: IMPORT_DOCKER } },
                    );
                    return { ...r, log: id.log };
                };
                const stopLine = (ref: string, err: string) =>
                    `layer cache: stopped the build before it built without its cache: importing the layer cache ${ref} failed: ${err}`;

                for (const strategy of STRATEGIES) {
                    it(`${strategy}: an import answered 503 stops that attempt before it builds cold (no \`DONE\` step), one line names the ref and the error, and the next attempt gets the hits`, () => {
                        const opts = options({ cacheStrategy: strategy });
                        const ref = strategy === "registry" ? cacheRefs(opts).cache : cacheRefs(opts).image;
                        const r = importBuild(opts, { REF: ref, FAILS: "1", ERR: IMPORT_503, HANG: "10" });
                        assert.match(r.stdout, /^rc=0 BUILD_ATTEMPTS=2$/m, r.stdout + r.stderr);
                        assert.equal(r.calls.length, 2);
                        assert.deepEqual(r.calls[1], r.calls[0], "a retry is the same invocation");
                        assert.ok(!r.stdout.includes("#5 DONE"), "no step was built cold");
                        assert.ok(r.stdout.split("\n").includes(stopLine(ref, IMPORT_503)), r.stdout);
                        assert.equal(retryLines(r.stdout).length, 1);
                        assert.match(
                            retryLines(r.stdout)[0],
                            /\(attempt 1 of 6\): layer cache: stopped the build .*503 Service Unavailable; next try in 1 s$/,
                        );
                        assert.equal(
                            fs.readFileSync(r.log, "utf8"),
                            `#4 importing cache manifest from ${ref}\n#5 [2/2] RUN make\n#5 CACHED\n`,
                        );
                    });
                }

                for (const err of [
                    `failed to configure registry cache importer: ${REPO}:buildcache: not found`,
                    "failed to configure registry cache importer: unexpected status from HEAD request to http://r/v2/app/manifests/buildcache: 403 Forbidden",
                ]) {
                    it(`a permanent import error is left to BuildKit, as before: one attempt, no retry (${/not found|403 Forbidden/.exec(err)?.[0]})`, () => {
                        const r = importBuild(o, { REF: cacheRefs(o).cache, FAILS: "1", ERR: err });
                        assert.match(r.stdout, /^rc=0 BUILD_ATTEMPTS=1$/m);
                        assert.equal(r.calls.length, 1);
                        assert.deepEqual(retryLines(r.stdout), []);
                        assert.ok(r.stdout.includes("#5 DONE"), "BuildKit built without the cache");
                    });
                }

                it("fail (the default): when the retries run out at the import, the build fails with one ERROR line naming the cache ref and the last error", () => {
                    const ref = cacheRefs(o).cache;
                    const r = importBuild(o, { REF: ref, FAILS: "99", ERR: IMPORT_503, HANG: "10" });
                    assert.match(r.stdout, /^rc=[1-9]\d* BUILD_ATTEMPTS=6$/m, "a failed build");
                    assert.equal(r.calls.length, ATTEMPTS);
                    assert.ok(!r.stdout.includes("#5 DONE"), "no attempt built cold");
                    const errors = r.stderr.split("\n").filter((l) => l.startsWith("ERROR: "));
                    assert.equal(errors.length, 1, r.stderr);
                    assert.match(
                        errors[0],
                        new RegExp(
                            `^ERROR: the build \\(reading the layer cache ${ref.replace(/\./g, "\\.")}, pushing \\S+\\) failed after 6 attempts in \\d+ s, .*Last error: layer cache: stopped the build before it built without its cache: importing the layer cache ${ref.replace(/\./g, "\\.")} failed: .*503 Service Unavailable$`,
                        ),
                    );
                });

                it("build-cold: the last attempt builds without the cache, with a WARNING line naming the ref and the error", () => {
                    const opts = options({ cacheStrategy: "registry", onCacheImportFailure: "build-cold" });
                    const ref = cacheRefs(opts).cache;
                    const r = importBuild(opts, { REF: ref, FAILS: "99", ERR: IMPORT_503 });
                    assert.match(r.stdout, /^rc=0 BUILD_ATTEMPTS=6$/m);
                    assert.equal(r.calls.length, ATTEMPTS);
                    assert.equal(
                        r.stdout.split("\n").filter((l) => l === stopLine(ref, IMPORT_503)).length,
                        ATTEMPTS - 1,
                    );
                    assert.ok(
                        r.stdout
                            .split("\n")
                            .includes(
                                `layer cache: WARNING: building without the layer cache ${ref} (last attempt, build-cold): ${IMPORT_503}`,
                            ),
                        r.stdout,
                    );
                    assert.ok(r.stdout.includes("#5 DONE"), "the last attempt built cold");
                });
            });

            it("export: a dropped connection is retried; an outage fails the command with one ERROR line naming the cache ref", () => {
                const vars = { TRUSTED: "1", CACHE_FOUND: "0", N_STEPS: "2", N_CACHED: "0", BUILD_ATTEMPTS: "1" };
                const id = buildId();
                logs.push(id.log, `${id.log}.export`);
                fs.writeFileSync(id.log, "");
                const exp = `${withSleep("export")}\necho "rc=$?"${SLEPT}`;
                const err =
                    "ERROR: failed to solve: error writing layer blob: failed to copy: read tcp a->b: read: connection reset by peer";
                const ok = runBash(exp, {
                    env: { ...vars, BUILD_LOG: id.log, FAILS: "1", ERR: err },
                    stubs: { docker: FLAKY_DOCKER },
                });
                assert.match(ok.stdout, /^rc=0$/m);
                assert.equal(ok.calls.length, 2);
                const outage = runBash(exp, {
                    env: { ...vars, BUILD_LOG: id.log, FAILS: "99", ERR: err },
                    stubs: { docker: FLAKY_DOCKER },
                });
                assert.match(outage.stdout, /^rc=1$/m);
                assert.match(
                    outage.stderr,
                    new RegExp(
                        `^ERROR: the cache export to ${cacheRefs(o).cache.replace(/\./g, "\\.")} failed after ${ATTEMPTS} attempts in \\d+ s, .*Last error: ${err}$`,
                        "m",
                    ),
                );
            });
        });
    });
});
