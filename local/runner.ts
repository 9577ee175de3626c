// A CodeBuild phase runner: runs a buildspec OBJECT (version 0.2) on this machine with CodeBuild's
// phase semantics. See local/README.md for what is emulated and the known differences.
//
// Technique: ONE shell process for the whole build (so commands share cwd, variables and
// functions). Each command is written to its own file and sourced (`. file`) with stdin from
// /dev/null and the private status fd closed; afterwards a helper writes "<n> <status>" to fd 3
// (a pipe only this runner reads) and a sentinel line to stdout and stderr, so output is attributed
// to the right command and phase. A command that makes the shell exit (`exit 3`, `set -e` plus a
// failure, a syntax error under dash) is seen as the shell process ending: the command gets the
// shell's exit status, and a new shell is started with the exported variables and the cwd saved
// after the previous command.
import { spawn, ChildProcess } from "child_process";
import { randomUUID } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

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

export type Stream = "stdout" | "stderr" | "runner";

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

function validate(spec: Buildspec): void {
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

    // Environment: CODEBUILD defaults < buildspec env.variables < caller's env.
    const vars: Record<string, string> = {};
    for (const [k, v] of Object.entries(spec.env?.variables ?? {})) vars[k] = String(v);
    const env = defaultBuildEnv(opts.sourceDir, { ...vars, ...(opts.env ?? {}) });
    env.CODEBUILD_SRC_DIR = opts.sourceDir;
    env.CODEBUILD_BUILD_SUCCEEDING = "1";
    if (opts.pathPrepend?.length) env.PATH = [...opts.pathPrepend, env.PATH].join(":");

    const shellTag = spec.env?.shell ?? "/bin/sh";
    const shell =
        shellTag === "bash" || shellTag === "/bin/bash"
            ? "bash"
            : shellTag === "sh" || shellTag === "/bin/sh"
              ? "sh"
              : undefined;
    if (!shell) throw new Error(`env.shell "${shellTag}" is not supported on Linux (bash or /bin/sh)`);

    const session = new ShellSession(shell, env, opts.sourceDir, emit, opts.timeoutMs ?? 60 * 60_000);
    const phases: PhaseResult[] = [];
    let failed = false;
    let stopRest = false;
    let exportedVariables: Record<string, string> = {};
    try {
        session.start();
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
                    await session.internal("CODEBUILD_BUILD_SUCCEEDING=0; export CODEBUILD_BUILD_SUCCEEDING");
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
            if (result.status === "FAILED") {
                const of = phase["on-failure"];
                if (of === "CONTINUE") continue;
                // Default transitions: a failed install or pre_build skips the later phases; a failed build
                // still runs post_build. An explicit ABORT stops the build in any phase.
                if (of === "ABORT" || name === "install" || name === "pre_build") stopRest = true;
            }
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

// ---------------------------------------------------------------------------------------------

interface Pending {
    n: number;
    phase: OutputLine["phase"];
    rc?: number;
    outDone: boolean;
    errDone: boolean;
    internal: boolean;
    resolve: (r: { exitCode: number; shellExited: boolean }) => void;
    graceTimer?: NodeJS.Timeout;
}

class ShellSession {
    private child?: ChildProcess;
    private dir: string;
    private nonce = Math.random().toString(36).slice(2, 10);
    private n = 0;
    private pending?: Pending;
    private outBuf = "";
    private errBuf = "";
    private ctlBuf = "";
    private deadline: number;

    constructor(
        private shell: "bash" | "sh",
        private env: Record<string, string>,
        private cwd: string,
        private emit: (phase: OutputLine["phase"], stream: Stream, text: string) => void,
        timeoutMs: number,
    ) {
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "cbrun-"));
        this.deadline = Date.now() + timeoutMs;
    }

    private get stateFile() {
        return path.join(this.dir, "state.sh");
    }

    start(restore = false): void {
        const shellPath = this.shell === "bash" ? "/bin/bash" : "/bin/sh";
        const args = this.shell === "bash" ? ["--noprofile", "--norc"] : [];
        const child = spawn(shellPath, args, {
            cwd: this.cwd,
            env: this.env,
            stdio: ["pipe", "pipe", "pipe", "pipe"],
            detached: true, // own process group, so stray background jobs can be ended with it
        });
        this.child = child;
        this.outBuf = this.errBuf = this.ctlBuf = "";
        child.stdout.setEncoding("utf8").on("data", (s: string) => this.onData("stdout", s));
        child.stderr.setEncoding("utf8").on("data", (s: string) => this.onData("stderr", s));
        (child.stdio[3] as NodeJS.ReadableStream).setEncoding("utf8");
        (child.stdio[3] as NodeJS.ReadableStream).on("data", (s: string) => this.onCtl(s));
        child.stdin.on("error", () => undefined);
        child.on("exit", (code, signal) => {
            const status = code ?? (signal ? 128 + (os.constants.signals[signal] ?? 9) : 1);
            // Let the pipes drain (output written just before `exit`), but don't wait for background
            // jobs that keep them open.
            const timer = setTimeout(() => this.onExit(child, status), 500);
            child.once("close", () => {
                clearTimeout(timer);
                this.onExit(child, status);
            });
        });
        const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
        const prelude = [
            // Report completion of command $2 with status $1: sentinel on stdout and stderr, status on fd 3.
            `__cb_done() { __cb_rc=$1; export -p > ${q(this.stateFile)}.tmp 2>/dev/null && pwd >> ${q(this.stateFile)}.tmp && mv -f ${q(this.stateFile)}.tmp ${q(this.stateFile)}; printf '__CB_${this.nonce}_END\\n'; printf '__CB_${this.nonce}_END\\n' >&2; printf '%s %s\\n' "$2" "$__cb_rc" >&3; }`,
        ];
        if (restore && fs.existsSync(this.stateFile)) {
            const lines = fs.readFileSync(this.stateFile, "utf8").trimEnd().split("\n");
            const cwd = lines.pop()!;
            fs.writeFileSync(path.join(this.dir, "restore.sh"), lines.join("\n") + "\n");
            prelude.push(`. ${q(path.join(this.dir, "restore.sh"))} 2>/dev/null; cd ${q(cwd)} 2>/dev/null`);
        }
        child.stdin.write(prelude.join("\n") + "\n");
    }

    private onData(stream: "stdout" | "stderr", s: string) {
        const sentinel = `__CB_${this.nonce}_END`;
        let buf = (stream === "stdout" ? this.outBuf : this.errBuf) + s;
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            const at = line.indexOf(sentinel);
            if (at >= 0) {
                if (at > 0) this.emitLine(stream, line.slice(0, at));
                const p = this.pending;
                if (p) {
                    if (stream === "stdout") p.outDone = true;
                    else p.errDone = true;
                    this.maybeFinish();
                }
            } else {
                this.emitLine(stream, line);
            }
        }
        if (stream === "stdout") this.outBuf = buf;
        else this.errBuf = buf;
    }

    private emitLine(stream: "stdout" | "stderr", text: string) {
        const phase = this.pending?.phase ?? "runner";
        if (this.pending?.internal) return;
        this.emit(phase, stream, text);
    }

    private onCtl(s: string) {
        this.ctlBuf += s;
        let nl: number;
        while ((nl = this.ctlBuf.indexOf("\n")) >= 0) {
            const line = this.ctlBuf.slice(0, nl);
            this.ctlBuf = this.ctlBuf.slice(nl + 1);
            const [n, rc] = line.trim().split(" ").map(Number);
            const p = this.pending;
            if (p && p.n === n) {
                p.rc = rc;
                // Sentinels normally follow at once; if the command redirected the shell's stdout for good
                // (exec >file), don't wait for them forever.
                p.graceTimer = setTimeout(() => {
                    p.outDone = p.errDone = true;
                    this.maybeFinish();
                }, 2000);
                this.maybeFinish();
            }
        }
    }

    private maybeFinish() {
        const p = this.pending;
        if (!p || p.rc === undefined || !p.outDone || !p.errDone) return;
        if (p.graceTimer) clearTimeout(p.graceTimer);
        this.pending = undefined;
        p.resolve({ exitCode: p.rc, shellExited: false });
    }

    private onExit(child: ChildProcess, code: number) {
        if (child !== this.child) return;
        this.child = undefined;
        // Flush partial lines.
        if (this.outBuf) this.emitLine("stdout", this.outBuf);
        if (this.errBuf) this.emitLine("stderr", this.errBuf);
        this.outBuf = this.errBuf = "";
        const p = this.pending;
        if (p) {
            if (p.graceTimer) clearTimeout(p.graceTimer);
            this.pending = undefined;
            p.resolve({ exitCode: p.rc ?? code, shellExited: p.rc === undefined });
        }
    }

    /** Run one buildspec command in the shared shell. */
    async exec(
        command: string,
        phase: PhaseName,
        internal = false,
    ): Promise<{ exitCode: number; durationMs: number; shellExited: boolean }> {
        const t = Date.now();
        if (!this.child) {
            if (!internal)
                this.emit(
                    phase,
                    "runner",
                    "the previous command ended the shell; starting a new one (exported variables and cwd restored)",
                );
            this.start(true);
        }
        const n = ++this.n;
        const file = path.join(this.dir, `cmd-${n}.sh`);
        fs.writeFileSync(file, command + "\n");
        const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
        const r = await new Promise<{ exitCode: number; shellExited: boolean }>((resolve) => {
            this.pending = { n, phase, outDone: false, errDone: false, internal, resolve };
            const left = this.deadline - Date.now();
            const killer = setTimeout(
                () => {
                    this.emit(phase, "runner", "build timed out; killing the shell");
                    this.killGroup("SIGKILL");
                },
                Math.max(left, 1),
            );
            const orig = this.pending.resolve;
            this.pending.resolve = (x) => {
                clearTimeout(killer);
                orig(x);
            };
            this.child!.stdin!.write(`{ . ${q(file)}; } </dev/null 3>&-; __cb_done $? ${n}\n`);
        });
        return { ...r, durationMs: Date.now() - t };
    }

    /** A runner-internal command (no output shown). */
    async internal(command: string): Promise<void> {
        await this.exec(command, "build", true);
    }

    async readVariables(names: string[]): Promise<Record<string, string>> {
        const out: Record<string, string> = {};
        for (const name of names) {
            if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) continue;
            const f = path.join(this.dir, `var-${name}`);
            await this.internal(`printf '%s' "\${${name}-}" > '${f}'`);
            try {
                out[name] = fs.readFileSync(f, "utf8");
            } catch {
                /* unset */
            }
        }
        return out;
    }

    private killGroup(signal: NodeJS.Signals) {
        const pid = this.child?.pid;
        if (!pid) return;
        try {
            process.kill(-pid, signal); // the shell's own process group (we started it detached)
        } catch {
            /* gone */
        }
    }

    async close(): Promise<void> {
        const child = this.child;
        if (child) {
            const exited = new Promise<void>((r) => child.once("exit", () => r()));
            child.stdin!.end("exit 0\n");
            const timer = setTimeout(() => this.killGroup("SIGKILL"), 5000);
            await exited;
            clearTimeout(timer);
            // End stray background jobs the build left in the shell's process group.
            try {
                process.kill(-child.pid!, "SIGTERM");
            } catch {
                /* none left */
            }
        }
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}
