/**
 * Skip unchanged builds: `buildspec/key.sh` executed in real bash (tests/helpers/bash.ts), with `docker` stubbed,
 * then what build.sh, export.sh and metrics.sh do with its outputs; and the component side (`components/skip.ts`:
 * the argument, the lifecycle rule).
 *
 * What is mocked: only `docker`. Its stub answers `buildx imagetools inspect --raw REF` with the manifest text given
 * for REF in the variable `M_<n>` (n = the ref's position in `REFS`), or fails with "not found"; `imagetools create`
 * succeeds when its source is such a ref and fails with "not found" otherwise. Everything else is real: tar, sha256sum, awk over a real Dockerfile in a temporary folder.
 */
import { strict as assert } from "assert";
import { ChildProcess, spawn } from "child_process";
import { randomUUID } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { argProblems, resolveArgs } from "../../components/resolveArgs";
import { BuildspecOptions, phaseFragments } from "../../components/buildspec";
import { buildspec } from "../../components/buildspec/render";
import { lifecyclePolicy } from "../../components/lifecycle";
import { FORCE_BUILD_VARIABLE, forceBuildHint, KEY_IMAGES_KEPT, KEY_TAG_PATTERN } from "../../components/skip";
import { IN_BUILD_EXPORT_LINE } from "../../localBuild/experiment";
import { BashRun, runBash } from "../helpers/bash";
import { buildspecOptions, TEST_REPOSITORY_URL } from "../helpers/buildspecOptions";

const REPO = TEST_REPOSITORY_URL;

let dir: string;
beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "skip-ctx-"));
    fs.writeFileSync(path.join(dir, "Dockerfile"), "FROM base:1\nRUN echo hi\n");
    fs.writeFileSync(path.join(dir, "app.txt"), "v1\n");
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function options(over: Partial<BuildspecOptions> = {}): BuildspecOptions {
    return buildspecOptions({
        cacheStrategy: "registry",
        dockerfileDir: dir,
        sourceVersion: undefined,
        skipUnchanged: true,
        ...over,
    });
}

/** The commands of fragments `names`, in the order of the buildspec of `o`. */
function commands(o: BuildspecOptions, names: string[]): string {
    const spec = buildspec(o);
    const phases = phaseFragments(o);
    const out: string[] = [];
    for (const phase of ["pre_build", "build", "post_build"] as const) {
        phases[phase].forEach((n, i) => {
            if (names.includes(n)) out.push(spec.phases[phase].commands[i]);
        });
    }
    return out.join("\n");
}

interface KeyRun extends BashRun {
    readonly keyRef: string;
    readonly skipped: string;
}

/**
 * Runs retry.sh then key.sh. `manifests`: what `imagetools inspect --raw` prints per ref (a ref not listed is
 * "not found"); `env`: more variables (TRUSTED defaults to 1); `beforeEachCall`: shell the docker stub runs first.
 */
function runKey(
    o: BuildspecOptions,
    manifests: Record<string, string>,
    env: Record<string, string> = {},
    beforeEachCall = "",
): KeyRun {
    const refs = Object.keys(manifests);
    const vars: Record<string, string> = {};
    refs.forEach((r, i) => (vars[`M_${i}`] = manifests[r]));
    const lookup = refs.map((r, i) => `${JSON.stringify(r)}) printf '%s' "$M_${i}" ;;`).join(" ");
    // `imagetools create … <source>` (the trusted build's retag, which is its lookup too) finds its source the same way.
    const docker = `${beforeEachCall}\nif [ "$2" = imagetools ] && [ "$3" = inspect ]; then case "$5" in ${lookup} *) echo "ERROR: $5: not found" >&2; return 1 ;; esac; fi; if [ "$2" = imagetools ] && [ "$3" = create ]; then case "\${@: -1}" in ${lookup} *) echo "ERROR: \${@: -1}: not found" >&2; return 1 ;; esac; fi`;
    const r = runBash(`${commands(o, ["branch", "retry", "key"])}\necho "KEY_REF=$KEY_REF"; echo "SKIPPED=$SKIPPED"`, {
        env: { CODEBUILD_BUILD_ID: `p:${randomUUID()}`, TRUSTED: "1", CACHE_BRANCH: "", ...vars, ...env },
        stubs: { docker },
    });
    const value = (name: string) => new RegExp(`^${name}=(.*)$`, "m").exec(r.stdout)?.[1] ?? "";
    return { ...r, keyRef: value("KEY_REF"), skipped: value("SKIPPED") };
}

const BASE = { "base:1": "manifest-of-base-1" };
const said = (r: BashRun) => r.stdout.split("\n").filter((l) => l.startsWith("layer cache:"));
const inspected = (r: BashRun) =>
    r.calls.filter((c) => c[2] === "imagetools" && c[3] === "inspect").map((c) => c[c.length - 1]);
