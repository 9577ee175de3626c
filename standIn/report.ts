// Reads BuildKit `--progress=plain` output and tells, per `docker build`, which Dockerfile steps
// came from the cache and which were rebuilt; formats a short per-build table.
//
// Plain progress prints `#N <name>` headers, then lines `#N ...`, and ends a vertex with
// `#N CACHED`, `#N DONE 1.2s`, `#N ERROR: ...` or `#N CANCELED`. Lines of concurrent vertices
// interleave and headers repeat, so everything is keyed by the vertex number N. `#0 building with
// "..." instance using ... driver` starts each build (a buildspec can run several).
// Dockerfile steps are the vertices named `[k/M] INSTR ...` or `[stage k/M] INSTR ...`; the rest
// (`[internal] load ...`, `[auth] ...`, `exporting to image`, `importing cache manifest ...`,
// `exporting cache ...`, `resolve image config ...`) are internal and not counted.
// `docker buildx create --bootstrap` prints `#1 [internal] booting buildkit`, and `docker buildx imagetools create`
// `#1 [internal] pushing <ref>`, with no `#0 building with` line before them: vertices seen outside a build and named
// like that are the builder's start or a registry-side tag, not a build.
import { mb } from "./util";

export type StepStatus = "CACHED" | "DONE" | "ERROR" | "CANCELED" | "RUNNING";

export interface DockerfileStep {
    /** BuildKit vertex number (#N) */
    id: number;
    stage?: string;
    index: number;
    total: number;
    /** FROM, RUN, COPY, ADD, WORKDIR, ... */
    instruction: string;
    text: string;
    status: StepStatus;
    seconds?: number;
    /** CACHED because its layers were fetched from the imported cache, though BuildKit printed DONE (see below). */
    fetchedFromCache?: boolean;
    /** Layers were downloaded on this step's vertex (`sha256:… done`, `extracting sha256:…`): a hit a later step needed. */
    downloaded?: boolean;
}

export interface BuildKitBuild {
    /** Driver line (`#0 building with "default" instance using docker driver`), if printed. */
    builder?: string;
    steps: DockerfileStep[];
    /** Non-FROM steps that were CACHED. */
    cached: number;
    /** Non-FROM steps that ran (DONE without CACHED). */
    rebuilt: number;
    errored: number;
    /** FROM steps: CACHED vs resolved/pulled (DONE). */
    fromCached: number;
    fromDone: number;
    /** Names of internal vertices that mention cache import/export, for diagnosis. */
    cacheVertices: string[];
    /** Names of the other internal vertices. */
    internal: string[];
}

export interface BuildKitReport {
    builds: BuildKitBuild[];
    cached: number;
    rebuilt: number;
    errored: number;
}

const PREFIX = /^\[[A-Za-z_]+\] /; // "[build] " added by the runner
const HEADER = /^#(\d+) (.*)$/;
const STEP = /^\[(?:(\S+)\s+)?\s*(\d+)\/(\d+)\] (\S+)\s*(.*)$/; // BuildKit pads the index: "[ 2/10]", "[builder  2/10]"

// A cache hit whose layer BuildKit has to download (a lazy remote-cache hit: the parent of a step that
// runs, or a layer the exporter needs) is sometimes printed as `#N sha256:<digest> 92B / 92B done`,
// `#N extracting sha256:<digest> done`, `#N DONE 0.4s` with no `#N CACHED` line at all, depending on the
// timing of progress events (seen with buildx 0.13 + dockerd 26). Those download lines belong to the
// vertex whose result is fetched, and a step that runs prints its process output as `#N 0.123 text`.
// So a DONE step vertex with layer downloads and no process output is counted as CACHED.
const FETCH_LINE = /^(?:sha256:[0-9a-f]{64} .*done|extracting sha256:[0-9a-f]{64})/;
const PROCESS_OUTPUT = /^\d+\.\d+ /;
const BOOT = "[internal] booting buildkit";
/** The vertex `docker buildx imagetools create` prints while it writes a tag (a registry-side copy, not a build). */
const IMAGETOOLS_PUSH = "[internal] pushing ";

type Vertex = { name: string; status?: StepStatus; seconds?: number; fetched?: boolean; ran?: boolean };

function emptyBuild(builder?: string): BuildKitBuild {
    return {
        builder,
        steps: [],
        cached: 0,
        rebuilt: 0,
        errored: 0,
        fromCached: 0,
        fromDone: 0,
        cacheVertices: [],
        internal: [],
    };
}

