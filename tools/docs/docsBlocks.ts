/**
 * Generated blocks inside hand-written pages: the numbers in README.md and docs/ come from `results/*.json` through
 * these functions, and the examples they show are the files the tests run. A block sits between two markers,
 *
 *     <!-- generated:NAME -->
 *     …what BLOCKS[NAME] renders…
 *     <!-- /generated:NAME -->
 *
 * `npm run docs` fills every block of every page (tools/docs/docs.ts); `tests/tools/docsBlocks.test.ts` fails while a block
 * differs from what its function renders now, or a page names a block that doesn't exist. A new measurement page (a
 * new results file) adds its block here. `example:<path>` embeds that file of the repository as a code block; `stacks`
 * compares the stack files as `pulumi up` resolves them (tools/docs/stacks.ts).
 */
import * as fs from "fs";
import * as path from "path";
import { reliabilityTable } from "../../bench/reliability";
import { parseBenchFile } from "../../bench/benchFile";
import { performanceMarkdown } from "../../bench/performanceDoc";
import { stacksBlock } from "./stacks";

export const ROOT = path.join(__dirname, "../..");

/** A marker pair's pattern: the name, and the text between the markers. */
const BLOCK = /<!-- generated:([^\s>]+) -->\n([\s\S]*?)<!-- \/generated:\1 -->/g;
const OPEN = /<!-- generated:([^\s>]+) -->/g;

// ---- results/bench.json, as bench/ writes it (the fields these blocks read) ----

/**
 * The run these blocks read: results/bench.json holds one run per network profile (bench/benchFile.ts); the blocks
 * keep the loopback run's numbers (docs/performance.md compares the profiles). A file from before profiles is one run.
 */
/** A run of results/bench.json: the one under network profile `profile` if there is one, else the loopback run. */
function benchRun(root: string, profile = "loopback"): BenchResults {
    const f = readJson<{ runs?: BenchResults[] } & BenchResults>(root, "results/bench.json");
    if (!f.runs) return f;
    const under = (name: string) => f.runs!.find((r) => (r.network?.name ?? "loopback") === name);
    return under(profile) ?? under("loopback") ?? f.runs[0];
}
interface BenchRecord {
    readonly strategy: string;
    readonly variant: string;
    readonly run: string;
    readonly buildSeconds: number;
    readonly pulledMB: number;
    readonly pushedMB: number;
    readonly cachedSteps: number;
    readonly rebuiltSteps: number;
    readonly skipped?: boolean;
    readonly workload?: string;
    readonly steps?: number;
    readonly exportSeconds?: number;
}
interface BenchResults {
    readonly date: string;
    readonly network?: { readonly name?: string };
    readonly machine: {
        readonly cpus: number;
        readonly loadAverage?: { readonly start: readonly number[]; readonly end: readonly number[] };
    };
    readonly workloads: readonly { readonly name: string; readonly description: string }[];
    readonly records: readonly BenchRecord[];
    readonly sections?: readonly { readonly key: string; readonly records: readonly BenchRecord[] }[];
    readonly original: {
        readonly source: string;
        readonly coldMinutes: number;
        readonly warmMinutes: number;
        readonly changeMinutes: number;
        readonly imageGB: number;
    };
}

function readJson<T>(root: string, file: string): T {
    return JSON.parse(fs.readFileSync(path.join(root, file), "utf8")) as T;
}

const s1 = (x: number) => `${x.toFixed(x < 1 ? 2 : 1)} s`;
const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

/** One record of a run, or a clear error naming what is missing from the results file. */
function find(records: readonly BenchRecord[], workload: string, variant: string, run: string): BenchRecord {
    const r = records.find((x) => (x.workload ?? "") === workload && x.variant === variant && x.run === run);
    if (r === undefined) throw new Error(`results/bench.json has no '${run}' run of ${variant} (${workload})`);
    return r;
}

