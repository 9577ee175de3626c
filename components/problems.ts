/**
 * Problems with arguments and config values: what one bad value is ({@link ConfigProblem}), how the checks collect
 * them ({@link Problems}), and the one error that reports them all at once ({@link ConfigError}).
 *
 * Every feature's resolver records its problems here, each naming the key, the value received and what is allowed,
 * so that `resolveArgs` (and the config readers) can report every bad value before any resource is registered. The
 * small checks that several features share ({@link integerIn}, {@link oneOf}) live here too.
 */
import * as pulumi from "@pulumi/pulumi";

/** One bad value: the key (a component argument, or a config key), the value received, and what is allowed. */
export interface ConfigProblem {
    readonly key: string;
    readonly value: unknown;
    /** What is allowed; for an unknown key, the nearest known key and where the keys are listed. */
    readonly allowed: string;
    /** Set when the key itself is unknown (a typo, say): its line then reads `Unknown key …`, not `Invalid value …`. */
    readonly unknownKey?: true;
}

/** The value a problem of a secret argument carries instead of the secret. */
export const SECRET_VALUE: unique symbol = Symbol("a secret value");

/** A value as an error message shows it: JSON, except for secrets and values only known at deployment. */
function shown(value: unknown): string {
    if (value === SECRET_VALUE) {
        return "(a secret, not shown)";
    }
    if (pulumi.Output.isInstance(value) || value instanceof Promise) {
        return "(a pulumi.Output, known only at deployment)";
    }
    return JSON.stringify(value) ?? String(value);
}

/** `Invalid value for '<key>': <value>. <what is allowed>`, or `Unknown key '<key>' (value <value>). <suggestion>` */
function describeProblem(p: ConfigProblem): string {
    if (p.unknownKey) {
        return `Unknown key '${p.key}' (value ${shown(p.value)}). ${p.allowed}`;
    }
    return `Invalid value for '${p.key}': ${shown(p.value)}. ${p.allowed}`;
}

const counted = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/**
 * One problem: its line. Several: a count (`<n> invalid values:`, `<n> unknown keys:`, or with both kinds
 * `<n> problems: <u> unknown key(s), <v> invalid value(s):`) and one indented `- <line>` per problem.
 */
function messageOf(problems: readonly ConfigProblem[]): string {
    if (problems.length === 1) {
        return describeProblem(problems[0]);
    }
    const unknown = problems.filter((p) => p.unknownKey).length;
    const invalid = problems.length - unknown;
    const head =
        unknown === 0
            ? `${problems.length} invalid values:`
            : invalid === 0
              ? `${problems.length} unknown keys:`
              : `${problems.length} problems: ${counted(unknown, "unknown key", "unknown keys")}, ${counted(invalid, "invalid value", "invalid values")}:`;
    return [head, ...problems.map((p) => `  - ${describeProblem(p)}`)].join("\n");
}

/**
 * Bad arguments or config values, all of them at once. A `pulumi.RunError`, so that the Pulumi CLI prints
 * only the message, without a stack trace. With one problem the message is that problem's line; with
 * several, a count followed by one line per problem.
 */
export class ConfigError extends pulumi.RunError {
    /** Every problem, in the order found. */
    readonly problems: readonly ConfigProblem[];
    /** The first problem's key. */
    readonly key: string;
    /** The first problem's value. */
    readonly value: unknown;

    constructor(problems: readonly ConfigProblem[]) {
        if (problems.length === 0) {
            throw new Error("ConfigError needs at least one problem");
        }
        super(messageOf(problems));
        this.name = "ConfigError";
        this.problems = problems;
        this.key = problems[0].key;
        this.value = problems[0].value;
    }
}

/** Collects problems instead of stopping at the first one. */
export class Problems {
    readonly list: ConfigProblem[] = [];

    /** Records a problem unless `ok`; returns `ok`, so that checks of one key can be chained with `&&`. */
    check(ok: boolean, key: string, value: unknown, allowed: string): boolean {
        if (!ok) {
            this.list.push({ key, value, allowed });
        }
        return ok;
    }

    /** Throws one {@link ConfigError} listing every problem, if there is any. */
    throwIfAny(): void {
        if (this.list.length > 0) {
            throw new ConfigError(this.list);
        }
    }
}

/** Checks that `value` is a whole number from `min` to `max`. */
export function integerIn(p: Problems, key: string, value: number, min: number, max: number): boolean {
    return p.check(
        Number.isInteger(value) && value >= min && value <= max,
        key,
        value,
        `Allowed: a whole number from ${min} to ${max}.`,
    );
}

/** Checks that `value` is one of `allowed`. */
export function oneOf<T extends string | number>(p: Problems, key: string, value: T, allowed: readonly T[]): boolean {
    return p.check(allowed.includes(value), key, value, `Allowed: ${allowed.join(", ")}.`);
}
