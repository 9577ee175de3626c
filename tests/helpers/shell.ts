/**
 * Parses shell commands with the real shell parser `mvdan-sh` (mvdan.cc/sh, bash dialect) and returns the
 * simple commands they contain, each as the list of words the shell would pass (quotes removed).
 * A word that isn't a constant (it expands a variable) is rendered with its parameters as `${NAME}`, so
 * assertions can still see where a variable goes, but never mistake it for a literal.
 */
// mvdan-sh ships no types; the few fields used here are typed below.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sh = require("mvdan-sh") as { syntax: Syntax };

interface Node {
    [key: string]: unknown;
}
interface Syntax {
    NewParser(...opts: unknown[]): { Parse(src: string, name: string): Node };
    Walk(node: Node, visit: (node: Node | null) => boolean): void;
    NodeType(node: Node): string;
    LangBash: unknown;
    Variant(lang: unknown): unknown;
}

const syntax = sh.syntax;

/** BinaryCmd operators (mvdan.cc/sh/v3/syntax BinCmdOperator). */
const OP_AND = 10;
const OP_OR = 11;
const OP_PIPE = 12;

export interface SimpleCommand {
    /** The words, with quotes removed; non-constant parts rendered as `${NAME}`. */
    readonly words: string[];
    /** Whether every word is a constant. */
    readonly literal: boolean;
    /** Names assigned by the command (`X=1`, `X=(a b)`). */
    readonly assigns: string[];
    /** Array assignments (`X=(a 'b c')`): name to element words. */
    readonly arrays: Record<string, string[]>;
}

export interface Pipeline {
    readonly left: SimpleCommand;
    readonly right: SimpleCommand;
}

export interface ParsedShell {
    readonly commands: SimpleCommand[];
    /** `a | b` pairs of simple commands. */
    readonly pipes: Pipeline[];
    /** Number of `&&` and `||` lists. */
    readonly andOr: number;
}

function wordPart(part: Node): { text: string; literal: boolean } {
    switch (syntax.NodeType(part)) {
        case "Lit":
            // A Lit keeps backslash escapes as written; unescape `\x` outside quotes.
            return { text: String(part.Value).replace(/\\(.)/g, "$1"), literal: true };
        case "SglQuoted":
            return { text: String(part.Value), literal: true };
        case "DblQuoted": {
            const parts = (part.Parts as Node[] | null) ?? [];
            let text = "";
            let literal = true;
            for (const p of parts) {
                const r = syntax.NodeType(p) === "Lit" ? { text: String(p.Value), literal: true } : wordPart(p);
                text += r.text;
                literal = literal && r.literal;
            }
            return { text, literal };
        }
        case "ParamExp": {
            const param = part.Param as Node | null;
            const name = param ? String(param.Value) : "?";
            return { text: part.Index ? `\${${name}[@]}` : `\${${name}}`, literal: false };
        }
        case "CmdSubst":
            return { text: "$(...)", literal: false };
        default:
            return { text: `<${syntax.NodeType(part)}>`, literal: false };
    }
}

function wordOf(word: Node): { text: string; literal: boolean } {
    let text = "";
    let literal = true;
    for (const part of (word.Parts as Node[] | null) ?? []) {
        const r = wordPart(part);
        text += r.text;
        literal = literal && r.literal;
    }
    return { text, literal };
}

function simpleCommand(call: Node): SimpleCommand {
    const words: string[] = [];
    let literal = true;
    for (const w of (call.Args as Node[] | null) ?? []) {
        const r = wordOf(w);
        words.push(r.text);
        literal = literal && r.literal;
    }
    const assignNodes = (call.Assigns as Node[] | null) ?? [];
    const assigns = assignNodes.map((a) => String((a.Name as Node).Value));
    const arrays: Record<string, string[]> = {};
    for (const a of assignNodes) {
        const arr = a.Array as Node | null;
        if (arr) {
            arrays[String((a.Name as Node).Value)] = ((arr.Elems as Node[] | null) ?? []).map(
                (e) => wordOf(e.Value as Node).text,
            );
        }
    }
    return { words, literal, assigns, arrays };
}

/** The first simple command inside a statement (the command of `a | b`'s side). */
function firstCall(node: Node): SimpleCommand | undefined {
    let found: SimpleCommand | undefined;
    syntax.Walk(node, (n) => {
        if (found || n === null) {
            return false;
        }
        if (syntax.NodeType(n) === "CallExpr") {
            found = simpleCommand(n);
            return false;
        }
        return true;
    });
    return found;
}

/** Parses `src` as bash. Throws on a syntax error (the parser's message names line and column). */
export function parseShell(src: string): ParsedShell {
    const parser = syntax.NewParser(syntax.Variant(syntax.LangBash));
    const file = parser.Parse(src, "command.sh");
    const commands: SimpleCommand[] = [];
    const pipes: Pipeline[] = [];
    let andOr = 0;
    syntax.Walk(file, (n) => {
        if (n === null) {
            return true;
        }
        const type = syntax.NodeType(n);
        if (type === "CallExpr") {
            commands.push(simpleCommand(n));
        } else if (type === "BinaryCmd") {
            if (n.Op === OP_PIPE) {
                const left = firstCall(n.X as Node);
                const right = firstCall(n.Y as Node);
                if (left && right) {
                    pipes.push({ left, right });
                }
            } else if (n.Op === OP_AND || n.Op === OP_OR) {
                andOr++;
            }
        }
        return true;
    });
    return { commands, pipes, andOr };
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