/** The retags: [tag, source] of each `imagetools create`. */
const retagged = (r: BashRun) =>
    r.calls
        .filter((c) => c[2] === "imagetools" && c[3] === "create")
        .map((c) => [c[c.indexOf("-t") + 1], c[c.length - 1]]);

describe("skip unchanged builds: key.sh (executed in bash, docker stubbed)", () => {
    it("no image has the key yet: builds, with a key tag key-<64 hex> in the image's repository, the same on a rerun and after a touch", () => {
        const r = runKey(options(), BASE);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.keyRef, new RegExp(`^${REPO}:key-[0-9a-f]{64}$`));
        assert.equal(r.skipped, "0");
        assert.deepEqual(inspected(r), ["base:1"], "the FROM image is resolved");
        // A trusted build looks the key up by retagging it: one call, which fails with "not found" here.
        assert.deepEqual(retagged(r), [[`${REPO}:latest`, r.keyRef]], "then one retag attempt is the lookup");
        assert.deepEqual(said(r), [`layer cache: building: no image has these inputs yet (${r.keyRef})`]);
        fs.utimesSync(path.join(dir, "app.txt"), new Date(2001, 1, 1), new Date(2001, 1, 1));
        assert.equal(runKey(options(), BASE).keyRef, r.keyRef, "mtimes are not part of the key");
    });

    it("each input changed alone changes the key: a context file, the Dockerfile, a build arg, the strategy, the builder image, a moved base tag, the Dockerfile name", () => {
        const first = runKey(options(), BASE).keyRef;
        const keys: Record<string, string> = {};
        fs.writeFileSync(path.join(dir, "app.txt"), "v2\n");
        keys["context file"] = runKey(options(), BASE).keyRef;
        fs.writeFileSync(path.join(dir, "app.txt"), "v1\n");
        assert.equal(runKey(options(), BASE).keyRef, first, "back to the same content, back to the same key");
        fs.writeFileSync(path.join(dir, "Dockerfile"), "FROM base:1\nRUN echo hello\n");
        keys["Dockerfile"] = runKey(options(), BASE).keyRef;
        fs.writeFileSync(path.join(dir, "Dockerfile"), "FROM base:1\nRUN echo hi\n");
        keys["build arg"] = runKey(options({ buildArgs: { V: "1" } }), BASE).keyRef;
        keys["strategy"] = runKey(options({ cacheStrategy: "inline" }), BASE).keyRef;
        keys["builder image"] = runKey(
            options({ builderImage: "public.ecr.aws/vend/moby/buildkit:v0.33.0" }),
            BASE,
        ).keyRef;
        keys["moved base tag"] = runKey(options(), { "base:1": "another-manifest" }).keyRef;
        fs.copyFileSync(path.join(dir, "Dockerfile"), path.join(dir, "Dockerfile.ci"));
        keys["Dockerfile name"] = runKey(options({ dockerfileName: "Dockerfile.ci" }), BASE).keyRef;
        for (const [what, key] of Object.entries(keys)) {
            assert.match(key, /:key-[0-9a-f]{64}$/, what);
            assert.notEqual(key, first, `${what}: the key must change`);
        }
        assert.equal(new Set(Object.values(keys)).size, Object.keys(keys).length, "each change gives its own key");
    });

    it("the key hashes the base's manifest only: a warning buildx prints on stderr doesn't change it", () => {
        const first = runKey(options(), BASE).keyRef;
        const warned = runKey(options(), BASE, {}, 'echo "WARNING: a passing remark" >&2');
        assert.equal(warned.status, 0, warned.stderr);
        assert.deepEqual(inspected(warned), ["base:1"]);
        assert.equal(warned.keyRef, first);
        // Control: the manifest itself is hashed.
        assert.notEqual(runKey(options(), { "base:1": "manifest-of-base-1 " }).keyRef, first);
    });

    it("FROM parsing: flags skipped, earlier stages (any case) and scratch not resolved, each image resolved once per line", () => {
        fs.writeFileSync(
            path.join(dir, "Dockerfile"),
            [
                "# syntax=docker/dockerfile:1",
                "from --platform=$BUILDPLATFORM golang:1.22 AS Builder",
                "RUN go build",
                "FROM scratch AS empty",
                "FROM builder AS test",
                "FROM alpine:3.20",
                "COPY --from=builder /out /out",
            ].join("\n"),
        );
        const r = runKey(options(), { "golang:1.22": "g", "alpine:3.20": "a" });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(inspected(r), ["golang:1.22", "alpine:3.20"]);
        assert.deepEqual(retagged(r), [[`${REPO}:latest`, r.keyRef]]);
    });

    for (const [title, from] of [
        ["an ARG", "FROM $BASE"],
        ["an ARG in braces", "FROM registry.example/${IMAGE}:1"],
    ] as const) {
        it(`a FROM naming ${title}: no key, it builds, and says why`, () => {
            fs.writeFileSync(path.join(dir, "Dockerfile"), `ARG BASE=base:1\n${from}\n`);
            const r = runKey(options(), BASE);
            assert.equal(r.status, 0, r.stderr);
            assert.equal(r.keyRef, "");
            assert.equal(r.skipped, "0");
            assert.deepEqual(said(r), [`layer cache: building: FROM ${from.slice(5)} uses an ARG`]);
            assert.ok(!inspected(r).some((x) => x.includes(":key-")), "no key lookup");
        });
    }

    it("an unresolvable FROM (not found): no key, it builds", () => {
        const r = runKey(options(), {});
        assert.equal(r.keyRef, "");
        assert.equal(r.skipped, "0");
        assert.match(said(r)[0], /^layer cache: building: FROM base:1 unresolved: ERROR: base:1: not found$/);
    });

    it("the key exists, trusted: the tag is pointed at it registry-side (imagetools create --prefer-index=false), skipped", () => {
        const key = runKey(options(), BASE).keyRef;
        const r = runKey(options(), { ...BASE, [key]: "the-image" });
        assert.equal(r.skipped, "1");
        assert.equal(r.keyRef, key);
        const creates = r.calls.filter((c) => c[3] === "create");
        assert.deepEqual(creates, [
            ["docker", "buildx", "imagetools", "create", "--prefer-index=false", "-t", `${REPO}:latest`, key],
        ]);
        assert.deepEqual(said(r), [`layer cache: skipped: ${key} was built from these exact inputs`]);
    });

    it("the key exists, untrusted (a pull request): skipped, nothing pushed or tagged", () => {
        const key = runKey(options(), BASE).keyRef;
        const r = runKey(options(), { ...BASE, [key]: "the-image" }, { TRUSTED: "0" });
        assert.equal(r.skipped, "1");
        assert.deepEqual(
            r.calls.filter((c) => c[3] !== "inspect"),
            [],
        );
    });

    it(`${FORCE_BUILD_VARIABLE}=1: builds although the key exists, without looking it up, and keeps the key (the build tags it)`, () => {
        const key = runKey(options(), BASE).keyRef;
        const r = runKey(options(), { ...BASE, [key]: "the-image" }, { [FORCE_BUILD_VARIABLE]: "1" });
        assert.equal(r.skipped, "0");
        assert.equal(r.keyRef, key);
        assert.deepEqual(inspected(r), ["base:1"]);
        assert.deepEqual(said(r), [`layer cache: building: ${FORCE_BUILD_VARIABLE}=1`]);
    });

    it("a retag that fails (not transient): it builds instead", () => {
        const o = options();
        const r = runBash(`${commands(o, ["branch", "retry", "key"])}\necho "SKIPPED=$SKIPPED"`, {
            env: { CODEBUILD_BUILD_ID: `p:${randomUUID()}`, TRUSTED: "1", CACHE_BRANCH: "" },
            stubs: {
                docker: `case "$2:$3" in imagetools:inspect) echo m ;; imagetools:create) echo "denied: not allowed" >&2; return 1 ;; esac`,
            },
        });
        assert.match(r.stdout, /^SKIPPED=0$/m);
        assert.match(
            said(r).join("\n"),
            new RegExp(`^layer cache: building: ${REPO}:key-[0-9a-f]{64}: denied: not allowed$`),
            r.stdout,
        );
    });

    it("a .git folder is left out of the key only when .dockerignore names it", () => {
        fs.writeFileSync(path.join(dir, ".dockerignore"), ".git\n");
        fs.mkdirSync(path.join(dir, ".git"));
        fs.writeFileSync(path.join(dir, ".git", "HEAD"), "a\n");
        const a = runKey(options(), BASE).keyRef;
        fs.writeFileSync(path.join(dir, ".git", "HEAD"), "b\n");
        assert.equal(runKey(options(), BASE).keyRef, a);
        fs.writeFileSync(path.join(dir, ".dockerignore"), "node_modules\n");
        const c = runKey(options(), BASE).keyRef;
        fs.writeFileSync(path.join(dir, ".git", "HEAD"), "c\n");
        assert.notEqual(runKey(options(), BASE).keyRef, c);
    });
});