/** The variant that is CodeBuild's path for `registry` (the docker-container builder). */
function registryVariant(records: readonly BenchRecord[]): string {
    const v = records.find((r) => r.strategy === "registry" && r.variant.includes("docker-container"))?.variant;
    if (v === undefined) throw new Error("results/bench.json has no registry run on the docker-container builder");
    return v;
}

/** README's three numbers: cold, warm and change of the default against the original recipe, under the network
 * profile derived from the original write-up (`writeup`) when results/bench.json has a run under it. */
function headline(root: string): string {
    const b = benchRun(root, "writeup");
    const reg = registryVariant(b.records);
    const [cold, warm, change, skip] = ["cold", "warm", "change", "warm, skip on"].map((run) =>
        find(b.records, "heavy", reg, run),
    );
    const o = b.original;
    return [
        "| | cold | warm, no change | change halfway |",
        "|---|---:|---:|---:|",
        `| the original recipe on CodeBuild (≈ ${o.imageGB} GB image) | ${o.coldMinutes} min | ${o.warmMinutes} min = **${pct(o.warmMinutes / o.coldMinutes)}** of cold | ${o.changeMinutes} min = **${pct(o.changeMinutes / o.coldMinutes)}** |`,
        `| this project's default, on a miniature of it | ${s1(cold.buildSeconds)} | ${s1(warm.buildSeconds)} = **${pct(warm.buildSeconds / cold.buildSeconds)}**, ${warm.pulledMB.toFixed(1)} MB pulled | ${s1(change.buildSeconds)} = **${pct(change.buildSeconds / cold.buildSeconds)}** |`,
        `| the same, no change and \`skipUnchanged\` on (the default) | | ${s1(skip.buildSeconds)} = **${pct(skip.buildSeconds / cold.buildSeconds)}** | |`,
        "",
        headlineCaption(b),
    ].join("\n");
}

function headlineCaption(b: BenchResults): string {
    const profile = b.network?.name ?? "loopback";
    const how = profile === "loopback" ? "`npm run bench`" : `\`npm run bench -- --network ${profile}\``;
    const link =
        profile === "writeup"
            ? "the registry link shaped like the original write-up's (about 17 MB/s from ECR)"
            : `the ${profile} network profile`;
    const load = b.machine.loadAverage;
    const range = load && [Math.min(...load.start, ...load.end), Math.max(...load.start, ...load.end)];
    const others = "the other profiles and what holds under each: [docs/performance.md](docs/performance.md).";
    const loaded =
        range === undefined
            ? ` More, ${others}`
            : range[1] > 1.5 * b.machine.cpus
              ? ` The machine was loaded (load average ${range[0].toFixed(0)}–${range[1].toFixed(0)}), which slows the CPU-bound cold build most and so flatters the shares; ${others}`
              : ` The machine was otherwise idle (load average ${range[0].toFixed(1)}–${range[1].toFixed(1)}); ${others}`;
    return `Measured ${b.date.slice(0, 10)} with ${how}, over ${link}, on ${b.machine.cpus} cores, each build on a fresh Docker host (results/bench.json).${loaded}`;
}

/** The benchmark's main table, one workload: every strategy's cold, warm and change, with the original. */
function benchTable(root: string, workload: string): string {
    const b = benchRun(root);
    const variants = [...new Set(b.records.filter((r) => r.workload === workload).map((r) => r.variant))];
    const o = b.original;
    const rows = variants.map((v) => {
        const cold = find(b.records, workload, v, "cold");
        const ratio = (run: string) => {
            const r = find(b.records, workload, v, run);
            return `${s1(r.buildSeconds)} = **${(r.buildSeconds / cold.buildSeconds).toFixed(3)}** (${r.cachedSteps} hits)`;
        };
        const warm = find(b.records, workload, v, "warm");
        return `| \`${v}\` | ${s1(cold.buildSeconds)} | ${ratio("warm")} | ${ratio("change")} | ${warm.pulledMB.toFixed(1)} |`;
    });
    const w = b.workloads.find((x) => x.name === workload);
    return [
        `Workload \`${workload}\`: ${w?.description ?? ""}. ${b.date.slice(0, 10)}, ${b.machine.cpus} cores (results/bench.json).`,
        "",
        "| strategy | cold | warm, no change (skip off) | change halfway | warm: MB pulled |",
        "|---|---:|---:|---:|---:|",
        `| the original recipe on CodeBuild (blog) | ${o.coldMinutes} min | ${o.warmMinutes} min = **${(o.warmMinutes / o.coldMinutes).toFixed(3)}** | ${o.changeMinutes} min = **${(o.changeMinutes / o.coldMinutes).toFixed(3)}** | ≈ ${o.imageGB} GB |`,
        ...rows,
    ].join("\n");
}

