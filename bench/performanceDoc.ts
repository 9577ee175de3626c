/**
 * docs/performance.md, generated from results/bench.json (one bench run per network profile, bench/benchFile.ts) by
 * `npm run performance`: the profiles and their sources, each profile's tables, which conclusions hold under every
 * profile and which flip, the default strategy chosen from the profile derived from the original write-up, issue
 * 23's targets under that profile, and the cost per build. Pure: every number on the page comes from the file, the
 * profiles (standIn/networkProfiles.ts) or the prices (bench/prices.ts), so tests/bench/performanceDoc.test.ts can check the
 * page against results/.
 */
import { DEFAULTS } from "../components/resolveArgs";
import { SKIP_STRATEGIES } from "../components/skip";
import { DECIDING_NETWORK, NETWORK_PROFILES, NetworkProfile, profileSummary } from "../standIn/networkProfiles";
import { BenchFile, chartName, networkName, runOf } from "./benchFile";
import { RunName, RunRecord, ratioToCold, workShareAfterChange } from "../localBuild/experiment";
import {
    BILLING_ROUNDING,
    buildDollars,
    CODEBUILD_PER_MINUTE,
    ComputeType,
    ECR_STORAGE_PER_GB_MONTH,
    NAT_PROCESSING_PER_GB,
} from "./prices";
import { ORIGINAL, TARGETS } from "./results";
import { registryVsInlineChange, scaleRows } from "./scaleRows";

type Run = BenchFile["runs"][number];

/** The cost section's assumptions, stated on the page. */
export const COST_ASSUMPTIONS = {
    /** Builds a day, every one a change build (each commit changes something; the skip covers the rest). */
    buildsPerDay: 20,
    daysPerMonth: 30,
    /** The compute type the monthly figures use. */
    computeType: "BUILD_GENERAL1_MEDIUM" as ComputeType,
    /** The cache's size in ECR, as a share of the image (mode=max keeps every layer: about one more image). */
    cacheSizeOfImage: 1,
} as const;

/** Issue 23's targets (item 4), read under the deciding profile. */
export const ISSUE23_TARGETS = {
    /** Change at most the work after the change plus this share of cold, on both workloads. */
    changeSlack: TARGETS.changeSlack,
    /** `registry` change at most this many times `inline` change at the scale series' largest step count (96). */
    registryChangeVsInline: 1,
    /** Warm with skip on at most this share of cold, on both workloads. */
    skipMaxRatio: TARGETS.skipWarmMaxRatio,
    /** "No layer bytes": less than this many MB pulled (a config blob of 10–40 kB is allowed). */
    noLayerMB: TARGETS.skipWarmMaxPulledMB,
} as const;

const f1 = (x: number | undefined) => (x === undefined ? "—" : x.toFixed(1));
const f3 = (x: number | undefined) => (x === undefined ? "—" : x.toFixed(3));
const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
/** Dollars: cents for a dollar or more, more digits below (a bench build costs a fraction of a cent). */
export function usd(x: number): string {
    const a = Math.abs(x);
    const text = a >= 1 ? a.toFixed(2) : a >= 0.01 ? a.toFixed(3) : a.toFixed(5);
    return `${x < 0 ? "−" : ""}$${text}`;
}

/** The run's variants in table order: inline, the registry builder(s), pull. */
function variants(run: Run): string[] {
    const all = [...new Set(run.records.map((r) => r.variant))];
    const order = (v: string) => (v === "inline" ? 0 : v.startsWith("registry") ? 1 : v === "pull" ? 2 : 3);
    return all.sort((a, b) => order(a) - order(b));
}

/** The `registry` variant on CodeBuild's path in this run (docker-container if it ran). */
function registryVariant(run: Run): string | undefined {
    const vs = variants(run).filter((v) => v.startsWith("registry"));
    return vs.find((v) => v.includes("docker-container")) ?? vs[0];
}

function workloadsOf(run: Run): string[] {
    return [...new Set(run.records.map((r) => r.workload ?? ""))];
}

function rec(run: Run, workload: string, variant: string | undefined, name: RunName): RunRecord | undefined {
    return run.records.find((r) => (r.workload ?? "") === workload && r.variant === variant && r.run === name);
}

const seconds = (run: Run, w: string, v: string | undefined, name: RunName) => rec(run, w, v, name)?.buildSeconds;
const ratio = (run: Run, r: RunRecord | undefined) => (r ? ratioToCold(run.records, r) : undefined);

