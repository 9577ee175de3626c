/**
 * `npm run performance`: writes docs/performance.md from results/bench.json (bench/performanceDoc.ts).
 * `npm run performance -- --check` writes nothing and exits 1 when the page differs from what the file gives.
 */
import * as fs from "fs";
import * as path from "path";
import { parseBenchFile } from "../../bench/benchFile";
import { performanceMarkdown } from "../../bench/performanceDoc";

const root = path.resolve(__dirname, "../..");
const json = path.join(root, "results", "bench.json");
const page = path.join(root, "docs", "performance.md");
const body = performanceMarkdown(parseBenchFile(fs.readFileSync(json, "utf8"))).trimEnd();
// The body is a generated block of tools/docs (its number and link checks read it; `npm run docs` renders it too).
const text = [
    "# Performance under a real network",
    "",
    "<!-- Made by `npm run performance` (or `npm run docs`) from results/bench.json: edit bench/performanceDoc.ts, not this page. -->",
    "",
    "<!-- generated:performance -->",
    body,
    "<!-- /generated:performance -->",
    "",
].join("\n");
if (process.argv.includes("--check")) {
    const now = fs.existsSync(page) ? fs.readFileSync(page, "utf8") : "";
    if (now !== text) {
        console.error(`${path.relative(root, page)} is not what results/bench.json gives: run npm run performance`);
        process.exit(1);
    }
    console.log(`${path.relative(root, page)} matches results/bench.json`);
} else {
    fs.mkdirSync(path.dirname(page), { recursive: true });
    fs.writeFileSync(page, text);
    console.log(`wrote ${path.relative(root, page)}`);
}