/** The skip's rows: cold, warm with skip off and on, per workload and skipping strategy. */
function skipTable(root: string): string {
    const b = benchRun(root);
    const rows = b.records
        .filter((r) => r.run === "warm, skip on")
        .map((skip) => {
            const w = skip.workload ?? "";
            const cold = find(b.records, w, skip.variant, "cold");
            const warm = find(b.records, w, skip.variant, "warm");
            return `| ${w} | \`${skip.variant}\` | ${s1(cold.buildSeconds)} | ${s1(warm.buildSeconds)} | ${skip.buildSeconds.toFixed(2)} s, ${skip.pulledMB.toFixed(1)} MB pulled, ${skip.pushedMB.toFixed(1)} MB pushed | **${pct(skip.buildSeconds / cold.buildSeconds)}** |`;
        });
    return [
        "| workload | strategy | cold | warm, skip off | warm, skip on | skip on, of cold |",
        "|---|---|---:|---:|---|---:|",
        ...rows,
    ].join("\n");
}

/** The scale series (`--scale`): per strategy and step count, cold, warm and the mean of the change builds. */
function scaleTable(root: string): string {
    const b = benchRun(root);
    const records = b.sections?.find((s) => s.key === "scale")?.records ?? [];
    if (records.length === 0) throw new Error("results/bench.json has no scale section");
    const keys = [...new Set(records.map((r) => `${r.variant}\u0000${r.steps}`))];
    const rows = keys.map((k) => {
        const [variant, steps] = k.split("\u0000");
        const of = records.filter((r) => r.variant === variant && String(r.steps) === steps);
        const get = (run: string) => of.find((r) => r.run === run);
        const cold = get("cold");
        const warm = get("warm");
        const changes = of.filter((r) => r.run.startsWith("change"));
        if (cold === undefined || warm === undefined || changes.length === 0) {
            throw new Error(`results/bench.json: the scale series lacks a run of ${variant} at ${steps} steps`);
        }
        const change = changes.reduce((n, r) => n + r.buildSeconds, 0) / changes.length;
        return `| \`${variant}\` | ${steps} | ${s1(cold.buildSeconds)} | ${s1(warm.buildSeconds)} = ${(warm.buildSeconds / cold.buildSeconds).toFixed(3)} | ${s1(change)} = ${(change / cold.buildSeconds).toFixed(3)} (mean of ${changes.length}) |`;
    });
    return [
        "| strategy | steps | cold | warm (no change, skip off) | change halfway |",
        "|---|---:|---:|---:|---:|",
        ...rows,
    ].join("\n");
}

/** CodeBuild's Docker server, modelled (`--docker-server`): each variant's cold, warm, change and recycled build. */
function dockerServerTable(root: string): string {
    const b = benchRun(root);
    const records = b.sections?.find((s) => s.key === "docker-server")?.records ?? [];
    if (records.length === 0) throw new Error("results/bench.json has no docker-server section");
    const rows: string[] = [];
    for (const w of [...new Set(records.map((r) => r.workload ?? ""))]) {
        for (const v of [...new Set(records.filter((r) => r.workload === w).map((r) => r.variant))]) {
            const cold = find(records, w, v, "cold");
            const c = (run: string) => {
                const r = find(records, w, v, run);
                return `${s1(r.buildSeconds)} = ${(r.buildSeconds / cold.buildSeconds).toFixed(3)}, ${r.pulledMB.toFixed(1)} MB pulled`;
            };
            rows.push(`| ${w} | ${v} | ${s1(cold.buildSeconds)} | ${c("warm")} | ${c("change")} | ${c("recycled")} |`);
        }
    }
    return [
        "| workload | on the Docker server | cold | warm | change | warm after the daemon was recycled |",
        "|---|---|---:|---:|---:|---:|",
        ...rows,
    ].join("\n");
}

