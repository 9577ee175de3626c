// The persistent shell of a local build: ONE bash or sh process for the whole build, so that commands
// share cwd, variables and functions, as in CodeBuild's buildspec 0.2. runner.ts decides what runs when
// (phases, transitions); this module only runs one command at a time and tells how it ended.
//
// Technique: each command is written to its own file and sourced (`. file`) with stdin from /dev/null
// and the private status fd closed; afterwards a helper writes "<n> <status>" to fd 3 (a pipe only this
// module reads) and a sentinel line to stdout and stderr, so output is attributed to the right command.
// A command that makes the shell exit (`exit 3`, `set -e` plus a failure, a syntax error under dash) is
// seen as the shell process ending: the command gets the shell's exit status, and the next command
// starts a new shell with the exported variables and the cwd saved after the previous command.
import { spawn, ChildProcess } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { shellWord } from "../components/buildspec";
import { signalPid } from "./detached";

export type Stream = "stdout" | "stderr" | "runner";

export interface ExecResult {
    exitCode: number;
    durationMs: number;
    /** The command ended the shell process (exit, set -e, ...); the next command gets a new shell. */
    shellExited: boolean;
}

export interface PersistentShellOptions<L extends string> {
    /** `bash` (no profile, no rc) or `sh` (/bin/sh: dash here, like CodeBuild's Ubuntu images). */
    shell: "bash" | "sh";
    /** The shell's whole environment at start. */
    env: Record<string, string>;
    /** Working folder at start. */
    cwd: string;
    /**
     * Each output line, attributed to the label of the command that printed it; `undefined` for output
     * while no command runs (e.g. from a background job between commands).
     */
    onOutput: (label: L | undefined, stream: Stream, text: string) => void;
    /** The running command is killed (with the shell's process group) once this moment passes. */
    deadline: number;
}

interface Pending<L> {
    n: number;
    /** undefined: a silent command of this module's own. */
    label?: L;
    rc?: number;
    outDone: boolean;
    errDone: boolean;
    silent: boolean;
    resolve: (r: { exitCode: number; shellExited: boolean }) => void;
    graceTimer?: NodeJS.Timeout;
}

/** One shell process (restarted after a command ends it) that runs commands one at a time. */
export class PersistentShell<L extends string> {
    private child?: ChildProcess;
    private started = false;
    private readonly dir: string;
    private readonly nonce = Math.random().toString(36).slice(2, 10);
    private n = 0;
    private pending?: Pending<L>;
    private outBuf = "";
    private errBuf = "";
    private ctlBuf = "";

    constructor(private readonly o: PersistentShellOptions<L>) {
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "cbrun-"));
    }

    private get stateFile() {
        return path.join(this.dir, "state.sh");
    }

    private start(restore: boolean): void {
        const shellPath = this.o.shell === "bash" ? "/bin/bash" : "/bin/sh";
        const args = this.o.shell === "bash" ? ["--noprofile", "--norc"] : [];
        // Detached: its own process group, so stray background jobs can be ended with it. Not a
        // detached.ts service: it is driven through its pipes and ended by close().
        const child = spawn(shellPath, args, {
            cwd: this.o.cwd,
            env: this.o.env,
            stdio: ["pipe", "pipe", "pipe", "pipe"],
            detached: true,
        });
        this.child = child;
        this.started = true;
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
        const state = shellWord(this.stateFile);
        const stateTmp = shellWord(`${this.stateFile}.tmp`);
        const end = `__CB_${this.nonce}_END`;
        const prelude = [
            // Report completion of command $2 with status $1: sentinel on stdout and stderr, status on fd 3.
            `__cb_done() { __cb_rc=$1; export -p > ${stateTmp} 2>/dev/null && pwd >> ${stateTmp} && mv -f ${stateTmp} ${state}; printf '${end}\\n'; printf '${end}\\n' >&2; printf '%s %s\\n' "$2" "$__cb_rc" >&3; }`,
        ];
        if (restore && fs.existsSync(this.stateFile)) {
            const lines = fs.readFileSync(this.stateFile, "utf8").trimEnd().split("\n");
            const cwd = lines.pop()!;
            const restoreFile = path.join(this.dir, "restore.sh");
            fs.writeFileSync(restoreFile, lines.join("\n") + "\n");
            prelude.push(`. ${shellWord(restoreFile)} 2>/dev/null; cd ${shellWord(cwd)} 2>/dev/null`);
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
        const p = this.pending;
        if (p?.silent) return;
        this.o.onOutput(p?.label, stream, text);
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

    /**
     * Run one command in the shared shell; its output goes to `onOutput` under `label` unless `silent`.
     * Never throws for a failing command: the status is in the result.
     */
    async exec(command: string, label: L, opts: { silent?: boolean } = {}): Promise<ExecResult> {
        return this.run(command, opts.silent ? undefined : label);
    }

    private async run(command: string, label: L | undefined): Promise<ExecResult> {
        const t = Date.now();
        const silent = label === undefined;
        if (!this.child) {
            if (this.started && !silent) {
                this.o.onOutput(
                    label,
                    "runner",
                    "the previous command ended the shell; starting a new one (exported variables and cwd restored)",
                );
            }
            this.start(this.started);
        }
        const n = ++this.n;
        const file = path.join(this.dir, `cmd-${n}.sh`);
        fs.writeFileSync(file, command + "\n");
        const r = await new Promise<{ exitCode: number; shellExited: boolean }>((resolve) => {
            const killer = setTimeout(
                () => {
                    this.o.onOutput(label, "runner", "build timed out; killing the shell");
                    this.signalGroup("SIGKILL");
                },
                Math.max(this.o.deadline - Date.now(), 1),
            );
            this.pending = {
                n,
                label,
                outDone: false,
                errDone: false,
                silent,
                resolve: (x) => {
                    clearTimeout(killer);
                    resolve(x);
                },
            };
            this.child!.stdin!.write(`{ . ${shellWord(file)}; } </dev/null 3>&-; __cb_done $? ${n}\n`);
        });
        return { ...r, durationMs: Date.now() - t };
    }

    /**
     * Current values of shell variables, run silently in the shell (an unset variable reads as "").
     * Names that aren't shell names are left out.
     */
    async readVariables(names: readonly string[]): Promise<Record<string, string>> {
        const out: Record<string, string> = {};
        for (const name of names) {
            if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) continue;
            const f = path.join(this.dir, `var-${name}`);
            await this.run(`printf '%s' "\${${name}-}" > ${shellWord(f)}`, undefined);
            try {
                out[name] = fs.readFileSync(f, "utf8");
            } catch {
                /* the shell could not write it */
            }
        }
        return out;
    }

    private signalGroup(signal: NodeJS.Signals) {
        const pid = this.child?.pid;
        if (pid) signalPid(-pid, signal); // the shell's own process group (it was started detached)
    }

    /** End the shell (`exit 0`, SIGKILL after 5 s), SIGTERM what is left in its group, delete its files. */
    async close(): Promise<void> {
        const child = this.child;
        if (child) {
            const exited = new Promise<void>((r) => child.once("exit", () => r()));
            child.stdin!.end("exit 0\n");
            const timer = setTimeout(() => this.signalGroup("SIGKILL"), 5000);
            await exited;
            clearTimeout(timer);
            // End stray background jobs the build left in the shell's process group.
            signalPid(-child.pid!, "SIGTERM");
        }
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}
