/**
 * Reading buildspec commands with a real shell parser (mvdan-sh, the Go `mvdan.cc/sh` parser compiled to JS,
 * bash dialect). Used by the injection tests to see each command the way bash will.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { syntax } = require("mvdan-sh");

const parser = syntax.NewParser();

export type ShNode = any;

export function parseShell(src: string): ShNode {
    return parser.Parse(src, "buildspec-command");
}

function nodeType(n: ShNode): string {
    return syntax.NodeType(n);
}

/** Bash characters that trigger an expansion when unquoted in a word (glob, brace, tilde). */
const UNQUOTED_EXPANDING = /[*?[{~]/;

/** The value of an unquoted literal: `\x` is `x`, `\<newline>` disappears. Undefined if an expansion could apply. */
function unquotedLiteral(raw: string): string | undefined {
    let out = "";
    for (let i = 0; i < raw.length; i++) {
        const c = raw[i];
        if (c === "\\") {
            const next = raw[i + 1];
            i++;
            if (next !== "\n" && next !== undefined) {
                out += next;
            }
        } else if (UNQUOTED_EXPANDING.test(c)) {
            return undefined;
        } else {
            out += c;
        }
    }
    return out;
}

/** The value of a literal inside double quotes: backslash escapes only `$`, backtick, `"`, `\` and newline. */
function doubleQuotedLiteral(raw: string): string {
    let out = "";
    for (let i = 0; i < raw.length; i++) {
        const c = raw[i];
        const next = raw[i + 1];
        if (c === "\\" && next !== undefined && '$`"\\\n'.includes(next)) {
            if (next !== "\n") {
                out += next;
            }
            i++;
        } else {
            out += c;
        }
    }
    return out;
}

/** The value of one word part if it is a pure literal (no expansion of any kind), else undefined. */
function literalPart(p: ShNode): string | undefined {
    switch (nodeType(p)) {
        case "Lit":
            return unquotedLiteral(p.Value);
        case "SglQuoted":
            return p.Dollar ? undefined : p.Value;
        case "DblQuoted": {
            if (p.Dollar) {
                return undefined;
            }
            let out = "";
            for (const inner of p.Parts) {
                if (nodeType(inner) !== "Lit") {
                    return undefined;
                }
                out += doubleQuotedLiteral(inner.Value);
            }
            return out;
        }
        default:
            return undefined;
    }
}

/** The value a word expands to, if it is made only of literal, single-quoted and literal double-quoted parts. */
export function wordValue(w: ShNode): string | undefined {
    let out = "";
    for (const p of w.Parts) {
        const v = literalPart(p);
        if (v === undefined) {
            return undefined;
        }
        out += v;
    }
    return out;
}

function walk(node: ShNode, visit: (n: ShNode) => boolean): void {
    syntax.Walk(node, (n: ShNode) => (n ? visit(n) : true));
}

/**
 * Everything the tests read from one script, in a single walk (mvdan-sh's JS objects are slow to
 * traverse, so the tree is visited once):
 * - `calls`: each simple command's arguments as values (undefined for a word that isn't a pure literal);
 * - `forItems`: `for <name> in ...` word lists; `arrays`: `name=( ... )` elements;
 * - `skeleton`: the structure with every literal erased (node types, variable names, and `L` for each
 *   maximal run of literal word parts). Two scripts with the same skeleton run the same commands with
 *   the same expansions and differ only in literal text.
 */
export interface ShellFacts {
    readonly calls: (string | undefined)[][];
    readonly forItems: Record<string, (string | undefined)[][]>;
    readonly arrays: Record<string, (string | undefined)[][]>;
    readonly skeleton: string;
}

export function analyze(src: string): ShellFacts {
    const facts = {
        calls: [] as (string | undefined)[][],
        forItems: {} as ShellFacts["forItems"],
        arrays: {} as ShellFacts["arrays"],
        skeleton: "",
    };
    const out: string[] = [];
    const visit = (n: ShNode): boolean => {
        const t = nodeType(n);
        switch (t) {
            case "Word":
                out.push(`W(${partsSkeleton(n.Parts, false, visit, out)})`);
                return false;
            case "Lit":
                out.push(`Lit:${n.Value}`);
                return false;
            case "CallExpr": {
                const args = n.Args;
                if (args.length > 0) {
                    facts.calls.push(args.map(wordValue));
                }
                break;
            }
            case "ForClause": {
                const loop = n.Loop;
                if (nodeType(loop) === "WordIter") {
                    (facts.forItems[loop.Name.Value] ??= []).push(loop.Items.map(wordValue));
                }
                break;
            }
            case "Assign": {
                const arr = n.Array;
                if (arr) {
                    (facts.arrays[n.Name.Value] ??= []).push(arr.Elems.map((e: ShNode) => wordValue(e.Value)));
                }
                break;
            }
        }
        out.push(t);
        return true;
    };
    walk(parseShell(src), visit);
    facts.skeleton = out.join(" ");
    return facts;
}

function partsSkeleton(parts: ShNode[], inDoubleQuotes: boolean, visit: (n: ShNode) => boolean, out: string[]): string {
    const sig: string[] = [];
    for (const p of parts) {
        const t = nodeType(p);
        if ((inDoubleQuotes && t === "Lit") || literalPart(p) !== undefined) {
            if (sig[sig.length - 1] !== "L") {
                sig.push("L");
            }
        } else if (t === "DblQuoted") {
            sig.push(`DQ[${partsSkeleton(p.Parts, true, visit, out)}]`);
        } else {
            // An expansion: record its type and walk into it (a command substitution holds commands).
            sig.push(t);
            out.push(`<${t}`);
            walk(p, visit);
            out.push(`${t}>`);
        }
    }
    return sig.join(",");
}

/** Every simple command: its arguments as values (undefined for a word that isn't a pure literal). */
export function simpleCommands(src: string): (string | undefined)[][] {
    return analyze(src).calls;
}

/** The structure of a script with every literal erased; see {@link analyze}. */
export function skeleton(src: string): string {
    return analyze(src).skeleton;
}
