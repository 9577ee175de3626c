// The command-line flag parser shared by `npm run local-build` and `npm run bench` (localBuild/flags.ts).
// Pure: parseFlags and usage are called with argv arrays; nothing is run.
import { strict as assert } from "assert";
import {
    buildArgFlag,
    Command,
    FlagError,
    mbFlag,
    optionalStrategyFlag,
    optionalText,
    parseFlags,
    stepsFlag,
    strategyFlag,
    text,
    textList,
    usage,
    verboseFlag,
    wholeNumber,
} from "../../localBuild/flags";

const flags = {
    strategy: strategyFlag,
    steps: stepsFlag({ min: 2, default: 24 }),
    mb: mbFlag({ min: 0, default: 12 }),
    "change-at": wholeNumber({ min: 1, help: "Step that changes.", defaultText: "the middle step" }),
    out: text({ default: "results", help: "Output folder.", placeholder: "DIR" }),
    verbose: verboseFlag,
};
const cmd: Command<typeof flags> = { name: "test-cmd", summary: "A test command.", flags, examples: ["test-cmd"] };

function values(...argv: string[]) {
    const r = parseFlags(cmd, argv);
    if (r.help) assert.fail(`${argv.join(" ")} asked for help`);
    return r.values;
}

function rejects(argv: string[], message: string) {
    assert.throws(
        () => parseFlags(cmd, argv),
        (e: unknown) => {
            assert.ok(e instanceof FlagError, String(e));
            assert.equal(e.message, message);
            return true;
        },
    );
}

describe("parseFlags", () => {
    it("gives every default when no flag is given", () => {
        assert.deepEqual(values(), {
            strategy: ["inline", "registry", "pull"],
            steps: 24,
            mb: 12,
            "change-at": undefined,
            out: "results",
            verbose: false,
        });
    });

    it("reads `--flag value` and `--flag=value`, and a boolean flag alone", () => {
        const v = values("--steps", "8", "--mb=0", "--change-at", "3", "--out=x/y", "--verbose");
        assert.deepEqual([v.steps, v.mb, v["change-at"], v.out, v.verbose], [8, 0, 3, "x/y", true]);
    });

    it("--strategy: all, or a list kept in its order without repeats", () => {
        assert.deepEqual(values("--strategy", "all").strategy, ["inline", "registry", "pull"]);
        assert.deepEqual(values("--strategy", "pull,inline,pull").strategy, ["pull", "inline"]);
        assert.deepEqual(values("--strategy=registry").strategy, ["registry"]);
    });

    it("names the flag, the value, the bad list entry and what is allowed", () => {
        rejects(
            ["--strategy", "inline,Registry"],
            `Invalid value for '--strategy': "inline,Registry" ("Registry" is not a cache strategy). ` +
                "Allowed: all, or a comma-separated list of inline, registry, pull.",
        );
        rejects(
            ["--strategy="],
            `Invalid value for '--strategy': "" ("" is not a cache strategy). ` +
                "Allowed: all, or a comma-separated list of inline, registry, pull.",
        );
    });

    for (const [value, why] of [
        ["x", "not a number"],
        ["2.5", "not whole"],
        ["1", "below the minimum"],
        ["", "empty"],
        ["0x10", "not decimal"],
        ["1e3", "an exponent"],
        [" 8", "a space"],
    ]) {
        it(`rejects --steps=${JSON.stringify(value)} (${why})`, () => {
            rejects(
                [`--steps=${value}`],
                `Invalid value for '--steps': ${JSON.stringify(value)}. Allowed: a whole number >= 2.`,
            );
        });
    }

    it("reports every bad value at once, one line each", () => {
        rejects(
            ["--steps", "1", "--mb", "-3", "--out="],
            [
                `Invalid value for '--steps': "1". Allowed: a whole number >= 2.`,
                `Invalid value for '--mb': "-3". Allowed: a whole number >= 0.`,
                `Invalid value for '--out': "". Allowed: a non-empty text.`,
            ].join("\n"),
        );
    });

    it("a flag that needs a value and has none, or is followed by another flag, is missing its value", () => {
        rejects(["--steps"], "Missing value for '--steps'. Allowed: a whole number >= 2.");
        rejects(["--steps", "--mb", "3"], "Missing value for '--steps'. Allowed: a whole number >= 2.");
    });

    it("a boolean flag takes no value", () => {
        rejects(["--verbose=yes"], `Invalid value for '--verbose': "yes". Allowed: no value (write --verbose alone).`);
    });

    it("rejects unknown flags and arguments, listing the flags it knows", () => {
        const known = "--strategy, --steps, --mb, --change-at, --out, --verbose, --help";
        rejects(["--step", "3"], `Unknown flag '--step'. Allowed: ${known}.`);
        rejects(["-v"], `Unknown flag '-v'. Allowed: ${known}.`);
        rejects(["registry"], `Unexpected argument "registry". Allowed: the flags ${known}.`);
    });

    it("--help and -h ask for the usage, even next to bad values", () => {
        assert.deepEqual(parseFlags(cmd, ["--help"]), { help: true });
        assert.deepEqual(parseFlags(cmd, ["--steps", "x", "-h"]), { help: true });
    });
});

