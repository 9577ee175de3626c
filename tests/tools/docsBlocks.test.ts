/**
 * The generated blocks (tools/docs/docsBlocks.ts): every number table and example in README.md and docs/ is what its
 * function renders now from results/*.json and the example files, and no measured number sits outside a block.
 * Pure functions of files; the fixture tests write small results files to a temporary folder.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    blockNames,
    docPages,
    exampleFile,
    fillBlocks,
    measuredNumbersOutsideBlocks,
    numberCheckedPages,
    renderBlock,
    ROOT,
} from "../../tools/docs/docsBlocks";
import { REGENERATE } from "../../tools/docs/docsPages";

const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");

describe("generated blocks in README.md and docs/", () => {
    for (const file of docPages()) {
        const names = blockNames(read(file), file);
        if (names.length === 0) continue;
        it(`${file}: its ${names.length} generated block(s) are up to date (else: ${REGENERATE})`, () => {
            const text = read(file);
            const stale = blockNames(text, file).filter(
                (name) => fillBlocks(`<!-- generated:${name} -->\n<!-- /generated:${name} -->`) !== pick(text, name),
            );
            assert.deepEqual(stale, [], `${file}: stale blocks; run \`${REGENERATE}\` and commit the result`);
        });
    }

    it("README.md shows the three numbers from results/bench.json, and the examples the tests run", () => {
        const names = blockNames(read("README.md"));
        assert.ok(names.includes("headline"));
        assert.deepEqual(
            names.map(exampleFile).filter((f) => f !== undefined),
            ["examples/typescript/index.ts", "examples/python/__main__.py"],
        );
    });

    it("every example a page shows is a file that a test names or, for a stack file, runs (so the docs show what the tests run)", () => {
        const tests = listTests().map((f) => fs.readFileSync(f, "utf8"));
        const shown = docPages().flatMap((f) => blockNames(read(f)).map(exampleFile));
        for (const file of shown.filter((f): f is string => f !== undefined)) {
            const stack = /^Pulumi\.([\w-]+)\.yaml$/.exec(file)?.[1];
            const dir = path.dirname(file);
            const named = tests.some(
                (t) =>
                    t.includes(file) ||
                    (dir !== "." && t.includes(dir)) ||
                    (stack !== undefined && t.includes(`runProgram("${stack}"`)),
            );
            assert.ok(named, `${file} is shown in the docs but no test under tests/ names it or its folder`);
        }
    });

    it("no measured number outside a generated block in README.md and docs/ (decision records aside)", () => {
        const found = numberCheckedPages().flatMap((f) =>
            measuredNumbersOutsideBlocks(read(f)).map((n) => `${f}:${n.line}: ${n.text}`),
        );
        assert.deepEqual(found, [], "measured numbers written by hand: put them in a generated block from results/");
    });

    describe("the rules themselves, on fixtures", () => {
        let root: string;
        before(() => {
            root = fs.mkdtempSync(path.join(os.tmpdir(), "docs-blocks-"));
            fs.mkdirSync(path.join(root, "results"));
            const rec = (variant: string, strategy: string, run: string, buildSeconds: number, pulledMB = 0) => ({
                strategy,
                variant,
                run,
                buildSeconds,
                pulledMB,
                pushedMB: 0,
                cachedSteps: 0,
                rebuiltSteps: 0,
                workload: "heavy",
            });
            const reg = "registry (docker-container)";
            fs.writeFileSync(
                path.join(root, "results/bench.json"),
                JSON.stringify({
                    date: "2030-01-02T00:00:00.000Z",
                    machine: { cpus: 4 },
                    workloads: [{ name: "heavy", description: "x" }],
                    records: [
                        rec(reg, "registry", "cold", 40),
                        rec(reg, "registry", "warm", 2, 0.25),
                        rec(reg, "registry", "warm, skip on", 0.4),
                        rec(reg, "registry", "change", 10),
                    ],
                    original: { source: "blog", coldMinutes: 40, warmMinutes: 8, changeMinutes: 30, imageGB: 5 },
                }),
            );
            fs.writeFileSync(path.join(root, "ex.py"), "a = 1\nb = 2\nc = 3\n");
        });
        after(() => fs.rmSync(root, { recursive: true, force: true }));

        it("headline: each share computed from the results file it reads", () => {
            const h = renderBlock("headline", root);
            assert.match(h, /8 min = \*\*20\.0 %\*\* of cold/);
            assert.match(h, /30 min = \*\*75\.0 %\*\*/);
            assert.match(h, /\| 40\.0 s \| 2\.0 s = \*\*5\.0 %\*\*, 0\.3 MB pulled \| 10\.0 s = \*\*25\.0 %\*\* \|/);
            assert.match(h, /0\.40 s = \*\*1\.0 %\*\*/);
            assert.match(h, /Measured 2030-01-02 .* on 4 cores/);
        });

        it("a missing run is an error naming it, not a blank cell", () => {
            const b = JSON.parse(fs.readFileSync(path.join(root, "results/bench.json"), "utf8"));
            b.records = b.records.filter((r: { run: string }) => r.run !== "change");
            const other = fs.mkdtempSync(path.join(os.tmpdir(), "docs-blocks-"));
            fs.mkdirSync(path.join(other, "results"));
            fs.writeFileSync(path.join(other, "results/bench.json"), JSON.stringify(b));
            try {
                assert.throws(() => renderBlock("headline", other), /no 'change' run of registry/);
            } finally {
                fs.rmSync(other, { recursive: true, force: true });
            }
        });

        it("fillBlocks replaces only what is between a block's markers; an example block quotes its lines", () => {
            const page =
                "before\n<!-- generated:example:ex.py:2-3 -->\nold\n<!-- /generated:example:ex.py:2-3 -->\nafter\n";
            assert.equal(
                fillBlocks(page, root),
                "before\n<!-- generated:example:ex.py:2-3 -->\n```python\n# ex.py, lines 2-3\nb = 2\nc = 3\n```\n<!-- /generated:example:ex.py:2-3 -->\nafter\n",
            );
            assert.throws(() => renderBlock("example:ex.py:2-9", root), /ex\.py has 3 lines, not 2 to 9/);
        });

        it("an unknown block, or one that never closes, is an error", () => {
            assert.throws(
                () => fillBlocks("<!-- generated:nope -->\n<!-- /generated:nope -->\n", root),
                /unknown generated block 'nope'/,
            );
            assert.throws(() => blockNames("<!-- generated:headline -->\n", "p.md"), /p\.md: a generated block opens/);
        });

        it("measured numbers: decimals with a unit and shares are caught outside blocks; counts and limits pass", () => {
            const page = [
                "took 1.3 s, 12 %, 0.5 MB and 3×",
                "<!-- generated:headline -->",
                "34.2 s = 3.9 %",
                "<!-- /generated:headline -->",
                "6 attempts, waiting 8 s, 5–2160 minutes, v0.32.2, 25,600 characters",
            ].join("\n");
            assert.deepEqual(
                measuredNumbersOutsideBlocks(page).map((n) => n.text),
                ["1.3 s", "12 %", "0.5 MB", "3×"],
            );
        });
    });
});

/** The text between a block's markers, markers included. */
function pick(text: string, name: string): string {
    const open = `<!-- generated:${name} -->`;
    const close = `<!-- /generated:${name} -->`;
    const a = text.indexOf(open);
    return text.slice(a, text.indexOf(close, a) + close.length);
}

function listTests(dir = path.join(ROOT, "tests")): string[] {
    return fs
        .readdirSync(dir, { withFileTypes: true })
        .flatMap((e) =>
            e.isDirectory()
                ? listTests(path.join(dir, e.name))
                : e.name.endsWith(".ts")
                  ? [path.join(dir, e.name)]
                  : [],
        );
}
