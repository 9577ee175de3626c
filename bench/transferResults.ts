/**
 * The transfer bench's pure parts (bench/transfer.ts runs it): its variants, what a build's registry traffic and
 * manifests say (bytes pushed against the bytes of blobs that were new, duplicate uploads, existence checks), the
 * compression time BuildKit prints, and the Markdown of results/transfer.md.
 */
import type { CacheStrategy } from "../components/args";
import type { LayerCompression } from "../components/args";
import { NetworkProfile, profileSummary, shapes } from "../standIn/networkProfiles";
import type { LoggedRequest, UploadSummary } from "./requestLog";

/** The name of the network profile the bench ran on: bytes don't depend on it, seconds do. */
export type TransferNetwork = string;

/** One build of the transfer bench. */
export interface TransferRecord {
    readonly workload: string;
    /** `<strategy> <compression>`, e.g. `registry zstd`. */
    readonly variant: string;
    readonly strategy: CacheStrategy;
    readonly compression: LayerCompression;
    /**
     * `registry` only: the variant leaves every build's cache to export.sh, after the push (bench/transferOptions.ts,
     * TransferVariant.cacheAfter); absent in runs before the bench had `--variant`, where only the `change, export
     * after` run did.
     */
    readonly cacheAfter?: boolean;
    readonly run: string;
    /** The build's own seconds (the buildspec, login to post_build). */
    readonly buildSeconds: number;
    /**
     * Seconds of Dockerfile work in it: the rebuilt steps' own times as BuildKit prints them (localBuild/experiment.ts,
     * dockerfileWorkSeconds). `buildSeconds` less this is what the build spent on everything else (login, the cache
     * import, the image's push, the cache export): the part the cache's placement changes, and less at the mercy of a
     * loaded machine's CPU than the steps are. Absent in runs before it was recorded.
     */
    readonly dockerfileSeconds?: number;
    /** `registry`: seconds of export.sh's command (the second invocation), 0 when it did not export. */
    readonly exportSeconds?: number;
    readonly cachedSteps: number;
    readonly rebuiltSteps: number;
    readonly pushedMB: number;
    readonly pulledMB: number;
    /** Bytes of the blobs (layers, configs) the build's manifests name that the registry did not hold before. */
    readonly newBlobMB: number;
    /** The image's layers (compressed), all of them. */
    readonly imageLayerMB: number;
    readonly duplicateUploads: number;
    readonly duplicateMB: number;
    /** Blob existence checks that found the blob (an upload saved). */
    readonly headsFound: number;
    readonly requests: number;
    readonly requestsByKind: Readonly<Record<string, number>>;
    readonly requestsByClient: Readonly<Record<string, number>>;
    /** BuildKit's own `exporting layers … done` times: compressing the new layers (the CPU cost of the compression). */
    readonly compressSeconds: number;
    /** BuildKit's `pushing layers … done` times. */
    readonly pushSeconds: number;
    /** The media types of the image's layers. */
    readonly layerMediaTypes: readonly string[];
    readonly skipped: boolean;
}

/** The refs-order section: one build and its requests. */
export interface RefsRecord {
    readonly build: string;
    /** The --cache-from refs the build imported, in order. */
    readonly cacheFrom: readonly string[];
    readonly buildSeconds: number;
    readonly cachedSteps: number;
    readonly rebuiltSteps: number;
    readonly requests: number;
    readonly requestsByKind: Readonly<Record<string, number>>;
    readonly requestsByClient: Readonly<Record<string, number>>;
    readonly pulledMB: number;
}

export interface TransferResults {
    readonly date: string;
    readonly network: TransferNetwork;
    /** The profile's numbers (standIn/networkProfiles.ts), as applied to the registry's link; absent before profiles. */
    readonly profile?: NetworkProfile;
    /** What was run: the flags' values (absent in runs before the bench had the flags: every one). */
    readonly selection?: TransferSelection;
    readonly machine: {
        readonly cpus: number;
        readonly dockerd: string;
        readonly buildx: string;
        readonly buildkit: string;
        /** `os.loadavg()` at the start and the end of the run (as bench/run.ts records it): the machine is shared. */
        readonly loadAverage?: { readonly start: readonly number[]; readonly end: readonly number[] };
    };
    readonly workloads: readonly { name: string; description: string }[];
    readonly records: readonly TransferRecord[];
    readonly refs: readonly RefsRecord[];
    /** How the results were put together, when not by one run (e.g. two runs' records merged). */
    readonly note?: string;
}

