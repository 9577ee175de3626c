/**
 * A part of `npm run bench`: a set of builds with its own records, table and (optionally) chart. bench/run.ts runs
 * the sections that are switched on, in order, on one local host, and writes each one's Markdown under the main
 * table. A new measurement (e.g. the two-platform row) is a new section, added to `sections` in run.ts. (The skip
 * row is not a section: `warm, skip on` is a run of the main table, localBuild/experiment.ts RUN_PLAN.)
 */
import type { CacheStrategy } from "../components/args";
import type { LocalHost } from "../standIn/host";
import type { RegistryMode } from "../standIn/scenario";
import type { Progress, RunRecord } from "../localBuild/experiment";

export interface BenchContext {
    readonly host: LocalHost;
    /** The strategies asked for (--strategy). */
    readonly strategies: readonly CacheStrategy[];
    /** The builder of the `registry` strategy on CodeBuild's path (docker-container unless unavailable). */
    readonly registryMode: RegistryMode;
    /** Prints one line per build (start and result). */
    readonly progress: Progress;
    /** A repository name unique to this run. */
    repo(label: string): string;
}

export interface SectionResult {
    readonly key: string;
    readonly title: string;
    readonly records: readonly RunRecord[];
    /** Anything else the section measured (JSON-serializable). */
    readonly extra?: Record<string, unknown>;
}

export interface BenchSection {
    readonly key: string;
    readonly title: string;
    /** Builds this section will run, for the progress counter. */
    readonly count: (ctx: Pick<BenchContext, "strategies">) => number;
    readonly run: (ctx: BenchContext) => Promise<SectionResult>;
    /** Markdown of the section's result (a heading, a table, a note). */
    readonly markdown: (res: SectionResult) => string;
    /** An SVG chart, written as results/bench-<key>.svg. */
    readonly svg?: (res: SectionResult) => Promise<string>;
}
