/**
 * `npm run docs`: rewrites the generated reference pages (docs/configuration.md, docs/outputs.md: tools/docs/docsPages.ts)
 * and fills every generated block in README.md and docs/ (tools/docs/docsBlocks.ts) from schema.json, Pulumi.yaml,
 * index.ts, results/*.json, the examples and the stack files (Pulumi.<stack>.yaml, with the code's defaults:
 * tools/docs/stacks.ts). Run it after a change to any of those; the docs tests fail until then.
 */
import * as fs from "fs";
import * as path from "path";
import { docPages, fillBlocks, ROOT } from "./docsBlocks";
import { generatedPages } from "./docsPages";

function write(file: string, text: string): void {
    const full = path.join(ROOT, file);
    const old = fs.existsSync(full) ? fs.readFileSync(full, "utf8") : undefined;
    if (old !== text) fs.writeFileSync(full, text);
    console.log(`${old === text ? "unchanged" : old === undefined ? "created  " : "rewritten"} ${file}`);
}

for (const { file, text } of generatedPages()) {
    write(file, text);
}
for (const file of docPages()) {
    const text = fs.readFileSync(path.join(ROOT, file), "utf8");
    const filled = fillBlocks(text, ROOT, file);
    if (filled !== text) write(file, filled);
}