// ---- results/platforms.json (bench/platforms.ts) ----
interface PlatformCell {
    readonly seconds: number;
    readonly cached: number;
    readonly steps: number;
    readonly succeeded: boolean;
}
interface PlatformsResults {
    readonly date: string;
    readonly config: { readonly steps: number; readonly mb: number; readonly rounds: number };
    readonly native: Record<string, { amd64: PlatformCell; arm64: PlatformCell; manifest: PlatformCell }>;
    readonly emulated: Record<string, PlatformCell>;
}

function platformsTable(root: string): string {
    const p = readJson<PlatformsResults>(root, "results/platforms.json");
    const c = (x: PlatformCell, steps = true) =>
        !x.succeeded ? "failed" : `${s1(x.seconds)}${steps ? ` (${x.cached}/${x.steps} cached)` : ""}`;
    return [
        `${p.config.steps} steps of ${p.config.mb} MB hashed ${p.config.rounds} times, ${p.date.slice(0, 10)} (results/platforms.json; \`npm run bench:platforms\`).`,
        "",
        "| build | native `build_amd64` | native `build_arm64` (QEMU here) | `manifest` | emulated, one build of both |",
        "|---|---|---|---|---|",
        ...Object.keys(p.native).map(
            (round) =>
                `| ${round} | ${c(p.native[round].amd64)} | ${c(p.native[round].arm64)} | ${c(p.native[round].manifest, false)} | ${c(p.emulated[round])} |`,
        ),
    ].join("\n");
}

// ---- results/reliability*.json (bench/reliability.ts) ----
function reliability(root: string, file: string): string {
    const r = readJson<{ trials: Parameters<typeof reliabilityTable>[0]; healthy: Record<string, string> }>(root, file);
    return `${reliabilityTable(r.trials, r.healthy)}\n\n(${file}; ${r.trials.length} runs.)`;
}

/**
 * A repository file as a fenced code block, so the docs show exactly the example a test runs: `example:<path>` the
 * whole file, `example:<path>:<first>-<last>` those lines of it (1-based, inclusive).
 */
function example(root: string, spec: string): string {
    const m = /^(.*?)(?::(\d+)-(\d+))?$/.exec(spec) as RegExpExecArray;
    const file = m[1];
    const all = fs.readFileSync(path.join(root, file), "utf8").trimEnd().split("\n");
    const [first, last] = m[2] === undefined ? [1, all.length] : [Number(m[2]), Number(m[3])];
    if (first < 1 || last > all.length || first > last) {
        throw new Error(`example:${spec}: ${file} has ${all.length} lines, not ${first} to ${last}`);
    }
    const lang = { ".ts": "ts", ".py": "python", ".yaml": "yaml", ".yml": "yaml" }[path.extname(file)] ?? "";
    const comment = lang === "ts" ? "//" : "#";
    const where = m[2] === undefined ? file : `${file}, lines ${first}-${last}`;
    return ["```" + lang, `${comment} ${where}`, ...all.slice(first - 1, last), "```"].join("\n");
}

/** The repository file an `example:` block shows, or undefined for another block. */
export function exampleFile(name: string): string | undefined {
    return name.startsWith("example:") ? name.slice("example:".length).replace(/:\d+-\d+$/, "") : undefined;
}

/** Every block a page may name, and what it renders. */
export const BLOCKS: Readonly<Record<string, (root: string) => string>> = {
    headline,
    "bench-heavy": (root) => benchTable(root, "heavy"),
    "bench-light": (root) => benchTable(root, "light"),
    skip: skipTable,
    scale: scaleTable,
    "docker-server": dockerServerTable,
    platforms: platformsTable,
    reliability: (root) => reliability(root, "results/reliability.json"),
    "reliability-16": (root) => reliability(root, "results/reliability-16-registry.json"),
    // docs/performance.md's body: every network profile's numbers (bench/performanceDoc.ts).
    performance: (root) => performanceBody(root),
    // docs/operations.md's comparison of the checked-in stacks, as `pulumi up` resolves them (tools/docs/stacks.ts).
    stacks: stacksBlock,
};

