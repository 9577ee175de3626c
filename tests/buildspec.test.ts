/**
 * The buildspec (`components/buildspec/`): the shell fragments and their declared contracts, the prelude that
 * feeds them, the golden files, and every command read with a real shell parser (tests/helpers/shell.ts) and
 * run in real bash with stub `docker`/`aws` functions (tests/helpers/bash.ts), alone and as a whole buildspec
 * under CodeBuild's phase semantics. Who may write the cache is tested in tests/security/trust.test.ts; that
 * hostile values reach docker as exactly one word each, in tests/security/injection.test.ts.
 */
import { strict as assert } from "assert";
import { randomUUID } from "crypto";
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
    FRAGMENTS,
    fragment,
    header,
    FragmentInput,
    FragmentName,
    FROM_MARKERS,
    FROM_PRELUDE,
    marker,
    markerVariable,
    phaseFragments,
    prelude,
    preludeValues,
    registryOf,
    RETRY_DELAYS_SECONDS,
    shellWord,
} from "../components/buildspec";
import { CacheStrategy, RegistryBuilder } from "../components/args";
import { DEFAULTS } from "../components/resolveArgs";
import { BUILDKIT_V0_32_2 } from "../components/builderImage";
import { goldenFile, VARIANTS } from "../scripts/buildspecVariants";
import { BashOptions, BashRun, BashStubs, PHASES, runBash, runBash as runBashAlone, runPhases } from "./helpers/bash";
import { commandsStartingWith, flagValues, parseShell, printShell, SimpleCommand } from "./helpers/shell";

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

const STRATEGIES: CacheStrategy[] = ["inline", "registry", "pull"];
const SETUPS: [CacheStrategy, RegistryBuilder][] = [
    ["inline", "docker-container"],
    ["registry", "docker-container"],
    ["registry", "docker"],
    ["pull", "docker-container"],
];

/** The command that runs fragment `name` in the buildspec of `o`. */
function commandOf(o: BuildspecOptions, name: FragmentName): string {
    const names = phaseFragments(o);
    const phases = buildspec(o).phases;
    for (const phase of PHASES) {
        const i = names[phase].indexOf(name);
        if (i >= 0) {
            return phases[phase].commands[i];
        }
    }
    throw new Error(`${name}.sh is not a command of the ${o.cacheStrategy} buildspec`);
}

/**
 * The functions of retry.sh, written once by the real retry command (as a build's first registry-facing command
 * does), for the commands that source them and are run alone here; removed after the tests.
 */
const RETRY_FILE: string = (() => {
    const id = `test-project:${randomUUID()}`;
    const r = runBash(`${commandOf(options(), "retry")}\necho "$RETRY_SH"`, { env: { CODEBUILD_BUILD_ID: id } });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim();
})();
after(() => fs.rmSync(RETRY_FILE, { force: true }));

/**
 * A command as run alone: `RETRY_SH` (set by retry.sh in a build) first, then what branch.sh sets for the default
 * branch (its one cache ref to read, and a BRANCH_SH that changes nothing: the default branch keeps the prelude's
 * refs; tests/branchCache.test.ts runs branch.sh itself), then the command.
 */
function runnable(o: BuildspecOptions, name: FragmentName): string {
    const cacheRef = cacheRefs(o).cache;
    return `RETRY_SH=${shellWord(RETRY_FILE)}\nBRANCH_SH=/dev/null\nCACHE_REFS=(${shellWord(cacheRef)})\n${commandOf(o, name)}`;
}

/** Every simple command of a phase, each command parsed as bash (prelude values known). */
function phaseCommands(o: BuildspecOptions, phase: (typeof PHASES)[number]): SimpleCommand[] {
    const doc = YAML.parse(buildspecYaml(o)) as { phases: Record<string, { commands: string[] }> };
    return doc.phases[phase].commands.flatMap((c) => parseShell(c).commands);
}

function allCommands(o: BuildspecOptions): SimpleCommand[] {
    return PHASES.flatMap((p) => phaseCommands(o, p));
}

/**
 * A build id for a run of build.sh, and the log it writes (`BUILD_LOG` with the id's UUID part): the test
 * reads it and removes it.
 */
function buildId(): { id: string; log: string } {
    const uuid = randomUUID();
    return { id: `test-project:${uuid}`, log: BUILD_LOG.replace("${CODEBUILD_BUILD_ID##*:}", uuid) };
}

/** Attempts of a registry operation: the first, then one per delay. */
const ATTEMPTS = RETRY_DELAYS_SECONDS.length + 1;

/** What registry_retry (retry.sh) sets for its caller. */
const RETRY_OUTPUTS = ["RETRY_OUTCOME", "RETRY_TRIES", "RETRY_ERROR"];