// ---------- http.sh: key.sh's registry calls over the registry's HTTP API ----------

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";

interface FakeRequest {
    readonly method: string;
    readonly path: string;
    readonly accept: string | null;
    readonly contentType: string | null;
    readonly authorization: string | null;
    readonly body: string;
}

/** tests/helpers/fakeRegistry.py, started once for the block: a real HTTP server in its own process. */
class FakeRegistry {
    readonly state = fs.mkdtempSync(path.join(os.tmpdir(), "fake-registry-"));
    host = "";
    private proc?: ChildProcess;

    async start(): Promise<void> {
        const proc = spawn("python3", [path.join(__dirname, "..", "helpers", "fakeRegistry.py"), this.state], {
            stdio: ["ignore", "pipe", "inherit"],
        });
        this.proc = proc;
        const port = await new Promise<string>((resolve, reject) => {
            proc.once("error", reject);
            proc.once("exit", (code) => reject(new Error(`fakeRegistry.py exited with ${code}`)));
            proc.stdout.once("data", (b: Buffer) => resolve(b.toString().trim()));
        });
        this.host = `127.0.0.1:${port}`;
    }

    stop(): void {
        this.proc?.kill();
        fs.rmSync(this.state, { recursive: true, force: true });
    }

    /** Clears the requests and faults; sets the manifests ("<name>:<ref>" → type and body) and the credential. */
    reset(manifests: Record<string, { type: string; body: string }>, credential: string): void {
        fs.writeFileSync(path.join(this.state, "manifests.json"), JSON.stringify(manifests));
        fs.writeFileSync(path.join(this.state, "credential"), `Basic ${credential}`);
        fs.rmSync(path.join(this.state, "requests.jsonl"), { force: true });
        fs.rmSync(path.join(this.state, "faults"), { force: true });
    }