/** The change target's ratio for a workload: its work after the change plus the slack. */
function changeLimit(run: Run, workload: string): number | undefined {
    const w = run.workloads?.find((x) => x.name === workload);
    return w ? workShareAfterChange(w) + ISSUE23_TARGETS.changeSlack : undefined;
}

/**
 * A build's seconds that are not Dockerfile work (BuildKit's own step times): login, probe, builder start, round trips,
 * layer transfers, export. The part a network profile changes, and less bent by the machine's CPU load than the rest.
 */
function notWork(r: RunRecord | undefined): number | undefined {
    return r?.dockerfileSeconds === undefined ? undefined : Math.max(0, r.buildSeconds - r.dockerfileSeconds);
}

/** A run's main table. */
function mainTable(run: Run): string[] {
    const o = run.original;
    return [
        `| workload | strategy | cold s | warm s | warm × cold | warm, skip on s | skip × cold | change s | change × cold | change s not Dockerfile work | warm MB pulled | change MB pushed |`,
        `|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|`,
        ...workloadsOf(run).flatMap((w) =>
            variants(run).map((v) => {
                const warm = rec(run, w, v, "warm");
                const skip = rec(run, w, v, "warm, skip on");
                const change = rec(run, w, v, "change");
                return `| ${w} | ${v} | ${f1(seconds(run, w, v, "cold"))} | ${f1(warm?.buildSeconds)} | ${f3(ratio(run, warm))} | ${f1(skip?.buildSeconds)} | ${f3(ratio(run, skip))} | ${f1(change?.buildSeconds)} | ${f3(ratio(run, change))} | ${f1(notWork(change))} | ${f1(warm?.pulledMB)} | ${f1(change?.pushedMB)} |`;
            }),
        ),
        `| ${o.imageGB} GB | the original recipe on CodeBuild (write-up) | ${o.coldMinutes * 60} | ${o.warmMinutes * 60} | ${f3(o.warmMinutes / o.coldMinutes)} | — | — | ${o.changeMinutes * 60} | ${f3(o.changeMinutes / o.coldMinutes)} | — | ≈ ${o.imageGB * 1000} | — |`,
    ];
}

/** A run's scale series, if it ran. */
function scaleTable(run: Run): string[] {
    const scale = run.sections?.find((s) => s.key === "scale");
    if (!scale) return [`No scale series in this run.`];
    const rows = scaleRows(scale.records);
    return [
        `| strategy | steps | cold s | warm s | change s (mean of ${rows[0]?.changes.length ?? 0}) | change × cold |`,
        `|---|---:|---:|---:|---:|---:|`,
        ...rows.map(
            (r) =>
                `| ${r.variant} | ${r.steps} | ${f1(r.cold)} | ${f1(r.warm)} | ${f1(r.change)} | ${f3(r.change / r.cold)} |`,
        ),
    ];
}

/** One conclusion, judged in one run: whether it holds there, and the numbers that say so. */
interface Judgement {
    readonly holds?: boolean;
    readonly detail: string;
}

interface Claim {
    readonly text: string;
    readonly judge: (run: Run) => Judgement;
}

const none: Judgement = { detail: "not measured" };

/** `a` faster than `b` on a workload and run kind. */
function faster(a: (run: Run) => string | undefined, b: (run: Run) => string | undefined, w: string, name: RunName) {
    return (run: Run): Judgement => {
        const x = seconds(run, w, a(run), name);
        const y = seconds(run, w, b(run), name);
        if (x === undefined || y === undefined) return none;
        return { holds: x < y, detail: `${f1(x)} vs ${f1(y)} s` };
    };
}

/** The fastest of the cache strategies (inline, registry) on a run kind, against `pull` (the original recipe). */
function cacheBeatsPull(w: string, name: RunName) {
    return (run: Run): Judgement => {
        const best = Math.min(
            ...["inline", registryVariant(run)]
                .map((v) => seconds(run, w, v, name))
                .filter((x): x is number => x !== undefined),
        );
        const pull = seconds(run, w, "pull", name);
        if (!Number.isFinite(best) || pull === undefined) return none;
        return { holds: best < pull, detail: `${f1(best)} vs ${f1(pull)} s` };
    };
}

