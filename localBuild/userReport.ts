// The report of `npm run local-build -- --context DIR` (userBuild.ts runs the builds): pure functions of the
// builds' records, tested without Docker (tests/localBuild/userReport.test.ts).
//
// - Steps are known by stage and index (`[builder 3/7]`, `[stage-1 3/5]`), as BuildKit numbers them, and listed in
//   Dockerfile order, every step of every stage (advice.ts `dockerfileSteps`); a stage the build doesn't need (a
//   `--target` before it) shows `-`.
// - "Build order" is Dockerfile order: a stage can only use stages above it, so a step's inputs all come before it.
//   A change "invalidates" the first step in that order that was rebuilt.
// - With `--runs N` every build is run N times (each run from a cold cache): times and shares of cold are the
//   median and the range of the runs; a share whose range is wider than {@link SPREAD_POINTS} points is flagged;
//   which steps hit the cache must be the same in every run, and the report says whether it was.
import { type Dockerfile, dockerfileSteps, Finding, findingCost, PlannedStep, stepKey, stepsOfLines } from "./advice";
import type { BuildkitCheck } from "./advice";
import type { DockerfileStep } from "../standIn/report";
import { buildLabel, StepOutcome, stepOutcome, UserBuildRecord } from "./userBuild";

/** Every run's records, `runs[r][b]`: run r, build b (cold, warm, then one per change), the same builds in each run. */
export type Runs = readonly (readonly UserBuildRecord[])[];

/** A share of cold whose runs spread over more than this many percentage points is flagged. */
export const SPREAD_POINTS = 10;

const pct = (x: number) => `${Math.round(x * 100)} %`;
const sec = (x: number) => `${x.toFixed(1)} s`;