/** The workloads, variants (their keys) and runs (their keys) a run selected, and whether it ran the refs section. */
export interface TransferSelection {
    readonly workloads: readonly string[];
    readonly variants: readonly string[];
    readonly runs: readonly string[];
    readonly refs: boolean;
}

/** A layer descriptor of a manifest. */
export interface Descriptor {
    readonly mediaType?: string;
    readonly digest: string;
    readonly size: number;
}

/** The blobs a manifest names: its config and its layers. */
export function manifestBlobs(m: { config?: Descriptor; layers?: readonly Descriptor[] } | undefined): Descriptor[] {
    if (!m) return [];
    return [...(m.config ? [m.config] : []), ...(m.layers ?? [])];
}

/**
 * Bytes of the blobs of `now` (several manifests' blobs) that `before` (the digests the registry held) lacks, each
 * digest once: what a build had to upload at the least.
 */
export function newBlobBytes(now: readonly Descriptor[], before: ReadonlySet<string>): number {
    const seen = new Set<string>();
    let n = 0;
    for (const d of now) {
        if (before.has(d.digest) || seen.has(d.digest)) continue;
        seen.add(d.digest);
        n += d.size;
    }
    return n;
}

/** Requests per client and per kind. */
export function requestCounts(log: readonly LoggedRequest[]): {
    byClient: Record<string, number>;
    byKind: Record<string, number>;
} {
    const byClient: Record<string, number> = {};
    const byKind: Record<string, number> = {};
    for (const r of log) {
        byClient[r.client] = (byClient[r.client] ?? 0) + 1;
        byKind[r.kind] = (byKind[r.kind] ?? 0) + 1;
    }
    return { byClient, byKind };
}

/**
 * The seconds of BuildKit's sub-steps named `what` (`exporting layers`, `pushing layers`) in a plain progress
 * output, summed over every export of the build: lines `#N <what> 1.2s done` (a sub-step that took no time prints
 * `#N <what> done`, counted 0).
 */
export function subStepSeconds(output: string, what: string): number {
    const re = new RegExp(`^(?:\\[[a-z_]+\\] )?#\\d+ ${what}(?: (\\d+(?:\\.\\d+)?)s)? done$`, "gm");
    let n = 0;
    for (const m of output.matchAll(re)) n += m[1] ? Number(m[1]) : 0;
    return n;
}

/** An UploadSummary's fields the records keep. */
export function uploadFields(
    u: UploadSummary,
): Pick<TransferRecord, "duplicateUploads" | "duplicateMB" | "headsFound"> {
    return { duplicateUploads: u.duplicateUploads, duplicateMB: u.duplicateBytes / 1e6, headsFound: u.headsFound };
}

const f1 = (n: number) => n.toFixed(1);

/** The records' table, in Markdown. */
export function recordsTable(records: readonly TransferRecord[]): string {
    const head =
        "| workload | variant | run | build s | cached / rebuilt | MB pushed | MB of new blobs | duplicate uploads (MB) | HEAD found | MB pulled | requests | compress s | push s |";
    const rows = records.map(
        (r) =>
            `| ${r.workload} | ${r.variant} | ${r.run} | ${f1(r.buildSeconds)} | ${r.cachedSteps} / ${r.rebuiltSteps} | ${f1(r.pushedMB)} | ${f1(r.newBlobMB)} | ${r.duplicateUploads} (${f1(r.duplicateMB)}) | ${r.headsFound} | ${f1(r.pulledMB)} | ${r.requests} | ${f1(r.compressSeconds)} | ${f1(r.pushSeconds)} |`,
    );
    return [head, `|${"---|".repeat(13)}`, ...rows].join("\n");
}

/** zstd against gzip, per workload, strategy and run: bytes pushed and pulled, image size, seconds. */
export function compressionComparison(records: readonly TransferRecord[]): string {
    const rows: string[] = [];
    for (const z of records.filter((r) => r.compression === "zstd")) {
        const g = records.find(
            (r) =>
                r.compression === "gzip" &&
                !r.cacheAfter &&
                r.workload === z.workload &&
                r.strategy === z.strategy &&
                r.run === z.run,
        );
        if (!g) continue;
        const pct = (a: number, b: number) => (b === 0 ? "–" : `${(((a - b) / b) * 100).toFixed(0)} %`);
        rows.push(
            `| ${z.workload} | ${z.strategy} | ${z.run} | ${f1(g.imageLayerMB)} → ${f1(z.imageLayerMB)} (${pct(z.imageLayerMB, g.imageLayerMB)}) | ${f1(g.pushedMB)} → ${f1(z.pushedMB)} | ${f1(g.pulledMB)} → ${f1(z.pulledMB)} | ${f1(g.compressSeconds)} → ${f1(z.compressSeconds)} | ${f1(g.buildSeconds)} → ${f1(z.buildSeconds)} |`,
        );
    }
    if (rows.length === 0) return "Not run (no zstd variant, or no gzip one beside it).";
    return [
        "| workload | strategy | run | image layers MB, gzip → zstd | MB pushed | MB pulled | compress s | build s |",
        "|---|---|---|---|---|---|---|---|",
        ...rows,
    ].join("\n");
}

