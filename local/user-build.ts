// `npm run local-build -- --context DIR [--file PATH] [--change PATH …]`: the component's real buildspec on the
// user's own Dockerfile. On a copy of the context (user-context.ts): a cold build, a warm one with no change, and
// one change build per `--change` path, each on a fresh build host; then BuildKit's own checks and the cache
// findings (advice.ts), and a verdict: which step a change to each path invalidates, and what share of the cold
// build it costs.
//
// Changes are cumulative, as commits are: the change build of the second path starts from the cache the first
// one wrote, with the first file still changed, so each build measures one change against a warm cache.
// The host is either this machine's stand-in (a fresh dockerd per build: host.ts) or the portable one (an
// existing daemon, a fresh docker-container builder per build: portable.ts); both play ECR with a local registry.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import type { CacheStrategy } from "../components/args";
import { BuildkitCheck, type Dockerfile, Finding, findingCost, parseBuildkitChecks, stepsOfLines } from "./advice";
import type { BaseImage } from "./base-image";
import { builderImageOf, dockerRunner } from "./buildkit-image";
import { componentBuildspecYaml } from "./component-buildspec";
import { startBuildHost } from "./daemon";
import type { DockerEnv } from "./engine";
import { LocalBuildOptions, LocalRegistry, runLocalBuild } from "./host";
import type { DockerfileStep } from "./report";
import type { Buildspec } from "./runner";
import { localArgs, RegistryMode } from "./scenario";
import { CONTEXT_DIR, copyContext, UserContext } from "./user-context";
import { run } from "./util";

/** Where the user's builds run: this machine's stand-in, or an existing daemon (portable.ts). */
export interface UserBuildHost {
    /** The docker client and buildx plugin the builds use (and, for the stand-in, its dockerd). */
    dockerEnv: DockerEnv;
    registry: LocalRegistry;
    /** The machine's busybox base image in the local registry, for `{local-base}` build-arg values. */
    baseImage(): Promise<BaseImage>;
    /** How a build host is had (default: a fresh dockerd per build). */
    startHost?: LocalBuildOptions["startHost"];
    /** true: each fresh host gets the builder image before the buildspec (the stand-in's daemons start empty). */
    provideBuilderImage: boolean;
    /** One line: what a build runs on. */
    describe: string;
}

/** Build-arg values that stand for the local base image (no public registry here). */
export const BASE_PLACEHOLDERS = {
    "{local-base}": "the busybox base image in the local registry, by tag (e.g. 127.0.0.1:PORT/base/busybox:latest)",
    "{local-base-digest}": "its manifest digest (sha256:…)",
} as const;

/** Replaces `{local-base}` and `{local-base-digest}` in build-arg values; asks for the base image only if used. */
export async function resolveBuildArgs(
    args: Readonly<Record<string, string>>,
    base: () => Promise<Pick<BaseImage, "ref" | "digest">>,
): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    let b: Pick<BaseImage, "ref" | "digest"> | undefined;
    for (const [k, v] of Object.entries(args)) {
        if (v.includes("{local-base")) b ??= await base();
        out[k] = b ? v.split("{local-base-digest}").join(b.digest).split("{local-base}").join(b.ref) : v;
    }
    return out;
}

export type UserBuildName = "cold" | "warm" | "change";

export interface UserBuildRecord {
    name: UserBuildName;
    /** The path changed before this build (change builds). */
    changed?: string;
    strategy: CacheStrategy;
    succeeded: boolean;
    buildSeconds: number;
    pulledMB: number;
    pushedMB: number;
    /** The steps of the build's first `docker buildx build` (the registry strategy's second one only exports). */
    steps: DockerfileStep[];
}

/** How a step did: a hit, a hit whose layers were downloaded, rebuilt; FROM: pulled or a hit. */
export type StepOutcome = "hit" | "downloaded" | "rebuilt" | "pulled" | "error" | "canceled" | "running";

export function stepOutcome(s: DockerfileStep): StepOutcome {
    if (s.status === "ERROR") return "error";
    if (s.status === "CANCELED") return "canceled";
    if (s.status === "RUNNING") return "running";
    if (s.instruction === "FROM") return s.status === "CACHED" ? "hit" : "pulled";
    if (s.status === "DONE") return "rebuilt";
    return s.downloaded || s.fetchedFromCache ? "downloaded" : "hit";
}

export interface UserRunOptions {
    ctx: UserContext;
    host: UserBuildHost;
    strategy: CacheStrategy;
    /** For `registry`: which builder (portable: always docker-container). */
    registryMode: RegistryMode;
    /** Build args after resolveBuildArgs. */
    buildArgs: Readonly<Record<string, string>>;
    quiet?: boolean;
    progress?: (event: { phase: "start" | "done"; label: string; record?: UserBuildRecord }) => void;
}