export function median(xs: readonly number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Median, smallest and largest of some numbers. */
export interface Spread {
    median: number;
    min: number;
    max: number;
}
export function spread(xs: readonly number[]): Spread {
    return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
}

/** Per build b: its time and its share of its own run's cold build, over the runs. */
export function buildSpreads(runs: Runs): Array<{ time: Spread; share: Spread }> {
    return runs[0].map((_, b) => {
        const times = runs.map((r) => r[b].buildSeconds);
        const shares = runs.map((r) => {
            const cold = r.find((x) => x.name === "cold");
            return cold ? r[b].buildSeconds / cold.buildSeconds : NaN;
        });
        return { time: spread(times), share: spread(shares) };
    });
}

/** true when the share of cold spreads over more than {@link SPREAD_POINTS} percentage points. */
export const wideShare = (s: Spread) => (s.max - s.min) * 100 > SPREAD_POINTS;

/** `[builder 3/7] COPY deps.txt .` */
export const stepName = (s: { stage?: string; index: number; total: number; text: string }) =>
    `[${s.stage ? `${s.stage} ` : ""}${s.index}/${s.total}] ${s.text}`;

/** Sorts steps in build order: by the Dockerfile position of their stage, then by index. */
function buildOrder(plan: readonly PlannedStep[]): (a: { stage?: string; index: number }, b: typeof a) => number {
    const stagePos = new Map(plan.map((p) => [p.stage, p.stageIndex]));
    const pos = (s: { stage?: string }) => stagePos.get(s.stage ?? "") ?? Number.MAX_SAFE_INTEGER;
    return (a, b) => pos(a) - pos(b) || a.index - b.index;
}

/** The rebuilt steps of a build (FROM aside), in build order. */
export function rebuiltSteps(plan: readonly PlannedStep[], r: UserBuildRecord): DockerfileStep[] {
    return r.steps.filter((s) => s.instruction !== "FROM" && stepOutcome(s) === "rebuilt").sort(buildOrder(plan));
}

interface StepRow {
    key: string;
    name: string;
    /** Per build: the outcomes over the runs, "-" where the step was not in the build. */
    cells: string[];
}

/** One row per step of every stage, in Dockerfile order (steps BuildKit printed that the parse lacks come last in their stage). */
export function stepRows(plan: readonly PlannedStep[], runs: Runs): StepRow[] {
    const seen = new Map<string, { stage?: string; index: number; total: number; text: string }>();
    for (const p of plan) seen.set(stepKey(p), p);
    const fromKeys = new Set(plan.filter((p) => p.keyword === "FROM").map(stepKey));
    // BuildKit's own text (a FROM with its resolved digest, variables expanded) over the parse's.
    for (const run of runs) for (const r of run) for (const s of r.steps) seen.set(stepKey(s), s);
    const order = buildOrder(plan);
    return [...seen.values()].sort(order).map((s) => {
        const key = stepKey(s);
        const cells = runs[0].map((_, b) => {
            const outcomes: string[] = [];
            for (const run of runs) {
                const step = run[b].steps.find((x) => stepKey(x) === key);
                // BuildKit runs two FROMs of one image as one vertex and prints it under the first stage's name only.
                const shared =
                    !step && fromKeys.has(key) && run[b].steps.some((x) => (x.stage ?? "") === (s.stage ?? ""));
                const o = step ? stepOutcome(step) : shared ? "shared" : "-";
                if (!outcomes.includes(o)) outcomes.push(o);
            }
            return outcomes.join("|");
        });
        return { key, name: stepName(s), cells };
    });
}

/** The step rows as a table: one column per build; a cell lists every outcome the runs saw, `|` between. */
export function stepMatrix(plan: readonly PlannedStep[], runs: Runs): string {
    const rows = stepRows(plan, runs);
    const head = ["step", ...runs[0].map(buildLabel)];
    const out = [
        table(
            head,
            rows.map((r) => [r.name.slice(0, 60), ...r.cells]),
            1,
        ),
    ];
    if (rows.some((r) => r.cells.some((c) => c.split("|").includes("-"))))
        out.push("- : not in that build (its stage isn't needed for the target)");
    if (rows.some((r) => r.cells.some((c) => c.split("|").includes("shared"))))
        out.push(
            "shared : a FROM of the same image as an earlier stage's; BuildKit pulls it once, under that stage's name",
        );
    if (rows.some((r) => r.cells.some((c) => c.includes("|"))))
        out.push("a|b : the runs differed (in the order they first appeared)");
    return out.join("\n");
}

/** Per build: time and share of cold (median, range), MB (median), and how many steps hit, downloaded or rebuilt. */
export function buildTable(runs: Runs): string {
    const spreads = buildSpreads(runs);
    const many = runs.length > 1;
    const range = (s: Spread, f: (x: number) => string) => (many ? `${f(s.min)}–${f(s.max)}` : "-");
    const head = [
        "build",
        "time",
        "range",
        "% of cold",
        "range",
        "MB pulled",
        "MB pushed",
        "hit",
        "downloaded",
        "rebuilt",
    ];
    const body = runs[0].map((r, b) => {
        const { time, share } = spreads[b];
        const count = (o: StepOutcome) => {
            const ns = runs.map(
                (run) => run[b].steps.filter((s) => s.instruction !== "FROM" && stepOutcome(s) === o).length,
            );
            const lo = Math.min(...ns);
            const hi = Math.max(...ns);
            return lo === hi ? String(lo) : `${lo}–${hi}`;
        };
        return [
            buildLabel(r),
            sec(time.median),
            range(time, (x) => x.toFixed(1)),
            `${Math.round(share.median * 100)}`,
            r.name === "cold"
                ? "-"
                : `${range(share, (x) => String(Math.round(x * 100)))}${many && wideShare(share) ? " !" : ""}`,
            median(runs.map((run) => run[b].pulledMB)).toFixed(1),
            median(runs.map((run) => run[b].pushedMB)).toFixed(1),
            count("hit"),
            count("downloaded"),
            count("rebuilt"),
        ];
    });
    return table(head, body, 1);
}

function table(head: string[], body: string[][], leftColumns: number): string {
    const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
    const line = (cells: string[]) =>
        cells
            .map((c, i) => (i < leftColumns ? c.padEnd(widths[i]) : c.padStart(widths[i])))
            .join("  ")
            .trimEnd();
    return [line(head), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}

/** What the spread says: the runs counted, the flagged shares, and whether the cache hits agreed. */
export function spreadLines(plan: readonly PlannedStep[], runs: Runs): string[] {
    if (runs.length === 1) return ["1 run: no spread to show (--runs 3 or more gives a median and a range)"];
    const lines = [`${runs.length} runs, each from a cold cache: times and shares are medians, with their range`];
    const spreads = buildSpreads(runs);
    runs[0].forEach((r, b) => {
        if (wideShare(spreads[b].share))
            lines.push(
                `! ${buildLabel(r)}: its share of cold spread over ${Math.round((spreads[b].share.max - spreads[b].share.min) * 100)} points (more than ${SPREAD_POINTS}): read it as a range, not a number (more --runs, or a quieter machine, narrow it)`,
            );
    });
    const disagree = hitDisagreements(plan, runs);
    if (disagree.length === 0)
        lines.push(`cache hits agree: every step hit or rebuilt alike in all ${runs.length} runs`);
    else lines.push(`cache hits DIFFER between runs:`, ...disagree.map((l) => `  ${l}`));
    return lines;
}

/** One line per build and step whose cache use (from the cache, or rebuilt) was not the same in every run. */
export function hitDisagreements(plan: readonly PlannedStep[], runs: Runs): string[] {
    const lines: string[] = [];
    runs[0].forEach((r, b) => {
        for (const row of stepRows(plan, runs)) {
            const per = runs.map((run) => {
                const s = run[b].steps.find((x) => stepKey(x) === row.key && x.instruction !== "FROM");
                if (!s) return "absent";
                const o = stepOutcome(s);
                return o === "hit" || o === "downloaded" ? "from the cache" : o;
            });
            if (per.every((p) => p === per[0])) continue;
            const by = new Map<string, number[]>();
            per.forEach((p, i) => by.set(p, [...(by.get(p) ?? []), i + 1]));
            const said = [...by.entries()].map(([p, ns]) => `${p} in run${ns.length > 1 ? "s" : ""} ${ns.join(", ")}`);
            lines.push(`${buildLabel(r)}: ${row.name.slice(0, 50)}: ${said.join("; ")}`);
        }
    });
    return lines;
}

/** One verdict line per warm and change build: the first step it rebuilt in build order, and its share of cold. */
export function verdictLines(plan: readonly PlannedStep[], runs: Runs): string[] {
    const first = runs[0];
    const coldAt = first.findIndex((r) => r.name === "cold");
    if (coldAt < 0) return [];
    const spreads = buildSpreads(runs);
    const coldTime = spreads[coldAt].time.median;
    const cost = (b: number) => {
        const { share, time } = spreads[b];
        const of = `${sec(time.median)} of ${sec(coldTime)}`;
        if (runs.length === 1) return `costs ${pct(share.median)} of the cold build (${of})`;
        return `costs ${pct(share.median)} of the cold build (median of ${runs.length} runs, range ${Math.round(share.min * 100)}–${pct(share.max)}; ${of})`;
    };
    const lines: string[] = [];
    first.forEach((r, b) => {
        if (r.name === "cold") return;
        const work = r.steps.filter((s) => s.instruction !== "FROM");
        const rebuilt = rebuiltSteps(plan, r);
        const who = r.name === "warm" ? "no change" : `a change to ${r.changed}`;
        // Whether every run names the same first step.
        const firsts = runs.map((run) => {
            const f = rebuiltSteps(plan, run[b])[0];
            return f ? stepName(f).slice(0, 50) : "no step";
        });
        const differ = firsts.some((f) => f !== firsts[0])
            ? ` (the runs differ: ${firsts.map((f, i) => `run ${i + 1} ${f}`).join(", ")})`
            : "";
        if (rebuilt.length === 0) {
            lines.push(
                `${who}: invalidates no step (${work.length} of ${work.length} from the cache)${r.name === "change" ? ": the file is not in the build (.dockerignore, or never copied)" : ""}${differ}; ${cost(b)}`,
            );
        } else {
            lines.push(
                `${who}: invalidates ${stepName(rebuilt[0]).slice(0, 60)}; ${rebuilt.length} of ${work.length} steps rebuilt${differ}; ${cost(b)}`,
            );
        }
    });
    return lines;
}

/** A finding with its measured cost from the first run's builds, as printed. */
export function findingLines(parsed: Dockerfile, f: Finding, records: readonly UserBuildRecord[]): string[] {
    const cold = records.find((r) => r.name === "cold");
    const lines = [`line ${f.line}  ${f.rule}: ${f.message}`];
    if (cold) {
        const cost = findingCost(parsed, f, cold.steps);
        const stepTime = cold.steps.reduce((t, s) => t + (s.seconds ?? 0), 0);
        if (cost) {
            let m = `measured: the ${cost.steps} step${cost.steps === 1 ? "" : "s"} it puts at risk took ${sec(cost.seconds)} of the cold build's ${sec(stepTime)} of step time`;
            const reran = records
                .filter((r) => r.name === "change")
                .map((r) => ({
                    path: r.changed,
                    n: stepsOfLines(parsed, r.steps, f.atRisk).filter((s) => stepOutcome(s) === "rebuilt").length,
                }))
                .filter((x) => x.n > 0)
                .map(
                    (x) =>
                        `the change to ${x.path} reran ${x.n === cost.steps ? (x.n === 1 ? "it" : "all of them") : `${x.n} of them`}`,
                );
            if (reran.length) m += `; ${reran.join(", ")}`;
            lines.push(`          ${m}`);
        }
    }
    lines.push(`          fix: ${f.fix}`);
    return lines;
}

/** The whole report after the builds. */
export function userReport(o: {
    title: string;
    /** What ran the builds: the builder, its image's source and version (one line). */
    builder?: string;
    parsed: Dockerfile;
    runs: Runs;
    checks: readonly BuildkitCheck[];
    checksError?: string;
    findings: readonly Finding[];
}): string {
    const plan = dockerfileSteps(o.parsed);
    const out: string[] = [o.title];
    if (o.builder) out.push(`builder: ${o.builder}`);
    out.push("", buildTable(o.runs), ...spreadLines(plan, o.runs), "", stepMatrix(plan, o.runs), "", "Verdict");
    for (const l of verdictLines(plan, o.runs)) out.push(`  ${l}`);
    out.push("", `BuildKit's checks (docker buildx build --check): ${o.checks.length || "none"}`);
    for (const c of o.checks) out.push(`  ${c.line !== undefined ? `line ${c.line}  ` : ""}${c.rule}: ${c.detail}`);
    if (o.checksError) out.push(`  (the checks stopped early: ${o.checksError})`);
    out.push(`Cache findings (dockerfile-ast; BuildKit's checks don't cover these): ${o.findings.length || "none"}`);
    for (const f of o.findings) for (const l of findingLines(o.parsed, f, o.runs[0])) out.push(`  ${l}`);
    return out.join("\n");
}
