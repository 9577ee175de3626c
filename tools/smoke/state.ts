/**
 * The previous smoke run of a project, so that the next run shows its numbers beside the new ones and knows that
 * the cache was written: one JSON file per project in `.smoke/` at the repository's root (git-ignored).
 */
import * as fs from "fs";
import * as path from "path";
import type { PreviousRun } from "./verdict";

export interface StateStore {
    read(projectName: string): PreviousRun | undefined;
    write(projectName: string, run: PreviousRun): void;
}

/** The store in `dir`; a missing or unreadable file is no previous run. */
export function fileState(dir: string): StateStore {
    const file = (p: string) => path.join(dir, `${p.replace(/[^A-Za-z0-9_.-]/g, "_")}.json`);
    return {
        read(p) {
            try {
                const run = JSON.parse(fs.readFileSync(file(p), "utf8")) as PreviousRun;
                return Array.isArray(run.events) ? run : undefined;
            } catch {
                return undefined;
            }
        },
        write(p, run) {
            fs.mkdirSync(dir, { recursive: true });
            fs.writeFileSync(file(p), `${JSON.stringify(run, null, 2)}\n`);
        },
    };
}

/** A store in memory (tests, and `--no-state`). */
export function memoryState(initial: Record<string, PreviousRun> = {}): StateStore & {
    runs: Record<string, PreviousRun>;
} {
    const runs = { ...initial };
    return {
        runs,
        read: (p) => runs[p],
        write: (p, run) => {
            runs[p] = run;
        },
    };
}