/** The component arguments of a user build: the stand-in's for the strategy, the user's Dockerfile and args. */
export function userArgs(
    ctx: Pick<UserContext, "dockerfileName">,
    strategy: CacheStrategy,
    mode: RegistryMode,
    buildArgs: Readonly<Record<string, string>>,
) {
    return { ...localArgs(strategy, mode), dockerfileDir: CONTEXT_DIR, dockerfileName: ctx.dockerfileName, buildArgs };
}

/** Label of a build, e.g. `change src/app.sh`. */
export const buildLabel = (r: Pick<UserBuildRecord, "name" | "changed">) =>
    r.changed ? `${r.name} ${r.changed}` : r.name;

/** Runs cold, warm, and one change build per changed path; throws (with the output's end) if one fails. */
export async function runUserBuilds(o: UserRunOptions): Promise<UserBuildRecord[]> {
    const copy = copyContext(o.ctx);
    const repositoryUrl = `${o.host.registry.address}/local-build/${o.strategy}`;
    const yaml = await componentBuildspecYaml(userArgs(o.ctx, o.strategy, o.registryMode, o.buildArgs), repositoryUrl);
    const buildspec = YAML.parse(yaml) as Buildspec;
    const plan: Array<{ name: UserBuildName; changed?: string }> = [
        { name: "cold" },
        { name: "warm" },
        ...o.ctx.changes.map((c) => ({ name: "change" as const, changed: c.path })),
    ];
    const records: UserBuildRecord[] = [];
    try {
        for (const p of plan) {
            if (p.changed) copy.change(p.changed);
            const label = buildLabel(p);
            o.progress?.({ phase: "start", label });
            const r = await runLocalBuild({
                buildspec,
                sourceDir: copy.sourceDir,
                registry: o.host.registry,
                containerdStore: o.strategy === "registry" && o.registryMode === "containerd-store",
                dockerEnv: o.host.dockerEnv,
                label: `${o.strategy} ${label}`,
                quiet: o.quiet,
                printReport: !o.quiet,
                builderImage: o.host.provideBuilderImage ? builderImageOf(buildspec) : undefined,
                startHost: o.host.startHost,
            });
            const record: UserBuildRecord = {
                ...p,
                strategy: o.strategy,
                succeeded: r.succeeded,
                buildSeconds: r.timings.buildMs / 1000,
                pulledMB: r.bytes.pulledMB,
                pushedMB: r.bytes.pushedMB,
                steps: r.steps.builds[0]?.steps ?? [],
            };
            records.push(record);
            o.progress?.({ phase: "done", label, record });
            if (!r.succeeded) {
                throw new Error(`the ${label} build failed:\n${r.output.split("\n").slice(-40).join("\n")}`);
            }
        }
    } finally {
        copy.remove();
    }
    return records;
}

/**
 * BuildKit's own checks (`docker buildx build --call=check,format=json`, the JSON form of `--check`) on the
 * user's Dockerfile, on a build host of its own, logged in to the local registry so that FROM resolves.
 */
export async function runBuildkitChecks(
    o: Pick<UserRunOptions, "ctx" | "host" | "buildArgs">,
): Promise<{ checks: BuildkitCheck[]; buildError?: string }> {
    const copy = copyContext(o.ctx);
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "cbcheck-"));
    try {
        const h = await (o.host.startHost ?? startBuildHost)({
            env: o.host.dockerEnv,
            containerdStore: false,
            workDir: work,
        });
        try {
            const docker = dockerRunner(o.host.dockerEnv.client, h.variables);
            const reg = o.host.registry;
            const login = await run(
                o.host.dockerEnv.client,
                ["login", "--username", reg.username, "--password-stdin", reg.address],
                { env: { ...process.env, ...h.variables }, input: reg.password + "\n" },
            );
            if (login.code !== 0) throw new Error(`docker login ${reg.address} failed: ${login.stderr.trim()}`);
            const ctxDir = path.join(copy.sourceDir, CONTEXT_DIR);
            const args = [
                "buildx",
                "build",
                "--call=check,format=json",
                "--file",
                path.join(ctxDir, o.ctx.dockerfileName),
            ];
            for (const [k, v] of Object.entries(o.buildArgs)) args.push("--build-arg", `${k}=${v}`);
            const r = await docker([...args, ctxDir]);
            try {
                return parseBuildkitChecks(r.stdout);
            } catch (e) {
                throw new Error(`${e instanceof Error ? e.message : String(e)}\n${r.stderr.trim()}`);
            }
        } finally {
            await h.stop();
        }
    } finally {
        copy.remove();
        fs.rmSync(work, { recursive: true, force: true });
    }
}

