/**
 * `npx tsx bench/fromLog.ts LOG PROFILE [--partial]`: a bench run that was stopped before it wrote bench.json,
 * read back from its progress log (bench/logRecords.ts) and put into results/bench.json under PROFILE
 * (standIn/networkProfiles.ts), marked as read from the log; bench.md and docs/performance.md are then made again with
 * `npm run performance`. `--partial` accepts a log whose last section did not finish (the note says so).
 */
import * as fs from "fs";
import * as path from "path";
import { benchMarkdown, parseBenchFile, withRun } from "./benchFile";
import { WORKLOADS } from "../localBuild/dockerfile";
import { changeStep, workShareAfterChange } from "../localBuild/experiment";
import { recordsFromLog } from "./logRecords";
import { BenchResults, ORIGINAL, TARGETS } from "./results";
import { NETWORK_PROFILES, NetworkProfileName } from "../standIn/networkProfiles";

const [logPath, profile] = process.argv.slice(2);
const partial = process.argv.includes("--partial");
if (!logPath || !(profile in NETWORK_PROFILES)) {
    console.error(
        `usage: fromLog.ts LOG PROFILE [--partial]; PROFILE one of ${Object.keys(NETWORK_PROFILES).join(", ")}`,
    );
    process.exit(2);
}
const records = recordsFromLog(fs.readFileSync(logPath, "utf8"));
const main = records
    .filter((r) => r.workload === "heavy" || r.workload === "light")
    .map((r) => ({ ...r, steps: WORKLOADS[r.workload as "heavy" | "light"].steps }));
const scale = records.filter((r) => /^light-\d+$/.test(r.workload ?? ""));
const heavy = WORKLOADS.heavy;
const stat = fs.statSync(logPath);
const res: BenchResults = {
    date: stat.mtime.toISOString(),
    network: NETWORK_PROFILES[profile as NetworkProfileName],
    note: `read from the run's progress log (bench/fromLog.ts): MB rounded to whole MB, no phase or step times${partial ? "; the run was stopped before its last section finished" : ""}`,
    machine: {
        cpus: 2,
        memoryGB: 24,
        docker: {},
        registryModes: [...new Set(main.flatMap((r) => r.registryMode ?? []))],
    },
    config: {
        steps: heavy.steps,
        mbPerStep: heavy.mbPerStep,
        hashRounds: heavy.hashRounds,
        changeAt: changeStep(heavy),
        imageMB: heavy.steps * heavy.mbPerStep,
    },
    workloads: [WORKLOADS.heavy, WORKLOADS.light],
    records: main,
    sections: scale.length ? [{ key: "scale", title: "Scale series", records: scale }] : [],
    original: ORIGINAL,
    targets: { ...TARGETS, changeMaxRatio: workShareAfterChange(heavy) + TARGETS.changeSlack },
};
const root = path.resolve(__dirname, "..");
const json = path.join(root, "results", "bench.json");
const file = withRun(parseBenchFile(fs.readFileSync(json, "utf8")), res);
fs.writeFileSync(json, JSON.stringify(file, null, 2) + "\n");
fs.writeFileSync(path.join(root, "results", "bench.md"), benchMarkdown(file));
console.log(
    `${profile}: ${main.length} main-table builds and ${scale.length} scale builds from ${logPath} into results/bench.json`,
);
