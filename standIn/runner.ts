// A CodeBuild phase runner: runs a buildspec OBJECT (version 0.2) on this machine with CodeBuild's
// phase semantics: phase order, the stop at a command's first failure, `finally`, the transitions after a
// failed phase and `on-failure`, CODEBUILD_BUILD_SUCCEEDING, and the environment's precedence. See
// standIn/README.md for what is emulated and the known differences. The commands themselves run in one
// persistent shell (shell.ts).
import { randomUUID } from "crypto";
import { PersistentShell, Stream } from "./shell";

export type { Stream } from "./shell";

export const PHASE_NAMES = ["install", "pre_build", "build", "post_build"] as const;
export type PhaseName = (typeof PHASE_NAMES)[number];

export interface BuildspecPhase {
    commands?: string[];
    finally?: string[];
    /** `ABORT` or `CONTINUE`; other values (e.g. `RETRY`) are rejected by the runner as not emulated. */
    "on-failure"?: string;
    "runtime-versions"?: Record<string, unknown>;
    "run-as"?: string;
}

export interface Buildspec {
    version: string | number;
    "run-as"?: string;
    env?: {
        shell?: string;
        variables?: Record<string, string | number | boolean>;
        "exported-variables"?: string[];
        "parameter-store"?: Record<string, string>;
        "secrets-manager"?: Record<string, string>;
        "git-credential-helper"?: string | boolean;
    };
    phases?: Partial<Record<PhaseName, BuildspecPhase>>;
    [key: string]: unknown;
}

export interface OutputLine {
    phase: PhaseName | "runner";
    stream: Stream;
    text: string;
    /** ms since the build started */
    t: number;
}

export interface CommandResult {
    phase: PhaseName;
    block: "commands" | "finally";
    command: string;
    exitCode: number;
    durationMs: number;
    /** The command ended the shell process (exit, set -e, ...); a new shell took over. */
    shellExited: boolean;
}

export type PhaseStatus = "SUCCEEDED" | "FAILED" | "SKIPPED" | "ABSENT";

export interface PhaseResult {
    name: PhaseName;
    status: PhaseStatus;
    durationMs: number;
    commands: CommandResult[];
    /** Why the phase failed (first failing command or runner error). */
    reason?: string;
}

export interface BuildspecRunResult {
    succeeded: boolean;
    phases: PhaseResult[];
    durationMs: number;
    lines: OutputLine[];
    /** Whole output, "[phase] " prefixed lines. */
    output: string;
    /** Values of env.exported-variables at the end of the build. */
    exportedVariables: Record<string, string>;
}

export interface RunBuildspecOptions {
    /** The build's source folder: $CODEBUILD_SRC_DIR and the cwd at start. */
    sourceDir: string;
    /**
     * Environment given by the caller (the project / start-build overrides). It takes precedence over
     * buildspec env.variables, like CodeBuild's start-build overrides do. CODEBUILD_* defaults are
     * filled in for anything not given.
     */
    env?: Record<string, string>;
    /** Folders put first on PATH (e.g. the docker 28 client and the `aws` stand-in). */
    pathPrepend?: string[];
    /** Called for each output line; default prints "[phase] text" to stdout unless quiet. */
    onLine?: (line: OutputLine) => void;
    quiet?: boolean;
    /** Whole-build timeout (default 60 min); the running command is killed and fails. */
    timeoutMs?: number;
}

/**
 * Whether a failed phase ends the build, so that the later phases are SKIPPED: an explicit `ABORT`
 * does in every phase; `CONTINUE` never does; unset, a failed install or pre_build does, and a failed
 * build does not (post_build still runs).
 */
export function failureStopsBuild(phase: PhaseName, onFailure: string | undefined): boolean {
    if (onFailure === "CONTINUE") return false;
    return onFailure === "ABORT" || phase === "install" || phase === "pre_build";
}

