/**
 * The buildspec (pure `buildspec.ts`): the YAML is parsed back with the `yaml` package, every command is
 * parsed with a real shell parser (mvdan-sh, bash dialect), and the trust, probe, build, report and post-build
 * snippets are executed in real bash with stub `docker`/`aws` functions.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import fc from "fast-check";
import * as YAML from "yaml";
import {
    BUILD_LOG,
    BUILDER_NAME,
    buildspec,
    BuildspecOptions,
    buildspecYaml,
    cacheRefs,
    registryOf,
    shellWord,
} from "../components/buildspec";
import { CacheStrategy } from "../components/args";
import { commandsStartingWith, flagValues, parseShell, SimpleCommand } from "./helpers/shell";

const REGISTRY = "123456789012.dkr.ecr.ap-southeast-2.amazonaws.com";
const REPO = `${REGISTRY}/team/app`;

function options(over: Partial<BuildspecOptions> = {}): BuildspecOptions {
    return {
        repositoryUrl: REPO,
        region: "ap-southeast-2",
        imageTag: "latest",
        cacheTag: "buildcache",
        cacheStrategy: "inline",
        registryBuilder: "docker-container",
        builderImage: "public.ecr.aws/vend/moby/buildkit:buildx-stable-1",
        dockerfileDir: "al/x86_64/standard/5.0",
        dockerfileName: "Dockerfile",
        buildArgs: {},
        trustedRefs: ["master"],
        ...over,
    };
}

interface ParsedSpec {
    doc: {
        version: number;
        env: { shell: string; variables: Record<string, string> };
        phases: Record<string, { commands: string[]; "runtime-versions"?: unknown }>;
    };
    phase: (name: string) => SimpleCommand[];
    all: SimpleCommand[];
}

/** Parses the YAML CodeBuild would get, then each command as bash. */
function parseSpec(o: BuildspecOptions): ParsedSpec {
    const yaml = buildspecYaml(o);
    const doc = YAML.parse(yaml) as ParsedSpec["doc"];
    const byPhase: Record<string, SimpleCommand[]> = {};
    for (const [name, phase] of Object.entries(doc.phases)) {
        byPhase[name] = phase.commands.flatMap((c) => parseShell(c).commands);
    }
    return { doc, phase: (n) => byPhase[n] ?? [], all: Object.values(byPhase).flat() };
}

/**
 * Runs `script` in a fresh bash with only a short system PATH and `env` set (no CodeBuild variables leak in
 * from this machine; `docker` and `aws` are always shell-function stubs defined by the script).
 */