/**
 * The cache written beside the push against after it: each build of a `cacheAfter` variant against the build of the
 * same workload, compression and run that wrote it beside the push (`registry gzip`), both from one bench run: bytes, duplicate uploads,
 * seconds, and the seconds' ratio after / beside.
 */
export function placementComparison(records: readonly TransferRecord[]): string {
    const rows: string[] = [];
    for (const a of records.filter((r) => r.cacheAfter && r.strategy === "registry")) {
        const b = records.find(
            (r) =>
                r.strategy === "registry" &&
                r.compression === a.compression &&
                !r.cacheAfter &&
                r.workload === a.workload &&
                r.run === a.run,
        );
        if (!b) continue;
        const ratio = (x: number, y: number) => (y > 0 ? (x / y).toFixed(2) : "–");
        const other = (r: TransferRecord) =>
            r.dockerfileSeconds === undefined ? undefined : r.buildSeconds - r.dockerfileSeconds;
        const [ob, oa] = [other(b), other(a)];
        const others =
            ob === undefined || oa === undefined ? "not recorded | –" : `${f1(ob)} → ${f1(oa)} | ${ratio(oa, ob)}`;
        rows.push(
            `| ${a.workload} | ${a.variant} | ${a.run} | ${f1(b.newBlobMB)} / ${f1(a.newBlobMB)} | ${f1(b.pushedMB)} → ${f1(a.pushedMB)} | ${b.duplicateUploads} (${f1(b.duplicateMB)}) → ${a.duplicateUploads} (${f1(a.duplicateMB)}) | ${b.requests} → ${a.requests} | ${f1(b.buildSeconds)} → ${f1(a.buildSeconds)} | ${ratio(a.buildSeconds, b.buildSeconds)} | ${others} |`,
        );
    }
    if (rows.length === 0) return "Not run (no `cache after push` variant, or no `registry` one beside it).";
    return [
        "`other s`: the build's seconds less its Dockerfile work (the rebuilt steps' own times): login, the cache import, the",
        "image's push and the cache's export, where the placement of the cache acts.",
        "",
        "| workload | after the push, as | run | MB of new blobs, beside / after | MB pushed, beside → after | duplicate uploads (MB), beside → after | requests, beside → after | build s, beside → after | build s, after / beside | other s, beside → after | other s, after / beside |",
        `|${"---|".repeat(11)}`,
        ...rows,
    ].join("\n");
}

