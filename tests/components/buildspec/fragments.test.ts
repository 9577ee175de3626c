/**
 * The buildspec (`components/buildspec/`): the shell fragments and their declared contracts (inputs, outputs, markers), and the
 * prelude that feeds them. Each command is read with a real shell parser (tests/helpers/shell.ts).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import {
    BUILD_LOG,
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
    shellWord,
} from "../../../components/buildspec";
import { buildspec } from "../../../components/buildspec/render";
import { BashStubs, PHASES, runBash } from "../../helpers/bash";
import { parseShell, printShell } from "../../helpers/shell";
import { options, SETUPS, commandOf, RETRY_OUTPUTS } from "./shared";

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