describe("buildspec fragments (components/buildspec/*.sh)", () => {
    const parsed = new Map(FRAGMENTS.map((n) => [n, parseShell(fragment(n).source)]));
    /**
     * Names a fragment assigns (assignments, for-loop variables and `local` names); a fragment that sources
     * RETRY_SH also gets what the functions of retry.sh assign (RETRY_OUTCOME, RETRY_TRIES, RETRY_ERROR).
     */
    const assigned = (n: FragmentName): Set<string> =>
        new Set([
            ...parsed.get(n)!.commands.flatMap((c) => c.assigns),
            ...Object.keys(parsed.get(n)!.forItems),
            ...[...fragment(n).source.matchAll(/^\s*local (.*)$/gm)].flatMap((m) =>
                m[1].split(" ").map((w) => w.split("=")[0]),
            ),
            ...(fragment(n).inputs.some((i) => i.name === "RETRY_SH") ? RETRY_OUTPUTS : []),
        ]);
    const SPECIAL = /^([0-9]+|[?@#$!*-]|PIPESTATUS|SECONDS|RANDOM|BASH_REMATCH)$/;

    it("retry.sh's functions set RETRY_OUTCOME, RETRY_TRIES and RETRY_ERROR, which the fragments that source RETRY_SH may read", () => {
        const mine = assigned("retry");
        for (const name of RETRY_OUTPUTS) assert.ok(mine.has(name), name);
    });

    it("every .sh file in the folder is a fragment, and every fragment a file", () => {
        const dir = path.dirname(fragment("trust").file);
        const files = fs
            .readdirSync(dir)
            .filter((f) => f.endsWith(".sh"))
            .sort();
        assert.deepEqual(files, FRAGMENTS.map((n) => `${n}.sh`).sort());
    });

    for (const name of FRAGMENTS) {
        it(`${name}.sh declares at its top every variable it reads but doesn't assign, and reads every one it declares`, () => {
            const f = fragment(name);
            assert.ok(f.inputs.length > 0 || name === "report", `${name}.sh declares no input`);
            const mine = assigned(name);
            const declared = new Set(f.inputs.map((i) => i.name));
            const undeclared = parsed
                .get(name)!
                .expansions.filter((e) => !SPECIAL.test(e.name) && !mine.has(e.name) && !declared.has(e.name))
                // Read with a default, the variable is an optional input (CODEBUILD_WEBHOOK_TRIGGER, IMAGE_PUSHED, …).
                .filter((e) => e.op !== ":-" && e.op !== "-")
                .map((e) => e.name);
            assert.deepEqual([...new Set(undeclared)], [], `${name}.sh reads undeclared variables`);
            for (const i of f.inputs) {
                const uses = parsed.get(name)!.expansions.filter((e) => e.name === i.name);
                assert.ok(uses.length >= 2, `${name}.sh declares ${i.name} but never reads it`);
                assert.ok(!mine.has(i.name), `${name}.sh declares ${i.name} as an input but also assigns it`);
            }
            // The declarations come first: nothing but comments and other declarations before the last one.
            const lines = f.source.split("\n");
            const lastDecl = Math.max(...lines.map((l, idx) => (l.startsWith(': "${') ? idx : -1)));
            assert.ok(
                lines.slice(0, lastDecl).every((l) => l === "" || l.startsWith("#") || l.startsWith(': "${')),
                `${name}.sh has code before its last declaration`,
            );
        });
    }

    for (const [strategy, builder] of SETUPS) {
        it(`${strategy} + ${builder}: every input set by another fragment is assigned by it, in a command that runs earlier; the rest come from CodeBuild or the prelude`, () => {
            const o = options({ cacheStrategy: strategy, registryBuilder: builder });
            const order = PHASES.flatMap((p) => phaseFragments(o)[p]);
            const values = preludeValues(o);
            order.forEach((name, position) => {
                for (const i of fragment(name).inputs) {
                    if (i.from === FROM_PRELUDE) {
                        assert.notEqual(values[i.name], undefined, `${name}.sh: ${i.name} has a prelude value`);
                    } else if (i.from === "CodeBuild") {
                        assert.match(i.name, /^CODEBUILD_/);
                    } else if (i.from === FROM_MARKERS) {
                        // A marker of a command that runs before this one, or of this command itself.
                        const setter = order.slice(0, position + 1).find((n) => markerVariable(n) === i.name);
                        assert.ok(setter, `${name}.sh reads ${i.name}, the marker of no command up to it`);
                    } else {
                        const setters = i.from.split(" or ").map((s) => {
                            const m = /^(\w+)\.sh$/.exec(s);
                            assert.ok(m, `${name}.sh: '${i.from}' names fragments as <name>.sh`);
                            return m[1] as FragmentName;
                        });
                        for (const s of setters) {
                            assert.ok(FRAGMENTS.includes(s), `${name}.sh: ${s}.sh is a fragment`);
                            assert.ok(assigned(s).has(i.name), `${s}.sh assigns ${i.name}, as ${name}.sh says`);
                        }
                        assert.ok(
                            setters.some((s) => order.slice(0, position).includes(s)),
                            `${name}.sh reads ${i.name}, set by ${i.from}, which doesn't run before it`,
                        );
                    }
                }
            });
        });
    }

    for (const name of FRAGMENTS) {
        it(`${name}: the command carries the fragment without comments and blank lines, the same syntax tree`, () => {
            const f = fragment(name);
            assert.ok(!f.body.split("\n").some((l) => /^\s*(#|$)/.test(l)));
            assert.equal(printShell(f.body), printShell(f.source));
        });
    }

    /** Stand-in values of the inputs that earlier commands and CodeBuild set. */
    const CONTRACT: Record<string, string | readonly string[]> = {
        TRUSTED: "1",
        CACHE_BRANCH: "",
        CACHE_REFS: ["registry.example/r:buildcache"],
        BRANCH_SH: "/dev/null",
        CACHE_FOUND: "1",
        N_STEPS: "2",
        N_CACHED: "1",
        BUILD_ATTEMPTS: "1",
        RETRY_SH: "/dev/null",
        BUILD_LOG: "/dev/null",
        CODEBUILD_BUILD_ID: "p:id",
        CODEBUILD_BATCH_BUILD_IDENTIFIER: "build_amd64",
        LAYER_CACHE_T_trust: "1700000000000",
        LAYER_CACHE_T_metrics: "1700000060000",
    };
    function assignments(inputs: readonly FragmentInput[], values: Record<string, string | readonly string[]>) {
        return inputs
            .map((i) => {
                const v = i.from === FROM_PRELUDE ? values[i.name] : CONTRACT[i.name];
                assert.notEqual(v, undefined, i.name);
                return typeof v === "string"
                    ? `${i.name}=${shellWord(v)}`
                    : `${i.name}=(${v.map(shellWord).join(" ")})`;
            })
            .join("\n");
    }

    for (const name of FRAGMENTS) {
        it(`${name}: a missing input fails the command loudly, naming it and who sets it, before any docker or aws call`, () => {
            const inputs = fragment(name).inputs;
            const body = fragment(name).body;
            const values = preludeValues(options({ cacheStrategy: name === "pull" ? "pull" : "registry" }));
            const stubs: BashStubs = { dropTee: true };
            // With every input, no contract check fires (positive control).
            const whole = runBash(`${assignments(inputs, values)}\n${body}`, { stubs });
            assert.ok(!whole.stderr.includes("set by"), whole.stderr);
            for (const missing of inputs) {
                const rest = inputs.filter((i) => i !== missing);
                const r = runBash(`${assignments(rest, values)}\n${body}\necho reached`, { stubs });
                assert.notEqual(r.status, 0, `${name}.sh without ${missing.name}`);
                assert.ok(
                    r.stderr.includes(`${missing.name}${missing.array ? "[@]" : ""}: set by ${missing.from}`),
                    r.stderr,
                );
                assert.ok(!r.stdout.includes("reached"));
                assert.deepEqual(r.calls, [], `${name}.sh without ${missing.name} ran ${JSON.stringify(r.calls)}`);
            }
        });
    }

    for (const [strategy, builder] of SETUPS) {
        it(`${strategy} + ${builder}: each command's prelude assigns exactly the values its fragment declares, each one word or one array, then the fragment follows`, () => {
            const o = options({
                cacheStrategy: strategy,
                registryBuilder: builder,
                buildArgs: { A: "x y", B: "it's" },
                trustedRefs: ["main", "refs/tags/v1"],
                sourceVersion: "develop",
            });
            const values = preludeValues(o);
            const names = phaseFragments(o);
            const phases = buildspec(o).phases;
            for (const phase of PHASES) {
                phases[phase].commands.forEach((c, idx) => {
                    const f = fragment(names[phase][idx]);
                    const fromPrelude = f.inputs.filter((i) => i.from === FROM_PRELUDE).map((i) => i.name);
                    const p = prelude(f.name, values);
                    const m = marker(f.name);
                    assert.equal(
                        c,
                        [header(f.name), ...(m === undefined ? [] : [m]), ...(p === "" ? [] : [p]), f.rendered].join(
                            "\n",
                        ),
                    );
                    // Parsed back: the statically known variables are exactly the prelude's, with exactly its values.
                    const known = parseShell(c).known;
                    assert.deepEqual(
                        known,
                        Object.fromEntries(fromPrelude.map((n) => [n, values[n]])),
                        `${f.name}.sh's prelude`,
                    );
                });
            }
        });
    }

    it("OWN_REF is the project's source version as a full ref, or empty when the options don't name it", () => {
        assert.equal(preludeValues(options({ sourceVersion: "main" })).OWN_REF, "refs/heads/main");
        assert.equal(preludeValues(options({ sourceVersion: "refs/tags/v1" })).OWN_REF, "refs/tags/v1");
        assert.equal(preludeValues(options()).OWN_REF, "");
        assert.match(commandOf(options(), "trust"), /^OWN_REF=''$/m);
    });

    it("refuses to render without a trusted ref (the trust command's array would be empty)", () => {
        assert.throws(
            () => buildspec(options({ trustedRefs: [] })),
            /at least one trusted ref \(trustedRefs is empty\)/,
        );
    });

    it("BUILD_LOG is what build.sh assigns, one log per build id", () => {
        assert.equal(BUILD_LOG, "/tmp/layer-cache-build.${CODEBUILD_BUILD_ID##*:}.log");
        assert.ok(fragment("build").source.includes(`\nBUILD_LOG="${BUILD_LOG}"\n`));
    });
});

describe("buildspec golden files (tests/golden/)", () => {
    // The fragments reach CodeBuild as written (docs/decisions/buildspec-delivery.md): each command ends with its
    // file, byte for byte but the final newline, after a header that names the file.
    for (const name of FRAGMENTS) {
        it(`${name}.sh as a command carries: the file as written, indented and commented, under a header naming it`, () => {
            const f = fragment(name);
            assert.equal(f.rendered, f.source.replace(/\n$/, ""));
            assert.match(f.rendered, /^\s*#/m, "its comments are kept");
            assert.match(header(name), new RegExp(`^# .*components/buildspec/${name}\\.sh`));
            let carried = 0;
            for (const v of VARIANTS) {
                const phases = buildspec(v.options).phases;
                for (const c of [
                    ...phases.pre_build.commands,
                    ...phases.build.commands,
                    ...phases.post_build.commands,
                ]) {
                    if (c.startsWith(`${header(name)}\n`)) {
                        carried++;
                        // Every line of the file is a line of the command, in order and unchanged.
                        const lines = c.split("\n");
                        const at = lines.indexOf(f.rendered.split("\n")[0]);
                        assert.ok(at > 0, `${v.name}: ${name}.sh's first line is in the command`);
                        assert.equal(
                            lines.slice(at, at + f.rendered.split("\n").length).join("\n"),
                            f.rendered,
                            v.name,
                        );
                    }
                }
            }
            assert.ok(carried > 0, `no variant runs ${name}.sh`);
        });
    }
    it("every input a fragment requires non-empty (`:?`) and the prelude sets is non-empty in every variant (the prelude's declarations are left out of the commands)", () => {
        for (const v of VARIANTS) {
            const values = preludeValues(v.options);
            for (const name of FRAGMENTS) {
                for (const i of fragment(name).inputs.filter((x) => x.from === FROM_PRELUDE)) {
                    const value = values[i.name];
                    if (value === undefined) {
                        continue; // a fragment this variant doesn't run, or a value set per job (batch.ts)
                    }
                    if (i.array) {
                        assert.ok(Array.isArray(value), `${v.name}: ${name}.sh's ${i.name} is an array`);
                    } else if (i.nonEmpty) {
                        assert.ok(
                            typeof value === "string" && value !== "",
                            `${v.name}: ${name}.sh's ${i.name} is empty`,
                        );
                    }
                }
            }
        }
    });
    for (const v of VARIANTS) {
        it(`${v.name}: the retry functions are in the buildspec once`, () => {
            const yaml = buildspecYaml(v.options);
            assert.equal(yaml.split("registry_retry() {").length - 1, 1, "registry_retry is defined once");
        });
    }
    for (const v of VARIANTS) {
        it(`${path.basename(goldenFile(v))} is what the code renders (if not: run \`npm run golden\` and review the diff)`, () => {
            const rendered = buildspecYaml(v.options);
            const file = goldenFile(v);
            const golden = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
            if (golden !== rendered) {
                const a = golden.split("\n");
                const b = rendered.split("\n");
                const line = a.findIndex((l, i) => l !== b[i]);
                assert.fail(
                    `${file} is stale: run \`npm run golden\` to rewrite it, then review the diff. ` +
                        `First difference at line ${line + 1}: golden ${JSON.stringify(a[line])}, rendered ${JSON.stringify(b[line])}`,
                );
            }
        });
    }
});

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

    describe("build command per strategy", () => {
        /**
         * The build call (prelude values resolved) and its two WRITE_FLAGS assignments: the unconditional one
         * (every build, so what an untrusted build gets) and the one that replaces it when TRUSTED=1.
         */
        function buildCall(o: BuildspecOptions): {
            call: SimpleCommand;
            readOnlyFlags: (string | undefined)[];
            writeFlags: (string | undefined)[];
        } {
            const builds = phaseCommands(o, "build").filter(
                (c) => c.words[0] === "docker" && c.words[1] === "buildx" && c.words[2] === "build",
            );
            // registry: the build and, in the last build command, the cache export; other strategies: the build only.
            assert.equal(builds.length, o.cacheStrategy === "registry" ? 2 : 1);
            assert.deepEqual(
                parseShell(commandOf(o, "build"))
                    .commands.filter((c) => c.words[2] === "build")
                    .map((c) => c.words),
                [builds[0].words],
                "the first build command holds the build",
            );
            const assignments = parseShell(commandOf(o, "build")).commands.filter(
                (c) => c.arrays.WRITE_FLAGS !== undefined,
            );
            assert.equal(
                assignments.length,
                2,
                "WRITE_FLAGS is set once for every build and once more for trusted builds",
            );
            return {
                call: builds[0],
                readOnlyFlags: assignments[0].arrayValues.WRITE_FLAGS,
                writeFlags: assignments[1].arrayValues.WRITE_FLAGS,
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

        it("registry: the build reads the cache tag and pushes the image with store=false; a separate export writes the cache tag with mode=max,image-manifest=true,oci-mediatypes=true,compression=gzip,force-compression=true", () => {
            const o = options({ cacheStrategy: "registry" });
            const { call, readOnlyFlags, writeFlags } = buildCall(o);
            assert.deepEqual(flagValues(call.words, "--cache-from"), [`type=registry,ref=${REPO}:buildcache`]);
            assert.deepEqual(flagValues(call.words, "--cache-to"), [], "the build itself exports no cache");
            assert.deepEqual(pushingWords(call.words), [], "the base argv neither names nor pushes the image");
            assert.deepEqual(writeFlags, [
                "--output",
                `type=image,name=${REPO}:latest,push=true,store=false,compression=gzip,force-compression=true`,
            ]);
            // The export: the build's base argv and cache import (everything up to the --cache-from value), then the cache export, cacheonly, the context.
            // One invocation per cache: its ref and its --platform (none with one cache) are the loop's, known when run.
            const exports = parseShell(commandOf(o, "export")).commands.filter((c) => c.words[2] === "build");
            assert.equal(exports.length, 1);
            const at = call.words.indexOf("--cache-from");
            assert.deepEqual(exports[0].words, [
                ...call.words.slice(0, at),
                "${p}",
                ...call.words.slice(at, at + 2),
                "--cache-to",
                "type=registry,ref=${e_ref},mode=max,image-manifest=true,oci-mediatypes=true,compression=gzip,force-compression=true",
                "--output",
                "type=cacheonly",
                "al/x86_64/standard/5.0",
            ]);
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
            // The one docker pull pulls the refs branch.sh lists (the default branch's: the image), one at a time.
            assert.deepEqual(
                phaseCommands(o, "pre_build")
                    .filter((c) => c.words[0] === "docker" && c.words[1] === "pull")
                    .map((c) => c.words),
                [["docker", "pull", "${1}"]],
            );
            const pulled = runBash(runnable(o, "pull"));
            assert.deepEqual(pulled.calls, [["docker", "pull", `${REPO}:latest`]]);
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
            assert.equal(call.words[call.words.length - 3], "${WRITE_FLAGS[@]}");
            // Skip unchanged builds: the key tags of a trusted build (key.sh, build.sh), and for `registry` the cache
            // export when the key missed; empty without a key.
            assert.equal(call.words[call.words.length - 2], "${more[@]}");
            assert.deepEqual(flagValues(call.words, "--build-arg"), ["VERSION=1.2 3", "EMPTY="]);
            for (const w of ["--progress=plain", "--provenance=false", "--sbom=false"]) {
                assert.ok(call.words.includes(w), w);
            }
            assert.ok(!call.words.some((w) => w.startsWith("--network")));
            assert.ok(buildCall(options({ buildNetwork: "none" })).call.words.includes("--network=none"));
        });

        it("the only pushes are the trusted flags' --push / --output …push=true: no docker push / load anywhere, no tag but the builder image's local name", () => {
            for (const strategy of STRATEGIES) {
                const all = allCommands(options({ cacheStrategy: strategy }));
                assert.ok(!all.some((c) => c.words[0] === "docker" && c.words[1] === "push"));
                // The one `docker tag` names the pulled builder image on this host (builder.sh): no registry in it.
                const tags = all.filter((c) => c.words[0] === "docker" && c.words[1] === "tag");
                assert.deepEqual(
                    tags.map((c) => c.words.slice(2)),
                    strategy === "registry" ? [["${1}", "${BUILDER_IMAGE}"]] : [],
                );
                assert.ok(!all.some((c) => c.words.includes("--load")));
                // Every word that pushes, anywhere in the buildspec (prelude arrays included), is one of the trusted write flags'.
                const { writeFlags } = buildCall(options({ cacheStrategy: strategy }));
                const pushes = (ws: (string | undefined)[]) =>
                    ws.filter((w) => w !== undefined && (w === "--push" || /(^|,)push=true(,|$)/.test(w)));
                const inWriteFlags = pushes(writeFlags);
                assert.equal(inWriteFlags.length, 1, `${strategy}: exactly one push, in the trusted flags`);
                const everywhere = all
                    .filter((c) => c.arrays.WRITE_FLAGS === undefined && c.arrays.PUSH_FLAGS === undefined)
                    .flatMap((c) => [...c.words, ...Object.values(c.arrays).flat()]);
                assert.deepEqual(pushes(everywhere), [], `${strategy}: no push outside the trusted flags`);
            }
        });

        it("untrusted builds get exactly --output type=cacheonly: no image, no tag, no push, no cache export", () => {
            for (const strategy of STRATEGIES) {
                const { readOnlyFlags } = buildCall(options({ cacheStrategy: strategy }));
                assert.deepEqual(readOnlyFlags, ["--output", "type=cacheonly"], strategy);
            }
        });
    });

    describe("builder", () => {
        /**
         * Runs the builder command in bash, docker stubbed (every call succeeds, unless `docker` says otherwise);
         * returns the create call, the calls before it, the config file it names and what the command printed.
         */
        function runBuilder(
            o: BuildspecOptions,
            docker?: string,
        ): { create: string[]; before: string[][]; config: string | undefined; stdout: string } {
            const buildId = `ecr-layer-cache:${Math.random().toString(16).slice(2)}`;
            const r = runBash(
                `${runnable(o, "builder")}\necho "--- config"; for f in /tmp/layer-cache-buildkitd."\${CODEBUILD_BUILD_ID##*:}".toml; do [ -f "$f" ] && cat "$f" && rm -f "$f"; done; true`,
                { env: { CODEBUILD_BUILD_ID: buildId }, stubs: { docker } },
            );
            assert.equal(r.status, 0, r.stderr);
            const creates = r.calls.filter((c) => c[2] === "create");
            assert.equal(creates.length, 1, "one docker buildx create");
            assert.deepEqual(r.calls.at(-1), creates[0], "the create comes last");
            const [stdout, config] = r.stdout.split("--- config\n");
            return {
                create: creates[0],
                before: r.calls.slice(0, -1),
                config: creates[0].includes("--buildkitd-config") ? config : undefined,
                stdout,
            };
        }
        const LOCAL_PINNED = `localhost/layer-cache-builder:sha256-${BUILDKIT_V0_32_2.slice("sha256:".length)}`;

        it("a pinned image: pulled from its first source by digest, named on localhost, and the builder started from that name", () => {
            const o = options({
                cacheStrategy: "registry",
                builderImage: DEFAULTS.builderImage,
                builderImageMirrors: DEFAULTS.builderImageMirrors,
            });
            // The stub's `docker image inspect` fails: the image is not on this host yet.
            const { create, before, stdout } = runBuilder(o, 'if [ "$2" = inspect ]; then return 1; fi');
            assert.deepEqual(before, [
                ["docker", "image", "inspect", LOCAL_PINNED],
                ["docker", "pull", "--quiet", DEFAULTS.builderImage],
                ["docker", "tag", DEFAULTS.builderImage, LOCAL_PINNED],
            ]);
            assert.deepEqual(flagValues(create, "--driver-opt"), [`image=${LOCAL_PINNED}`]);
            assert.equal(stdout, `layer cache: the builder image came from ${DEFAULTS.builderImage}\n`);
        });

        it("a pinned image already on this host under its local name (a Docker server's earlier build): no pull", () => {
            const o = options({ cacheStrategy: "registry", builderImage: DEFAULTS.builderImage });
            const { create, before, stdout } = runBuilder(o);
            assert.deepEqual(before, [["docker", "image", "inspect", LOCAL_PINNED]]);
            assert.deepEqual(flagValues(create, "--driver-opt"), [`image=${LOCAL_PINNED}`]);
            assert.equal(stdout, "layer cache: the builder image is already on this host\n");
        });

        it("the sources in order: a missing reference and bytes that don't match the digest move on; the next serves it", () => {
            const o = options({
                cacheStrategy: "registry",
                builderImage: DEFAULTS.builderImage,
                builderImageMirrors: ["docker.io/moby/buildkit", "quay.io/mirror/buildkit"],
            });
            const [ecrPublic, hub, quay] = [
                DEFAULTS.builderImage,
                `docker.io/moby/buildkit@${BUILDKIT_V0_32_2}`,
                `quay.io/mirror/buildkit@${BUILDKIT_V0_32_2}`,
            ];
            const { before, stdout } = runBuilder(
                o,
                [
                    'if [ "$2" = inspect ]; then return 1; fi',
                    `if [ "$3" = ${shellWord(ecrPublic)} ]; then echo "Error response from daemon: manifest for $3 not found: manifest unknown: manifest unknown" >&2; return 1; fi`,
                    `if [ "$3" = ${shellWord(hub)} ]; then echo "manifest verification failed for digest ${BUILDKIT_V0_32_2}" >&2; return 1; fi`,
                ].join("\n"),
            );
            assert.deepEqual(
                before.map((c) => c.slice(0, 2).join(" ") + " " + c.at(-1)),
                [
                    `docker image ${LOCAL_PINNED}`,
                    `docker pull ${ecrPublic}`,
                    `docker pull ${hub}`,
                    `docker pull ${quay}`,
                    `docker tag ${LOCAL_PINNED}`,
                ],
                "each source pulled once (neither failure is transient), the third tagged",
            );
            assert.match(
                stdout,
                new RegExp(`layer cache: the builder image came from ${quay.replace(/\./g, "\\.")}\n$`),
            );
        });
        it("registry + docker-container: an unpinned image is pulled as it is, then a docker-container builder starts from its local name", () => {
            const o = options({ cacheStrategy: "registry", registryBuilder: "docker-container" });
            const { create, before, config, stdout } = runBuilder(o);
            const local = "localhost/layer-cache-builder:unpinned";
            // No `docker image inspect`: an unpinned image's local name says nothing of what it holds.
            assert.deepEqual(before, [
                ["docker", "pull", "--quiet", "public.ecr.aws/vend/moby/buildkit:buildx-stable-1"],
                ["docker", "tag", "public.ecr.aws/vend/moby/buildkit:buildx-stable-1", local],
            ]);
            assert.deepEqual(create, [
                "docker",
                "buildx",
                "create",
                "--name",
                BUILDER_NAME,
                "--driver",
                "docker-container",
                "--driver-opt",
                `image=${local}`,
                "--use",
                "--bootstrap",
            ]);
            assert.equal(config, undefined, "no buildkitd config without pull-through caches");
            assert.equal(
                stdout,
                "layer cache: the builder image came from public.ecr.aws/vend/moby/buildkit:buildx-stable-1\n",
            );
            const hostNet = runBuilder({ ...o, buildNetwork: "host" });
            assert.deepEqual(flagValues(hostNet.create, "--driver-opt"), [`image=${local}`, "network=host"]);
        });

        it("with pull-through caches: the builder image comes through the ECR Public cache first, and a buildkitd.toml of this build mirrors each upstream", () => {
            const o = options({
                cacheStrategy: "registry",
                registryBuilder: "docker-container",
                builderImage: DEFAULTS.builderImage,
                builderImageMirrors: DEFAULTS.builderImageMirrors,
                upstreamCaches: [
                    { upstream: "ecr-public", prefix: "ecr-public" },
                    { upstream: "docker-hub", prefix: "hub" },
                ],
            });
            // Nothing on the host yet, and only `ref` serves it.
            const only = (ref: string) =>
                `if [ "$2" = inspect ]; then return 1; fi\nif [ "$1" = pull ] && [ "$3" != ${shellWord(ref)} ]; then echo "manifest unknown" >&2; return 1; fi`;
            const hubCache = `${REGISTRY}/hub/moby/buildkit@${BUILDKIT_V0_32_2}`;
            const { create, before, config, stdout } = runBuilder(o, only(hubCache));
            assert.deepEqual(
                before.filter((c) => c[1] === "pull").map((c) => c[3]),
                [`${REGISTRY}/ecr-public/vend/moby/buildkit@${BUILDKIT_V0_32_2}`, hubCache],
                "the caches' routes, in the sources' order: ECR Public's, then Docker Hub's",
            );
            const file = create[create.indexOf("--buildkitd-config") + 1];
            assert.match(
                file,
                /^\/tmp\/layer-cache-buildkitd\.[0-9a-f]+\.toml$/,
                "one file per build (the build ID's UUID part)",
            );
            assert.deepEqual(create, [
                "docker",
                "buildx",
                "create",
                "--name",
                BUILDER_NAME,
                "--driver",
                "docker-container",
                "--driver-opt",
                `image=${LOCAL_PINNED}`,
                "--buildkitd-config",
                file,
                "--use",
                "--bootstrap",
            ]);
            assert.equal(
                config,
                `[registry."public.ecr.aws"]\n  mirrors = ["${REGISTRY}/ecr-public"]\n\n` +
                    `[registry."docker.io"]\n  mirrors = ["${REGISTRY}/hub"]\n`,
            );
            assert.match(
                stdout,
                /^layer cache: the builder pulls through the pull-through caches \(registry mirrors in /,
            );
            assert.match(
                stdout,
                new RegExp(`\nlayer cache: the builder image came from ${hubCache.replace(/\./g, "\\.")}\n$`),
            );
            // Docker Hub's cache alone: Docker Hub through it first, then ECR Public, then Docker Hub itself.
            const hubOnly = runBuilder(
                { ...o, upstreamCaches: [{ upstream: "docker-hub", prefix: "hub" }] },
                only(`docker.io/moby/buildkit@${BUILDKIT_V0_32_2}`),
            );
            assert.deepEqual(
                hubOnly.before.filter((c) => c[1] === "pull").map((c) => c[3]),
                [hubCache, DEFAULTS.builderImage, `docker.io/moby/buildkit@${BUILDKIT_V0_32_2}`],
            );
            assert.equal(hubOnly.config, `[registry."docker.io"]\n  mirrors = ["${REGISTRY}/hub"]\n`);
        });

        for (const [strategy, builder] of [
            ["registry", "docker"],
            ["inline", "docker-container"],
            ["pull", "docker-container"],
        ] as const) {
            it(`${strategy} + ${builder}: creates no builder and pulls no BuildKit image`, () => {
                const o = options({ cacheStrategy: strategy, registryBuilder: builder });
                const all = allCommands(o);
                assert.ok(!all.some((c) => c.words[0] === "docker" && c.words[2] === "create"));
                // Not in any word of any command (the fragments' comments may speak of BuildKit).
                assert.ok(!all.some((c) => c.words.some((w) => w?.includes("buildkit"))));
            });
        }
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

    describe("cache probe (executed in bash)", () => {
        for (const strategy of ["inline", "registry"] as const) {
            const o = options({ cacheStrategy: strategy });
            const probe = runnable(o, "probe");
            const ref = cacheRefs(o).cache;
            const run = (out: string, rc: number, before = "") =>
                runBash(`${before}${probe}\necho "CACHE_FOUND=$CACHE_FOUND"`, {
                    env: { STUB_OUT: out, STUB_RC: String(rc) },
                    stubs: { docker: 'echo "$STUB_OUT" >&2; return "$STUB_RC"' },
                });

            it(`${strategy}: inspects ${strategy === "registry" ? "the cache tag" : "the image"} and finds it`, () => {
                const r = run("Name: x", 0);
                assert.equal(r.status, 0);
                assert.match(r.stdout, /^layer cache: found (\S+)\nCACHE_FOUND=1\n$/);
                assert.ok(r.stdout.includes(`found ${ref}\n`));
                assert.deepEqual(r.calls, [["docker", "buildx", "imagetools", "inspect", ref]]);
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
                    assert.ok(
                        r.stdout.includes(`layer cache: ${ref} is not there yet (first build): this build is cold`),
                    );
                });
            }

            for (const bad of [
                "unauthorized: authentication required",
                "denied: User: arn:aws:sts::1:assumed-role/r is not authorized to perform: ecr:BatchGetImage",
                "dial tcp: lookup x: no such host",
            ]) {
                it(`${strategy}: fails the build on "${bad.slice(0, 30)}…"`, () => {
                    const r = run(bad, 1, "set -e\n");
                    assert.notEqual(r.status, 0);
                    assert.ok(!r.stdout.includes("CACHE_FOUND="));
                    assert.ok(r.stderr.includes(`ERROR: cannot read the layer cache ${ref}: ${bad}`), r.stderr);
                    // And as the last statement of its command (how CodeBuild sees it), the status is non-zero too.
                    const last = runBash(probe, {
                        env: { STUB_OUT: bad },
                        stubs: { docker: 'echo "$STUB_OUT" >&2; return 1' },
                    });
                    assert.notEqual(last.status, 0);
                });
            }
        }

        it("two platforms emulated: CACHE_FOUND only when the build's own cache of every platform is there; every cache found is imported", () => {
            const e = options({
                cacheStrategy: "registry",
                platforms: ["linux/amd64", "linux/arm64"],
                platformMode: "emulated",
            });
            // caches.sh's order: the build's own caches (here a branch's), one per platform, then the default branch's.
            const own = [`${REPO}:buildcache-br-x-amd64`, `${REPO}:buildcache-br-x-arm64`];
            const base = [`${REPO}:buildcache-amd64`, `${REPO}:buildcache-arm64`];
            const script = [
                `RETRY_SH=${shellWord(RETRY_FILE)}`,
                "BRANCH_SH=/dev/null",
                `CACHE_REFS=(${[...own, ...base].join(" ")})`,
                commandOf(e, "probe"),
                'echo "CACHE_FOUND=$CACHE_FOUND FROM=${CACHE_FROM[*]}"',
            ].join("\n");
            // The docker stub: `imagetools inspect REF` finds REF only if it is in FOUND.
            const probe = (found: string[]) =>
                runBash(script, {
                    env: { FOUND: ` ${found.join(" ")} ` },
                    stubs: {
                        docker: 'case "$FOUND" in *" $4 "*) echo ok ;; *) echo "ERROR: $4: not found" >&2; return 1 ;; esac',
                    },
                });
            for (const [found, expected] of [
                [[...own, ...base], "1"],
                [own, "1"],
                [[own[0], ...base], "0"],
                [[own[1], ...base], "0"],
                [base, "0"],
            ] as const) {
                const r = probe([...found]);
                assert.equal(r.status, 0, r.stderr);
                const m = /^CACHE_FOUND=(\d) FROM=(.*)$/m.exec(r.stdout);
                assert.ok(m, r.stdout);
                assert.equal(m[1], expected, `found ${found.join(", ")}`);
                assert.deepEqual(
                    m[2].split(" ").filter((w) => w !== "--cache-from"),
                    found.map((ref) => `type=registry,ref=${ref}`),
                    "each cache found is imported, in order",
                );
            }
        });

        it("pull: records whether the pull worked, a failed pull is tolerated", () => {
            const cmd = runnable(options({ cacheStrategy: "pull" }), "pull");
            const ok = runBash(`${cmd}\necho "F=$CACHE_FOUND"`);
            assert.match(ok.stdout, /F=1/);
            assert.deepEqual(ok.calls, [["docker", "pull", `${REPO}:latest`]]);
            const failed = runBash(`${cmd}\necho "F=$CACHE_FOUND"`, { stubs: { docker: "return 1" } });
            assert.equal(failed.status, 0);
            assert.match(failed.stdout, /F=0/);
        });
    });

    describe("build, report and export (executed in bash)", () => {
        let tmp = "";
        const logs: string[] = [];
        before(() => {
            tmp = fs.mkdtempSync(path.join(os.tmpdir(), "build-"));
        });
        after(() => {
            fs.rmSync(tmp, { recursive: true, force: true });
            logs.forEach((l) => fs.rmSync(l, { force: true }));
        });

        /** Runs the build command as a build of this trust, with a docker stub that prints `log` and returns `rc`. */
        function runBuild(
            o: BuildspecOptions,
            trusted: string,
            log = "",
            rc = 0,
            before = "",
        ): BashRun & { log: string } {
            const id = buildId();
            logs.push(id.log);
            const r = runBash(`${before}${runnable(o, "build")}`, {
                env: { TRUSTED: trusted, CODEBUILD_BUILD_ID: id.id, LOG: log, RC: String(rc) },
                stubs: { docker: 'printf "%s" "$LOG"; return "$RC"' },
            });
            return { ...r, log: id.log };
        }

        it("registry trusted: the argv ends with the cache import, the store=false image push and the context, and exports no cache; untrusted: cacheonly, no export, no push", () => {
            const o = options({ cacheStrategy: "registry" });
            const trusted = runBuild(o, "1");
            assert.equal(trusted.status, 0);
            assert.equal(trusted.calls.length, 1);
            const argv = trusted.calls[0];
            assert.deepEqual(argv.slice(-5), [
                "--cache-from",
                `type=registry,ref=${REPO}:buildcache`,
                "--output",
                `type=image,name=${REPO}:latest,push=true,store=false,compression=gzip,force-compression=true`,
                "al/x86_64/standard/5.0",
            ]);
            assert.ok(!argv.includes("--push") && !argv.includes("--tag"));
            assert.ok(!argv.includes("--cache-to"), "the cache is exported by the export command, not the build");
            const untrusted = runBuild(o, "0").calls[0];
            assert.deepEqual(untrusted.slice(-3), ["--output", "type=cacheonly", "al/x86_64/standard/5.0"]);
            assert.ok(!untrusted.includes("--push"));
            assert.ok(!untrusted.includes("--cache-to"));
            assert.ok(!untrusted.includes("--tag"));
            assert.ok(!untrusted.some((w) => w.includes("push=true")), JSON.stringify(untrusted));
        });

        for (const strategy of ["inline", "pull"] as const) {
            it(`${strategy} trusted: the argv ends with --tag <image> --push and the context; untrusted: cacheonly, no tag, no push`, () => {
                const o = options({ cacheStrategy: strategy });
                const trusted = runBuild(o, "1");
                assert.equal(trusted.status, 0);
                const argv = trusted.calls[0];
                assert.deepEqual(argv.slice(-4), ["--tag", `${REPO}:latest`, "--push", "al/x86_64/standard/5.0"]);
                assert.equal(argv.filter((w) => w === "--tag").length, 1);
                assert.ok(!argv.some((w) => w.startsWith("--output") || w.includes("push=true")));
                const untrusted = runBuild(o, "0").calls[0];
                assert.deepEqual(untrusted.slice(-3), ["--output", "type=cacheonly", "al/x86_64/standard/5.0"]);
                assert.ok(
                    !untrusted.includes("--push") && !untrusted.includes("--tag") && !untrusted.includes("--cache-to"),
                );
                assert.ok(!untrusted.some((w) => w.includes("push=true")), JSON.stringify(untrusted));
            });
        }

        it("the whole argv, exactly: docker buildx build, the shared flags, the cache import, the write flags, the context", () => {
            const o = options({
                cacheStrategy: "inline",
                buildArgs: { V: "1 2", Q: "it's $HOME" },
                buildNetwork: "none",
            });
            assert.deepEqual(runBuild(o, "1").calls, [
                [
                    "docker",
                    "buildx",
                    "build",
                    "--progress=plain",
                    "--provenance=false",
                    "--sbom=false",
                    "--file",
                    "al/x86_64/standard/5.0/Dockerfile",
                    "--build-arg",
                    "V=1 2",
                    "--build-arg",
                    "Q=it's $HOME",
                    "--network=none",
                    "--cache-from",
                    `type=registry,ref=${REPO}:latest`,
                    "--cache-to",
                    "type=inline",
                    "--tag",
                    `${REPO}:latest`,
                    "--push",
                    "al/x86_64/standard/5.0",
                ],
            ]);
        });

        it("writes the build's output to this build's own log (the UUID part of CODEBUILD_BUILD_ID)", () => {
            const r = runBuild(options(), "1", "#5 [2/3] RUN make\n");
            assert.equal(r.stdout, "#5 [2/3] RUN make\n");
            assert.equal(fs.readFileSync(r.log, "utf8"), "#5 [2/3] RUN make\n");
        });

        it("a failing docker build fails the command despite the tee (pipefail)", () => {
            assert.notEqual(runBuild(options(), "1", "boom\n", 1).status, 0);
        });

        for (const strategy of STRATEGIES) {
            it(`${strategy}: IMAGE_PUSHED=1 only when a trusted build's pipeline succeeded, and a failure stays the command's status`, () => {
                const o = options({ cacheStrategy: strategy });
                // IMAGE_PUSHED=1 beforehand, as if left over: the command must reset it.
                const run = (trusted: string, rc: number) => {
                    const id = buildId();
                    logs.push(id.log);
                    return runBash(
                        `IMAGE_PUSHED=1\n${runnable(o, "build")}\nrc=$?\necho "rc=$rc IMAGE_PUSHED=$IMAGE_PUSHED"`,
                        {
                            env: { TRUSTED: trusted, CODEBUILD_BUILD_ID: id.id, RC: String(rc) },
                            stubs: { docker: 'echo "#1 log"; return "$RC"' },
                        },
                    ).stdout;
                };
                assert.match(run("1", 0), /rc=0 IMAGE_PUSHED=1$/m);
                assert.match(run("0", 0), /rc=0 IMAGE_PUSHED=0$/m);
                assert.match(run("1", 3), /rc=3 IMAGE_PUSHED=0$/m, "a failed build pushed nothing");
                assert.match(run("0", 3), /rc=3 IMAGE_PUSHED=0$/m);
            });
        }

        describe("report", () => {
            const report = commandOf(options(), "report");
            const log = () => path.join(tmp, "report.log");
            const run = (text: string, found: string) => {
                fs.writeFileSync(log(), text);
                const r = runBash(`set -o pipefail\n${report}\necho "N=$N_CACHED/$N_STEPS"`, {
                    env: { BUILD_LOG: log(), CACHE_FOUND: found, BUILD_ATTEMPTS: "1" },
                });
                assert.equal(r.status, 0, r.stderr);
                assert.deepEqual(r.calls, []);
                return r.stdout;
            };
            const cold = [
                "#1 [internal] load build definition",
                "#5 [1/3] FROM docker.io/library/alpine",
                "#6 [2/3] RUN make",
                "#7 [3/3] COPY . .",
                "#8 exporting to image",
            ].join("\n");

            it("counts cached steps on cold and warm logs, under pipefail, exits 0, and hands the counts on (N_STEPS, N_CACHED)", () => {
                const c = run(cold, "0");
                assert.match(c, /layer cache: 0 of 2 steps cached/);
                assert.match(c, /^N=0\/2$/m);
                const warm = cold
                    .replace("#6 [2/3] RUN make", "#6 [2/3] RUN make\n#6 CACHED")
                    .replace("#7 [3/3] COPY . .", "#7 [3/3] COPY . .\n#7 CACHED");
                const w = run(warm, "1");
                assert.match(w, /layer cache: 2 of 2 steps cached/);
                assert.match(w, /^N=2\/2$/m);
                assert.ok(!w.includes("WARNING"));
                assert.match(run(cold, "1"), /WARNING: a layer cache was found in ECR but no step used it/);
            });

            it("counts hits printed DONE with layer downloads and no output of their own, does not warn 'no step used it' then, and still warns when only FROM downloaded", () => {
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
                const f = run(fetched, "1");
                assert.match(f, /layer cache: 2 of 2 steps cached/);
                assert.ok(!f.includes("WARNING"), f);
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
                const r = run(rebuilt, "1");
                assert.match(r, /WARNING: a layer cache was found in ECR but no step used it/);
                assert.match(r, /layer cache: 0 of 2 steps cached/);
                // A step that printed output ran, even with downloads on its lines: not a hit.
                const ranWithDownload = fetched.replace("#6 DONE 0.1s", "#6 0.2 compiling\n#6 DONE 0.1s");
                assert.match(run(ranWithDownload, "1"), /layer cache: 1 of 2 steps cached/);
            });

            it("warns on a cache import error, except 'not found' when the probe found no cache", () => {
                const failedImport = `${cold}\n#3 importing cache manifest from ${REPO}:latest\n#3 ERROR: failed to fetch blob`;
                assert.match(
                    run(failedImport, "1"),
                    /WARNING: BuildKit reported a layer-cache error, so this build did not use the cache as configured: #3 ERROR: failed to fetch blob/,
                );
                const notFound = `${cold}\n#3 importing cache manifest from ${REPO}:latest\n#3 ERROR: ${REPO}:latest: not found`;
                assert.ok(!run(notFound, "0").includes("layer-cache error"));
                assert.match(run(notFound, "1"), /layer-cache error/);
            });
        });

        describe("registry: the cache export", () => {
            const o = options({ cacheStrategy: "registry", buildArgs: { V: "1 2" }, buildNetwork: "none" });
            const log = () => path.join(tmp, "export.log");
            const EXPORT_TAIL = [
                // It reads the cache too: records the build took from it without loading them must stay in the export.
                "--cache-from",
                `type=registry,ref=${REPO}:buildcache`,
                "--cache-to",
                `type=registry,ref=${REPO}:buildcache,mode=max,image-manifest=true,oci-mediatypes=true,compression=gzip,force-compression=true`,
                "--output",
                "type=cacheonly",
                "al/x86_64/standard/5.0",
            ];

            /** Runs `script` with the inputs as variables, a docker stub that prints a line and returns `rc`, no pipefail set beforehand. */
            function runExport(vars: Record<string, string>, script = runnable(o, "export"), rc = 0) {
                return runBash(script, {
                    env: { BUILD_LOG: log(), BUILD_ATTEMPTS: "1", ...vars, RC: String(rc) },
                    stubs: { docker: 'echo "#99 exporting cache"; return "$RC"' },
                });
            }

            /** The build's argv before its cache import: what the export must share with it. */
            function baseArgv(): string[] {
                const id = buildId();
                logs.push(id.log);
                const words = runBash(runnable(o, "build"), { env: { TRUSTED: "1", CODEBUILD_BUILD_ID: id.id } })
                    .calls[0];
                return words.slice(0, words.indexOf("--cache-from"));
            }

            beforeEach(() => fs.writeFileSync(log(), "#5 [2/3] RUN make\n"));

            it("(a) untrusted: no docker call, says the cache is not exported", () => {
                for (const found of ["0", "1"]) {
                    const r = runExport({ TRUSTED: "0", CACHE_FOUND: found, N_STEPS: "3", N_CACHED: "1" });
                    assert.equal(r.status, 0, r.stderr);
                    assert.deepEqual(r.calls, []);
                    assert.equal(r.stdout.trim(), "layer cache: untrusted ref: the cache is not exported");
                }
            });

            it("(b) trusted, cache found, every step cached: no docker call, the cache is already complete", () => {
                const r = runExport({ TRUSTED: "1", CACHE_FOUND: "1", N_STEPS: "24", N_CACHED: "24" });
                assert.equal(r.status, 0, r.stderr);
                assert.deepEqual(r.calls, []);
                assert.equal(
                    r.stdout.trim(),
                    `layer cache: every step came from ${REPO}:buildcache, which is already complete: not exported again`,
                );
                assert.equal(fs.readFileSync(log(), "utf8"), "#5 [2/3] RUN make\n", "the log is left alone");
            });

            const exporting: [string, Record<string, string>][] = [
                ["(c) trusted, partial hits", { TRUSTED: "1", CACHE_FOUND: "1", N_STEPS: "24", N_CACHED: "11" }],
                ["(c) trusted, no hit at all", { TRUSTED: "1", CACHE_FOUND: "1", N_STEPS: "24", N_CACHED: "0" }],
                [
                    "(d) trusted, no cache found (first build), even with every step counted as cached",
                    { TRUSTED: "1", CACHE_FOUND: "0", N_STEPS: "3", N_CACHED: "3" },
                ],
                [
                    "trusted, a Dockerfile with no counted step (0 of 0)",
                    { TRUSTED: "1", CACHE_FOUND: "1", N_STEPS: "0", N_CACHED: "0" },
                ],
            ];
            for (const [title, vars] of exporting) {
                it(`${title}: exactly one docker call, the build's base argv + --cache-from <cache> --cache-to …mode=max… --output type=cacheonly <context>, appended to the log`, () => {
                    const r = runExport(vars);
                    assert.equal(r.status, 0, r.stderr);
                    assert.equal(r.calls.length, 1, JSON.stringify(r.calls));
                    assert.deepEqual(r.calls[0], [...baseArgv(), ...EXPORT_TAIL]);
                    assert.deepEqual(r.calls[0].slice(0, 11), [
                        "docker",
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
                        !r.calls[0].some(
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

            it("(d) CACHE_FOUND, N_STEPS or N_CACHED unset (the report didn't run before it): fails loudly, exports nothing", () => {
                const all = { TRUSTED: "1", CACHE_FOUND: "1", N_STEPS: "3", N_CACHED: "3" };
                for (const missing of ["CACHE_FOUND", "N_STEPS", "N_CACHED"] as const) {
                    const vars: Record<string, string> = { ...all };
                    delete vars[missing];
                    const r = runExport(vars);
                    assert.notEqual(r.status, 0, missing);
                    // The command carries the declaration as written: bash names the variable and who sets it.
                    assert.match(r.stderr, new RegExp(`${missing}: set by (probe\\.sh|report\\.sh)`));
                    assert.deepEqual(r.calls, []);
                }
            });

            it("(e) a failing export fails the command, without pipefail set beforehand and despite the tee", () => {
                const r = runExport({ TRUSTED: "1", CACHE_FOUND: "1", N_STEPS: "24", N_CACHED: "11" }, undefined, 7);
                assert.equal(r.calls.length, 1);
                assert.notEqual(r.status, 0);
            });

            it("two platforms emulated: one export per platform, each with its --platform alone and its own <cache>-<arch>; a failed one stops the next", () => {
                const e = options({
                    cacheStrategy: "registry",
                    platforms: ["linux/amd64", "linux/arm64"],
                    platformMode: "emulated",
                });
                const script = runnable(e, "export");
                const r = runExport({ TRUSTED: "1", CACHE_FOUND: "0", N_STEPS: "6", N_CACHED: "0" }, script);
                assert.equal(r.status, 0, r.stderr);
                assert.equal(r.calls.length, 2);
                for (const [i, arch] of ["amd64", "arm64"].entries()) {
                    const argv = r.calls[i];
                    assert.deepEqual(flagValues(argv, "--platform"), [`linux/${arch}`], "only this platform");
                    assert.deepEqual(flagValues(argv, "--cache-to"), [
                        `type=registry,ref=${REPO}:buildcache-${arch},mode=max,image-manifest=true,oci-mediatypes=true,compression=gzip,force-compression=true`,
                    ]);
                    assert.deepEqual(flagValues(argv, "--cache-from"), [
                        `type=registry,ref=${REPO}:buildcache-amd64`,
                        `type=registry,ref=${REPO}:buildcache-arm64`,
                    ]);
                    assert.deepEqual(argv.slice(-3), ["--output", "type=cacheonly", "al/x86_64/standard/5.0"]);
                }
                assert.equal((fs.readFileSync(log(), "utf8").match(/#99 exporting cache/g) ?? []).length, 2);
                const failed = runExport({ TRUSTED: "1", CACHE_FOUND: "0", N_STEPS: "6", N_CACHED: "0" }, script, 7);
                assert.notEqual(failed.status, 0);
                assert.equal(failed.calls.length, 1, "the arm64 export is not tried after amd64's failed");
                const warm = runExport({ TRUSTED: "1", CACHE_FOUND: "1", N_STEPS: "6", N_CACHED: "6" }, script);
                assert.deepEqual(warm.calls, []);
                assert.match(
                    warm.stdout,
                    new RegExp(`every step came from ${REPO}:buildcache, which is already complete`),
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
                const script = `${commandOf(o, "report")}\n${runnable(o, "export")}`;
                fs.writeFileSync(log(), warm);
                const skipped = runExport({ TRUSTED: "1", CACHE_FOUND: "1" }, script);
                assert.equal(skipped.status, 0, skipped.stderr);
                assert.match(skipped.stdout, /layer cache: 2 of 2 steps cached\n.*not exported again/);
                assert.deepEqual(skipped.calls, []);
                fs.writeFileSync(log(), warm.replace("#7 CACHED", "#7 DONE 0.1s"));
                const partial = runExport({ TRUSTED: "1", CACHE_FOUND: "1" }, script);
                assert.match(partial.stdout, /layer cache: 1 of 2 steps cached/);
                assert.equal(partial.calls.length, 1);
                assert.deepEqual(partial.calls[0].slice(-EXPORT_TAIL.length), EXPORT_TAIL);
                fs.writeFileSync(log(), warm);
                const cold = runExport({ TRUSTED: "1", CACHE_FOUND: "0" }, script);
                assert.equal(cold.calls.length, 1, "no cache was found: whatever the count, the export runs");
            });

            it("inline and pull have no export command", () => {
                for (const strategy of ["inline", "pull"] as const) {
                    const p = options({ cacheStrategy: strategy });
                    assert.deepEqual(phaseFragments(p).build, ["build", "report"], strategy);
                    assert.ok(!buildspec(p).phases.build.commands.join("\n").includes("exported"), strategy);
                }
            });
        });
    });

    describe("the whole buildspec under CodeBuild's phase semantics (docker and aws stubbed)", () => {
        const TRUSTED_PUSH = {
            CODEBUILD_WEBHOOK_TRIGGER: "branch/master",
            CODEBUILD_WEBHOOK_HEAD_REF: "refs/heads/master",
            CODEBUILD_SOURCE_VERSION: "0123456789abcdef0123456789abcdef01234567",
        };
        const logs: string[] = [];
        after(() => logs.forEach((l) => fs.rmSync(l, { force: true })));

        /**
         * Runs every phase; docker fails (status 1, `failMsg` on stderr) for calls whose argv matches `failOn`, an
         * extended regex.
         */
        function run(o: BuildspecOptions, env: Record<string, string>, failOn = "^$", failMsg = "stub failure") {
            const id = buildId();
            logs.push(id.log);
            const spec = buildspec(o).phases;
            return runPhases(
                {
                    pre_build: spec.pre_build.commands,
                    build: spec.build.commands,
                    post_build: spec.post_build.commands,
                },
                {
                    env: { ...env, CODEBUILD_BUILD_ID: id.id, FAIL_ON: failOn, FAIL_MSG: failMsg },
                    stubs: {
                        aws: "echo pw",
                        docker: 'cat >/dev/null; if printf "%s " "$@" | grep -qE -e "$FAIL_ON"; then echo "$FAIL_MSG" >&2; return 1; fi',
                    },
                },
            );
        }
        /**
         * Each call's program and first two words, in start order. `aws ecr get-login-password | docker login` is
         * one pipeline, whose two sides start concurrently: that pair is put in a fixed order.
         */
        const summary = (calls: string[][]) => {
            const words = calls.map((c) => c.slice(0, 3).join(" "));
            const i = words.indexOf("docker login --username");
            if (i >= 0 && words[i + 1] === "aws ecr get-login-password") {
                [words[i], words[i + 1]] = [words[i + 1], words[i]];
            }
            return words;
        };
        const said = (stdout: string) => stdout.split("\n").filter((l) => l.startsWith("layer cache:"));

        it("registry, trusted, cold: login, probe, builder, build, export, in that order, and post_build says what was written", () => {
            const o = options({ cacheStrategy: "registry" });
            const r = run(o, TRUSTED_PUSH, "imagetools", `ERROR: ${REPO}:buildcache: not found`);
            assert.equal(r.failed, undefined, r.stderr);
            assert.deepEqual(r.succeeded, ["pre_build", "build", "post_build"]);
            assert.deepEqual(summary(r.calls), [
                "aws ecr get-login-password",
                "docker login --username",
                "docker buildx imagetools",
                "docker pull --quiet",
                "docker tag public.ecr.aws/vend/moby/buildkit:buildx-stable-1",
                "docker buildx create",
                "docker buildx build",
                "docker buildx build",
            ]);
            assert.ok(r.calls[7].includes("--cache-to"), "the second build call is the export");
            assert.deepEqual(said(r.stdout).slice(1), [
                `layer cache: ${REPO}:buildcache is not there yet (first build): this build is cold`,
                "layer cache: the builder image came from public.ecr.aws/vend/moby/buildkit:buildx-stable-1",
                "layer cache: 0 of 0 steps cached",
                `layer cache: pushed ${REPO}:latest; the layer cache in ${REPO}:buildcache is up to date`,
            ]);
        });

        it("registry, trusted: a failed probe (not 'not found') ends pre_build: nothing is built, post_build doesn't run", () => {
            const r = run(options({ cacheStrategy: "registry" }), TRUSTED_PUSH, "imagetools", "denied: not authorized");
            assert.deepEqual(r.failed, { phase: "pre_build", index: 4 });
            assert.deepEqual(r.succeeded, []);
            assert.ok(!summary(r.calls).includes("docker buildx build"));
            assert.deepEqual(said(r.stdout), [
                "layer cache: ref 'refs/heads/master' is trusted: this build reads the cache and, if it succeeds, pushes the image and writes the cache",
            ]);
        });

        for (const strategy of STRATEGIES) {
            it(`${strategy}, trusted, warm: every phase succeeds; post_build says the image was pushed`, () => {
                const o = options({ cacheStrategy: strategy });
                const r = run(o, TRUSTED_PUSH);
                assert.equal(r.failed, undefined, r.stderr);
                assert.deepEqual(r.succeeded, ["pre_build", "build", "post_build"]);
                const builds = r.calls.filter((c) => c[2] === "build");
                // registry: the log is empty (stubbed build), so no step counts as cached and the export runs.
                assert.equal(builds.length, strategy === "registry" ? 2 : 1);
                assert.match(said(r.stdout).at(-1) ?? "", /^layer cache: pushed /);
            });

            it(`${strategy}, a failing build: report and export are skipped, post_build runs with CODEBUILD_BUILD_SUCCEEDING=0 and says nothing was pushed`, () => {
                const r = run(options({ cacheStrategy: strategy }), TRUSTED_PUSH, "buildx build .*--cache-from");
                assert.deepEqual(r.failed, { phase: "build", index: 0 });
                assert.deepEqual(r.succeeded, ["pre_build", "post_build"]);
                assert.equal(r.calls.filter((c) => c[2] === "build").length, 1, "no export after a failed build");
                assert.ok(!r.stdout.includes("steps cached"), "the report did not run");
                assert.equal(
                    said(r.stdout).at(-1),
                    "layer cache: the build failed: nothing was pushed and the cache in ECR is unchanged",
                );
            });

            it(`${strategy}, untrusted (a pull request): reads the cache, pushes nothing, post_build says so`, () => {
                const r = run(options({ cacheStrategy: strategy }), {
                    CODEBUILD_WEBHOOK_TRIGGER: "pr/7",
                    CODEBUILD_WEBHOOK_HEAD_REF: "refs/heads/master",
                    CODEBUILD_SOURCE_VERSION: "pr/7",
                });
                assert.equal(r.failed, undefined, r.stderr);
                const builds = r.calls.filter((c) => c[2] === "build");
                assert.equal(builds.length, 1);
                assert.deepEqual(builds[0].slice(-3), ["--output", "type=cacheonly", "al/x86_64/standard/5.0"]);
                assert.equal(said(r.stdout).at(-1), "layer cache: untrusted ref: nothing was pushed");
            });
        }

        it("registry: the image is pushed, then the export fails: the build fails and post_build says the cache was not updated", () => {
            const r = run(options({ cacheStrategy: "registry" }), TRUSTED_PUSH, "--cache-to");
            assert.deepEqual(r.failed, { phase: "build", index: 2 });
            assert.deepEqual(r.succeeded, ["pre_build", "post_build"]);
            assert.equal(
                said(r.stdout).at(-1),
                `layer cache: the build pushed ${REPO}:latest but then failed: the cache in ECR was not updated`,
            );
        });

        it("a failed login ends pre_build: no probe, no build, no post_build", () => {
            const r = run(options(), TRUSTED_PUSH, "^login");
            assert.deepEqual(r.failed, { phase: "pre_build", index: 3 });
            // The two sides of the login pipe run at the same time: their order is not fixed.
            assert.deepEqual(summary(r.calls).sort(), ["aws ecr get-login-password", "docker login --username"]);
            assert.match(r.stderr, /ERROR: docker login to .* failed/);
        });
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
            fc.assert(
                fc.property(
                    fc.string({ unit: "binary", maxLength: 20 }).map((s) => s.replace(/\0/g, "")),
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