/** The refs-order section's table. */
export function refsTable(refs: readonly RefsRecord[]): string {
    const kinds = ["manifest HEAD", "manifest GET", "blob GET", "blob HEAD"];
    return [
        `| build | --cache-from, in order | build s | cached / rebuilt | requests | ${kinds.join(" | ")} | MB pulled | by client |`,
        `|${"---|".repeat(7 + kinds.length)}`,
        ...refs.map(
            (r) =>
                `| ${r.build} | ${r.cacheFrom.map((c) => `\`${c}\``).join(", ")} | ${f1(r.buildSeconds)} | ${r.cachedSteps} / ${r.rebuiltSteps} | ${r.requests} | ${kinds.map((k) => r.requestsByKind[k] ?? 0).join(" | ")} | ${f1(r.pulledMB)} | ${Object.entries(
                    r.requestsByClient,
                )
                    .map(([c, n]) => `${c} ${n}`)
                    .join(", ")} |`,
        ),
    ].join("\n");
}

/** One run's Markdown: its network, machine and load, then its tables, headed at `level` (`##`, `###`). */
export function runMarkdown(t: TransferResults, level = "##"): string {
    const load = t.machine.loadAverage;
    const network =
        t.profile && shapes(t.profile)
            ? `**${t.network}** (${profileSummary(t.profile)}, applied to the registry's link behind the proxy that counts)`
            : `**${t.network}**`;
    return [
        `Run of ${t.date}. Network: ${network}${t.network === "loopback" ? ": bytes do not depend on the network; seconds here are loopback seconds, where moving a byte costs nothing" : ""}.`,
        `Machine: ${t.machine.cpus} CPUs; ${t.machine.dockerd}; ${t.machine.buildx}; BuildKit ${t.machine.buildkit}. Load average (1, 5, 15 min): ${load ? `${load.start.join(", ")} at the start, ${load.end.join(", ")} at the end` : "not recorded"}.`,
        ...(t.selection
            ? [
                  `Selected: workloads ${t.selection.workloads.join(", ")}; variants ${t.selection.variants.join(", ")}; runs ${t.selection.runs.join(", ")}; refs section ${t.selection.refs ? "run" : "left out"}.`,
              ]
            : []),
        ...(t.note ? ["", t.note] : []),
        "",
        "Workloads:",
        ...t.workloads.map((w) => `- \`${w.name}\`: ${w.description}`),
        "",
        `${level} The cache beside the push against after it`,
        "",
        placementComparison(t.records),
        "",
        `${level} zstd against gzip`,
        "",
        compressionComparison(t.records),
        "",
        `${level} Every build`,
        "",
        recordsTable(t.records),
        "",
        `${level} The order and count of \`--cache-from\` refs (registry strategy, gzip, light workload)`,
        "",
        refs(t.refs),
        "",
    ].join("\n");
}

/** results/transfer.md: what the columns mean, then every run of the file, each under its network and date. */
export function transferMarkdown(runs: readonly TransferResults[]): string {
    return [
        "# Transfer bench: the cache beside or after the push, zstd against gzip, the order of `--cache-from` refs",
        "",
        "Generated by `npm run bench:transfer` (bench/transfer.ts). Each build on a fresh Docker host against the stand-in",
        "registry; bytes and requests counted at a proxy in front of it (bench/requestLog.ts), which sits in front of the",
        "registry's own proxy that applies the network profile (standIn/shapedLink.ts): the bytes counted are the bytes sent.",
        "",
        "Runs: `cold` (empty repository, skip on: the build writes the cache beside its push), `warm` (no change, skip off),",
        "`change` (one step halfway changed, skip on: the cache written beside the push, the default), `change, export after`",
        "(`registry` only: the same step changed again, skip off: export.sh writes the cache in a second invocation after the push).",
        "Variant `registry gzip, cache after push`: every build with skip off, so export.sh writes the cache after the push.",
        "",
        "`MB of new blobs`: the blobs the build's image and cache manifests name that the registry did not hold before, each",
        "counted once: what the build had to push at the least. `duplicate uploads`: uploads of a digest already uploaded in",
        "the same build. `HEAD found`: existence checks that found the blob, so its upload was saved. `compress s`: BuildKit's",
        "`exporting layers` times (compressing the new layers); `push s`: its `pushing layers` times.",
        "",
        ...runs.map((t) => [`## ${t.network}, ${t.date}`, "", runMarkdown(t, "###")].join("\n")),
    ].join("\n");
}

function refs(r: readonly RefsRecord[]): string {
    return r.length === 0 ? "Not run." : refsTable(r);
}

/**
 * results/transfer.json: the transfer bench's runs, `{ runs: [...] }`, oldest first. A file written before the bench
 * took a network holds one run at its top level: it reads as that one run.
 */
export interface TransferFile {
    readonly runs: readonly TransferResults[];
}

/** The file's runs from its JSON text. */
export function parseTransferFile(text: string): TransferFile {
    const json = JSON.parse(text) as Partial<TransferFile> & Partial<TransferResults>;
    if (Array.isArray(json.runs)) return { runs: json.runs };
    if (Array.isArray(json.records)) return { runs: [json as TransferResults] };
    throw new Error("transfer.json: neither a list of runs ({ runs: [...] }) nor one run (records at the top level)");
}

/** The same network and the same selection (a run from before the flags selected everything, with refs). */
function sameShape(a: TransferResults, b: TransferResults): boolean {
    const key = (t: TransferResults) => JSON.stringify([t.network, t.selection ?? null]);
    return key(a) === key(b);
}

/**
 * The file with `run` added: it takes the place of an earlier run of the same network and selection (a rerun, or
 * the same run's partial results written as it goes), and is appended after the others otherwise, so a run of a few
 * workloads under another network keeps the runs before it.
 */
export function withTransferRun(file: TransferFile | undefined, run: TransferResults): TransferFile {
    const runs = [...(file?.runs ?? [])];
    const i = runs.findIndex((r) => sameShape(r, run));
    if (i >= 0) runs[i] = run;
    else runs.push(run);
    return { runs };
}
