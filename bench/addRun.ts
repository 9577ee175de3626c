/**
 * `npx tsx bench/addRun.ts RUN.json [--note TEXT]`: puts a bench run made elsewhere (another --out folder, or a
 * run's bench-partial-<profile>.json) into results/bench.json in place of its profile's run, and writes bench.md
 * again; its charts, if any, are copied with it. Then `npm run performance` makes docs/performance.md again.
 */
import * as fs from "fs";
import * as path from "path";
import { benchMarkdown, chartName, networkName, parseBenchFile, withRun } from "./benchFile";

const args = process.argv.slice(2);
const src = args[0];
const noteAt = args.indexOf("--note");
const note = noteAt >= 0 ? args[noteAt + 1] : undefined;
if (!src || (noteAt >= 0 && !note)) {
    console.error("usage: addRun.ts RUN.json [--note TEXT]");
    process.exit(2);
}
const root = path.resolve(__dirname, "..");
const json = path.join(root, "results", "bench.json");
let file = parseBenchFile(fs.readFileSync(json, "utf8"));
for (const run of parseBenchFile(fs.readFileSync(src, "utf8")).runs) {
    const withNote = note ? { ...run, note: [run.note, note].filter(Boolean).join("; ") } : run;
    file = withRun(file, withNote);
    const net = networkName(run);
    // A run's charts sit beside its JSON; an older bench named them without the profile.
    for (const section of [undefined, ...(run.sections ?? []).map((s) => s.key)]) {
        const from = [chartName(net, section), chartName("loopback", section)]
            .map((n) => path.join(path.dirname(src), n))
            .find((p) => fs.existsSync(p));
        if (from && net !== "loopback") fs.copyFileSync(from, path.join(root, "results", chartName(net, section)));
    }
    console.log(`${net}: ${run.records.length} main-table builds into results/bench.json`);
}
fs.writeFileSync(json, JSON.stringify(file, null, 2) + "\n");
fs.writeFileSync(path.join(root, "results", "bench.md"), benchMarkdown(file));
