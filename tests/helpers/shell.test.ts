/**
 * The shell parser wrapper the buildspec and security tests read commands with (tests/helpers/shell.ts): it must
 * see through quoting exactly as bash does, never take an expansion for a literal, and know a prelude variable's
 * value only where bash is sure to see that value.
 */
import { strict as assert } from "node:assert";
import fc from "fast-check";
import { shellWord } from "../../components/buildspec";
import { parseShell } from "./shell";

const values = (src: string) => parseShell(src).commands.map((c) => c.values);
const skeleton = (src: string) => parseShell(src).skeleton;

describe("shell parser wrapper (tests/helpers/shell.ts)", () => {
    it("sees through quoting (each word's value is what bash passes)", () => {
        assert.deepEqual(values(`docker 'a'\\''b' "c\\$d" e\\ f "$x" 'g'h "i\\j"`), [
            ["docker", "a'b", "c$d", "e f", undefined, "gh", "i\\j"],
        ]);
    });

    it("catches a naively templated value: two words, or an expansion", () => {
        assert.equal(values(`docker --file a b`)[0].length, 4);
        assert.equal(values(`docker --file "a$(id)"`)[0][2], undefined);
        assert.equal(values(`docker --file *.txt`)[0][2], undefined);
        assert.equal(values(`docker --file ~/x`)[0][2], undefined);
        assert.equal(values(`docker --file $"a"`)[0][2], undefined, '$"..." is translated by the locale');
    });

    it("reads bash's $'...' as bash does: the escapes shellWord writes and the one-letter ones; any other is no literal", () => {
        assert.deepEqual(values(`docker $'a' $'it\\'s' $'\\\\x' $'\\xe2\\x80\\xa8' $'a\\tb\\n'`), [
            ["docker", "a", "it's", "\\x", "\u2028", "a\tb\n"],
        ]);
        for (const unread of [`$'\\u2028'`, `$'\\101'`, `$'\\cA'`, `$'\\x4'`, `$'\\xff'`]) {
            assert.equal(values(`docker ${unread}`)[0][1], undefined, unread);
        }
        // Every value shellWord can quote reads back as itself, as real bash prints it (tests/components/buildspec/shape.test.ts).
        for (const v of ["a\u2028b", "it's\x85", "\x1b[1m\\", "\ufeff'\r", "\u{1F600}\x7f"]) {
            assert.deepEqual(values(`docker ${shellWord(v)}`)[0], ["docker", v], JSON.stringify(v));
        }
        fc.assert(
            fc.property(
                fc.string({ unit: "binary", maxLength: 12 }).filter((v) => !v.includes("\0")),
                (v) => assert.deepEqual(values(`docker ${shellWord(v)}`)[0], ["docker", v]),
            ),
            { numRuns: 300 },
        );
    });

    it("the skeleton erases literals and keeps structure", () => {
        assert.notEqual(skeleton(`echo 'a'; id`), skeleton(`echo 'a'`));
        assert.equal(skeleton(`echo 'a b'"c"`), skeleton(`echo x`));
        assert.notEqual(skeleton(`echo "a$(id)"`), skeleton(`echo "a"`));
        assert.notEqual(skeleton(`A=(x)`), skeleton(`A=(x y)`));
    });

    it("a variable assigned once, at the top level, to literal words is known from there on", () => {
        const p = parseShell(
            `echo "$A"\nA='x y'\nB=(1 '2 3')\necho "$A" "<$A>" "\${B[@]}" "$B" $A "\${A:-z}" "\${B[@]}x"`,
        );
        assert.deepEqual(p.known, { A: "x y", B: ["1", "2 3"] });
        assert.deepEqual(p.commands[0].values, ["echo", undefined], "not before its assignment");
        // Quoted uses only; an array spreads into words only as a whole "${B[@]}"; no operator.
        assert.deepEqual(p.commands[3].values, [
            "echo",
            "x y",
            "<x y>",
            "1",
            "2 3",
            undefined,
            undefined,
            undefined,
            undefined,
        ]);
        assert.deepEqual(p.commands[3].words.slice(5), ["${B}", "${A}", "${A}", "${B[@]}x"]);
    });

    it("a variable assigned more than once, in a loop, in a branch or from an expansion is not known", () => {
        const loop = parseShell(`A=1\nfor i in 1 2; do echo "$A"; A=2; done`);
        assert.deepEqual(loop.commands.find((c) => c.values[0] === "echo")?.values, ["echo", undefined]);
        assert.deepEqual(loop.known, {});
        const branch = parseShell(`A=1\nif true; then A=2; fi\necho "$A"`);
        assert.deepEqual(branch.commands.at(-1)?.values, ["echo", undefined]);
        assert.deepEqual(parseShell(`A="$HOME"\necho "$A"`).commands.at(-1)?.values, ["echo", undefined]);
        assert.deepEqual(parseShell(`for A in x; do :; done\necho "$A"`).commands.at(-1)?.values, ["echo", undefined]);
        assert.deepEqual(parseShell(`A=1\nA+=2\necho "$A"`).commands.at(-1)?.values, ["echo", undefined]);
    });

    it("reports pipes, &&/|| lists, for-loop words, array assignments and parameter expansions with their operators", () => {
        const p = parseShell(
            `R=(a b)\nset -o pipefail; x | y -n "\${Z:?set}" || z\nfor r in "\${R[@]}"; do :; done\nW=(1 "$Q")`,
        );
        assert.deepEqual(
            p.pipes.map((q) => [q.left.values, q.right.values]),
            [[["x"], ["y", "-n", undefined]]],
        );
        assert.equal(p.andOr, 1);
        assert.deepEqual(p.forItems, { r: [["a", "b"]] });
        assert.deepEqual(p.commands.at(-1)?.arrayValues, { W: ["1", undefined] });
        assert.deepEqual(
            p.expansions.map((e) => [e.name, e.op]),
            [
                ["Z", ":?"],
                ["R", undefined],
                ["Q", undefined],
            ],
        );
    });
});