/** The conclusions the project's docs draw from the bench, each judged under every profile. */
export const CLAIMS: readonly Claim[] = [
    ...["heavy", "light"].flatMap((w): Claim[] => [
        {
            text: `${w}: \`registry\` warm (no change, skip off) is faster than \`inline\` warm`,
            judge: faster(registryVariant, () => "inline", w, "warm"),
        },
        {
            text: `${w}: \`registry\` change is faster than \`inline\` change`,
            judge: faster(registryVariant, () => "inline", w, "change"),
        },
        {
            text: `${w}: the cache (best of \`inline\`, \`registry\`) beats the original recipe (\`pull\`) on a warm build`,
            judge: cacheBeatsPull(w, "warm"),
        },
        {
            text: `${w}: the cache (best of \`inline\`, \`registry\`) beats the original recipe (\`pull\`) on a change build`,
            judge: cacheBeatsPull(w, "change"),
        },
    ]),
    {
        text: `\`registry\` warm pulls no layer bytes (both workloads)`,
        judge: (run) => {
            const mbs = workloadsOf(run).map((w) => rec(run, w, registryVariant(run), "warm")?.pulledMB);
            if (mbs.some((x) => x === undefined)) return none;
            return {
                holds: mbs.every((x) => x! < ISSUE23_TARGETS.noLayerMB),
                detail: mbs.map((x) => `${x!.toFixed(2)} MB`).join(", "),
            };
        },
    },
    {
        text: `a skipped build (warm, skip on) costs at most ${pct(ISSUE23_TARGETS.skipMaxRatio)} of cold (both strategies that skip, both workloads)`,
        judge: (run) => {
            const rs = workloadsOf(run).flatMap((w) =>
                ["inline", registryVariant(run)].map((v) => ratio(run, rec(run, w, v, "warm, skip on"))),
            );
            if (rs.some((x) => x === undefined)) return none;
            const worst = Math.max(...(rs as number[]));
            return { holds: worst <= ISSUE23_TARGETS.skipMaxRatio, detail: `worst ${pct(worst)}` };
        },
    },
    {
        text: `\`registry\` change is at most \`inline\` change at the scale series' largest step count`,
        judge: (run) => {
            const scale = run.sections?.find((s) => s.key === "scale");
            const t = scale && registryVsInlineChange(scaleRows(scale.records));
            if (!t) return none;
            return {
                holds: t.ratio <= ISSUE23_TARGETS.registryChangeVsInline,
                detail: `${t.steps} steps: ${f1(t.registry)} vs ${f1(t.inline)} s`,
            };
        },
    },
    {
        text: `the fastest strategy on a change build is the same on both workloads`,
        judge: (run) => {
            const best = ["heavy", "light"].map((w) => fastest(run, w, "change"));
            if (best.some((b) => b === undefined)) return none;
            return { holds: best[0] === best[1], detail: `heavy ${best[0]}, light ${best[1]}` };
        },
    },
];

/** The strategy (variant) with the fewest seconds on a run kind and workload. */
function fastest(run: Run, w: string, name: RunName): string | undefined {
    const rows = variants(run)
        .map((v) => ({ v, s: seconds(run, w, v, name) }))
        .filter((x): x is { v: string; s: number } => x.s !== undefined);
    return rows.sort((a, b) => a.s - b.s)[0]?.v;
}

