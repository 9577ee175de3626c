/**
 * Every relative link and anchor in README.md and docs/ resolves (tools/docs/docsLinks.ts: markdown-it for links,
 * github-slugger for GitHub's heading anchors). The checker's own rules run on fixture pages in a temporary folder.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { docPages, ROOT } from "../../tools/docs/docsBlocks";
import { anchorsOf, brokenLinks, linksOf } from "../../tools/docs/docsLinks";

describe("links in README.md and docs/", () => {
    it("every relative link reaches a file or folder, and every anchor a heading of its page", async () => {
        const broken = await Promise.all(docPages().map((f) => brokenLinks(ROOT, f)));
        assert.deepEqual(broken.flat(), []);
    });

    it("the pages link to something (the checker sees their links)", () => {
        assert.ok(linksOf(fs.readFileSync(path.join(ROOT, "README.md"), "utf8")).length >= 20);
    });

    describe("the checker, on fixtures", () => {
        let root: string;
        before(() => {
            root = fs.mkdtempSync(path.join(os.tmpdir(), "docs-links-"));
            fs.mkdirSync(path.join(root, "docs"));
            fs.writeFileSync(
                path.join(root, "docs/a.md"),
                [
                    "# Page A",
                    "## `cacheStrategy`",
                    "## Repeated",
                    "## Repeated",
                    '<a id="custom"></a>',
                    "[ok](b.md#section-two) [ok](#cachestrategy) [ok](#repeated-1) [ok](#custom) [ok](../docs)",
                    "[bad file](c.md) [bad anchor](b.md#nope) [bad here](#missing) [ext](https://x.test/y#z)",
                    "`[not a link](nowhere.md)`",
                    "```",
                    "[not a link either](nowhere.md)",
                    "```",
                ].join("\n"),
            );
            fs.writeFileSync(path.join(root, "docs/b.md"), "# B\n\n## Section two\n");
        });
        after(() => fs.rmSync(root, { recursive: true, force: true }));

        it("finds a missing file, a missing anchor in another page and in its own; skips URLs and code", async () => {
            assert.deepEqual(await brokenLinks(root, "docs/a.md"), [
                "docs/a.md:7: c.md: no such file or folder",
                "docs/a.md:7: b.md#nope: docs/b.md has no heading or anchor 'nope'",
                "docs/a.md:7: #missing: docs/a.md has no heading or anchor 'missing'",
            ]);
        });

        it("anchors as GitHub makes them: code spans' text, -1 for a repeated heading, explicit ids", async () => {
            const anchors = await anchorsOf(fs.readFileSync(path.join(root, "docs/a.md"), "utf8"));
            assert.deepEqual([...anchors].sort(), ["cachestrategy", "custom", "page-a", "repeated", "repeated-1"]);
        });
    });
});
