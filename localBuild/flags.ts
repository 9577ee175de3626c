// Command-line flags of `npm run local-build` (localBuild/cli.ts) and `npm run bench` (bench/run.ts): the
// flags they share are defined once here, every value is checked, and a bad one is reported with the
// flag, the value and what is allowed, followed by the usage text.
import { parseArgs } from "util";
import { CACHE_STRATEGIES, CacheStrategy } from "../components/args";

/** A bad command line; the message names the flag, the value and what is allowed. */
export class FlagError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "FlagError";
    }
}

/** The error for a value a flag doesn't accept, in the one format all flags use. */
export function invalidValue(flag: string, value: string, allowed: string, why?: string): FlagError {
    return new FlagError(
        `Invalid value for '--${flag}': ${JSON.stringify(value)}${why ? ` (${why})` : ""}. Allowed: ${allowed}.`,
    );
}

export interface Flag<T> {
    /** A string flag takes a value (`--steps 8` or `--steps=8`); a boolean flag takes none. */
    readonly type: "string" | "boolean";
    /** Placeholder of the value in the usage text, e.g. `N`. */
    readonly placeholder?: string;
    /** What values are allowed, as said in errors and in the usage text. */
    readonly allowed: string;
    /** One sentence for the usage text (the default is appended from `defaultText`). */
    readonly help: string;
    readonly defaultText?: string;
    /** A flag that may be given more than once: `parse` then gets every value, in order. */
    readonly multiple?: boolean;
    /** The value: `undefined` when the flag is absent (then the default), else its text, `true`, or (multiple) the texts. */
    readonly parse: (raw: string | true | string[] | undefined, flag: string) => T;
}

/** `--NAME N`: a whole number of at least `min`. */
export function wholeNumber(o: { min: number; default: number; help: string }): Flag<number>;
/** Optional: `undefined` when absent; `defaultText` says what the program does then. */
export function wholeNumber(o: { min: number; help: string; defaultText?: string }): Flag<number | undefined>;
export function wholeNumber(o: {
    min: number;
    default?: number;
    help: string;
    defaultText?: string;
}): Flag<number | undefined> {
    const allowed = `a whole number >= ${o.min}`;
    return {
        type: "string",
        placeholder: "N",
        allowed,
        help: o.help,
        defaultText: o.default === undefined ? o.defaultText : String(o.default),
        parse: (raw, flag) => {
            if (raw === undefined) return o.default;
            // Decimal digits only: Number() would also take "0x10", "1e3" and " 8 ".
            if (typeof raw !== "string" || !/^-?\d+$/.test(raw) || Number(raw) < o.min)
                throw invalidValue(flag, String(raw), allowed);
            return Number(raw);
        },
    };
}

/** `--NAME TEXT`: any non-empty text. */
export function text(o: { default: string; help: string; placeholder?: string }): Flag<string> {
    const flag = optionalText({ help: o.help, placeholder: o.placeholder, defaultText: o.default });
    return { ...flag, parse: (raw, name) => flag.parse(raw, name) ?? o.default };
}

/** `--NAME TEXT`, optional: `undefined` when absent; `defaultText` says what the program does then. */
export function optionalText(o: {
    help: string;
    placeholder?: string;
    defaultText?: string;
}): Flag<string | undefined> {
    const allowed = "a non-empty text";
    return {
        type: "string",
        placeholder: o.placeholder ?? "TEXT",
        allowed,
        help: o.help,
        defaultText: o.defaultText,
        parse: (raw, flag) => {
            if (raw === undefined) return undefined;
            if (typeof raw !== "string" || raw === "") throw invalidValue(flag, String(raw), allowed);
            return raw;
        },
    };
}

/** `--NAME TEXT`, repeatable: every value in order; `[]` when absent. */
export function textList(o: { help: string; placeholder?: string }): Flag<string[]> {
    const allowed = "a non-empty text, the flag repeated for more";
    return {
        type: "string",
        placeholder: o.placeholder ?? "TEXT",
        allowed,
        help: o.help,
        multiple: true,
        parse: (raw, flag) => {
            const all = raw === undefined ? [] : Array.isArray(raw) ? raw : [String(raw)];
            for (const v of all) if (v === "") throw invalidValue(flag, v, allowed);
            return all;
        },
    };
}