/** Each claim under each profile, and whether it holds under all of them, flips, or was not measured everywhere. */
export function claimTable(file: BenchFile): { text: string; cells: Judgement[]; verdict: string }[] {
    return CLAIMS.map((c) => {
        const cells = file.runs.map((r) => c.judge(r));
        const measured = cells.filter((x) => x.holds !== undefined);
        const verdict =
            measured.length === 0
                ? "not measured"
                : measured.every((x) => x.holds)
                  ? measured.length === cells.length
                      ? "holds under every profile"
                      : "holds where measured"
                  : measured.every((x) => !x.holds)
                    ? measured.length === cells.length
                        ? "false under every profile"
                        : "false where measured"
                    : `flips: false under ${file.runs
                          .filter((_, i) => cells[i].holds === false)
                          .map((r) => `\`${networkName(r)}\``)
                          .join(", ")}`;
        return { text: c.text, cells, verdict };
    });
}

/**
 * The default strategy the numbers choose under a profile: of the strategies that can be the default (they skip an
 * unchanged build: components/skip.ts SKIP_STRATEGIES), the one with the fewest seconds over the warm and change
 * builds of both workloads. Warm with skip off stands for every build whose key misses while nothing changed (a new
 * branch, a cleared cache); change for every commit. The seconds counted are those that are not Dockerfile work
 * (what the strategy and the network decide; the Dockerfile's own steps are the same work whichever strategy runs
 * them, and on a loaded machine they swing with the load), or the whole build where a run did not record its steps'
 * times (`basis` says which).
 */
export function chooseDefault(
    run: Run,
): { strategy: string; totals: Record<string, number>; basis: "not Dockerfile work" | "whole build" } | undefined {
    const picks = SKIP_STRATEGIES.map((s) => {
        const v = s === "registry" ? registryVariant(run) : s;
        return {
            s,
            rs: workloadsOf(run).flatMap((w) => [rec(run, w, v, "warm"), rec(run, w, v, "change")]),
        };
    });
    if (picks.some((p) => p.rs.some((r) => r === undefined))) return undefined;
    const basis = picks.every((p) => p.rs.every((r) => r!.dockerfileSeconds !== undefined))
        ? "not Dockerfile work"
        : "whole build";
    const totals: Record<string, number> = {};
    for (const p of picks)
        totals[p.s] = p.rs.reduce((n, r) => n + (basis === "whole build" ? r!.buildSeconds : notWork(r)!), 0);
    const strategy = Object.entries(totals).sort((a, b) => a[1] - b[1])[0][0];
    return { strategy, totals, basis };
}

/** Issue 23's targets under a run, one line each, met or not with the numbers. */
export function targetLines(run: Run): string[] {
    const reg = registryVariant(run);
    const lines: string[] = [];
    for (const w of workloadsOf(run)) {
        const limit = changeLimit(run, w);
        for (const v of ["inline", reg]) {
            const r = ratio(run, rec(run, w, v, "change"));
            if (r === undefined || limit === undefined) continue;
            lines.push(
                `- change ≤ the work after the change + ${pct(ISSUE23_TARGETS.changeSlack)} of cold, ${w}, \`${v}\`: ${pct(r)} of cold (target ≤ ${pct(limit)}): **${r <= limit ? "met" : "not met"}**.`,
            );
        }
    }
    const scale = run.sections?.find((s) => s.key === "scale");
    const t = scale && registryVsInlineChange(scaleRows(scale.records));
    lines.push(
        t
            ? `- \`registry\` change ≤ \`inline\` change at ${t.steps} steps${t.steps === 96 ? "" : " (the target is set at 96)"}: ${f1(t.registry)} s against ${f1(t.inline)} s, ${pct(t.ratio)} (means of the change builds): **${t.ratio <= ISSUE23_TARGETS.registryChangeVsInline ? "met" : "not met"}**.`
            : `- \`registry\` change ≤ \`inline\` change at 96 steps: not measured (no scale series in this run).`,
    );
    for (const w of workloadsOf(run)) {
        for (const v of ["inline", reg]) {
            const s = rec(run, w, v, "warm, skip on");
            const r = ratio(run, s);
            if (!s || r === undefined) continue;
            const met = r <= ISSUE23_TARGETS.skipMaxRatio;
            lines.push(
                `- skip ≤ ${pct(ISSUE23_TARGETS.skipMaxRatio)} of cold, ${w}, \`${v}\`: ${f1(s.buildSeconds)} s, ${pct(r)} of cold, ${s.pulledMB.toFixed(2)} MB pulled: **${met ? "met" : "not met"}**.`,
            );
        }
    }
    for (const w of workloadsOf(run)) {
        const warm = rec(run, w, reg, "warm");
        if (!warm) continue;
        lines.push(
            `- \`registry\` warm pulls no layer bytes, ${w}: ${warm.pulledMB.toFixed(2)} MB pulled in ${warm.blobGets ?? "?"} blob GETs: **${warm.pulledMB < ISSUE23_TARGETS.noLayerMB ? "met" : "not met"}**.`,
        );
    }
    const light = rec(run, "light", reg, "warm");
    const lr = ratio(run, light);
    if (lr !== undefined)
        lines.push(
            `- dropped (issue 23), still measured: the light no-change rebuild without skip, \`registry\`: ${pct(lr)} of cold (the old target was ≤ ${pct(TARGETS.lightWarmMaxRatio)}; BuildKit's cache load bounds it, moby/buildkit #2184).`,
        );
    return lines;
}