    faults(statuses: number[]): void {
        fs.writeFileSync(path.join(this.state, "faults"), statuses.join("\n"));
    }

    manifests(): Record<string, { type: string; body: string }> {
        return JSON.parse(fs.readFileSync(path.join(this.state, "manifests.json"), "utf8"));
    }

    requests(): FakeRequest[] {
        const f = path.join(this.state, "requests.jsonl");
        return fs.existsSync(f)
            ? fs
                  .readFileSync(f, "utf8")
                  .split("\n")
                  .filter((l) => l !== "")
                  .map((l) => JSON.parse(l) as FakeRequest)
            : [];
    }
}

describe("skip unchanged builds: http.sh (real bash, curl and jq against a fake registry in Python; docker stubbed)", () => {
    const reg = new FakeRegistry();
    const AUTH = Buffer.from("AWS:token-123").toString("base64");
    let dockerConfig: string;
    before(async () => {
        await reg.start();
    });
    after(() => reg.stop());
    beforeEach(() => {
        dockerConfig = fs.mkdtempSync(path.join(os.tmpdir(), "docker-config-"));
    });
    afterEach(() => fs.rmSync(dockerConfig, { recursive: true, force: true }));

    /** The project's repository on the fake registry. */
    const repo = () => `${reg.host}/app`;
    const httpOptions = (over: Partial<BuildspecOptions> = {}) => options({ repositoryUrl: repo(), ...over });
    /** What `docker login` leaves in the docker config: the registry's entry with its auth, or a credential helper. */
    const login = (how: "auth" | "helper") =>
        fs.writeFileSync(
            path.join(dockerConfig, "config.json"),
            JSON.stringify(
                how === "auth"
                    ? { auths: { [reg.host]: { auth: AUTH } } }
                    : { auths: { [reg.host]: {} }, credsStore: "ecr-login" },
                null,
                "\t",
            ),
        );
    /** Runs branch, retry, http and key; `docker` answers `imagetools inspect` of `foreign` refs only. */
    function runHttp(o: BuildspecOptions, env: Record<string, string> = {}, foreign: Record<string, string> = {}) {
        const lookup = Object.entries(foreign)
            .map(([r, m]) => `${JSON.stringify(r)}) printf '%s' ${JSON.stringify(m)} ;;`)
            .join(" ");
        const docker = `if [ "$2" = imagetools ] && [ "$3" = inspect ]; then case "$5" in ${lookup} *) echo "ERROR: $5: not found" >&2; return 1 ;; esac; fi; if [ "$3" = create ]; then echo "ERROR: not found" >&2; return 1; fi`;
        const buildId = `p:${randomUUID()}`;
        const r = runBash(
            `${commands(o, ["branch", "retry", "http", "key"])}\necho "KEY_REF=$KEY_REF"; echo "SKIPPED=$SKIPPED"; echo "AUTH_LEFT=\${k_auth-unset}"`,
            {
                env: {
                    CODEBUILD_BUILD_ID: buildId,
                    TRUSTED: "1",
                    CACHE_BRANCH: "",
                    DOCKER_CONFIG: dockerConfig,
                    ...env,
                },
                stubs: { docker },
            },
        );
        const value = (name: string) => new RegExp(`^${name}=(.*)$`, "m").exec(r.stdout)?.[1] ?? "";
        return { ...r, buildId, keyRef: value("KEY_REF"), skipped: value("SKIPPED"), authLeft: value("AUTH_LEFT") };
    }
    const baseRef = () => `${reg.host}/base/busybox:1`;
    const baseManifest = {
        type: OCI_INDEX,
        body: '{"schemaVersion":2,"mediaType":"' + OCI_INDEX + '","manifests":[]}',
    };
    const dockerfileFrom = (ref: string) =>
        fs.writeFileSync(path.join(dir, "Dockerfile"), `FROM ${ref}\nRUN echo hi\n`);
    const lines = (reqs: FakeRequest[]) => reqs.map((q) => `${q.method} ${q.path}`);

    it("the buildspec runs http.sh right before key.sh when skipping is on, two platforms built natively included", () => {
        assert.deepEqual(phaseFragments(options()).pre_build.slice(-5), ["login", "http", "key", "probe", "builder"]);
        const native = { platforms: ["linux/amd64", "linux/arm64"] as const, platformMode: "native" as const };
        const pre = phaseFragments(options({ ...native, platforms: [...native.platforms] })).pre_build;
        assert.equal(pre.indexOf("http") + 1, pre.indexOf("key"), pre.join(" "));
        assert.ok(pre.includes("http"), pre.join(" "));
        assert.ok(!phaseFragments(options({ skipUnchanged: false })).pre_build.includes("http"));
        const emulated = phaseFragments(
            options({ platforms: ["linux/amd64", "linux/arm64"], platformMode: "emulated" }),
        ).pre_build;
        assert.ok(emulated.includes("http"));
    });

    it("trusted, the key exists: a skip in three HTTP calls (the FROM, the key, the retag: the same bytes and media type under the tag), no docker call, the credential not left behind", () => {
        login("auth");
        dockerfileFrom(baseRef());
        reg.reset({ "base/busybox:1": baseManifest }, AUTH);
        const first = runHttp(httpOptions());
        assert.equal(first.status, 0, first.stderr);
        assert.equal(first.skipped, "0");
        const tag = first.keyRef.split(":").pop()!;
        assert.match(tag, /^key-[0-9a-f]{64}$/);
        assert.deepEqual(said(first), [`layer cache: building: no image has these inputs yet (${first.keyRef})`]);
        assert.deepEqual(first.calls, [], "no docker call: the 404 on the key is 'not found'");

        const image = {
            type: DOCKER_MANIFEST,
            body: '{"schemaVersion":2,"mediaType":"' + DOCKER_MANIFEST + '","x":"the image"}',
        };
        reg.reset({ "base/busybox:1": baseManifest, [`app:${tag}`]: image }, AUTH);
        const r = runHttp(httpOptions());
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.skipped, "1");
        assert.equal(r.keyRef, first.keyRef, "the same inputs give the same key");
        assert.deepEqual(said(r), [`layer cache: skipped: ${r.keyRef} was built from these exact inputs`]);
        assert.deepEqual(r.calls, [], "no docker call");
        const reqs = reg.requests();
        assert.deepEqual(lines(reqs), [
            "GET /v2/base/busybox/manifests/1",
            `GET /v2/app/manifests/${tag}`,
            "PUT /v2/app/manifests/latest",
        ]);
        for (const q of reqs) {
            assert.equal(q.authorization, `Basic ${AUTH}`, "docker login's stored credential");
        }
        for (const type of [
            OCI_INDEX,
            "application/vnd.docker.distribution.manifest.list.v2+json",
            OCI_MANIFEST,
            DOCKER_MANIFEST,
        ]) {
            assert.ok(reqs[0].accept?.includes(type), `the GET accepts ${type}: ${reqs[0].accept}`);
        }
        assert.equal(reqs[2].contentType, DOCKER_MANIFEST, "the PUT carries the manifest's own media type");
        assert.equal(reqs[2].body, image.body, "and its exact bytes, so the tag gets the key's digest");
        assert.deepEqual(reg.manifests()["app:latest"], image);
        assert.equal(r.authLeft, "unset", "key.sh unsets the credential it read");
        const written = fs.readFileSync(`/tmp/layer-cache-http.${r.buildId.split(":")[1]}.sh`, "utf8");
        assert.ok(written.includes("k_look ()"), "HTTP_SH holds the functions");
        assert.ok(!written.includes(AUTH) && !written.includes("token-123"), "and never the credential");
    });

    it("the key is the same whether the manifests come over HTTP or through buildx", () => {
        login("auth");
        dockerfileFrom(baseRef());
        reg.reset({ "base/busybox:1": baseManifest }, AUTH);
        const overHttp = runHttp(httpOptions()).keyRef;
        const viaBuildx = runKey(httpOptions(), { [baseRef()]: baseManifest.body }).keyRef;
        assert.equal(overHttp, viaBuildx);
        assert.match(overHttp, /:key-[0-9a-f]{64}$/);
    });

    it("untrusted: the key is only looked up (one GET), nothing is written", () => {
        login("auth");
        dockerfileFrom(baseRef());
        reg.reset({ "base/busybox:1": baseManifest }, AUTH);
        const tag = runHttp(httpOptions()).keyRef.split(":").pop()!;
        reg.reset({ "base/busybox:1": baseManifest, [`app:${tag}`]: baseManifest }, AUTH);
        const r = runHttp(httpOptions(), { TRUSTED: "0" });
        assert.equal(r.skipped, "1");
        assert.deepEqual(lines(reg.requests()), ["GET /v2/base/busybox/manifests/1", `GET /v2/app/manifests/${tag}`]);
    });

    it("a FROM in another registry goes through buildx; the project's own refs still over HTTP", () => {
        login("auth");
        dockerfileFrom("public.ecr.aws/docker/library/alpine:3");
        reg.reset({}, AUTH);
        const r = runHttp(httpOptions(), {}, { "public.ecr.aws/docker/library/alpine:3": "alpine-index" });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(inspected(r), ["public.ecr.aws/docker/library/alpine:3"]);
        assert.deepEqual(lines(reg.requests()), [`GET /v2/app/manifests/${r.keyRef.split(":").pop()}`]);
        assert.equal(r.skipped, "0");
    });

    it("no stored credential (a credential helper): everything through buildx, no HTTP request", () => {
        login("helper");
        dockerfileFrom(baseRef());
        reg.reset({ "base/busybox:1": baseManifest }, AUTH);
        const r = runHttp(httpOptions(), {}, { [baseRef()]: baseManifest.body });
        assert.deepEqual(inspected(r), [baseRef()]);
        assert.deepEqual(
            r.calls.filter((c) => c[3] === "create").map((c) => c.slice(-1)),
            [[r.keyRef]],
            "the retag is buildx's",
        );
        assert.deepEqual(reg.requests(), []);
    });

    it("the credential is the registry's own entry's auth: found after another registry's; a look-alike host, an identity token or no config means buildx", () => {
        dockerfileFrom(baseRef());
        const config = (auths: Record<string, unknown>) =>
            fs.writeFileSync(path.join(dockerConfig, "config.json"), JSON.stringify({ auths }, null, "\t"));
        const viaHttp = () => {
            reg.reset({ "base/busybox:1": baseManifest }, AUTH);
            const r = runHttp(httpOptions(), {}, { [baseRef()]: baseManifest.body });
            assert.equal(r.status, 0, r.stderr);
            return reg.requests().length > 0 && inspected(r).length === 0;
        };
        config({ "public.ecr.aws": { auth: "T1RIRVI=" }, [reg.host]: { auth: AUTH } });
        assert.equal(viaHttp(), true, "another registry's entry first");
        assert.ok(reg.requests().every((q) => q.authorization === `Basic ${AUTH}`));
        config({ [reg.host.replace(/\./g, "x")]: { auth: AUTH } });
        assert.equal(viaHttp(), false, "a host that only matches with . as a wildcard");
        config({ [reg.host]: { identitytoken: "t" } });
        assert.equal(viaHttp(), false, "an identity token");
        fs.rmSync(path.join(dockerConfig, "config.json"));
        assert.equal(viaHttp(), false, "no docker config");
    });

    it("a transient error (503) is retried; a refusal (401) is not, and the build goes on building", () => {
        login("auth");
        dockerfileFrom(baseRef());
        reg.reset({ "base/busybox:1": baseManifest }, AUTH);
        reg.faults([503]);
        const r = runHttp(httpOptions());
        assert.equal(r.status, 0, r.stderr);
        assert.match(
            r.stdout,
            /resolving .*base\/busybox:1 failed on a transient registry error \(attempt 1 of 6\): HTTP 503/,
        );
        assert.match(r.keyRef, /:key-[0-9a-f]{64}$/, "then resolved");

        reg.reset({ "base/busybox:1": baseManifest }, "another-credential");
        const refused = runHttp(httpOptions());
        assert.equal(refused.keyRef, "");
        assert.match(said(refused).join("\n"), /^layer cache: building: FROM .*base\/busybox:1 unresolved: HTTP 401: /);
        assert.equal(reg.requests().length, 1, "one attempt");
    });
});