/** docs/performance.md's generated body, from results/bench.json (bench/performanceDoc.ts). */
function performanceBody(root: string): string {
    const text = fs.readFileSync(path.join(root, "results", "bench.json"), "utf8");
    return performanceMarkdown(parseBenchFile(text)).trimEnd();
}

/** What block `name` renders now (an `example:` block or one of {@link BLOCKS}). */
export function renderBlock(name: string, root = ROOT): string {
    if (name.startsWith("example:")) return example(root, name.slice("example:".length));
    const f = BLOCKS[name];
    if (f === undefined) {
        throw new Error(
            `unknown generated block '${name}': known are ${Object.keys(BLOCKS).join(", ")}, example:<path>`,
        );
    }
    return f(root);
}

/** The names of the blocks a page holds, in order; a marker that opens and never closes is an error. */
export function blockNames(text: string, file = "page"): string[] {
    const opened = [...text.matchAll(OPEN)].map((m) => m[1]);
    const closed = [...text.matchAll(BLOCK)].map((m) => m[1]);
    if (opened.length !== closed.length) {
        throw new Error(`${file}: a generated block opens and doesn't close (<!-- /generated:NAME -->)`);
    }
    return closed;
}

/** `text` with every block filled in as it renders now. */
export function fillBlocks(text: string, root = ROOT, file = "page"): string {
    blockNames(text, file);
    return text.replace(BLOCK, (_, name: string) => {
        return `<!-- generated:${name} -->\n${renderBlock(name, root)}\n<!-- /generated:${name} -->`;
    });
}

/** `text` with every block's content removed: what is written by hand. */
export function withoutBlocks(text: string): string {
    return text.replace(BLOCK, (_, name: string) => `<!-- generated:${name} -->\n<!-- /generated:${name} -->`);
}

/** The pages that may hold blocks and are checked: README.md and every markdown file under docs/. */
export function docPages(root = ROOT): string[] {
    const walk = (dir: string): string[] =>
        fs
            .readdirSync(path.join(root, dir), { withFileTypes: true })
            .flatMap((e) =>
                e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith(".md") ? [path.join(dir, e.name)] : [],
            );
    return ["README.md", ...walk("docs")].sort();
}

/**
 * What looks like a measured number: a decimal with a unit of time, size or share (`1.3 s`, `0.4 ms`, `96.5 MB`), or
 * any number with `%` or `×`. Outside generated blocks, README.md and the concern pages of docs/ may hold none: a
 * measurement comes from results/ through a block. Counts, limits and defaults (`6 attempts`, `8 s`, `5–2160`) are
 * whole numbers without `%` and pass. Decision records (docs/decisions/) keep the numbers of the experiment behind
 * each decision, as history, and are not held to this.
 */
const MEASURED = /(?<![\w.])\d+(?:\.\d+)?\s?(?:%|×)|(?<![\w.])\d+\.\d+\s?(?:s|ms|MB|GB|min)\b/g;

/** The measured-looking numbers of `text` outside its generated blocks, each with its line. */
export function measuredNumbersOutsideBlocks(text: string): { line: number; text: string }[] {
    const out: { line: number; text: string }[] = [];
    withoutBlocks(text)
        .split("\n")
        .forEach((l, i) => {
            for (const m of l.matchAll(MEASURED)) out.push({ line: i + 1, text: m[0] });
        });
    return out;
}

/** The pages held to {@link measuredNumbersOutsideBlocks}: README.md and docs/ but its decision records. */
export function numberCheckedPages(root = ROOT): string[] {
    return docPages(root).filter((f) => !f.startsWith(path.join("docs", "decisions")));
}