/** Minutes at the write-up's scale: a run's share of cold (heavy workload) times the write-up's cold build. */
function writeupMinutes(run: Run, v: string | undefined, name: RunName): number | undefined {
    const r = ratio(run, rec(run, "heavy", v, name));
    return r === undefined ? undefined : r * run.original.coldMinutes;
}

/** The cost section for one run. */
function costTable(run: Run): string[] {
    const types = Object.keys(CODEBUILD_PER_MINUTE) as ComputeType[];
    const a = COST_ASSUMPTIONS;
    const builds = a.buildsPerDay * a.daysPerMonth;
    const coldMin = run.original.coldMinutes;
    const withoutCache = builds * coldMin * CODEBUILD_PER_MINUTE[a.computeType].usd;
    const imageGB = run.original.imageGB;
    const storage = imageGB * a.cacheSizeOfImage * ECR_STORAGE_PER_GB_MONTH.usd;
    const nat = networkName(run) === "cross-region";
    return [
        `| strategy | cold $ (heavy, here) | change $ (heavy, here) | change min at the write-up's scale | change $ at that scale (${types.map((t) => t.replace("BUILD_GENERAL1_", "").toLowerCase()).join(" / ")}) | month of ${builds} change builds, ${a.computeType.replace("BUILD_GENERAL1_", "").toLowerCase()} | saved against no cache (${builds} cold builds, ${usd(withoutCache)}) |${nat ? " NAT processing per change build at that scale |" : ""}`,
        `|---|---:|---:|---:|---:|---:|---:|${nat ? "---:|" : ""}`,
        ...variants(run).map((v) => {
            const cold = seconds(run, "heavy", v, "cold");
            const change = rec(run, "heavy", v, "change");
            const min = writeupMinutes(run, v, "change");
            const month = min === undefined ? undefined : builds * min * CODEBUILD_PER_MINUTE[a.computeType].usd;
            const gb =
                change && run.config.imageMB > 0
                    ? ((change.pulledMB + change.pushedMB) / run.config.imageMB) * imageGB
                    : undefined;
            return `| ${v} | ${cold === undefined ? "—" : usd(buildDollars(cold, a.computeType))} | ${change ? usd(buildDollars(change.buildSeconds, a.computeType)) : "—"} | ${f1(min)} | ${min === undefined ? "—" : types.map((t) => usd(min * CODEBUILD_PER_MINUTE[t].usd)).join(" / ")} | ${month === undefined ? "—" : usd(month)} | ${month === undefined ? "—" : usd(withoutCache - month)} |${nat ? ` ${gb === undefined ? "—" : `${usd(gb * NAT_PROCESSING_PER_GB.usd)} (${gb.toFixed(1)} GB)`} |` : ""}`;
        }),
        ``,
        `The cache's storage: about ${imageGB * a.cacheSizeOfImage} GB per cache ref at the write-up's scale (an assumption: a \`mode=max\` cache holds about one more image), ${usd(storage)} a month per ref; one ref per branch that keeps its own cache.`,
    ];
}