describe("skip unchanged builds: what build.sh, export.sh and metrics.sh do with key.sh's outputs (executed)", () => {
    function after(
        o: BuildspecOptions,
        env: Record<string, string>,
        docker = "echo '#1 [1/1] RUN x'; echo '#1 DONE 0.1s'",
    ): BashRun {
        const uuid = randomUUID();
        const r = runBash(
            `CODEBUILD_BUILD_SUCCEEDING=1\nLAYER_CACHE_T_trust=1000\n${commands(o, ["branch", "retry", "build", "report", "export", "metrics"])}`,
            {
                env: { CODEBUILD_BUILD_ID: `p:${uuid}`, TRUSTED: "1", CACHE_BRANCH: "", CACHE_FOUND: "1", ...env },
                stubs: { docker },
            },
        );
        fs.rmSync(`/tmp/layer-cache-build.${uuid}.log`, { force: true });
        fs.rmSync(`/tmp/layer-cache-build.${uuid}.log.export`, { force: true });
        return r;
    }
    const event = (r: BashRun) => JSON.parse(r.stdout.split("\n").find((l) => l.startsWith('{"layerCache"'))!);
    const key = `${REPO}:key-${"a".repeat(64)}`;

    it("skipped: no docker build and no export; the line says skipped, the key, export none", () => {
        const r = after(options(), { SKIPPED: "1", KEY_REF: key });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(r.calls, []);
        const e = event(r);
        assert.equal(e.skipped, true);
        assert.equal(e.key, key);
        assert.equal(e.export, "none");
        assert.equal(e.pushed, true, "the requested tag points at the key's image");
        // report.sh counts nothing on a skip (no step ran) and says nothing about steps.
        assert.deepEqual([e.steps, e.cached, e.rebuilt, e.hitRatio], [0, 0, 0, null]);
        assert.ok(!r.stdout.includes("steps cached"), r.stdout);
    });

    for (const strategy of ["registry", "inline"] as const) {
        it(`${strategy}, built with a key: the push also names the key tag${strategy === "registry" ? " and, since --tag replaces the --output name, the image tag" : ""}`, () => {
            const r = after(options({ cacheStrategy: strategy }), { SKIPPED: "0", KEY_REF: key });
            const build = r.calls.find((c) => c[2] === "build")!;
            const tags = build.flatMap((w, i) => (build[i - 1] === "--tag" ? [w] : []));
            assert.deepEqual(tags, strategy === "registry" ? [key, `${REPO}:latest`] : [`${REPO}:latest`, key]);
            const e = event(r);
            assert.equal(e.skipped, false);
            assert.equal(e.key, key);
        });
    }

    const CACHE_TO = `type=registry,ref=${REPO}:buildcache,mode=max,image-manifest=true,oci-mediatypes=true,compression=gzip,force-compression=true`;
    const cacheTo = (r: BashRun) => {
        const build = r.calls.filter((c) => c[2] === "build");
        return build.map((c) => c.flatMap((w, i) => (c[i - 1] === "--cache-to" ? [w] : [])));
    };

    it("registry, trusted, the key missed: the build writes the cache beside the push (one invocation), export.sh runs no second one, the line says written", () => {
        const r = after(options(), { SKIPPED: "0", KEY_REF: key });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(cacheTo(r), [[CACHE_TO]], "one docker build, carrying the cache export");
        // The bench reads this line to find the export's time inside the build (localBuild/experiment.ts).
        assert.ok(r.stdout.includes(IN_BUILD_EXPORT_LINE), r.stdout);
        assert.equal(event(r).export, "written");
        // Every step cached (an input that changes no step, e.g. an unused build arg): still written, by the build.
        const hit = after(options(), { SKIPPED: "0", KEY_REF: key }, "echo '#1 [1/1] RUN x'; echo '#1 CACHED'");
        assert.deepEqual(cacheTo(hit), [[CACHE_TO]]);
        assert.equal(event(hit).cached, 1);
        assert.equal(event(hit).export, "written");
    });

    it("registry: without a key, forced, or untrusted, the build carries no cache export and export.sh decides as before", () => {
        // No key (skip off or no key computed): the build exports nothing; export.sh's second invocation (the step
        // was rebuilt) writes the cache.
        const none = after(options(), { SKIPPED: "0", KEY_REF: "" });
        assert.deepEqual(cacheTo(none), [[], [CACHE_TO]], "the build, then export.sh's own invocation");
        assert.equal(event(none).export, "written");
        // Forced: the same inputs may be built again, so the build may change nothing: export.sh's rule again.
        const forced = after(options(), { SKIPPED: "0", KEY_REF: key, [FORCE_BUILD_VARIABLE]: "1" });
        assert.deepEqual(cacheTo(forced), [[], [CACHE_TO]]);
        const untrusted = after(options(), { SKIPPED: "0", KEY_REF: key, TRUSTED: "0" });
        assert.deepEqual(cacheTo(untrusted), [[]], "an untrusted build writes no cache at all");
        // inline writes its cache into the image anyway: nothing more.
        const inline = after(options({ cacheStrategy: "inline" }), { SKIPPED: "0", KEY_REF: key });
        assert.deepEqual(cacheTo(inline), [["type=inline"]]);
    });

    it("registry, the key missed and the build failed: IMAGE_PUSHED says whether BuildKit's log shows the image's manifest pushed", () => {
        const o = options();
        const run = (log: string) => {
            const uuid = randomUUID();
            const r = runBash(
                `${commands(o, ["branch", "retry", "build"])}
echo "IMAGE_PUSHED=$IMAGE_PUSHED"`,
                {
                    env: { CODEBUILD_BUILD_ID: `p:${uuid}`, TRUSTED: "1", CACHE_BRANCH: "", KEY_REF: key, LOG: log },
                    stubs: { docker: 'printf "%s\\n" "$LOG"; return 1' },
                },
            );
            fs.rmSync(`/tmp/layer-cache-build.${uuid}.log`, { force: true });
            return /^IMAGE_PUSHED=(.*)$/m.exec(r.stdout)?.[1];
        };
        const digest = `sha256:${"b".repeat(64)}`;
        assert.equal(
            run(
                `#9 pushing manifest for ${REPO}:latest@${digest} done\n#10 exporting cache to registry\n#10 ERROR: denied`,
            ),
            "1",
        );
        assert.equal(
            run(`#9 pushing manifest for ${REPO}:latest@${digest}\n#9 ERROR: denied`),
            "0",
            "started, not done",
        );
        assert.equal(run(`#9 pushing manifest for ${REPO}:other@${digest} done`), "0", "another tag");
    });

    it("a skipped build doesn't look the cache up: probe.sh makes no call and sets CACHE_FOUND=0", () => {
        const o = options();
        const r = runBash(
            `${commands(o, ["branch", "retry", "probe"])}
echo "CACHE_FOUND=$CACHE_FOUND"`,
            {
                env: { CODEBUILD_BUILD_ID: `p:${randomUUID()}`, TRUSTED: "1", CACHE_BRANCH: "", SKIPPED: "1" },
                stubs: { docker: "echo called; return 0" },
            },
        );
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(r.calls, []);
        assert.match(r.stdout, /^CACHE_FOUND=0$/m);
        // Not skipped: the probe looks the cache up (positive control).
        const probed = runBash(`${commands(o, ["branch", "retry", "probe"])}`, {
            env: { CODEBUILD_BUILD_ID: `p:${randomUUID()}`, TRUSTED: "1", CACHE_BRANCH: "", SKIPPED: "0" },
            stubs: { docker: "echo Name: x; return 0" },
        });
        assert.equal(probed.calls.filter((c) => c[2] === "imagetools").length, 1);
    });

    it("untrusted, or no key: the push names no key tag; no key gives key null", () => {
        const untrusted = after(options(), { SKIPPED: "0", KEY_REF: key, TRUSTED: "0" });
        assert.ok(!untrusted.calls.find((c) => c[2] === "build")!.includes("--tag"));
        const none = after(options(), { SKIPPED: "0", KEY_REF: "" });
        assert.deepEqual(
            none.calls.find((c) => c[2] === "build")!.filter((w) => w === "--tag"),
            [],
        );
        assert.equal(event(none).key, null);
    });
});

