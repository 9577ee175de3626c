// `npm run local-build -- --context DIR [--file PATH] [--change PATH …]`: the component's real buildspec on the
// user's own Dockerfile. On a copy of the context (userContext.ts): a cold build, a warm one with no change, and
// one change build per `--change` path, each on a fresh build host; then BuildKit's own checks and the cache
// findings (advice.ts); userReport.ts makes the report of them: the step table, which step a change to each path
// invalidates, and what share of the cold build it costs. `--runs N` runs the whole series N times.
// A build that fails stops the run with a short summary (failureSummary) and its whole log in a file.
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
import { BuildkitCheck, parseBuildkitChecks } from "./advice";
import type { BaseImage } from "../standIn/baseImage";
import { builderImageOf, dockerRunner } from "../standIn/buildkitImage";
import { componentBuildspecYaml } from "../standIn/componentBuildspec";
import { startBuildHost } from "../standIn/daemon";
import type { DockerEnv } from "../standIn/engine";
import { LocalBuildOptions, LocalBuildResult, LocalRegistry, runLocalBuild } from "../standIn/host";
import type { DockerfileStep } from "../standIn/report";
import type { Buildspec } from "../standIn/runner";
import { localArgs, RegistryMode } from "../standIn/scenario";
import { CONTEXT_DIR, copyContext, UserContext } from "./userContext";
import { run } from "../standIn/util";

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
    /** The stage to build (`--target`, the component's `target`); default the last. */
    target?: string;
    /** Which run this is (1-based, `--runs`): each run has a repository of its own, so that its cold build is cold. */
    run?: number;
    /** Where a failed build's whole log is written (default: a new folder under the temp folder). */
    logDir?: string;
    quiet?: boolean;
    progress?: (event: { phase: "start" | "done"; label: string; record?: UserBuildRecord }) => void;
}

/** The component arguments of a user build: the stand-in's for the strategy, the user's Dockerfile and args. */
export function userArgs(
    ctx: Pick<UserContext, "dockerfileName">,
    strategy: CacheStrategy,
    mode: RegistryMode,
    buildArgs: Readonly<Record<string, string>>,
    target?: string,
) {
    return {
        ...localArgs(strategy, mode),
        dockerfileDir: CONTEXT_DIR,
        dockerfileName: ctx.dockerfileName,
        buildArgs,
        ...(target !== undefined ? { target } : {}),
    };
}

/** Label of a build, e.g. `change src/app.sh`. */
export const buildLabel = (r: Pick<UserBuildRecord, "name" | "changed">) =>
    r.changed ? `${r.name} ${r.changed}` : r.name;

/** A build that failed: the message is a short summary (see {@link failureSummary}); `logFile` holds the whole log. */
export class BuildFailure extends Error {
    constructor(
        message: string,
        readonly logFile: string,
    ) {
        super(message);
        this.name = "BuildFailure";
    }
}

/** Lines that say what went wrong, in a failing command's output. */
const ERROR_LINE = /error|fail|denied|not found|no such|cannot|can't|unable|refused|invalid|unauthorized|exit code/i;

/**
 * What a failed build's user needs first, instead of the buildspec's bash: the phase that failed, the command (its
 * first line), its exit status, its last error lines (at most 5: lines that say error, failed, denied…, else its
 * last lines), and the file with the whole log.
 */
export function failureSummary(label: string, r: Pick<LocalBuildResult, "phases" | "lines">, logFile: string): string {
    const phase = r.phases.find((p) => p.status === "FAILED");
    const command = phase?.commands.find((c) => c.exitCode !== 0);
    const out: string[] = [];
    if (!phase) out.push(`the ${label} build failed (no phase failed: the runner itself stopped)`);
    else {
        const first = (command?.command ?? "").trim().split("\n")[0] ?? "";
        const shown = first.length > 100 ? `${first.slice(0, 100)}…` : first;
        out.push(
            command
                ? `the ${label} build failed in ${phase.name}, at the command \`${shown}\` (exit status ${command.exitCode})`
                : `the ${label} build failed in ${phase.name}: ${phase.reason ?? "no command failed"}`,
        );
    }
    // The failing command's own output: its phase's lines between "Running command" and "Command did not exit".
    const own: string[] = [];
    let inCommand = false;
    for (const l of r.lines) {
        if (l.phase !== phase?.name) continue;
        if (l.stream === "runner" && l.text.startsWith("Running command ")) {
            own.length = 0;
            inCommand = true;
        } else if (l.stream === "runner" && l.text.startsWith("Command did not exit successfully")) break;
        else if (inCommand && l.text.trim()) own.push(l.text.trimEnd());
    }
    const errors = own.filter((l) => ERROR_LINE.test(l));
    const last = (errors.length ? errors : own).slice(-5);
    if (last.length)
        out.push("its last error lines:", ...last.map((l) => `  ${l.length > 200 ? `${l.slice(0, 200)}…` : l}`));
    out.push(`the whole log: ${logFile}`);
    return out.join("\n");
}

/** Runs cold, warm, and one change build per changed path; throws a {@link BuildFailure} if one fails. */
export async function runUserBuilds(o: UserRunOptions): Promise<UserBuildRecord[]> {
    const copy = copyContext(o.ctx);
    const repositoryUrl = `${o.host.registry.address}/local-build/${o.strategy}${(o.run ?? 1) > 1 ? `-run${o.run}` : ""}`;
    const yaml = await componentBuildspecYaml(
        userArgs(o.ctx, o.strategy, o.registryMode, o.buildArgs, o.target),
        repositoryUrl,
    );
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
                const dir = o.logDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "local-build-logs-"));
                const file = path.join(
                    dir,
                    `${o.strategy}-run${o.run ?? 1}-${label.replace(/[^A-Za-z0-9._-]+/g, "_")}.log`,
                );
                const phases = r.phases.map((p) => `${p.name} ${p.status}${p.reason ? `: ${p.reason}` : ""}`);
                fs.writeFileSync(
                    file,
                    `# ${o.strategy} ${label} build, run ${o.run ?? 1}\n# ${phases.join("\n# ")}\n${r.output}`,
                );
                throw new BuildFailure(failureSummary(label, r, file), file);
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