// ---------------------------------------------------------------------------------------------
// The report: pure functions of the records.

const pct = (x: number) => `${Math.round(x * 100)} %`;
const sec = (x: number) => `${x.toFixed(1)} s`;

/** The step rows of all builds: one row per step (by index), one column per build. */
export function stepMatrix(records: readonly UserBuildRecord[]): string {
    const rows = new Map<number, { name: string; cells: string[] }>();
    records.forEach((r, col) => {
        for (const s of r.steps) {
            const key = s.index;
            const row = rows.get(key) ?? {
                name: `[${s.stage ? `${s.stage} ` : ""}${s.index}/${s.total}] ${s.text}`,
                cells: records.map(() => "-"),
            };
            row.cells[col] = stepOutcome(s);
            rows.set(key, row);
        }
    });
    const head = ["step", ...records.map(buildLabel)];
    const body = [...rows.entries()].sort((a, b) => a[0] - b[0]).map(([, r]) => [r.name.slice(0, 60), ...r.cells]);
    return table(head, body, 1);
}

/** Per build: time, ratio to cold, MB, and how many steps were hits, downloaded or rebuilt (FROM excluded). */
export function buildTable(records: readonly UserBuildRecord[]): string {
    const cold = records.find((r) => r.name === "cold");
    const head = ["build", "time", "x cold", "MB pulled", "MB pushed", "hit", "downloaded", "rebuilt"];
    const body = records.map((r) => {
        const n = (o: StepOutcome) =>
            String(r.steps.filter((s) => s.instruction !== "FROM" && stepOutcome(s) === o).length);
        return [
            buildLabel(r),
            sec(r.buildSeconds),
            cold ? (r.buildSeconds / cold.buildSeconds).toFixed(2) : "",
            r.pulledMB.toFixed(1),
            r.pushedMB.toFixed(1),
            n("hit"),
            n("downloaded"),
            n("rebuilt"),
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

/** One verdict line per warm and change build: what it rebuilt, from which step, and its share of cold. */
export function verdictLines(records: readonly UserBuildRecord[]): string[] {
    const cold = records.find((r) => r.name === "cold");
    if (!cold) return [];
    const share = (r: UserBuildRecord) =>
        `${pct(r.buildSeconds / cold.buildSeconds)} of the cold build (${sec(r.buildSeconds)} of ${sec(cold.buildSeconds)})`;
    const lines: string[] = [];
    for (const r of records) {
        if (r.name === "cold") continue;
        const work = r.steps.filter((s) => s.instruction !== "FROM");
        const rebuilt = work.filter((s) => stepOutcome(s) === "rebuilt").sort((a, b) => a.index - b.index);
        const who = r.name === "warm" ? "no change" : `a change to ${r.changed}`;
        if (rebuilt.length === 0) {
            lines.push(
                `${who}: invalidates no step (${work.length} of ${work.length} from the cache)${r.name === "change" ? ": the file is not in the build (.dockerignore, or never copied)" : ""}; costs ${share(r)}`,
            );
        } else {
            const first = rebuilt[0];
            lines.push(
                `${who}: invalidates [${first.stage ? `${first.stage} ` : ""}${first.index}/${first.total}] ${first.text.slice(0, 50)}; ${rebuilt.length} of ${work.length} steps rebuilt; costs ${share(r)}`,
            );
        }
    }
    return lines;
}

/** A finding with its measured cost from the builds, as printed. */
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
    parsed: Dockerfile;
    records: readonly UserBuildRecord[];
    checks: readonly BuildkitCheck[];
    checksError?: string;
    findings: readonly Finding[];
}): string {
    const out: string[] = [o.title, "", buildTable(o.records), "", stepMatrix(o.records), "", "Verdict"];
    for (const l of verdictLines(o.records)) out.push(`  ${l}`);
    out.push("", `BuildKit's checks (docker buildx build --check): ${o.checks.length || "none"}`);
    for (const c of o.checks) out.push(`  ${c.line !== undefined ? `line ${c.line}  ` : ""}${c.rule}: ${c.detail}`);
    if (o.checksError) out.push(`  (the checks stopped early: ${o.checksError})`);
    out.push(`Cache findings (dockerfile-ast; BuildKit's checks don't cover these): ${o.findings.length || "none"}`);
    for (const f of o.findings) for (const l of findingLines(o.parsed, f, o.records)) out.push(`  ${l}`);
    return out.join("\n");
}
