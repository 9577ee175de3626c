/**
 * The one shell parser wrapper of the tests: bash parsed by the real shell parser `mvdan-sh` (mvdan.cc/sh, the Go
 * parser compiled to JS, bash dialect), and read the way bash will.
 *
 * Each simple command comes back as its words with quotes removed, as bash would pass them:
 * - a part that is literal text (unquoted, single- or double-quoted) has its value: `\x` is `x` outside quotes;
 *   inside double quotes a backslash escapes only `$`, backtick, `"`, `\` and newline;
 * - a variable the script assigns exactly once, at its top level, to literal words (a buildspec prelude:
 *   `IMAGE_REF=…`, `BUILD_FLAGS=(…)`) is known after that assignment: `"$NAME"` inside double quotes is its
 *   value, and a whole word `"${NAME[@]}"` becomes the array's elements, one word each;
 * - anything else has no value (`values[i]` is undefined) and is rendered `${NAME}`, `${NAME[@]}`, `$(...)` or
 *   `<NodeType>` in `words`, so assertions can still see where a variable goes but never mistake it for a
 *   literal. An unquoted glob, brace or tilde character makes a word unknown too (bash could expand it).
 *
 * `skeleton` is the script's structure with every literal erased (node types, variable names, and `L` for each
 * maximal run of literal word parts): two scripts with the same skeleton run the same commands with the same
 * expansions and differ only in literal text.
 */
// mvdan-sh ships no types; the few fields used here are read from loosely typed nodes.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sh = require("mvdan-sh") as { syntax: Syntax };

type ShNode = any;
interface Syntax {
    NewParser(...opts: unknown[]): { Parse(src: string, name: string): ShNode };
    NewPrinter(...opts: unknown[]): { Print(node: ShNode): string };
    Walk(node: ShNode, visit: (node: ShNode) => boolean): void;
    NodeType(node: ShNode): string;
}

const syntax = sh.syntax;
const parser = syntax.NewParser();

/** BinaryCmd operators (mvdan.cc/sh/v3/syntax BinCmdOperator). */
const OP_AND = 10;
const OP_OR = 11;
const OP_PIPE = 12;

export interface SimpleCommand {
    /** The arguments, quotes removed; a part without a static value rendered as `${NAME}`, `$(...)`, … */
    readonly words: string[];
    /** Each argument's value, or undefined if it isn't known statically (same length as `words`). */
    readonly values: (string | undefined)[];
    /** Whether every argument's value is known. */
    readonly literal: boolean;
    /** Names assigned by the command (`X=1`, `X=(a b)`). */
    readonly assigns: string[];
    /** Array assignments (`X=(a 'b c')`): name to element words, rendered like `words`. */
    readonly arrays: Record<string, string[]>;
    /** Array assignments: name to element values (undefined where not known). */
    readonly arrayValues: Record<string, (string | undefined)[]>;
}

export interface Pipeline {
    readonly left: SimpleCommand;
    readonly right: SimpleCommand;
}

export interface ParsedShell {
    /** Every simple command, in document order, including those inside command substitutions. */
    readonly commands: SimpleCommand[];
    /** `a | b` pairs of simple commands. */
    readonly pipes: Pipeline[];
    /** Number of `&&` and `||` lists. */
    readonly andOr: number;
    /** `for <name> in …` word lists, as values (undefined where not known). */
    readonly forItems: Record<string, (string | undefined)[][]>;
    /** Every parameter expansion, in document order: the name and its operator (`:-`, `?`, `##`, …), if any. */
    readonly expansions: Expansion[];
    /** The variables known statically (see the module doc), with their values. */
    readonly known: Readonly<Record<string, string | readonly string[]>>;
    /** The structure with every literal erased. */
    readonly skeleton: string;
}

export interface Expansion {
    readonly name: string;
    /** `-`, `:-`, `?`, `:?`, `+`, `:+`, `=`, `:=`, or `other` (`##`, `/`, …); undefined for a plain `$NAME`. */
    readonly op?: string;
}

/** ParamExp operators (mvdan.cc/sh/v3/syntax ParExpOperator) that the tests tell apart. */
const PARAM_OPS: Record<number, string> = {
    68: "+",
    69: ":+",
    70: "-",
    71: ":-",
    72: "?",
    73: ":?",
    74: "=",
    75: ":=",
};

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

/**
 * The value of bash's `$'...'` quoting, from the text between the quotes. Decodes the escapes that `shellWord`
 * writes (`\\`, `\'`, `\xHH` bytes, read as UTF-8) and bash's one-letter ones; any other escape returns
 * undefined, so a word this can't read is never taken for a literal.
 */
