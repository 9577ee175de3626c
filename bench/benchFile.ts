/**
 * results/bench.json: one bench run per network profile (standIn/networkProfiles.ts), the latest of each. `npm run
 * bench -- --network NAME` replaces the run of that profile and keeps the others, so the file holds the numbers of
 * every profile measured, each with its profile recorded. Pure: bench/run.ts reads and writes the file, and
 * bench.md is made from all of it ({@link benchMarkdown}).
 *
 * A file written before profiles existed holds one run at its top level: it reads as one `loopback` run.
 */
import { DEFAULT_NETWORK, NETWORK_PROFILES, NetworkProfile, profileSummary } from "../standIn/networkProfiles";
import { dockerServerMarkdown } from "./dockerServer";
import { BenchResults, markdown } from "./results";
import { scaleMarkdown } from "./scale";
import type { SectionResult } from "./section";

export interface BenchFile {
    /** One run per network profile, in NETWORK_PROFILES' order; each records its profile. */
    readonly runs: readonly (BenchResults & { network: NetworkProfile })[];
}

/** The profile's name a run was measured under (a run without one was measured on loopback). */
export function networkName(run: Pick<BenchResults, "network">): string {
    return run.network?.name ?? DEFAULT_NETWORK;
}

/** A run with its profile written out (a run from before profiles gets `loopback`'s). */
function withNetwork(run: BenchResults): BenchResults & { network: NetworkProfile } {
    return { ...run, network: run.network ?? NETWORK_PROFILES[DEFAULT_NETWORK] };
}

const ORDER = Object.keys(NETWORK_PROFILES);
const rank = (name: string) => (ORDER.includes(name) ? ORDER.indexOf(name) : ORDER.length);

/** The file's runs from its JSON text: `{ runs: [...] }`, or one run at the top level (before profiles). */
export function parseBenchFile(text: string): BenchFile {
    const json = JSON.parse(text) as Partial<BenchFile> & Partial<BenchResults>;
    if (Array.isArray(json.runs)) return { runs: json.runs.map(withNetwork) };
    if (Array.isArray(json.records)) return { runs: [withNetwork(json as BenchResults)] };
    throw new Error("bench.json: neither a list of runs ({ runs: [...] }) nor one run (records at the top level)");
}

/** The file with `run` in place of the run of the same profile (or added), runs in NETWORK_PROFILES' order. */
export function withRun(file: BenchFile | undefined, run: BenchResults): BenchFile {
    const r = withNetwork(run);
    const others = (file?.runs ?? []).filter((x) => networkName(x) !== networkName(r));
    return {
        runs: [...others, r].sort((a, b) => rank(networkName(a)) - rank(networkName(b))),
    };
}

/** The run measured under a profile, if the file has one. */
export function runOf(file: BenchFile, name: string): (BenchResults & { network: NetworkProfile }) | undefined {
    return file.runs.find((r) => networkName(r) === name);
}

/** The chart's file name for a profile: `bench.svg` (or `bench-<section>.svg`) for loopback, else with the profile. */
export function chartName(network: string, section?: string): string {
    const parts = ["bench", ...(section ? [section] : []), ...(network === DEFAULT_NETWORK ? [] : [network])];
    return `${parts.join("-")}.svg`;
}

/** Each section's table, by its key (bench/section.ts), for runs read back from the file. */
const SECTION_MARKDOWN: Record<string, (res: SectionResult) => string> = {
    scale: scaleMarkdown,
    "docker-server": dockerServerMarkdown,
};

/** bench.md: every run's tables, one profile after another, each under a heading that names its profile. */
export function benchMarkdown(file: BenchFile): string {
    const parts = file.runs.map((run) => {
        const net = networkName(run);
        const load = run.machine.loadAverage;
        const body = markdown(run).split("\n").slice(1).join("\n");
        const sections = (run.sections ?? []).map((s) =>
            (SECTION_MARKDOWN[s.key]?.(s as SectionResult) ?? `## ${s.title}\n\n(no table for this section)\n`)
                .replace(/^## /m, "### ")
                .replaceAll("(bench-scale.svg)", `(${chartName(net, "scale")})`),
        );
        return [
            `## Network profile \`${net}\`: ${profileSummary(run.network)}`,
            ``,
            `${run.network.description}.${load ? ` Load average (1, 5, 15 min) at the start ${load.start.join(", ")}, at the end ${load.end.join(", ")}, on ${run.machine.cpus} cores.` : ""} Chart: [${chartName(net)}](${chartName(net)}).`,
            body,
            ...sections,
        ].join("\n");
    });
    return [
        `# Benchmark: cold, warm (no change) and change-halfway rebuilds, per cache strategy and network profile`,
        ``,
        `One run per network profile of the link to the stand-in registry (standIn/networkProfiles.ts); the numbers of each run are ratios to its own cold builds. docs/performance.md compares the profiles.`,
        ``,
        ...parts,
    ].join("\n");
}