const BUILD_ARG_ALLOWED =
    "NAME=VALUE, NAME letters, digits and _, not starting with a digit; the flag repeated for more";

/** `--build-arg NAME=VALUE`, repeatable: the component's `buildArgs`; a later NAME wins, as with docker. */
export function buildArgFlag(help: string): Flag<Record<string, string>> {
    return {
        type: "string",
        placeholder: "NAME=VALUE",
        allowed: BUILD_ARG_ALLOWED,
        help,
        multiple: true,
        parse: (raw, flag) => {
            const out: Record<string, string> = {};
            for (const v of raw === undefined ? [] : Array.isArray(raw) ? raw : [String(raw)]) {
                const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(v);
                if (!m) throw invalidValue(flag, v, BUILD_ARG_ALLOWED);
                out[m[1]] = m[2];
            }
            return out;
        },
    };
}

const STRATEGIES_ALLOWED = `all, or a comma-separated list of ${CACHE_STRATEGIES.join(", ")}`;

/** `--strategy LIST`: `all` or a comma-separated list of cache strategies, in the order given, without repeats. */
export const strategyFlag: Flag<CacheStrategy[]> = {
    type: "string",
    placeholder: "LIST",
    allowed: STRATEGIES_ALLOWED,
    help: "Cache strategies to run, in this order.",
    defaultText: "all",
    parse: (raw, flag) => {
        if (raw === undefined || raw === "all") return [...CACHE_STRATEGIES];
        const value = String(raw);
        const out: CacheStrategy[] = [];
        for (const s of value.split(",")) {
            if (!(CACHE_STRATEGIES as readonly string[]).includes(s)) {
                throw invalidValue(flag, value, STRATEGIES_ALLOWED, `${JSON.stringify(s)} is not a cache strategy`);
            }
            if (!out.includes(s as CacheStrategy)) out.push(s as CacheStrategy);
        }
        return out;
    },
};

/** `--strategy LIST` whose absence the program decides on: `undefined` when absent, else as {@link strategyFlag}. */
export function optionalStrategyFlag(defaultText: string): Flag<CacheStrategy[] | undefined> {
    return {
        ...strategyFlag,
        defaultText,
        parse: (raw, flag) => (raw === undefined ? undefined : strategyFlag.parse(raw, flag)),
    };
}

/** `--steps N`: work steps in the synthetic Dockerfile (localBuild/dockerfile.ts). */
export const stepsFlag = (o: { min: number; default: number }) =>
    wholeNumber({ ...o, help: "Work steps in the synthetic Dockerfile." });

/** `--mb N`: MB of random data each step writes. */
export const mbFlag = (o: { min: number; default: number }) =>
    wholeNumber({ ...o, help: "MB of random data each step writes (the image is about steps x this)." });

/** `--rounds N`: hash passes over each step's data. */
export const roundsFlag = (o: { min: number; default: number }) =>
    wholeNumber({ ...o, help: "Hash passes over each step's data: the CPU part of a step." });

/** `--NAME` alone: true when given. */
export function booleanFlag(help: string): Flag<boolean> {
    return { type: "boolean", allowed: "no value", help, parse: (raw) => raw === true };
}

/** `--verbose`: stream every build's output. */
export const verboseFlag: Flag<boolean> = booleanFlag("Stream each build's output (it is captured either way).");

export type Flags = Record<string, Flag<unknown>>;
export type FlagValues<F extends Flags> = { [K in keyof F]: F[K] extends Flag<infer T> ? T : never };

export interface Command<F extends Flags> {
    /** How it is run, e.g. `npm run local-build --`. */
    readonly name: string;
    readonly summary: string;
    readonly flags: F;
    readonly examples: readonly string[];
}

export type ParseResult<F extends Flags> = { help: true } | { help: false; values: FlagValues<F> };

const HELP_NAMES = ["help", "h"];

/**
 * Parse `argv` against the command's flags. `--help`/`-h` anywhere gives `{ help: true }`. Throws a
 * FlagError for an unknown flag, a positional argument, a missing value or a value given to a boolean
 * flag (the first of these), or for values the flags don't allow (all of them, one line each).
 */