export function parseBuildkitPlain(text: string): BuildKitReport {
    const out: BuildKitBuild[] = [];
    let b: BuildKitBuild | undefined;
    let vertices = new Map<number, Vertex>();
    /** Vertex numbers of a `buildx create --bootstrap` seen outside any build. */
    let boot = new Set<number>();
    const flush = () => {
        if (!b) return;
        for (const [id, v] of [...vertices.entries()].sort((x, y) => x[0] - y[0])) {
            const s = STEP.exec(v.name);
            if (!s) {
                if (/cache/i.test(v.name)) b.cacheVertices.push(v.name);
                else b.internal.push(v.name);
                continue;
            }
            const step: DockerfileStep = {
                id,
                stage: s[1],
                index: Number(s[2]),
                total: Number(s[3]),
                instruction: s[4].toUpperCase(),
                text: `${s[4]} ${s[5]}`.trim(),
                status: v.status ?? "RUNNING",
                seconds: v.seconds,
                ...(v.fetched ? { downloaded: true } : {}),
            };
            if (step.status === "DONE" && v.fetched && !v.ran && step.instruction !== "FROM") {
                step.status = "CACHED";
                step.fetchedFromCache = true;
            }
            b.steps.push(step);
            if (step.instruction === "FROM") {
                if (step.status === "CACHED") b.fromCached++;
                else if (step.status === "DONE") b.fromDone++;
            } else if (step.status === "CACHED") b.cached++;
            else if (step.status === "DONE") b.rebuilt++;
            if (step.status === "ERROR") b.errored++;
        }
        out.push(b);
    };
    for (const raw of text.split("\n")) {
        const line = raw.replace(PREFIX, "").replace(/\r$/, "");
        const m = HEADER.exec(line);
        if (!m) continue;
        const id = Number(m[1]);
        const rest = m[2];
        const starts = id === 0 && rest.startsWith("building with");
        if (!starts && !b && (rest === BOOT || rest.startsWith(IMAGETOOLS_PUSH) || boot.has(id))) {
            boot.add(id);
            continue;
        }
        if (starts || !b) {
            flush();
            b = emptyBuild(starts ? rest : undefined);
            vertices = new Map();
            boot = new Set();
            if (starts) continue;
        }
        let v = vertices.get(id);
        if (rest === "CACHED") {
            if (v) v.status = "CACHED";
        } else if (/^DONE \d/.test(rest)) {
            if (v && v.status !== "CACHED") {
                v.status = "DONE";
                v.seconds = Number(/^DONE (\d+(?:\.\d+)?)s/.exec(rest)?.[1] ?? 0);
            }
        } else if (rest.startsWith("ERROR")) {
            if (v) v.status = "ERROR";
        } else if (rest === "CANCELED") {
            if (v && v.status !== "CACHED" && v.status !== "DONE") v.status = "CANCELED";
        } else if (v) {
            if (FETCH_LINE.test(rest)) v.fetched = true;
            else if (PROCESS_OUTPUT.test(rest)) v.ran = true;
        } else {
            // The first line of a vertex is its name; later lines ("#N 0.123 output", "#N resolve ... done")
            // belong to it: only layer downloads and process output are noted (above).
            v = { name: rest };
            vertices.set(id, v);
        }
    }
    flush();
    return {
        builds: out,
        cached: out.reduce((n, x) => n + x.cached, 0),
        rebuilt: out.reduce((n, x) => n + x.rebuilt, 0),
        errored: out.reduce((n, x) => n + x.errored, 0),
    };
}

export interface ReportInput {
    label?: string;
    succeeded: boolean;
    phases: Array<{ name: string; status: string; durationMs: number }>;
    timings?: Record<string, number>;
    steps: BuildKitReport;
    bytes: { pushedBytes: number; pulledBytes: number };
}

/** A short text table for one build. */
export function formatReport(r: ReportInput): string {
    const rows: string[] = [];
    rows.push(`== ${r.label ?? "build"}: ${r.succeeded ? "SUCCEEDED" : "FAILED"}`);
    rows.push(
        "   phases: " +
            r.phases
                .filter((p) => p.status !== "ABSENT")
                .map(
                    (p) =>
                        `${p.name} ${p.status === "SUCCEEDED" ? "" : p.status + " "}${(p.durationMs / 1000).toFixed(1)}s`,
                )
                .join(" | "),
    );
    if (r.timings) {
        rows.push(
            "   timings: " +
                Object.entries(r.timings)
                    .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)}s`)
                    .join(" | "),
        );
    }
    r.steps.builds.forEach((b, i) => {
        const from = b.fromCached + b.fromDone ? `, FROM ${b.fromCached ? "cached" : "pulled"}` : "";
        rows.push(
            `   docker build #${i + 1}: ${b.cached} cached, ${b.rebuilt} rebuilt${b.errored ? `, ${b.errored} errored` : ""}${from}`,
        );
        for (const s of b.steps) {
            const t = s.seconds !== undefined ? ` ${s.seconds}s` : "";
            rows.push(
                `      #${s.id} ${s.stage ? s.stage + " " : ""}${s.index}/${s.total} ${s.status.padEnd(7)}${t.padEnd(7)} ${s.text.slice(0, 70)}`,
            );
        }
    });
    rows.push(`   registry: ${mb(r.bytes.pulledBytes)} MB pulled, ${mb(r.bytes.pushedBytes)} MB pushed`);
    return rows.join("\n");
}