export function ansiCQuoted(raw: string): string | undefined {
    const ONE: Record<string, number> = { a: 7, b: 8, e: 27, E: 27, f: 12, n: 10, r: 13, t: 9, v: 11 };
    const bytes: number[] = [];
    for (let i = 0; i < raw.length; i++) {
        const c = String.fromCodePoint(raw.codePointAt(i)!);
        if (c !== "\\") {
            bytes.push(...Buffer.from(c, "utf8"));
            i += c.length - 1;
            continue;
        }
        const next = raw[i + 1];
        if (next === "\\" || next === "'" || next === '"' || next === "?") {
            bytes.push(next.charCodeAt(0));
            i++;
        } else if (next !== undefined && next in ONE) {
            bytes.push(ONE[next]);
            i++;
        } else if (next === "x" && /^[0-9a-fA-F]{2}$/.test(raw.slice(i + 2, i + 4))) {
            bytes.push(parseInt(raw.slice(i + 2, i + 4), 16));
            i += 3;
        } else {
            return undefined;
        }
    }
    try {
        return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(Uint8Array.from(bytes));
    } catch {
        return undefined;
    }
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

/** The value of one word part if it is pure literal text (no expansion of any kind), else undefined. */
function literalPart(p: ShNode): string | undefined {
    switch (syntax.NodeType(p)) {
        case "Lit":
            return unquotedLiteral(p.Value);
        case "SglQuoted":
            return p.Dollar ? ansiCQuoted(String(p.Value)) : p.Value;
        case "DblQuoted": {
            if (p.Dollar) {
                return undefined;
            }
            let out = "";
            for (const inner of p.Parts ?? []) {
                if (syntax.NodeType(inner) !== "Lit") {
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

/** The value of a word made only of literal parts, else undefined. */
function literalWord(w: ShNode): string | undefined {
    let out = "";
    for (const p of w.Parts ?? []) {
        const v = literalPart(p);
        if (v === undefined) {
            return undefined;
        }
        out += v;
    }
    return out;
}

/** A parameter expansion with no operator at all: `$X`, `${X}`, or `${X[@]}` when `array`. */
function plainParam(p: ShNode, array: boolean): string | undefined {
    if (syntax.NodeType(p) !== "ParamExp" || p.Exp || p.Repl || p.Slice || p.Length || p.Excl || p.Width) {
        return undefined;
    }
    const index = p.Index ? literalWord(p.Index) : undefined;
    if (array ? index !== "@" : p.Index) {
        return undefined;
    }
    return p.Param?.Value as string | undefined;
}

interface Piece {
    readonly text: string;
    readonly value: string | undefined;
}

class Reader {
    private readonly active = new Map<string, string | readonly string[]>();
    /** Names whose value was used to resolve a word. */
    readonly used = new Set<string>();

    /** `knowable`: the names that may be known; undefined: any top-level literal assignment, until reassigned. */
    constructor(private readonly knowable?: ReadonlySet<string>) {}

    activate(name: string, value: string | readonly string[]): void {
        if (this.knowable === undefined || this.knowable.has(name)) {
            this.active.set(name, value);
        }
    }

    deactivate(name: string): void {
        this.active.delete(name);
    }

    get known(): Record<string, string | readonly string[]> {
        return Object.fromEntries(this.active);
    }

    private lookup(name: string | undefined): string | readonly string[] | undefined {
        const v = name === undefined ? undefined : this.active.get(name);
        if (v !== undefined) {
            this.used.add(name!);
        }
        return v;
    }

    private part(p: ShNode, inDouble: boolean): Piece {
        const type = syntax.NodeType(p);
        switch (type) {
            case "Lit":
                return inDouble
                    ? { text: doubleQuotedLiteral(p.Value), value: doubleQuotedLiteral(p.Value) }
                    : { text: String(p.Value).replace(/\\(.)/g, "$1"), value: unquotedLiteral(p.Value) };
            case "SglQuoted": {
                const value = p.Dollar ? ansiCQuoted(String(p.Value)) : String(p.Value);
                return { text: value ?? String(p.Value), value };
            }
            case "DblQuoted": {
                let text = "";
                let value: string | undefined = p.Dollar ? undefined : "";
                for (const inner of p.Parts ?? []) {
                    const r = this.part(inner, true);
                    text += r.text;
                    value = value === undefined || r.value === undefined ? undefined : value + r.value;
                }
                return { text, value };
            }
            case "ParamExp": {
                const name = String(p.Param?.Value ?? "?");
                const v = inDouble ? this.lookup(plainParam(p, false)) : undefined;
                if (typeof v === "string") {
                    return { text: v, value: v };
                }
                return { text: p.Index ? `\${${name}[@]}` : `\${${name}}`, value: undefined };
            }
            case "CmdSubst":
                return { text: "$(...)", value: undefined };
            default:
                return { text: `<${type}>`, value: undefined };
        }
    }

    /** The words a shell word becomes: one, or a known array's elements for a whole `"${NAME[@]}"`. */
    words(w: ShNode): Piece[] {
        const parts = w.Parts ?? [];
        if (parts.length === 1 && syntax.NodeType(parts[0]) === "DblQuoted" && (parts[0].Parts ?? []).length === 1) {
            const name = plainParam(parts[0].Parts[0], true);
            const v = name !== undefined && Array.isArray(this.active.get(name)) ? this.lookup(name) : undefined;
            if (Array.isArray(v)) {
                return (v as string[]).map((e) => ({ text: e, value: e }));
            }
        }
        let text = "";
        let value: string | undefined = "";
        for (const p of parts) {
            const r = this.part(p, false);
            text += r.text;
            value = value === undefined || r.value === undefined ? undefined : value + r.value;
        }
        return [{ text, value }];
    }

    simpleCommand(call: ShNode): SimpleCommand {
        const pieces = ((call.Args ?? []) as ShNode[]).flatMap((w) => this.words(w));
        const assignNodes = (call.Assigns ?? []) as ShNode[];
        const arrays: Record<string, string[]> = {};
        const arrayValues: Record<string, (string | undefined)[]> = {};
        for (const a of assignNodes) {
            if (a.Array) {
                const elems = ((a.Array.Elems ?? []) as ShNode[]).flatMap((e) => this.words(e.Value));
                arrays[String(a.Name.Value)] = elems.map((e) => e.text);
                arrayValues[String(a.Name.Value)] = elems.map((e) => e.value);
            }
        }
        return {
            words: pieces.map((p) => p.text),
            values: pieces.map((p) => p.value),
            literal: pieces.every((p) => p.value !== undefined),
            assigns: assignNodes.map((a) => String(a.Name.Value)),
            arrays,
            arrayValues,
        };
    }
}

/** A top-level `NAME=word` or `NAME=(words)` statement with literal words only: its name and value. */
function topLevelAssignment(stmt: ShNode): { name: string; value: string | readonly string[] } | undefined {
    const cmd = stmt.Cmd;
    if (!cmd || syntax.NodeType(cmd) !== "CallExpr" || (cmd.Args ?? []).length > 0) {
        return undefined;
    }
    const assigns = (cmd.Assigns ?? []) as ShNode[];
    if (assigns.length !== 1 || assigns[0].Append || assigns[0].Naked || assigns[0].Index) {
        return undefined;
    }
    const a = assigns[0];
    if (a.Array) {
        const elems = ((a.Array.Elems ?? []) as ShNode[]).map((e) => (e.Index ? undefined : literalWord(e.Value)));
        const literal = elems.filter((e) => e !== undefined);
        return literal.length === elems.length ? { name: String(a.Name.Value), value: literal } : undefined;
    }
    const value = a.Value ? literalWord(a.Value) : "";
    return value === undefined ? undefined : { name: String(a.Name.Value), value };
}

function walk(node: ShNode, visit: (n: ShNode) => boolean): void {
    syntax.Walk(node, (n: ShNode) => (n ? visit(n) : true));
}

function partsSkeleton(parts: ShNode[], inDouble: boolean, visit: (n: ShNode) => boolean, out: string[]): string {
    const sig: string[] = [];
    for (const p of parts) {
        const t = syntax.NodeType(p);
        if ((inDouble && t === "Lit") || literalPart(p) !== undefined) {
            if (sig[sig.length - 1] !== "L") {
                sig.push("L");
            }
        } else if (t === "DblQuoted") {
            sig.push(`DQ[${partsSkeleton(p.Parts ?? [], true, visit, out)}]`);
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

/**
 * Parses `src` as bash. Throws on a syntax error (the parser's message names line and column).
 *
 * mvdan-sh's JS tree is slow to walk (~10 ms per command), so the tree is walked once, taking any top-level
 * literal assignment as known until the name is assigned again; only if a name used that way turns out to be
 * assigned more than once in all (a loop or a function could then see another value) is it walked again,
 * knowing only the names assigned exactly once.
 */
export function parseShell(src: string): ParsedShell {
    const file = parser.Parse(src, "command.sh");
    const fast = read(file, undefined);
    if ([...fast.used].every((name) => fast.count.get(name) === 1)) {
        return fast.parsed;
    }
    const once = new Set([...fast.count].filter(([, c]) => c === 1).map(([name]) => name));
    return read(file, once).parsed;
}

function read(
    file: ShNode,
    knowable: ReadonlySet<string> | undefined,
): { parsed: ParsedShell; count: Map<string, number>; used: ReadonlySet<string> } {
    // How often each name is assigned anywhere (assignments, for-loop variables).
    const count = new Map<string, number>();
    const reader = new Reader(knowable);
    const assigned = (name: string) => {
        count.set(name, (count.get(name) ?? 0) + 1);
        reader.deactivate(name);
    };
    const commands: SimpleCommand[] = [];
    // mvdan-sh hands out a new JS object for a node on every walk: nodes are told apart by their span.
    const span = (n: ShNode) => `${n.Pos().Offset()}-${n.End().Offset()}`;
    const bySpan = new Map<string, SimpleCommand>();
    const pipeNodes: [ShNode, ShNode][] = [];
    const forItems: Record<string, (string | undefined)[][]> = {};
    const expansions: Expansion[] = [];
    const out: string[] = [];
    let andOr = 0;
    const visit = (n: ShNode): boolean => {
        const t = syntax.NodeType(n);
        switch (t) {
            case "Word":
                out.push(`W(${partsSkeleton(n.Parts ?? [], false, visit, out)})`);
                return false;
            case "Lit":
                out.push(`Lit:${n.Value}`);
                return false;
            case "CallExpr": {
                const c = reader.simpleCommand(n);
                commands.push(c);
                bySpan.set(span(n), c);
                break;
            }
            case "Assign":
                // A declaration's option (`declare -p`, `local -a`) is an Assign without a name.
                if (n.Name) {
                    assigned(String(n.Name.Value));
                }
                break;
            case "BinaryCmd":
                if (n.Op === OP_PIPE) {
                    pipeNodes.push([n.X, n.Y]);
                } else if (n.Op === OP_AND || n.Op === OP_OR) {
                    andOr++;
                }
                break;
            case "ParamExp":
                expansions.push({
                    name: String(n.Param?.Value ?? ""),
                    op: n.Exp ? (PARAM_OPS[n.Exp.Op as number] ?? "other") : undefined,
                });
                break;
            case "ForClause":
                if (syntax.NodeType(n.Loop) === "WordIter") {
                    (forItems[n.Loop.Name.Value] ??= []).push(
                        ((n.Loop.Items ?? []) as ShNode[]).flatMap((w) => reader.words(w)).map((p) => p.value),
                    );
                    assigned(String(n.Loop.Name.Value));
                }
                break;
        }
        out.push(t);
        return true;
    };
    // Statement by statement in document order: a known variable counts from its assignment on.
    for (const stmt of file.Stmts ?? []) {
        walk(stmt, visit);
        const a = topLevelAssignment(stmt);
        if (a) {
            reader.activate(a.name, a.value);
        }
    }
    const firstCall = (node: ShNode): SimpleCommand | undefined => {
        let found: SimpleCommand | undefined;
        walk(node, (n) => {
            if (found) {
                return false;
            }
            if (syntax.NodeType(n) === "CallExpr") {
                found = bySpan.get(span(n));
                return false;
            }
            return true;
        });
        return found;
    };
    // Found when first asked for (another walk of each side; most callers don't need them).
    let pipes: Pipeline[] | undefined;
    const pipesOf = (): Pipeline[] =>
        (pipes ??= pipeNodes.flatMap(([x, y]) => {
            const left = firstCall(x);
            const right = firstCall(y);
            return left && right ? [{ left, right }] : [];
        }));
    const known = Object.fromEntries(Object.entries(reader.known).filter(([name]) => count.get(name) === 1));
    return {
        parsed: {
            commands,
            get pipes() {
                return pipesOf();
            },
            andOr,
            forItems,
            expansions,
            known,
            skeleton: out.join(" "),
        },
        count,
        used: reader.used,
    };
}

/**
 * The script as the parser understood it, printed back without comments and blank lines (to compare two forms
 * of a script).
 */
export function printShell(src: string): string {
    return syntax
        .NewPrinter()
        .Print(parser.Parse(src, "command.sh"))
        .split("\n")
        .filter((l) => l.trim() !== "")
        .join("\n");
}

/** The simple commands of `src` whose first words are `prefix`. */
export function commandsStartingWith(parsed: ParsedShell, ...prefix: string[]): SimpleCommand[] {
    return parsed.commands.filter((c) => prefix.every((p, i) => c.words[i] === p));
}

/** The value following `flag` in `words` (`--flag value`), for each occurrence. */
export function flagValues(words: readonly string[], flag: string): string[] {
    const out: string[] = [];
    words.forEach((w, i) => {
        if (w === flag && i + 1 < words.length) {
            out.push(words[i + 1]);
        } else if (w.startsWith(`${flag}=`)) {
            out.push(w.slice(flag.length + 1));
        }
    });
    return out;
}