/** A paragraph on the machine's load, when a run saw more than two runnable tasks per core. */
function loadCaveat(file: BenchFile): string[] {
    const loaded = file.runs.filter((r) => {
        const l = r.machine.loadAverage;
        return l !== undefined && Math.max(l.start[0], l.end[0]) > 2 * r.machine.cpus;
    });
    if (loaded.length === 0) return [];
    return [
        `The machine was loaded during ${loaded.map((r) => `\`${networkName(r)}\``).join(", ")} (load averages above: other Docker builds ran beside the bench). Its CPU-bound Dockerfile steps then ran several times slower than on a quiet machine, and their time swings from one build to the next: a change build can take longer than the cold build of the same run. So the Dockerfile's own work weighs more here than on CodeBuild and the network's share less; the column "not Dockerfile work" and the bytes are the steadier numbers.`,
        ``,
    ];
}

/** The whole page. */
export function performanceMarkdown(file: BenchFile): string {
    const deciding = runOf(file, DECIDING_NETWORK);
    const choice = deciding && chooseDefault(deciding);
    const claims = claimTable(file);
    const profiles = Object.values(NETWORK_PROFILES) as NetworkProfile[];
    const measured = new Set(file.runs.map(networkName));
    const a = COST_ASSUMPTIONS;
    return [
        `The stand-in's registry sits on loopback, where a manifest round trip takes about 2 ms and layers move at memory speed. On CodeBuild the costs that decided the original write-up were the costs of moving bytes: its warm build took about ${ORIGINAL.warmMinutes} minutes, most of it downloading an image of almost ${ORIGINAL.imageGB} GB from ECR. So the bench runs under network profiles: the registry's counting proxy (standIn/registry.ts) holds each request for a round trip and sends the bodies through a pipe of fixed rate in each direction (standIn/shapedLink.ts). A kernel tool (\`tc … netem\` on \`lo\`) would shape every loopback connection of this shared machine; the proxy shapes only the registry's.`,
        ``,
        `Every number below is a build's seconds from the login to post_build (what CodeBuild bills, less provisioning) on a fresh Docker host, and a ratio to the cold build of the same strategy and workload **in the same run**. The machine is shared (2 cores, other Docker builds beside): compare ratios across profiles, not seconds. The load is in the runs table.`,
        ``,
        `## The profiles`,
        ``,
        `| profile | down | up | per request | per blob GET (added) | stands for | measured |`,
        `|---|---:|---:|---:|---:|---|---|`,
        ...profiles.map(
            (p) =>
                `| \`${p.name}\` | ${p.downMBps === undefined ? "unshaped" : `${p.downMBps} MB/s`} | ${p.upMBps === undefined ? "unshaped" : `${p.upMBps} MB/s`} | ${p.requestLatencyMs} ms | ${p.blobLatencyMs} ms | ${p.description} | ${measured.has(p.name) ? "yes" : "no"} |`,
        ),
        ``,
        `Where each number comes from (standIn/networkProfiles.ts):`,
        ``,
        ...profiles.flatMap((p) => [`- \`${p.name}\`:`, ...p.sources.map((s) => `  - ${s}.`)]),
        ``,
        `## The runs`,
        ``,
        `| profile | date | \`registry\` builder | load average at start (1, 5, 15 min) | at end | scale series | recorded |`,
        `|---|---|---|---|---|---|---|`,
        ...file.runs.map((r) => {
            const scale = r.sections?.find((s) => s.key === "scale");
            const steps = scale ? [...new Set(scale.records.map((x) => x.steps))].join(", ") + " steps" : "not run";
            return `| \`${networkName(r)}\` | ${r.date.slice(0, 16).replace("T", " ")} UTC | ${r.machine.registryModes.join(", ")} | ${r.machine.loadAverage?.start.join(", ") ?? "not recorded"} | ${r.machine.loadAverage?.end.join(", ") ?? "not recorded"} | ${steps} | ${r.note ?? "by the bench"} |`;
        }),
        ``,
        ...loadCaveat(file),
        `## What holds under every profile, and what flips`,
        ``,
        `| conclusion | ${file.runs.map((r) => `\`${networkName(r)}\``).join(" | ")} | verdict |`,
        `|---|${file.runs.map(() => "---|").join("")}---|`,
        ...claims.map(
            (c) =>
                `| ${c.text} | ${c.cells.map((x) => (x.holds === undefined ? x.detail : `${x.holds ? "yes" : "no"} (${x.detail})`)).join(" | ")} | ${c.verdict} |`,
        ),
        ``,
        `## The default strategy`,
        ``,
        ...(choice
            ? [
                  `Chosen from the \`${DECIDING_NETWORK}\` profile (derived from the write-up's own figure): of the strategies that skip an unchanged build, the one with the fewest seconds of warm (skip off: a key that misses while nothing changed, e.g. a new branch) plus change builds over both workloads, counting ${choice.basis === "not Dockerfile work" ? "the seconds that are not Dockerfile work (the Dockerfile's own steps are the same work under either strategy, and swing with this machine's load)" : "whole builds (this run has no step times)"}. ${Object.entries(
                      choice.totals,
                  )
                      .map(([s, t]) => `\`${s}\` ${t.toFixed(1)} s`)
                      .join(", ")}: **\`${choice.strategy}\`**. ${
                      choice.strategy === DEFAULTS.cacheStrategy
                          ? `That is the component's default (\`cacheStrategy: "${DEFAULTS.cacheStrategy}"\`, components/args.ts): it stays.`
                          : `The component's default is \`${DEFAULTS.cacheStrategy}\` (components/args.ts): these numbers favour \`${choice.strategy}\`.`
                  }`,
                  ``,
                  `Under the other profiles: ${file.runs
                      .filter((r) => networkName(r) !== DECIDING_NETWORK)
                      .map((r) => {
                          const c = chooseDefault(r);
                          return `\`${networkName(r)}\` ${
                              c
                                  ? `\`${c.strategy}\` (${Object.entries(c.totals)
                                        .map(([s, t]) => `${s} ${t.toFixed(1)} s`)
                                        .join(", ")})`
                                  : "not measured"
                          }`;
                      })
                      .join("; ")}.`,
              ]
            : [`Not chosen: no run under the \`${DECIDING_NETWORK}\` profile in results/bench.json.`]),
        ``,
        `## Issue 23's targets under \`${DECIDING_NETWORK}\``,
        ``,
        ...(deciding ? targetLines(deciding) : [`No run under \`${DECIDING_NETWORK}\` yet.`]),
        ``,
        `## Cost per build`,
        ``,
        `Prices (us-east-1; ${BILLING_ROUNDING}):`,
        ``,
        ...(Object.entries(CODEBUILD_PER_MINUTE) as [ComputeType, (typeof CODEBUILD_PER_MINUTE)[ComputeType]][]).map(
            ([t, p]) => `- CodeBuild \`${t}\`: ${usd(p.usd)} per ${p.unit}, as of ${p.asOf} (${p.source}).`,
        ),
        `- ECR storage: ${usd(ECR_STORAGE_PER_GB_MONTH.usd)} per ${ECR_STORAGE_PER_GB_MONTH.unit}, as of ${ECR_STORAGE_PER_GB_MONTH.asOf} (${ECR_STORAGE_PER_GB_MONTH.source}).`,
        `- NAT gateway: ${usd(NAT_PROCESSING_PER_GB.usd)} per ${NAT_PROCESSING_PER_GB.unit}, as of ${NAT_PROCESSING_PER_GB.asOf} (${NAT_PROCESSING_PER_GB.source}); only the \`cross-region\` profile goes through one.`,
        ``,
        `AWS's own pricing pages are not among the stored sources; the figures are those pages' numbers as quoted by the sources named (bench/prices.ts). "Here" is the bench's own builds (seconds on this machine, heavy workload). "At the write-up's scale" multiplies a run's share of cold by the write-up's cold build (${ORIGINAL.coldMinutes} min, ${ORIGINAL.imageGB} GB). The month assumes ${a.buildsPerDay} builds a day for ${a.daysPerMonth} days, every one a change build (a commit that changes the middle of the Dockerfile; the skip covers the rest), on \`${a.computeType}\`; without a cache every build on a fresh host is a cold build.`,
        ``,
        ...file.runs.flatMap((r) => [`### \`${networkName(r)}\``, ``, ...costTable(r), ``]),
        `## Each profile's numbers`,
        ``,
        ...file.runs.flatMap((r) => [
            `### \`${networkName(r)}\`: ${profileSummary(r.network)}`,
            ``,
            ...mainTable(r),
            ``,
            `Scale series (the light workload's steps at several counts${!r.note && r.sections?.some((s) => s.key === "scale") ? `; chart [${chartName(networkName(r), "scale")}](../results/${chartName(networkName(r), "scale")})` : ""}):`,
            ``,
            ...scaleTable(r),
            ``,
        ]),
        `## How to reproduce`,
        ``,
        `Each run takes tens of minutes on a loaded 2-core machine; run them one after another, not at once:`,
        ``,
        "```",
        ...profiles.map((p) => `npm run bench -- --network ${p.name} --scale`),
        `npm run performance            # this page, from results/bench.json`,
        "```",
        ``,
        `\`npm run bench -- --network NAME\` replaces that profile's run in results/bench.json and keeps the others (bench/benchFile.ts); \`npm run local-build -- --network NAME\` runs the quick series under a profile. \`CBCACHE_LOCAL_REGISTRY_MODE=docker-container\` limits \`registry\` to CodeBuild's builder, as in the runs above. tests/bench/performanceDoc.test.ts fails when this page no longer matches results/bench.json.`,
        ``,
    ].join("\n");
}