function bash(script: string, env: Record<string, string> = {}): { status: number; stdout: string; stderr: string } {
    const r = spawnSync("bash", ["-c", script], {
        env: { PATH: "/usr/local/bin:/usr/bin:/bin", ...env },
        encoding: "utf8",
        timeout: 10000,
    });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const STRATEGIES: CacheStrategy[] = ["inline", "registry", "pull"];

describe("buildspec (pure)", () => {
    describe("shape", () => {
        for (const strategy of STRATEGIES) {
            it(`${strategy}: version 0.2, bash, the three phases, no runtime-versions`, () => {
                const { doc } = parseSpec(options({ cacheStrategy: strategy }));
                assert.equal(doc.version, 0.2);
                assert.equal(doc.env.shell, "bash");
                assert.deepEqual(doc.env.variables, { DOCKER_BUILDKIT: "1" });
                assert.deepEqual(Object.keys(doc.phases), ["pre_build", "build", "post_build"]);
                assert.ok(!buildspecYaml(options({ cacheStrategy: strategy })).includes("runtime-versions"));
                for (const phase of Object.values(doc.phases)) {
                    assert.equal(phase["runtime-versions"], undefined);
                    assert.ok(phase.commands.every((c) => typeof c === "string"));
                }
            });
        }

        it("the YAML is exactly the object, serialized", () => {
            const o = options({ cacheStrategy: "registry", buildArgs: { A: "x: y # z", B: "'\"$(id)`\n" } });
            assert.deepEqual(YAML.parse(buildspecYaml(o)), JSON.parse(JSON.stringify(buildspec(o))));
        });
    });

    describe("login", () => {
        for (const strategy of STRATEGIES) {
            it(`${strategy}: aws ecr get-login-password --region R | docker login --username AWS --password-stdin <registry>, and no v1 get-login`, () => {
                const o = options({ cacheStrategy: strategy });
                const loginCmd = buildspec(o).phases.pre_build.commands[1];
                const parsed = parseShell(loginCmd);
                assert.deepEqual(
                    parsed.pipes.map((p) => [p.left.words, p.right.words]),
                    [
                        [
                            ["aws", "ecr", "get-login-password", "--region", "ap-southeast-2"],
                            ["docker", "login", "--username", "AWS", "--password-stdin", REGISTRY],
                        ],
                    ],
                );
                assert.ok(
                    commandsStartingWith(parsed, "set", "-o", "pipefail").length === 1,
                    "a failing aws in the pipe must fail the login",
                );
                const { all } = parseSpec(o);
                assert.ok(
                    !all.some((c) => c.words[0] === "aws" && c.words.includes("get-login")),
                    "aws ecr get-login is the removed v1 command",
                );
                assert.ok(!buildspecYaml(o).includes("get-login "));
                // Only the login pipeline uses aws at all.
                assert.equal(all.filter((c) => c.words[0] === "aws").length, 1);
            });
        }

        it("a failed login fails the command (executed: aws fails, docker succeeds)", () => {
            const loginCmd = buildspec(options()).phases.pre_build.commands[1];
            const r = bash(`aws() { return 255; }; docker() { cat >/dev/null; return 0; }\n${loginCmd}`);
            assert.notEqual(r.status, 0);
            assert.match(
                r.stderr,
                /ERROR: docker login to 123456789012\.dkr\.ecr\.ap-southeast-2\.amazonaws\.com failed/,
            );
            const ok = bash(
                `aws() { echo pw; }; docker() { [ "$(cat)" = pw ] && [ "$*" = "login --username AWS --password-stdin ${REGISTRY}" ]; }\n${loginCmd}`,
            );
            assert.equal(ok.status, 0, ok.stderr);
        });
    });

    describe("build command per strategy", () => {
        /**
         * The build call and its two WRITE_FLAGS assignments: the unconditional one (every build, so what an
         * untrusted build gets) and the one that replaces it when CACHE_WRITE=1 (trusted builds).
         */
        function buildCall(o: BuildspecOptions): {
            call: SimpleCommand;
            readOnlyFlags: string[];
            writeFlags: string[];
        } {
            const { phase } = parseSpec(o);
            const builds = phase("build").filter(
                (c) => c.words[0] === "docker" && c.words[1] === "buildx" && c.words[2] === "build",
            );
            // registry: the build and, in the last build command, the cache export; other strategies: the build only.
            assert.equal(builds.length, o.cacheStrategy === "registry" ? 2 : 1);
            assert.deepEqual(
                parseShell(buildspec(o).phases.build.commands[0])
                    .commands.filter((c) => c.words[2] === "build")
                    .map((c) => c.words),
                [builds[0].words],
                "the first build command holds the build",
            );
            const assignments = phase("build").filter((c) => c.arrays.WRITE_FLAGS !== undefined);
            assert.equal(
                assignments.length,
                2,
                "WRITE_FLAGS is set once for every build and once more for trusted builds",
            );
            return {
                call: builds[0],
                readOnlyFlags: assignments[0].arrays.WRITE_FLAGS,
                writeFlags: assignments[1].arrays.WRITE_FLAGS,
            };
        }

        /** Every flag and value that names the image or pushes, in the base argv of the build. */
        function pushingWords(words: string[]): string[] {
            return words.filter(
                (w) =>
                    w === "--push" ||
                    w === "--tag" ||
                    w === "-t" ||
                    w.startsWith("--output") ||
                    w.includes("push=true") ||
                    w.includes(":latest"),
            );
        }

        it("inline: reads from the image, writes inline metadata, --tag and --push only in the trusted flags", () => {
            const { call, readOnlyFlags, writeFlags } = buildCall(options({ cacheStrategy: "inline" }));
            assert.deepEqual(flagValues(call.words, "--cache-from"), [`type=registry,ref=${REPO}:latest`]);
            assert.deepEqual(flagValues(call.words, "--cache-to"), []);
            assert.deepEqual(
                pushingWords(call.words.filter((w) => !w.startsWith("type=registry,ref="))),
                [],
                "the base argv neither names nor pushes the image",
            );
            assert.deepEqual(writeFlags, ["--cache-to", "type=inline", "--tag", `${REPO}:latest`, "--push"]);
            assert.deepEqual(readOnlyFlags, ["--output", "type=cacheonly"]);
        });

        it("registry: the build reads the cache tag and pushes the image with store=false; a separate export writes the cache tag with mode=max,image-manifest=true,oci-mediatypes=true", () => {
            const o = options({ cacheStrategy: "registry" });
            const { call, readOnlyFlags, writeFlags } = buildCall(o);
            assert.deepEqual(flagValues(call.words, "--cache-from"), [`type=registry,ref=${REPO}:buildcache`]);
            assert.deepEqual(flagValues(call.words, "--cache-to"), [], "the build itself exports no cache");
            assert.deepEqual(pushingWords(call.words), [], "the base argv neither names nor pushes the image");
            assert.deepEqual(writeFlags, ["--output", `type=image,name=${REPO}:latest,push=true,store=false`]);
            // The export: the build's base argv and cache import (everything up to the --cache-from value), then the cache export, cacheonly, the context.
            const build = buildspec(o).phases.build.commands;
            assert.equal(build.length, 3);
            const exports = parseShell(build[2]).commands.filter((c) => c.words[2] === "build");
            assert.equal(exports.length, 1);
            assert.ok(exports[0].literal, "the export argv is all literal words");
            assert.deepEqual(exports[0].words, [
                ...call.words.slice(0, call.words.indexOf("--cache-from") + 2),
                "--cache-to",
                `type=registry,ref=${REPO}:buildcache,mode=max,image-manifest=true,oci-mediatypes=true`,
                "--output",
                "type=cacheonly",
                "al/x86_64/standard/5.0",
            ]);
            assert.ok(
                !exports[0].words.some(
                    (w) => w === "--push" || w === "--tag" || w.includes("push=true") || w.includes(":latest"),
                ),
                "the export pushes no image",
            );
            // The --output push replaces --push and --tag: with both, buildx would also try to store the image.
            assert.ok(!writeFlags.includes("--push") && !writeFlags.includes("--tag"), JSON.stringify(writeFlags));
            assert.deepEqual(readOnlyFlags, ["--output", "type=cacheonly"]);
        });

        it("pull: docker pull in pre_build, a plain --cache-from the image, no --cache-to at all", () => {
            const o = options({ cacheStrategy: "pull" });
            const { call, readOnlyFlags, writeFlags } = buildCall(o);
            assert.deepEqual(flagValues(call.words, "--cache-from"), [`${REPO}:latest`]);
            assert.deepEqual(
                pushingWords(call.words.filter((_, i) => call.words[i - 1] !== "--cache-from")),
                [],
                "the base argv neither names nor pushes the image",
            );
            assert.deepEqual(writeFlags, ["--tag", `${REPO}:latest`, "--push"]);
            assert.deepEqual(readOnlyFlags, ["--output", "type=cacheonly"]);
            assert.deepEqual(
                commandsStartingWith(
                    parseShell(buildspec(o).phases.pre_build.commands.join("\n")),
                    "docker",
                    "pull",
                ).map((c) => c.words),
                [["docker", "pull", `${REPO}:latest`]],
            );
        });

        it("builds the configured Dockerfile with the folder as context, plain progress, no provenance or SBOM manifests", () => {
            const { call } = buildCall(
                options({
                    dockerfileDir: "images/my app/",
                    dockerfileName: "Dockerfile.ci",
                    buildArgs: { VERSION: "1.2 3", EMPTY: "" },
                }),
            );
            assert.deepEqual(flagValues(call.words, "--file"), ["images/my app/Dockerfile.ci"]);
            assert.equal(call.words[call.words.length - 1], "images/my app/");
            assert.equal(call.words[call.words.length - 2], "${WRITE_FLAGS[@]}");
            assert.deepEqual(flagValues(call.words, "--build-arg"), ["VERSION=1.2 3", "EMPTY="]);
            for (const w of ["--progress=plain", "--provenance=false", "--sbom=false"]) {
                assert.ok(call.words.includes(w), w);
            }
            assert.ok(!call.words.some((w) => w.startsWith("--network")));
            assert.ok(buildCall(options({ buildNetwork: "none" })).call.words.includes("--network=none"));
        });

        it("the only pushes are the trusted flags' --push / --output …push=true: no docker push / tag / load anywhere", () => {
            for (const strategy of STRATEGIES) {
                const { all } = parseSpec(options({ cacheStrategy: strategy }));
                assert.ok(!all.some((c) => c.words[0] === "docker" && ["push", "tag"].includes(c.words[1])));
                assert.ok(!all.some((c) => c.words.includes("--load")));
                // Every word that pushes, anywhere in the buildspec, is one of the trusted write flags'.
                const { writeFlags } = buildCall(options({ cacheStrategy: strategy }));
                const pushes = (ws: string[]) => ws.filter((w) => w === "--push" || /(^|,)push=true(,|$)/.test(w));
                const inWriteFlags = pushes(writeFlags);
                assert.equal(inWriteFlags.length, 1, `${strategy}: exactly one push, in the trusted flags`);
                const everywhere = all.flatMap((c) => [...c.words, ...Object.values(c.arrays).flat()]);
                assert.deepEqual(pushes(everywhere), inWriteFlags, `${strategy}: no push outside the trusted flags`);
            }
        });

        it("untrusted builds get exactly --output type=cacheonly: no image, no tag, no push, no cache export", () => {
            for (const strategy of STRATEGIES) {
                const { readOnlyFlags } = buildCall(options({ cacheStrategy: strategy }));
                assert.deepEqual(readOnlyFlags, ["--output", "type=cacheonly"], strategy);
                assert.ok(!readOnlyFlags.some((w) => w.includes("push")), strategy);
            }
        });
    });

    describe("builder", () => {
        it("registry + docker-container: creates and uses a docker-container builder with the ECR Public BuildKit image", () => {
            const o = options({ cacheStrategy: "registry", registryBuilder: "docker-container" });
            const creates = commandsStartingWith(
                { commands: parseSpec(o).phase("pre_build"), pipes: [], andOr: 0 },
                "docker",
                "buildx",
                "create",
            );
            assert.deepEqual(
                creates.map((c) => c.words),
                [
                    [
                        "docker",
                        "buildx",
                        "create",
                        "--name",
                        BUILDER_NAME,
                        "--driver",
                        "docker-container",
                        "--driver-opt",
                        "image=public.ecr.aws/vend/moby/buildkit:buildx-stable-1",
                        "--use",
                        "--bootstrap",
                    ],
                ],
            );
            const hostNet = parseSpec({ ...o, buildNetwork: "host" }).all.find((c) => c.words[2] === "create");
            assert.deepEqual(flagValues(hostNet?.words ?? [], "--driver-opt"), [
                "image=public.ecr.aws/vend/moby/buildkit:buildx-stable-1",
                "network=host",
            ]);
        });

        for (const [strategy, builder] of [
            ["registry", "docker"],
            ["inline", "docker-container"],
            ["pull", "docker-container"],
        ] as const) {
            it(`${strategy} + ${builder}: creates no builder and pulls no BuildKit image`, () => {
                const { all } = parseSpec(options({ cacheStrategy: strategy, registryBuilder: builder }));
                assert.ok(!all.some((c) => c.words[0] === "docker" && c.words[2] === "create"));
                assert.ok(!all.some((c) => c.words.some((w) => w.includes("buildkit"))));
            });
        }
    });

    describe("post_build", () => {
        for (const strategy of STRATEGIES) {
            it(`${strategy}: checks CODEBUILD_BUILD_SUCCEEDING and runs no docker or aws command`, () => {
                const o = options({ cacheStrategy: strategy });
                const post = buildspec(o).phases.post_build.commands;
                assert.match(post.join("\n"), /CODEBUILD_BUILD_SUCCEEDING/);
                const { phase } = parseSpec(o);
                const programs = new Set(
                    phase("post_build")
                        .map((c) => c.words[0])
                        .filter((w) => w !== undefined),
                );
                assert.deepEqual(
                    [...programs].filter((p) => p !== "[" && p !== "echo"),
                    [],
                );
            });
        }

        for (const strategy of STRATEGIES) {
            it(`${strategy}: reports per outcome, one line each (executed)`, () => {
                const script = buildspec(options({ cacheStrategy: strategy })).phases.post_build.commands.join("\n");
                const run = (env: Record<string, string>) => {
                    const r = bash(script, env);
                    assert.equal(r.status, 0, r.stderr);
                    assert.equal(r.stdout.split("\n").filter((l) => l !== "").length, 1, r.stdout);
                    return r.stdout.trim();
                };
                const pushedThenFailed = `layer cache: the build pushed ${REPO}:latest but then failed: the cache in ECR was not updated`;
                const failed = "layer cache: the build failed: nothing was pushed and the cache in ECR is unchanged";
                // A failure after the image was pushed (registry: the cache export failed) is told apart.
                assert.equal(
                    run({ CODEBUILD_BUILD_SUCCEEDING: "0", CACHE_WRITE: "1", IMAGE_PUSHED: "1" }),
                    pushedThenFailed,
                );
                // A failed build whose push did not happen, trusted or not, or that never got to set IMAGE_PUSHED.
                assert.equal(run({ CODEBUILD_BUILD_SUCCEEDING: "0", CACHE_WRITE: "1", IMAGE_PUSHED: "0" }), failed);
                assert.equal(run({ CODEBUILD_BUILD_SUCCEEDING: "0", CACHE_WRITE: "1" }), failed);
                assert.equal(run({ CODEBUILD_BUILD_SUCCEEDING: "0", CACHE_WRITE: "0", IMAGE_PUSHED: "0" }), failed);
                assert.equal(
                    run({ CACHE_WRITE: "1", IMAGE_PUSHED: "1" }),
                    pushedThenFailed,
                    "no CODEBUILD_BUILD_SUCCEEDING counts as a failure",
                );
                const wrote = {
                    registry: `layer cache: pushed ${REPO}:latest; the layer cache in ${REPO}:buildcache is up to date`,
                    inline: `layer cache: pushed ${REPO}:latest and wrote the layer cache to ${REPO}:latest`,
                    pull: `layer cache: pushed ${REPO}:latest`,
                }[strategy];
                assert.equal(run({ CODEBUILD_BUILD_SUCCEEDING: "1", CACHE_WRITE: "1", IMAGE_PUSHED: "1" }), wrote);
                assert.equal(
                    run({ CODEBUILD_BUILD_SUCCEEDING: "1", CACHE_WRITE: "0", IMAGE_PUSHED: "0" }),
                    "layer cache: untrusted ref: nothing was pushed",
                );
            });
        }
    });

    describe("trust decision (executed in bash)", () => {
        // A bare trusted ref is a branch; a tag is trusted only when written refs/tags/<name>.
        const trust = buildspec(options({ trustedRefs: ["master", "release/1.x", "refs/tags/v2.0"] })).phases.pre_build
            .commands[0];
        const decide = (env: Record<string, string>) => {
            const r = bash(`${trust}\necho "CACHE_WRITE=$CACHE_WRITE"`, env);
            assert.equal(r.status, 0, r.stderr);
            const m = /CACHE_WRITE=(\d)\s*$/.exec(r.stdout);
            assert.ok(m, r.stdout);
            return m[1];
        };

        const cases: [string, Record<string, string>, string][] = [
            [
                "webhook push to the trusted branch",
                {
                    CODEBUILD_WEBHOOK_TRIGGER: "branch/master",
                    CODEBUILD_WEBHOOK_HEAD_REF: "refs/heads/master",
                    CODEBUILD_SOURCE_VERSION: "0123456789abcdef0123456789abcdef01234567",
                },
                "1",
            ],
            [
                "webhook push to a trusted branch with a slash",
                {
                    CODEBUILD_WEBHOOK_TRIGGER: "branch/release/1.x",
                    CODEBUILD_WEBHOOK_HEAD_REF: "refs/heads/release/1.x",
                    CODEBUILD_SOURCE_VERSION: "abc",
                },
                "1",
            ],
            [
                "webhook push of a trusted tag",
                {
                    CODEBUILD_WEBHOOK_TRIGGER: "tag/v2.0",
                    CODEBUILD_WEBHOOK_HEAD_REF: "refs/tags/v2.0",
                    CODEBUILD_SOURCE_VERSION: "abc",
                },
                "1",
            ],
            [
                "webhook push of a tag named like the trusted branch",
                {
                    CODEBUILD_WEBHOOK_TRIGGER: "tag/master",
                    CODEBUILD_WEBHOOK_HEAD_REF: "refs/tags/master",
                    CODEBUILD_SOURCE_VERSION: "abc",
                },
                "0",
            ],
            [
                "webhook push to a branch named like the trusted tag",
                {
                    CODEBUILD_WEBHOOK_TRIGGER: "branch/v2.0",
                    CODEBUILD_WEBHOOK_HEAD_REF: "refs/heads/v2.0",
                    CODEBUILD_SOURCE_VERSION: "abc",
                },
                "0",
            ],
            [
                "webhook push to another branch",
                {
                    CODEBUILD_WEBHOOK_TRIGGER: "branch/feature",
                    CODEBUILD_WEBHOOK_HEAD_REF: "refs/heads/feature",
                    CODEBUILD_SOURCE_VERSION: "abc",
                },
                "0",
            ],
            [
                "webhook push to a branch that only ends in the trusted name",
                {
                    CODEBUILD_WEBHOOK_TRIGGER: "branch/x/master",
                    CODEBUILD_WEBHOOK_HEAD_REF: "refs/heads/x/master",
                    CODEBUILD_SOURCE_VERSION: "abc",
                },
                "0",
            ],
            [
                "pull request whose head branch is named like the trusted branch",
                {
                    CODEBUILD_WEBHOOK_TRIGGER: "pr/7",
                    CODEBUILD_WEBHOOK_HEAD_REF: "refs/heads/master",
                    CODEBUILD_SOURCE_VERSION: "pr/7",
                },
                "0",
            ],
            [
                "pull request from a fork",
                {
                    CODEBUILD_WEBHOOK_TRIGGER: "pr/8",
                    CODEBUILD_WEBHOOK_HEAD_REF: "refs/heads/feature",
                    CODEBUILD_SOURCE_VERSION: "pr/8",
                },
                "0",
            ],
            [
                "manual build overriding the source version with a commit",
                { CODEBUILD_SOURCE_VERSION: "0123456789abcdef0123456789abcdef01234567" },
                "0",
            ],
            [
                "manual build overriding the source version with another branch",
                { CODEBUILD_SOURCE_VERSION: "feature" },
                "0",
            ],
            ["manual build of a pull request ref", { CODEBUILD_SOURCE_VERSION: "pr/7" }, "0"],
            ["manual build overriding with the trusted branch", { CODEBUILD_SOURCE_VERSION: "master" }, "1"],
            [
                "manual build overriding with refs/heads/<trusted>",
                { CODEBUILD_SOURCE_VERSION: "refs/heads/master" },
                "1",
            ],
            ["manual build without override (empty source version)", { CODEBUILD_SOURCE_VERSION: "" }, "1"],
            ["no CodeBuild variables at all", {}, "1"],
        ];
        for (const [title, env, expected] of cases) {
            it(`${title}: CACHE_WRITE=${expected}`, () => {
                assert.equal(decide(env), expected);
            });
        }

        it("trusted refs with shell metacharacters are compared literally (no glob, no injection)", () => {
            const t = buildspec(options({ trustedRefs: ["rel*", "a;touch /tmp/x"] })).phases.pre_build.commands[0];
            const run = (ref: string) =>
                bash(`${t}\necho "CACHE_WRITE=$CACHE_WRITE"`, { CODEBUILD_SOURCE_VERSION: ref })
                    .stdout.trim()
                    .split("\n")
                    .pop();
            assert.equal(run("release"), "CACHE_WRITE=0");
            assert.equal(run("rel*"), "CACHE_WRITE=1");
            assert.equal(run("a;touch /tmp/x"), "CACHE_WRITE=1");
        });
    });

    describe("cache probe (executed in bash)", () => {
        for (const strategy of ["inline", "registry"] as const) {
            const o = options({ cacheStrategy: strategy });
            const probe = buildspec(o).phases.pre_build.commands.at(-1) ?? "";
            const ref = cacheRefs(o).cache;
            const run = (out: string, rc: number) =>
                bash(
                    `docker() { printf '%s\\n' "$*" > "$ARGS_FILE"; echo "$STUB_OUT" >&2; return $STUB_RC; }\n${probe}\necho "CACHE_FOUND=$CACHE_FOUND"`,
                    {
                        STUB_OUT: out,
                        STUB_RC: String(rc),
                        ARGS_FILE: path.join(tmp, "args"),
                    },
                );
            let tmp = "";
            before(() => {
                tmp = fs.mkdtempSync(path.join(os.tmpdir(), "probe-"));
            });
            after(() => fs.rmSync(tmp, { recursive: true, force: true }));

            it(`${strategy}: inspects ${strategy === "registry" ? "the cache tag" : "the image"} and finds it`, () => {
                const r = run("Name: x", 0);
                assert.equal(r.status, 0);
                assert.match(r.stdout, /CACHE_FOUND=1/);
                assert.equal(
                    fs.readFileSync(path.join(tmp, "args"), "utf8").trim(),
                    `buildx imagetools inspect ${ref}`,
                );
            });

            for (const notFound of [
                `ERROR: ${ref}: not found`,
                "manifest unknown: manifest unknown",
                "MANIFEST_UNKNOWN: Requested image not found",
            ]) {
                it(`${strategy}: accepts "${notFound.slice(0, 30)}…" as a cold first build`, () => {
                    const r = run(notFound, 1);
                    assert.equal(r.status, 0, r.stderr);
                    assert.match(r.stdout, /CACHE_FOUND=0/);
                    assert.match(r.stdout, /is not there yet \(first build\)/);
                });
            }

            for (const bad of [
                "unauthorized: authentication required",
                "denied: User: arn:aws:sts::1:assumed-role/r is not authorized to perform: ecr:BatchGetImage",
                "dial tcp: lookup x: no such host",
            ]) {
                it(`${strategy}: fails the build on "${bad.slice(0, 30)}…"`, () => {
                    const r = bash(`set -e\ndocker() { echo "$STUB_OUT" >&2; return 1; }\n${probe}\necho reached`, {
                        STUB_OUT: bad,
                    });
                    assert.notEqual(r.status, 0);
                    assert.ok(!r.stdout.includes("reached"));
                    assert.match(r.stderr, /ERROR: cannot read the layer cache/);
                    assert.ok(r.stderr.includes(bad));
                    // And as the last statement of its command (how CodeBuild sees it), the status is non-zero too.
                    assert.notEqual(
                        bash(`docker() { echo "$STUB_OUT" >&2; return 1; }\n${probe}`, { STUB_OUT: bad }).status,
                        0,
                    );
                });
            }
        }

        it("pull: records whether the pull worked, a failed pull is tolerated", () => {
            const cmd = buildspec(options({ cacheStrategy: "pull" })).phases.pre_build.commands.at(-1) ?? "";
            assert.match(bash(`docker() { return 0; }\n${cmd}\necho "F=$CACHE_FOUND"`).stdout, /F=1/);
            const failed = bash(`docker() { return 1; }\n${cmd}\necho "F=$CACHE_FOUND"`);
            assert.equal(failed.status, 0);
            assert.match(failed.stdout, /F=0/);
        });
    });

    describe("build and report (executed in bash)", () => {
        let tmp = "";
        before(() => {
            tmp = fs.mkdtempSync(path.join(os.tmpdir(), "build-"));
        });
        after(() => fs.rmSync(tmp, { recursive: true, force: true }));

        /** Runs the build command with a docker stub that records its argv one per line and prints `log`. */
        function runBuild(o: BuildspecOptions, cacheWrite: string, log = "", rc = 0) {
            const argsFile = path.join(tmp, "argv");
            const cmd = buildspec(o).phases.build.commands[0].replaceAll(BUILD_LOG, path.join(tmp, "build.log"));
            const r = bash(
                `docker() { printf '%s\\n' "$@" > "$ARGS_FILE"; printf '%s' "$LOG"; return $RC; }\nCACHE_WRITE=${cacheWrite}\n${cmd}`,
                {
                    ARGS_FILE: argsFile,
                    LOG: log,
                    RC: String(rc),
                },
            );
            return { ...r, argv: fs.readFileSync(argsFile, "utf8").split("\n").slice(0, -1) };
        }

        it("registry trusted: the argv ends with the cache import, the store=false image push and the context, and exports no cache; untrusted: cacheonly, no export, no push", () => {
            const o = options({ cacheStrategy: "registry" });
            const trusted = runBuild(o, "1");
            assert.equal(trusted.status, 0);
            assert.deepEqual(trusted.argv.slice(-5), [
                "--cache-from",
                `type=registry,ref=${REPO}:buildcache`,
                "--output",
                `type=image,name=${REPO}:latest,push=true,store=false`,
                "al/x86_64/standard/5.0",
            ]);
            assert.ok(!trusted.argv.includes("--push") && !trusted.argv.includes("--tag"));
            assert.ok(
                !trusted.argv.includes("--cache-to"),
                "the cache is exported by the export command, not the build",
            );
            const untrusted = runBuild(o, "0");
            assert.deepEqual(untrusted.argv.slice(-3), ["--output", "type=cacheonly", "al/x86_64/standard/5.0"]);
            assert.ok(!untrusted.argv.includes("--push"));
            assert.ok(!untrusted.argv.includes("--cache-to"));
            assert.ok(!untrusted.argv.includes("--tag"));
            assert.ok(!untrusted.argv.some((w) => w.includes("push=true")), JSON.stringify(untrusted.argv));
        });

        for (const strategy of ["inline", "pull"] as const) {
            it(`${strategy} trusted: the argv ends with --tag <image> --push and the context; untrusted: cacheonly, no tag, no push`, () => {
                const o = options({ cacheStrategy: strategy });
                const trusted = runBuild(o, "1");
                assert.equal(trusted.status, 0);
                assert.deepEqual(trusted.argv.slice(-4), [
                    "--tag",
                    `${REPO}:latest`,
                    "--push",
                    "al/x86_64/standard/5.0",
                ]);
                assert.equal(trusted.argv.filter((w) => w === "--tag").length, 1);
                assert.ok(!trusted.argv.some((w) => w.startsWith("--output") || w.includes("push=true")));
                const untrusted = runBuild(o, "0");
                assert.deepEqual(untrusted.argv.slice(-3), ["--output", "type=cacheonly", "al/x86_64/standard/5.0"]);
                assert.ok(
                    !untrusted.argv.includes("--push") &&
                        !untrusted.argv.includes("--tag") &&
                        !untrusted.argv.includes("--cache-to"),
                );
                assert.ok(!untrusted.argv.some((w) => w.includes("push=true")), JSON.stringify(untrusted.argv));
            });
        }

        it("a failing docker build fails the command despite the tee (pipefail)", () => {
            assert.notEqual(runBuild(options(), "1", "boom\n", 1).status, 0);
        });

        for (const strategy of STRATEGIES) {
            it(`${strategy}: IMAGE_PUSHED=1 only when a trusted build's pipeline succeeded, and a failure stays the command's status`, () => {
                const o = options({ cacheStrategy: strategy });
                const cmd = buildspec(o).phases.build.commands[0].replaceAll(BUILD_LOG, path.join(tmp, "build.log"));
                // IMAGE_PUSHED=1 beforehand, as if left over: the command must reset it.
                const run = (cacheWrite: string, rc: number) =>
                    bash(
                        `docker() { echo "#1 log"; return $RC; }\nIMAGE_PUSHED=1\nCACHE_WRITE=${cacheWrite}\n${cmd}\nrc=$?\necho "rc=$rc IMAGE_PUSHED=$IMAGE_PUSHED"`,
                        { RC: String(rc) },
                    );
                assert.match(run("1", 0).stdout, /rc=0 IMAGE_PUSHED=1$/m);
                assert.match(run("0", 0).stdout, /rc=0 IMAGE_PUSHED=0$/m);
                assert.match(run("1", 3).stdout, /rc=3 IMAGE_PUSHED=0$/m, "a failed build pushed nothing");
                assert.match(run("0", 3).stdout, /rc=3 IMAGE_PUSHED=0$/m);
            });
        }

        describe("registry: the cache export (executed in bash)", () => {
            const o = options({ cacheStrategy: "registry", buildArgs: { V: "1 2" }, buildNetwork: "none" });
            const log = () => path.join(tmp, "export.log");
            const exportCmd = () => buildspec(o).phases.build.commands[2].replaceAll(BUILD_LOG, log());
            const reportCmd = () => buildspec(o).phases.build.commands[1].replaceAll(BUILD_LOG, log());
            const EXPORT_TAIL = [
                // It reads the cache too: records the build took from it without loading them must stay in the export.
                "--cache-from",
                `type=registry,ref=${REPO}:buildcache`,
                "--cache-to",
                `type=registry,ref=${REPO}:buildcache,mode=max,image-manifest=true,oci-mediatypes=true`,
                "--output",
                "type=cacheonly",
                "al/x86_64/standard/5.0",
            ];

            /**
             * Runs `script` (after the given variables) with a docker stub that records each call's argv, NUL-separated,
             * in a file of its own, prints a line and returns $RC. No pipefail is set beforehand.
             */
            function runExport(vars: Record<string, string>, script = exportCmd(), rc = 0) {
                const calls = fs.mkdtempSync(path.join(tmp, "calls-"));
                const assign = Object.entries(vars)
                    .map(([k, v]) => `${k}=${shellWord(v)}`)
                    .join("\n");
                const r = bash(
                    `docker() { printf '%s\\0' "$@" > "$(mktemp "$CALLS/c.XXXXXX")"; echo "#99 exporting cache"; return $RC; }\n${assign}\n${script}`,
                    {
                        CALLS: calls,
                        RC: String(rc),
                    },
                );
                const argvs = fs
                    .readdirSync(calls)
                    .map((f) => fs.readFileSync(path.join(calls, f), "utf8").split("\0").slice(0, -1));
                return { ...r, argvs };
            }

            /** The build's argv before its cache import: what the export must share with it. */
            function baseArgv(): string[] {
                const cmd = buildspec(o).phases.build.commands[0].replaceAll(BUILD_LOG, path.join(tmp, "base.log"));
                const argv = path.join(tmp, "base-argv");
                bash(`docker() { printf '%s\\0' "$@" > "$ARGV"; }\nCACHE_WRITE=1\n${cmd}`, { ARGV: argv });
                const words = fs.readFileSync(argv, "utf8").split("\0").slice(0, -1);
                return words.slice(0, words.indexOf("--cache-from"));
            }

            beforeEach(() => fs.writeFileSync(log(), "#5 [2/3] RUN make\n"));

            it("(a) untrusted: no docker call, says the cache is not exported", () => {
                for (const found of ["0", "1"]) {
                    const r = runExport({ CACHE_WRITE: "0", CACHE_FOUND: found, n_steps: "3", n_cached: "1" });
                    assert.equal(r.status, 0, r.stderr);
                    assert.deepEqual(r.argvs, []);
                    assert.equal(r.stdout.trim(), "layer cache: untrusted ref: the cache is not exported");
                }
            });

            it("(b) trusted, cache found, every step cached: no docker call, the cache is already complete", () => {
                const r = runExport({ CACHE_WRITE: "1", CACHE_FOUND: "1", n_steps: "24", n_cached: "24" });
                assert.equal(r.status, 0, r.stderr);
                assert.deepEqual(r.argvs, []);
                assert.equal(
                    r.stdout.trim(),
                    `layer cache: every step came from ${REPO}:buildcache, which is already complete: not exported again`,
                );
                assert.equal(fs.readFileSync(log(), "utf8"), "#5 [2/3] RUN make\n", "the log is left alone");
            });

            const exporting: [string, Record<string, string>][] = [
                ["(c) trusted, partial hits", { CACHE_WRITE: "1", CACHE_FOUND: "1", n_steps: "24", n_cached: "11" }],
                ["(c) trusted, no hit at all", { CACHE_WRITE: "1", CACHE_FOUND: "1", n_steps: "24", n_cached: "0" }],
                [
                    "(d) trusted, no cache found (first build), even with every step counted as cached",
                    { CACHE_WRITE: "1", CACHE_FOUND: "0", n_steps: "3", n_cached: "3" },
                ],
                ["(d) trusted, CACHE_FOUND unset", { CACHE_WRITE: "1", n_steps: "3", n_cached: "3" }],
                [
                    "trusted, a Dockerfile with no counted step (0 of 0)",
                    { CACHE_WRITE: "1", CACHE_FOUND: "1", n_steps: "0", n_cached: "0" },
                ],
            ];
            for (const [title, vars] of exporting) {
                it(`${title}: exactly one docker call, the build's base argv + --cache-from <cache> --cache-to …mode=max… --output type=cacheonly <context>, appended to the log`, () => {
                    const r = runExport(vars);
                    assert.equal(r.status, 0, r.stderr);
                    assert.equal(r.argvs.length, 1, JSON.stringify(r.argvs));
                    assert.deepEqual(r.argvs[0], [...baseArgv(), ...EXPORT_TAIL]);
                    assert.deepEqual(r.argvs[0].slice(0, 10), [
                        "buildx",
                        "build",
                        "--progress=plain",
                        "--provenance=false",
                        "--sbom=false",
                        "--file",
                        "al/x86_64/standard/5.0/Dockerfile",
                        "--build-arg",
                        "V=1 2",
                        "--network=none",
                    ]);
                    assert.ok(
                        !r.argvs[0].some(
                            (w) => w === "--push" || w === "--tag" || w.includes("push=true") || w.includes(":latest"),
                        ),
                        "the export pushes no image",
                    );
                    assert.equal(
                        fs.readFileSync(log(), "utf8"),
                        "#5 [2/3] RUN make\n#99 exporting cache\n",
                        "the export's output is appended to the build log",
                    );
                });
            }

            it("(e) a failing export fails the command, without pipefail set beforehand and despite the tee", () => {
                const r = runExport(
                    { CACHE_WRITE: "1", CACHE_FOUND: "1", n_steps: "24", n_cached: "11" },
                    exportCmd(),
                    7,
                );
                assert.equal(r.argvs.length, 1);
                assert.notEqual(r.status, 0);
                // Under CodeBuild's one shell, a later command sees the failure too (post_build: pushed, then failed).
                const post = buildspec(o).phases.post_build.commands.join("\n");
                const all = runExport(
                    { CACHE_WRITE: "1", CACHE_FOUND: "1", n_steps: "24", n_cached: "11", IMAGE_PUSHED: "1" },
                    `${exportCmd()}\nif [ $? = 0 ]; then CODEBUILD_BUILD_SUCCEEDING=1; else CODEBUILD_BUILD_SUCCEEDING=0; fi\n${post}`,
                    7,
                );
                assert.match(
                    all.stdout,
                    /the build pushed .*:latest but then failed: the cache in ECR was not updated/,
                );
            });

            it("with the report: a fully cached log skips the export, a log with one rebuilt step exports, a cold build exports", () => {
                const warm = [
                    "#1 [internal] load build definition",
                    "#5 [1/3] FROM docker.io/library/alpine",
                    "#6 [2/3] RUN make",
                    "#6 CACHED",
                    "#7 [3/3] COPY . .",
                    "#7 CACHED",
                    "#8 exporting to image",
                ].join("\n");
                const script = `${reportCmd()}\n${exportCmd()}`;
                fs.writeFileSync(log(), warm);
                const skipped = runExport({ CACHE_WRITE: "1", CACHE_FOUND: "1" }, script);
                assert.equal(skipped.status, 0, skipped.stderr);
                assert.match(skipped.stdout, /layer cache: 2 of 2 steps cached\n.*not exported again/);
                assert.deepEqual(skipped.argvs, []);
                fs.writeFileSync(log(), warm.replace("#7 CACHED", "#7 DONE 0.1s"));
                const partial = runExport({ CACHE_WRITE: "1", CACHE_FOUND: "1" }, script);
                assert.match(partial.stdout, /layer cache: 1 of 2 steps cached/);
                assert.equal(partial.argvs.length, 1);
                assert.deepEqual(partial.argvs[0].slice(-EXPORT_TAIL.length), EXPORT_TAIL);
                fs.writeFileSync(log(), warm);
                const cold = runExport({ CACHE_WRITE: "1", CACHE_FOUND: "0" }, script);
                assert.equal(cold.argvs.length, 1, "no cache was found: whatever the count, the export runs");
            });

            it("inline and pull have no export command", () => {
                for (const strategy of ["inline", "pull"] as const) {
                    const cmds = buildspec(options({ cacheStrategy: strategy })).phases.build.commands;
                    assert.equal(cmds.length, 2, strategy);
                    assert.ok(!cmds.join("\n").includes("exported"), strategy);
                }
            });
        });

        it("build args reach docker exactly, whatever characters they hold (property)", () => {
            const special = fc.constantFrom(
                ..."'\"`$\\!*?[]{}()<>|&;#~= \t\n:-%@,".split(""),
                "$(id)",
                "${X}",
                "\\'",
                "'\\''",
                "--",
                "- ",
                ": ",
                "#!",
            );
            const value = fc
                .array(fc.oneof(special, fc.string({ maxLength: 3 })), { maxLength: 8 })
                .map((parts) => parts.join("").replace(/\0/g, ""));
            fc.assert(
                fc.property(value, value, (a, b) => {
                    const o = options({ buildArgs: { A: a, B_2: b }, dockerfileDir: `dir ${b.replace(/\//g, "")}x` });
                    // Through YAML and the shell parser...
                    const yamlBuild = (YAML.parse(buildspecYaml(o)) as ParsedSpec["doc"]).phases.build.commands[0];
                    const call = parseShell(yamlBuild).commands.find((c) => c.words[2] === "build");
                    assert.deepEqual(flagValues(call?.words ?? [], "--build-arg"), [`A=${a}`, `B_2=${b}`]);
                    // ...and through real bash.
                    const { argv } = runBuild(o, "0");
                    const got = argv.join("\n");
                    assert.ok(got.includes(`--build-arg\nA=${a}\n--build-arg\nB_2=${b}\n`), JSON.stringify(argv));
                }),
                { numRuns: 40, interruptAfterTimeLimit: 20_000 },
            );
        });

        it("the report counts cached steps on cold and warm logs, under pipefail, and exits 0", () => {
            const report = buildspec(options()).phases.build.commands[1].replaceAll(
                BUILD_LOG,
                path.join(tmp, "build.log"),
            );
            const cold = [
                "#1 [internal] load build definition",
                "#5 [1/3] FROM docker.io/library/alpine",
                "#6 [2/3] RUN make",
                "#7 [3/3] COPY . .",
                "#8 exporting to image",
            ].join("\n");
            fs.writeFileSync(path.join(tmp, "build.log"), cold);
            const c = bash(`set -o pipefail\nCACHE_FOUND=0\n${report}`);
            assert.equal(c.status, 0, c.stderr);
            assert.match(c.stdout, /layer cache: 0 of 2 steps cached/);
            const warm = cold
                .replace("#6 [2/3] RUN make", "#6 [2/3] RUN make\n#6 CACHED")
                .replace("#7 [3/3] COPY . .", "#7 [3/3] COPY . .\n#7 CACHED");
            fs.writeFileSync(path.join(tmp, "build.log"), warm);
            const w = bash(`set -o pipefail\nCACHE_FOUND=1\n${report}`);
            assert.equal(w.status, 0, w.stderr);
            assert.match(w.stdout, /layer cache: 2 of 2 steps cached/);
            assert.ok(!w.stdout.includes("WARNING"));
            fs.writeFileSync(path.join(tmp, "build.log"), cold);
            assert.match(
                bash(`set -o pipefail\nCACHE_FOUND=1\n${report}`).stdout,
                /WARNING: a layer cache was found in ECR but no step used it/,
            );
        });

        it("the report does not warn 'no step used it' when the hits were downloaded (DONE with layer downloads), and still warns when only FROM downloaded", () => {
            const report = buildspec(options()).phases.build.commands[1].replaceAll(
                BUILD_LOG,
                path.join(tmp, "build.log"),
            );
            const digest = "a".repeat(64);
            const base = [
                "#1 [internal] load build definition",
                "#5 [1/3] FROM docker.io/library/alpine",
                `#5 sha256:${"b".repeat(64)} 2.10MB / 2.10MB 0.1s done`,
                `#5 extracting sha256:${"b".repeat(64)} 0.1s done`,
                "#5 DONE 0.2s",
            ];
            // Both steps were hits whose layers BuildKit had to fetch: they end in DONE, not CACHED.
            const fetched = [
                ...base,
                "#6 [2/3] RUN make",
                `#6 sha256:${digest} 1.05MB / 1.05MB 0.1s done`,
                `#6 extracting sha256:${digest} 0.0s done`,
                "#6 DONE 0.1s",
                "#7 [3/3] COPY . .",
                `#7 extracting sha256:${digest} 0.0s done`,
                "#7 DONE 0.1s",
                "#8 exporting to image",
            ].join("\n");
            fs.writeFileSync(path.join(tmp, "build.log"), fetched);
            const f = bash(`set -o pipefail\nCACHE_FOUND=1\n${report}`);
            assert.equal(f.status, 0, f.stderr);
            assert.match(f.stdout, /layer cache: 0 of 2 steps cached/);
            assert.ok(!f.stdout.includes("WARNING"), f.stdout);
            // Rebuilt steps that print their own output, with only the base image downloaded: the warning stays.
            const rebuilt = [
                ...base,
                "#6 [2/3] RUN make",
                "#6 0.105 step 2: done",
                "#6 DONE 0.3s",
                "#7 [3/3] COPY . .",
                "#7 DONE 0.1s",
                "#8 exporting to image",
            ].join("\n");
            fs.writeFileSync(path.join(tmp, "build.log"), rebuilt);
            assert.match(
                bash(`set -o pipefail\nCACHE_FOUND=1\n${report}`).stdout,
                /WARNING: a layer cache was found in ECR but no step used it/,
            );
        });
    });

    describe("quoting", () => {
        it("shellWord leaves safe words alone and makes anything else one literal word (property, real bash)", () => {
            assert.equal(shellWord("type=registry,ref=a/b:c"), "type=registry,ref=a/b:c");
            assert.equal(shellWord("a b"), "'a b'");
            assert.equal(shellWord("it's"), "'it'\\''s'");
            assert.throws(() => shellWord("a\0b"), /NUL/);
            fc.assert(
                fc.property(
                    fc.string({ unit: "binary", maxLength: 20 }).map((s) => s.replace(/\0/g, "")),
                    (s) => {
                        const r = bash(`printf '%s' ${shellWord(s)}`);
                        assert.equal(r.stdout, s);
                    },
                ),
                { numRuns: 40, interruptAfterTimeLimit: 20_000 },
            );
        });

        it("registryOf takes the host of a repository URL and refuses anything else", () => {
            assert.equal(registryOf(REPO), REGISTRY);
            assert.throws(() => registryOf("no-slash"), /Not a repository URL/);
        });
    });
});
