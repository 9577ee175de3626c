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
    FragmentInput,
    FragmentName,
    FROM_PRELUDE,
    phaseFragments,
    prelude,
    preludeValues,
    registryOf,
    shellWord,
} from "../components/buildspec";
import { CacheStrategy, RegistryBuilder } from "../components/args";
import { goldenFile, VARIANTS } from "../scripts/buildspecVariants";
import { BashRun, BashStubs, PHASES, runBash, runPhases } from "./helpers/bash";
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

/** A command as run alone: `RETRY_SH` (set by retry.sh in a build) first, then the command. */
function runnable(o: BuildspecOptions, name: FragmentName): string {
    return `RETRY_SH=${shellWord(RETRY_FILE)}\n${commandOf(o, name)}`;
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
    const SPECIAL = /^([0-9]+|[?@#$!*-]|PIPESTATUS|SECONDS|RANDOM)$/;

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
    const CONTRACT: Record<string, string> = {
        TRUSTED: "1",
        CACHE_FOUND: "1",
        N_STEPS: "2",
        N_CACHED: "1",
        BUILD_ATTEMPTS: "1",
        RETRY_SH: "/dev/null",
        BUILD_LOG: "/dev/null",
        CODEBUILD_BUILD_ID: "p:id",
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
                    assert.equal(c, p === "" ? f.body : `${p}\n${f.body}`);
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
                    pre_build: ["trust", "retry", "login", "probe"],
                    build: ["build", "report"],
                    post_build: ["post_build"],
                },
                "registry docker-container": {
                    pre_build: ["trust", "retry", "login", "builder", "probe"],
                    build: ["build", "report", "export"],
                    post_build: ["post_build"],
                },
                "registry docker": {
                    pre_build: ["trust", "retry", "login", "probe"],
                    build: ["build", "report", "export"],
                    post_build: ["post_build"],
                },
                "pull docker-container": {
                    pre_build: ["trust", "retry", "login", "pull"],
                    build: ["build", "report"],
                    post_build: ["post_build"],
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

        it("registry: the build reads the cache tag and pushes the image with store=false; a separate export writes the cache tag with mode=max,image-manifest=true,oci-mediatypes=true", () => {
            const o = options({ cacheStrategy: "registry" });
            const { call, readOnlyFlags, writeFlags } = buildCall(o);
            assert.deepEqual(flagValues(call.words, "--cache-from"), [`type=registry,ref=${REPO}:buildcache`]);
            assert.deepEqual(flagValues(call.words, "--cache-to"), [], "the build itself exports no cache");
            assert.deepEqual(pushingWords(call.words), [], "the base argv neither names nor pushes the image");
            assert.deepEqual(writeFlags, ["--output", `type=image,name=${REPO}:latest,push=true,store=false`]);
            // The export: the build's base argv and cache import (everything up to the --cache-from value), then the cache export, cacheonly, the context.
            const exports = parseShell(commandOf(o, "export")).commands.filter((c) => c.words[2] === "build");
            assert.equal(exports.length, 1);
            assert.ok(exports[0].literal, "the export argv is all known words");
            assert.deepEqual(exports[0].values, [
                ...call.words.slice(0, call.words.indexOf("--cache-from") + 2),
                "--cache-to",
                `type=registry,ref=${REPO}:buildcache,mode=max,image-manifest=true,oci-mediatypes=true`,
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
            assert.deepEqual(
                phaseCommands(o, "pre_build")
                    .filter((c) => c.words[0] === "docker" && c.words[1] === "pull")
                    .map((c) => c.values),
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
                const all = allCommands(options({ cacheStrategy: strategy }));
                assert.ok(!all.some((c) => c.words[0] === "docker" && ["push", "tag"].includes(c.words[1])));
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
        /** Runs the builder command in bash, docker stubbed; returns the create call and the config file it names. */
        function runBuilder(o: BuildspecOptions): { create: string[]; config: string | undefined; stdout: string } {
            const buildId = `ecr-layer-cache:${Math.random().toString(16).slice(2)}`;
            const r = runBash(
                `${runnable(o, "builder")}\nfor f in /tmp/layer-cache-buildkitd."\${CODEBUILD_BUILD_ID##*:}".toml; do [ -f "$f" ] && cat "$f" && rm -f "$f"; done; true`,
                { env: { CODEBUILD_BUILD_ID: buildId } },
            );
            assert.equal(r.status, 0, r.stderr);
            assert.equal(r.calls.length, 1, "one docker call");
            const config = r.calls[0].includes("--buildkitd-config")
                ? r.stdout.slice(r.stdout.indexOf("\n") + 1)
                : undefined;
            return { create: r.calls[0], config, stdout: r.stdout };
        }

        it("registry + docker-container: creates and uses a docker-container builder with the pinned BuildKit image", () => {
            const o = options({ cacheStrategy: "registry", registryBuilder: "docker-container" });
            const { create, config, stdout } = runBuilder(o);
            assert.deepEqual(create, [
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
            ]);
            assert.equal(config, undefined, "no buildkitd config without pull-through caches");
            assert.equal(stdout, "");
            const hostNet = runBuilder({ ...o, buildNetwork: "host" });
            assert.deepEqual(flagValues(hostNet.create, "--driver-opt"), [
                "image=public.ecr.aws/vend/moby/buildkit:buildx-stable-1",
                "network=host",
            ]);
        });

        it("with pull-through caches: the builder image comes through the ECR Public cache, and a buildkitd.toml of this build mirrors each upstream", () => {
            const o = options({
                cacheStrategy: "registry",
                registryBuilder: "docker-container",
                builderImage: "public.ecr.aws/vend/moby/buildkit:v0.32.2",
                upstreamCaches: [
                    { upstream: "ecr-public", prefix: "ecr-public" },
                    { upstream: "docker-hub", prefix: "hub" },
                ],
            });
            const { create, config, stdout } = runBuilder(o);
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
                `image=${REGISTRY}/ecr-public/vend/moby/buildkit:v0.32.2`,
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
            // Docker Hub alone: the builder image stays on ECR Public, base images from Docker Hub are mirrored.
            const hubOnly = runBuilder({ ...o, upstreamCaches: [{ upstream: "docker-hub", prefix: "hub" }] });
            assert.equal(hubOnly.create[8], "image=public.ecr.aws/vend/moby/buildkit:v0.32.2");
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
                assert.ok(!buildspecYaml(o).includes("buildkit"));
            });
        }
    });

    describe("post_build", () => {
        for (const strategy of STRATEGIES) {
            it(`${strategy}: checks CODEBUILD_BUILD_SUCCEEDING and runs no docker or aws command`, () => {
                const o = options({ cacheStrategy: strategy });
                assert.match(commandOf(o, "post_build"), /CODEBUILD_BUILD_SUCCEEDING/);
                const programs = new Set(phaseCommands(o, "post_build").map((c) => c.words[0]));
                assert.deepEqual(
                    [...programs].filter((p) => p !== undefined && !["[", "echo", ":", "false"].includes(p)),
                    [],
                );
            });
        }

        for (const strategy of STRATEGIES) {
            it(`${strategy}: reports per outcome, one line each (executed)`, () => {
                const script = commandOf(options({ cacheStrategy: strategy }), "post_build");
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
                `type=image,name=${REPO}:latest,push=true,store=false`,
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
                `type=registry,ref=${REPO}:buildcache,mode=max,image-manifest=true,oci-mediatypes=true`,
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
                    assert.match(r.stderr, new RegExp(`${missing}: set by (probe|report)\\.sh`));
                    assert.deepEqual(r.calls, []);
                }
            });

            it("(e) a failing export fails the command, without pipefail set beforehand and despite the tee", () => {
                const r = runExport({ TRUSTED: "1", CACHE_FOUND: "1", N_STEPS: "24", N_CACHED: "11" }, undefined, 7);
                assert.equal(r.calls.length, 1);
                assert.notEqual(r.status, 0);
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

        it("registry, trusted, cold: login, builder, probe, build, export, in that order, and post_build says what was written", () => {
            const o = options({ cacheStrategy: "registry" });
            const r = run(o, TRUSTED_PUSH, "imagetools", `ERROR: ${REPO}:buildcache: not found`);
            assert.equal(r.failed, undefined, r.stderr);
            assert.deepEqual(r.succeeded, ["pre_build", "build", "post_build"]);
            assert.deepEqual(summary(r.calls), [
                "aws ecr get-login-password",
                "docker login --username",
                "docker buildx create",
                "docker buildx imagetools",
                "docker buildx build",
                "docker buildx build",
            ]);
            assert.ok(r.calls[5].includes("--cache-to"), "the second build call is the export");
            assert.deepEqual(said(r.stdout).slice(1), [
                `layer cache: ${REPO}:buildcache is not there yet (first build): this build is cold`,
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
            assert.deepEqual(r.failed, { phase: "pre_build", index: 2 });
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