describe("usage", () => {
    it("lists each flag with its value, what it allows and its default", () => {
        const text = usage(cmd);
        assert.match(text, /^Usage: test-cmd \[flags\]\n\nA test command\.\n/);
        for (const line of [
            "  --strategy LIST  Cache strategies to run, in this order. Allowed: all, or a comma-separated list of inline, registry, pull. Default: all.",
            "  --steps N        Work steps in the synthetic Dockerfile. Allowed: a whole number >= 2. Default: 24.",
            "  --change-at N    Step that changes. Allowed: a whole number >= 1. Default: the middle step.",
            "  --out DIR        Output folder. Allowed: a non-empty text. Default: results.",
            "  --verbose        Stream each build's output (it is captured either way).",
            "  -h, --help       Print this text.",
        ]) {
            assert.ok(text.split("\n").includes(line), `missing line:\n${line}\nin:\n${text}`);
        }
        assert.match(text, /\nExamples:\n {2}test-cmd$/);
    });
});

describe("repeatable and optional flags (local-build --context)", () => {
    const more = {
        change: textList({ help: "A file to change.", placeholder: "PATH" }),
        "build-arg": buildArgFlag("A build arg."),
        context: optionalText({ help: "The context.", placeholder: "DIR" }),
        strategy: optionalStrategyFlag("registry"),
    };
    const cmd2: Command<typeof more> = { name: "t", summary: "T.", flags: more, examples: [] };
    const parse = (...argv: string[]) => {
        const r = parseFlags(cmd2, argv);
        if (r.help) assert.fail("help");
        return r.values;
    };
    it("gives [] / {} / undefined when absent", () => {
        assert.deepEqual(parse(), { change: [], "build-arg": {}, context: undefined, strategy: undefined });
    });
    it("keeps every value of a repeated flag in order; a later build arg of the same name wins", () => {
        const v = parse(
            "--change",
            "a",
            "--change=b/c",
            "--build-arg",
            "X=1",
            "--build-arg",
            "Y=a=b",
            "--build-arg",
            "X=2",
        );
        assert.deepEqual([v.change, v["build-arg"]], [["a", "b/c"], { X: "2", Y: "a=b" }]);
    });
    it("a single-valued flag still takes the last value", () => {
        assert.equal(parse("--context", "a", "--context", "b").context, "b");
    });
    it("rejects a build arg that isn't NAME=VALUE, naming it and what is allowed", () => {
        assert.throws(
            () => parse("--build-arg", "1X=2"),
            (e: unknown) =>
                e instanceof FlagError &&
                e.message ===
                    `Invalid value for '--build-arg': "1X=2". Allowed: NAME=VALUE, NAME letters, digits and _, not starting with a digit; the flag repeated for more.`,
        );
        assert.throws(() => parse("--change", ""), /Invalid value for '--change': ""/);
        assert.throws(() => parse("--strategy", "fast"), /Invalid value for '--strategy': "fast"/);
    });
});