/** The shell a buildspec asks for (`env.shell`); CodeBuild's Linux default is /bin/sh. */
export function shellOf(spec: Buildspec): "bash" | "sh" {
    const tag = spec.env?.shell ?? "/bin/sh";
    if (tag === "bash" || tag === "/bin/bash") return "bash";
    if (tag === "sh" || tag === "/bin/sh") return "sh";
    throw new Error(`env.shell "${tag}" is not supported on Linux (bash or /bin/sh)`);
}

/**
 * The build's environment: CodeBuild defaults < buildspec env.variables < the caller's `env`, with
 * CODEBUILD_SRC_DIR the source folder, CODEBUILD_BUILD_SUCCEEDING=1 and `pathPrepend` first on PATH.
 */
export function buildEnv(spec: Buildspec, opts: Pick<RunBuildspecOptions, "sourceDir" | "env" | "pathPrepend">) {
    const vars: Record<string, string> = {};
    for (const [k, v] of Object.entries(spec.env?.variables ?? {})) vars[k] = String(v);
    const env = defaultBuildEnv(opts.sourceDir, { ...vars, ...(opts.env ?? {}) });
    env.CODEBUILD_SRC_DIR = opts.sourceDir;
    env.CODEBUILD_BUILD_SUCCEEDING = "1";
    if (opts.pathPrepend?.length) env.PATH = [...opts.pathPrepend, env.PATH].join(":");
    return env;
}

const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** CodeBuild-like default environment for a build; `over` wins. */
export function defaultBuildEnv(sourceDir: string, over: Record<string, string> = {}): Record<string, string> {
    const region = over.AWS_REGION ?? over.AWS_DEFAULT_REGION ?? "us-east-1";
    const uuid = randomUUID();
    const project = "local-project";
    const id = `${project}:${uuid}`;
    return {
        HOME: process.env.HOME ?? "/root",
        LANG: "C.UTF-8",
        PATH: SYSTEM_PATH,
        CODEBUILD_CI: "true",
        CODEBUILD_SRC_DIR: sourceDir,
        CODEBUILD_BUILD_ID: id,
        CODEBUILD_BUILD_ARN: `arn:aws:codebuild:${region}:000000000000:build/${id}`,
        CODEBUILD_BUILD_NUMBER: "1",
        CODEBUILD_BUILD_IMAGE: "aws/codebuild/amazonlinux-x86_64-standard:5.0 (local stand-in)",
        CODEBUILD_INITIATOR: "local",
        CODEBUILD_SOURCE_VERSION: "refs/heads/main",
        CODEBUILD_RESOLVED_SOURCE_VERSION: "0000000000000000000000000000000000000000",
        CODEBUILD_WEBHOOK_TRIGGER: "",
        CODEBUILD_WEBHOOK_HEAD_REF: "",
        CODEBUILD_START_TIME: String(Date.now()),
        AWS_REGION: region,
        AWS_DEFAULT_REGION: region,
        ...over,
    };
}

/** Throws for what the runner does not emulate or a malformed phase; names the key and the value. */
export function validate(spec: Buildspec): void {
    if (String(spec.version) !== "0.2") throw new Error(`buildspec version must be 0.2 (got ${String(spec.version)})`);
    for (const k of ["parameter-store", "secrets-manager"] as const) {
        if (spec.env?.[k] && Object.keys(spec.env[k]).length) {
            throw new Error(`buildspec env.${k} is not emulated by the local runner`);
        }
    }
    for (const name of Object.keys(spec.phases ?? {})) {
        if (!(PHASE_NAMES as readonly string[]).includes(name)) throw new Error(`unknown buildspec phase "${name}"`);
        const p = spec.phases![name as PhaseName]!;
        const of = p["on-failure"];
        if (of !== undefined && of !== "ABORT" && of !== "CONTINUE") {
            throw new Error(`phases.${name}.on-failure=${of} is not emulated (only ABORT and CONTINUE)`);
        }
        for (const block of ["commands", "finally"] as const) {
            const cmds = p[block];
            if (cmds !== undefined && (!Array.isArray(cmds) || cmds.some((c) => typeof c !== "string"))) {
                throw new Error(`phases.${name}.${block} must be a list of strings`);
            }
        }
    }
}

