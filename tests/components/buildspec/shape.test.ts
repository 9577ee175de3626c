/**
 * The buildspec (`components/buildspec/`), pure: its shape, the login, post_build and the quoting of values.
 */
import { strict as assert } from "assert";
import fc from "fast-check";
import * as YAML from "yaml";
import { phaseFragments, registryOf, shellWord } from "../../../components/buildspec";
import { buildspec, buildspecYaml } from "../../../components/buildspec/render";
import { PHASES, runBash } from "../../helpers/bash";
import { commandsStartingWith, parseShell } from "../../helpers/shell";
import { REGISTRY, REPO, options, STRATEGIES, SETUPS, commandOf, runnable, phaseCommands, allCommands } from "./shared";

describe("buildspec (pure)", () => {
    describe("shape", () => {
        for (const strategy of STRATEGIES) {
            it(`${strategy}: version 0.2, bash, the three phases, no runtime-versions`, () => {
                const doc = YAML.parse(buildspecYaml(options({ cacheStrategy: strategy }))) as {
                    version: number;
                    env: { shell: string; variables: Record<string, string> };
                    phases: Record<string, { commands: unknown[]; "runtime-versions"?: unknown }>;
                };
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

        it("the commands of each phase, per strategy and builder", () => {
            const expected: Record<string, ReturnType<typeof phaseFragments>> = {
                "inline docker-container": {
                    pre_build: ["trust", "branch", "retry", "login", "probe"],
                    build: ["build", "report"],
                    post_build: ["post_build", "metrics"],
                },
                "registry docker-container": {
                    pre_build: ["trust", "branch", "retry", "login", "probe", "builder"],
                    build: ["build", "report", "export"],
                    post_build: ["post_build", "metrics"],
                },
                "registry docker": {
                    pre_build: ["trust", "branch", "retry", "login", "probe"],
                    build: ["build", "report", "export"],
                    post_build: ["post_build", "metrics"],
                },
                "pull docker-container": {
                    pre_build: ["trust", "branch", "retry", "login", "pull"],
                    build: ["build", "report"],
                    post_build: ["post_build", "metrics"],
                },
            };
            for (const [strategy, builder] of SETUPS) {
                const o = options({ cacheStrategy: strategy, registryBuilder: builder });
                assert.deepEqual(phaseFragments(o), expected[`${strategy} ${builder}`]);
                const spec = buildspec(o);
                for (const phase of PHASES) {
                    assert.equal(spec.phases[phase].commands.length, expected[`${strategy} ${builder}`][phase].length);
                }
            }
            assert.deepEqual(phaseFragments(options({ registryBuilder: "docker" })).pre_build, [
                "trust",
                "branch",
                "retry",
                "login",
                "probe",
            ]);
        });
    });

    describe("login", () => {
        for (const strategy of STRATEGIES) {
            it(`${strategy}: aws ecr get-login-password --region R | docker login --username AWS --password-stdin <registry>, and no v1 get-login`, () => {
                const o = options({ cacheStrategy: strategy });
                const parsed = parseShell(commandOf(o, "login"));
                assert.deepEqual(
                    parsed.pipes.filter((p) => p.left.words[0] === "aws").map((p) => [p.left.values, p.right.values]),
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
                const all = allCommands(o);
                assert.ok(
                    !all.some((c) => c.words[0] === "aws" && c.words.includes("get-login")),
                    "aws ecr get-login is the removed v1 command",
                );
                assert.ok(!buildspecYaml(o).includes("get-login "));
                // Only the login pipeline uses aws at all.
                assert.equal(all.filter((c) => c.words[0] === "aws").length, 1);
            });
        }

        it("a failed login fails the command (executed: aws fails, docker succeeds); a working one passes the password on stdin", () => {
            const login = runnable(options(), "login");
            const r = runBash(login, { stubs: { aws: "return 255", docker: "cat >/dev/null" } });
            assert.notEqual(r.status, 0);
            assert.match(
                r.stderr,
                /ERROR: docker login to 123456789012\.dkr\.ecr\.ap-southeast-2\.amazonaws\.com failed, so the layer cache can be neither read nor written/,
            );
            const ok = runBash(login, { stubs: { aws: "echo pw", docker: '[ "$(cat)" = pw ]' } });
            assert.equal(ok.status, 0, ok.stderr);
            assert.deepEqual(ok.calls.map((c) => c.join(" ")).sort(), [
                "aws ecr get-login-password --region ap-southeast-2",
                `docker login --username AWS --password-stdin ${REGISTRY}`,
            ]);
            const wrongPassword = runBash(login, { stubs: { aws: "echo pw", docker: '[ "$(cat)" = other ]' } });
            assert.notEqual(wrongPassword.status, 0);
        });
    });

    describe("post_build", () => {
        for (const strategy of STRATEGIES) {
            it(`${strategy}: checks CODEBUILD_BUILD_SUCCEEDING and runs no docker or aws command`, () => {
                const o = options({ cacheStrategy: strategy });
                assert.match(commandOf(o, "post_build"), /CODEBUILD_BUILD_SUCCEEDING/);
                // post_build.sh reports with builtins only (the marker's `date` aside); metrics.sh, the phase's other
                // command, formats with printf and awk; neither calls docker or aws.
                const programs = (c: string) => new Set(parseShell(c).commands.map((s) => s.words[0]));
                assert.deepEqual(
                    [...programs(commandOf(o, "post_build"))].filter(
                        (p) => p !== undefined && !["[", "echo", ":", "false", "date", "."].includes(p),
                    ),
                    [],
                );
                const phase = new Set(phaseCommands(o, "post_build").map((c) => c.words[0]));
                assert.ok(!phase.has("docker") && !phase.has("aws"), [...phase].join(" "));
            });
        }

        for (const strategy of STRATEGIES) {
            it(`${strategy}: reports per outcome, one line each (executed)`, () => {
                // BRANCH_SH: the default branch's, which keeps the prelude's refs.
                const script = `BRANCH_SH=/dev/null\n${commandOf(options({ cacheStrategy: strategy }), "post_build")}`;
                const run = (env: Record<string, string>) => {
                    const r = runBash(script, { env });
                    assert.equal(r.status, 0, r.stderr);
                    assert.equal(r.stdout.split("\n").filter((l) => l !== "").length, 1, r.stdout);
                    assert.deepEqual(r.calls, []);
                    return r.stdout.trim();
                };
                const pushedThenFailed = `layer cache: the build pushed ${REPO}:latest but then failed: the cache in ECR was not updated`;
                const failed = "layer cache: the build failed: nothing was pushed and the cache in ECR is unchanged";
                // A failure after the image was pushed (registry: the cache export failed) is told apart.
                assert.equal(
                    run({ CODEBUILD_BUILD_SUCCEEDING: "0", TRUSTED: "1", IMAGE_PUSHED: "1" }),
                    pushedThenFailed,
                );
                // A failed build whose push did not happen, trusted or not, or that never got to set IMAGE_PUSHED.
                assert.equal(run({ CODEBUILD_BUILD_SUCCEEDING: "0", TRUSTED: "1", IMAGE_PUSHED: "0" }), failed);
                assert.equal(run({ CODEBUILD_BUILD_SUCCEEDING: "0", TRUSTED: "1" }), failed);
                assert.equal(run({ CODEBUILD_BUILD_SUCCEEDING: "0", TRUSTED: "0", IMAGE_PUSHED: "0" }), failed);
                assert.equal(
                    run({ TRUSTED: "1", IMAGE_PUSHED: "1" }),
                    pushedThenFailed,
                    "no CODEBUILD_BUILD_SUCCEEDING counts as a failure",
                );
                const wrote = {
                    registry: `layer cache: pushed ${REPO}:latest; the layer cache in ${REPO}:buildcache is up to date`,
                    inline: `layer cache: pushed ${REPO}:latest and wrote the layer cache to ${REPO}:latest`,
                    pull: `layer cache: pushed ${REPO}:latest`,
                }[strategy];
                assert.equal(run({ CODEBUILD_BUILD_SUCCEEDING: "1", TRUSTED: "1", IMAGE_PUSHED: "1" }), wrote);
                assert.equal(
                    run({ CODEBUILD_BUILD_SUCCEEDING: "1", TRUSTED: "0", IMAGE_PUSHED: "0" }),
                    "layer cache: untrusted ref: nothing was pushed",
                );
            });
        }
    });

    describe("quoting", () => {
        it("shellWord leaves safe words alone and makes anything else one literal word (property, real bash)", () => {
            assert.equal(shellWord("type=registry,ref=a/b:c"), "type=registry,ref=a/b:c");
            assert.equal(shellWord("a b"), "'a b'");
            assert.equal(shellWord("it's"), "'it'\\''s'");
            assert.equal(shellWord(""), "''");
            assert.equal(shellWord("=/Dockerfile"), "'=/Dockerfile'", "a leading = is quoted");
            assert.equal(shellWord("a=b"), "a=b");
            assert.throws(() => shellWord("a\0b"), /NUL/);
            // Characters a YAML 1.1 reader takes for line breaks (U+0085, U+2028) or refuses (C0, C1, BOM)
            // never reach the buildspec raw: bash's $'...' carries them as the escapes of their UTF-8 bytes.
            assert.equal(shellWord("a\u2028b"), "$'a\\xe2\\x80\\xa8b'");
            assert.equal(shellWord("it's\x85"), "$'it\\'s\\xc2\\x85'");
            assert.equal(shellWord("\x1b[1m\\"), "$'\\x1b[1m\\\\'");
            assert.equal(shellWord("a\nb"), "'a\nb'", "a line feed or tab stays raw: YAML block scalars carry it");
            fc.assert(
                fc.property(
                    fc
                        .string({
                            unit: fc.oneof(
                                fc.string({ unit: "binary", minLength: 1, maxLength: 1 }),
                                fc.constantFrom(
                                    "'",
                                    "\\",
                                    "\x85",
                                    "\u2028",
                                    "\u2029",
                                    "\ufeff",
                                    "\x7f",
                                    "\x9b",
                                    "\r",
                                    "\x01",
                                ),
                            ),
                            maxLength: 20,
                        })
                        .map((s) => s.replace(/\0/g, "")),
                    (s) => {
                        const r = runBash(`printf '%s' ${shellWord(s)}`);
                        assert.equal(r.stdout, s);
                        // As an array element too, which is how the prelude passes argv pieces.
                        const a = runBash(`A=(x ${shellWord(s)} y)\nprintf '%s|' "\${#A[@]}" "\${A[1]}"`);
                        assert.equal(a.stdout, `3|${s}|`);
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