describe("skip unchanged builds: the component side (components/skip.ts)", () => {
    it("skipUnchanged defaults to true for inline and registry and false for pull; true with pull is refused, naming the key, value and what is allowed", () => {
        assert.equal(resolveArgs("c", "dev", { cacheStrategy: "inline" }).skipUnchanged, true);
        assert.equal(resolveArgs("c", "dev", { cacheStrategy: "registry" }).skipUnchanged, true);
        assert.equal(resolveArgs("c", "dev", { cacheStrategy: "pull" }).skipUnchanged, false);
        assert.equal(resolveArgs("c", "dev", { skipUnchanged: false }).skipUnchanged, false);
        assert.deepEqual(argProblems("c", "dev", { cacheStrategy: "pull", skipUnchanged: true }), [
            {
                key: "skipUnchanged",
                value: true,
                allowed:
                    "Allowed: false or unset when cacheStrategy is pull; only inline and registry skip unchanged builds (pull is the original recipe, kept to be measured against).",
            },
        ]);
    });

    it("the key command runs right after the login (and http.sh), before the probe and the builder (a skipped build runs neither), only when on", () => {
        assert.deepEqual(phaseFragments(options()).pre_build.slice(-5), ["login", "http", "key", "probe", "builder"]);
        assert.deepEqual(phaseFragments(options({ cacheStrategy: "inline" })).pre_build.slice(-4), [
            "login",
            "http",
            "key",
            "probe",
        ]);
        assert.ok(!phaseFragments(options({ skipUnchanged: false })).pre_build.includes("key"));
        assert.ok(!phaseFragments(options({ skipUnchanged: undefined })).pre_build.includes("key"));
    });

    it("lifecycle: the key tags are bounded by their own rule after the shields, which still shield an image that also carries a key tag", () => {
        const policy = lifecyclePolicy({
            protectedTags: ["latest", "buildcache"],
            untaggedExpiryDays: 7,
            maxTaggedImages: 20,
            boundedTags: { pattern: KEY_TAG_PATTERN, keep: KEY_IMAGES_KEPT },
        });
        assert.deepEqual(
            policy.rules.map((r) => [r.rulePriority, r.selection.tagStatus, r.selection.tagPatternList?.[0]]),
            [
                [1, "tagged", "latest"],
                [2, "tagged", "buildcache"],
                [3, "tagged", "key-*"],
                [4, "untagged", undefined],
                [5, "tagged", "*"],
            ],
        );
        assert.equal(policy.rules[2].selection.countNumber, KEY_IMAGES_KEPT);
        assert.throws(
            () =>
                lifecyclePolicy({
                    protectedTags: ["latest"],
                    untaggedExpiryDays: 7,
                    maxTaggedImages: 20,
                    boundedTags: { pattern: KEY_TAG_PATTERN, keep: 0 },
                }),
            /boundedTags.keep must be a whole number of at least 1, got 0/,
        );
    });

    it("the forced rebuild is one start-build override", () => {
        assert.equal(
            forceBuildHint("proj"),
            "aws codebuild start-build --project-name proj --environment-variables-override name=LAYER_CACHE_FORCE_BUILD,value=1,type=PLAINTEXT",
        );
    });
});