/** Run a buildspec with CodeBuild's phase semantics. Never throws for command failures. */
export async function runBuildspec(spec: Buildspec, opts: RunBuildspecOptions): Promise<BuildspecRunResult> {
    validate(spec);
    const t0 = Date.now();
    const lines: OutputLine[] = [];
    const emit = (phase: OutputLine["phase"], stream: Stream, text: string) => {
        const line = { phase, stream, text, t: Date.now() - t0 };
        lines.push(line);
        if (opts.onLine) opts.onLine(line);
        else if (!opts.quiet) process.stdout.write(`[${phase}] ${text}\n`);
    };

    const session = new PersistentShell<PhaseName>({
        shell: shellOf(spec),
        env: buildEnv(spec, opts),
        cwd: opts.sourceDir,
        onOutput: (phase, stream, text) => emit(phase ?? "runner", stream, text),
        deadline: t0 + (opts.timeoutMs ?? 60 * 60_000),
    });
    const phases: PhaseResult[] = [];
    let failed = false;
    let stopRest = false;
    let exportedVariables: Record<string, string> = {};
    try {
        for (const name of PHASE_NAMES) {
            const phase = spec.phases?.[name];
            if (stopRest) {
                phases.push({ name, status: phase ? "SKIPPED" : "ABSENT", durationMs: 0, commands: [] });
                continue;
            }
            if (!phase) {
                phases.push({ name, status: "ABSENT", durationMs: 0, commands: [] });
                continue;
            }
            const pStart = Date.now();
            emit("runner", "runner", `Entering phase ${name.toUpperCase()}`);
            const result: PhaseResult = { name, status: "SUCCEEDED", durationMs: 0, commands: [] };
            const markFailed = async (reason: string) => {
                if (result.status !== "FAILED") result.reason = reason;
                result.status = "FAILED";
                if (!failed) {
                    failed = true;
                    await session.exec("CODEBUILD_BUILD_SUCCEEDING=0; export CODEBUILD_BUILD_SUCCEEDING", name, {
                        silent: true,
                    });
                }
            };
            const rv = phase["runtime-versions"];
            if (rv && Object.keys(rv).length) {
                if ("docker" in rv) {
                    emit(
                        name,
                        "runner",
                        "Unknown runtime version named 'docker' (current CodeBuild images have no docker runtime)",
                    );
                    await markFailed("runtime-versions: docker is rejected by current CodeBuild images");
                } else {
                    emit(name, "runner", `runtime-versions ${JSON.stringify(rv)} ignored by the local runner`);
                }
            }
            for (const block of ["commands", "finally"] as const) {
                // `commands` stop at the first failure; `finally` always runs (and also stops at its first failure).
                if (block === "commands" && result.status === "FAILED") continue;
                for (const command of phase[block] ?? []) {
                    emit(name, "runner", `Running command ${command}`);
                    const r = await session.exec(command, name);
                    result.commands.push({ phase: name, block, command, ...r });
                    if (r.exitCode !== 0) {
                        const why = r.shellExited ? "the shell exited" : "exit status";
                        emit(name, "runner", `Command did not exit successfully ${command} (${why} ${r.exitCode})`);
                        await markFailed(`COMMAND_EXECUTION_ERROR: ${command}: ${why} ${r.exitCode}`);
                        break;
                    }
                }
            }
            result.durationMs = Date.now() - pStart;
            phases.push(result);
            emit(
                "runner",
                "runner",
                `Phase complete: ${name.toUpperCase()} State: ${result.status} (${(result.durationMs / 1000).toFixed(1)} s)`,
            );
            if (result.status === "FAILED" && failureStopsBuild(name, phase["on-failure"])) stopRest = true;
        }
    } finally {
        exportedVariables = await session.readVariables(spec.env?.["exported-variables"] ?? []).catch(() => ({}));
        await session.close();
    }
    const durationMs = Date.now() - t0;
    return {
        succeeded: !failed,
        phases,
        durationMs,
        lines,
        output: lines.map((l) => `[${l.phase}] ${l.text}`).join("\n") + "\n",
        exportedVariables,
    };
}