export function parseFlags<F extends Flags>(cmd: Command<F>, argv: readonly string[]): ParseResult<F> {
    const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
        help: { type: "boolean", short: "h" },
    };
    for (const [name, f] of Object.entries(cmd.flags)) options[name] = { type: f.type };
    // Not strict: every problem is reported here, in this module's words, from the tokens.
    const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
    if (tokens.some((t) => t.kind === "option" && HELP_NAMES.includes(t.name))) return { help: true };
    const known = Object.keys(cmd.flags);
    const allowedFlags = [...known, "help"].map((n) => `--${n}`).join(", ");
    const raw: Record<string, string | true | string[]> = {};
    for (const t of tokens) {
        if (t.kind === "positional") {
            throw new FlagError(`Unexpected argument ${JSON.stringify(t.value)}. Allowed: the flags ${allowedFlags}.`);
        }
        if (t.kind === "option-terminator") {
            throw new FlagError(`Unexpected argument "--". Allowed: the flags ${allowedFlags}.`);
        }
        const flag = cmd.flags[t.name];
        if (!known.includes(t.name) || !flag) {
            throw new FlagError(`Unknown flag '${t.rawName}'. Allowed: ${allowedFlags}.`);
        }
        if (flag.type === "boolean") {
            if (t.value !== undefined) {
                throw invalidValue(t.name, t.value, `${flag.allowed} (write --${t.name} alone)`);
            }
            raw[t.name] = true;
        } else {
            // `--steps --mb 3`: parseArgs takes "--mb" as the value of --steps.
            if (t.value === undefined || (!t.inlineValue && t.value.startsWith("--"))) {
                throw new FlagError(`Missing value for '--${t.name}'. Allowed: ${flag.allowed}.`);
            }
            if (flag.multiple) raw[t.name] = [...((raw[t.name] as string[] | undefined) ?? []), t.value];
            else raw[t.name] = t.value;
        }
    }
    // Every bad value at once, one line each.
    const values = {} as Record<string, unknown>;
    const bad: string[] = [];
    for (const [name, f] of Object.entries(cmd.flags)) {
        try {
            values[name] = f.parse(raw[name], name);
        } catch (e) {
            if (!(e instanceof FlagError)) throw e;
            bad.push(e.message);
        }
    }
    if (bad.length) throw new FlagError(bad.join("\n"));
    return { help: false, values: values as FlagValues<F> };
}

/** The usage text: synopsis, summary, one line per flag with what it allows and its default, examples. */
export function usage<F extends Flags>(cmd: Command<F>): string {
    const rows: Array<[string, string]> = Object.entries(cmd.flags).map(([name, f]) => [
        `--${name}${f.placeholder ? ` ${f.placeholder}` : ""}`,
        `${f.help}${f.type === "string" ? ` Allowed: ${f.allowed}.` : ""}${f.defaultText !== undefined ? ` Default: ${f.defaultText}.` : ""}`,
    ]);
    rows.push(["-h, --help", "Print this text."]);
    const width = Math.max(...rows.map(([l]) => l.length));
    return [
        `Usage: ${cmd.name} [flags]`,
        "",
        cmd.summary,
        "",
        "Flags:",
        ...rows.map(([l, r]) => `  ${l.padEnd(width)}  ${r}`),
        "",
        "Examples:",
        ...cmd.examples.map((e) => `  ${e}`),
    ].join("\n");
}

/**
 * Run a command-line program: parse the flags, print the usage for `--help`, and on a FlagError print
 * the message and the usage to stderr and exit 2. Any other error prints its message and exits 1.
 */
export function runCommand<F extends Flags>(
    cmd: Command<F>,
    main: (values: FlagValues<F>) => Promise<void>,
    argv: readonly string[] = process.argv.slice(2),
): void {
    const fail = (e: unknown): never => {
        if (e instanceof FlagError) {
            console.error(`${e.message}\n\n${usage(cmd)}`);
            process.exit(2);
        }
        console.error(e instanceof Error ? e.message : e);
        process.exit(1);
    };
    let parsed: ParseResult<F>;
    try {
        parsed = parseFlags(cmd, argv);
    } catch (e) {
        return fail(e);
    }
    if (parsed.help) {
        console.log(usage(cmd));
        return;
    }
    main(parsed.values).catch(fail);
}
