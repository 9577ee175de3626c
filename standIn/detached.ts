// One way to run a background process for the local stand-in (dockerd, the registry, any later proxy or
// builder): spawn it detached with its output in a log file, record its PID, wait until it is ready, and
// stop it by that PID (SIGTERM, then SIGKILL after a grace period) and wait until it has been reaped.
// Nothing here matches processes by name: only PIDs this process started, or PIDs it was told about.
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import { onInterrupt } from "./interrupt";
import { sleep } from "./util";

export interface DetachedOptions {
    /** Short name used in messages, e.g. "dockerd". */
    readonly name: string;
    readonly command: string;
    readonly args: readonly string[];
    /** The process's whole environment (nothing is inherited). */
    readonly env: Record<string, string>;
    readonly cwd?: string;
    /** stdout and stderr are appended here; its tail is quoted when start-up fails. */
    readonly logFile: string;
    /** Resolves true once the process serves (e.g. answers a ping). Polled until `readyTimeoutMs`. */
    readonly ready: () => Promise<boolean> | boolean;
    /** @default 60000 */
    readonly readyTimeoutMs?: number;
    /** @default 25 */
    readonly pollMs?: number;
    /** Time between SIGTERM and SIGKILL when stopping. @default 10000 */
    readonly stopGraceMs?: number;
}

export interface StopResult {
    /** Milliseconds from the call until the process was reaped. */
    readonly stopMs: number;
    /** The last signal that was needed: none if it had already exited. */
    readonly signal: "none" | "SIGTERM" | "SIGKILL";
}

export interface DetachedProcess {
    readonly name: string;
    readonly pid: number;
    readonly logFile: string;
    /** Milliseconds from spawn until `ready` answered true. */
    readonly startMs: number;
    /** Has the process exited (and been reaped)? */
    exited(): boolean;
    /**
     * SIGTERM the PID, wait up to `stopGraceMs`, then SIGKILL it; resolves once the process has exited
     * and been reaped. Idempotent: later calls return the first call's promise.
     */
    stop(): Promise<StopResult>;
}

/**
 * Spawn `command` detached (its own process group, not tied to this process's terminal), wait until
 * `ready()` is true, and return a handle that stops it by PID. If the process exits during start-up or
 * isn't ready in time, it is stopped and the error quotes the end of its log.
 */
export async function startDetached(o: DetachedOptions): Promise<DetachedProcess> {
    const logFd = fs.openSync(o.logFile, "a");
    const t0 = Date.now();
    let child: ChildProcess;
    try {
        child = spawn(o.command, [...o.args], {
            cwd: o.cwd,
            env: o.env,
            detached: true,
            stdio: ["ignore", logFd, logFd],
        });
    } finally {
        fs.closeSync(logFd);
    }
    // Don't keep this process alive for the child's sake; `stop()` still waits for it.
    child.unref();
    const spawned = await new Promise<number>((resolve, reject) => {
        child.once("spawn", () => resolve(child.pid!));
        child.once("error", (e) => reject(new Error(`${o.name}: could not start ${o.command}: ${e.message}`)));
    });
    const pid = spawned;
    let exitStatus: string | undefined;
    const exit = new Promise<void>((resolve) =>
        child.once("exit", (code, signal) => {
            exitStatus = signal ? `signal ${signal}` : `status ${code}`;
            resolve();
        }),
    );

    let stopping: Promise<StopResult> | undefined;
    // Stopped on SIGINT or SIGTERM too, if this process is interrupted before it stops it (interrupt.ts).
    let offInterrupt = () => {};
    const stop = () =>
        (stopping ??= stopChild(child, exit, () => exitStatus !== undefined, o.stopGraceMs ?? 10_000).finally(() =>
            offInterrupt(),
        ));
    offInterrupt = onInterrupt(`${o.name} (PID ${pid})`, stop);

    const timeoutMs = o.readyTimeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        if (exitStatus !== undefined) {
            throw new Error(`${o.name} (PID ${pid}) exited during start-up (${exitStatus}):\n${tail(o.logFile)}`);
        }
        let ok: boolean;
        try {
            ok = await o.ready();
        } catch (e) {
            await stop();
            throw e;
        }
        if (ok) break;
        if (Date.now() > deadline) {
            await stop();
            throw new Error(`${o.name} (PID ${pid}) was not ready after ${timeoutMs} ms:\n${tail(o.logFile)}`);
        }
        await sleep(o.pollMs ?? 25);
    }
    return {
        name: o.name,
        pid,
        logFile: o.logFile,
        startMs: Date.now() - t0,
        exited: () => exitStatus !== undefined,
        stop,
    };
}

async function stopChild(
    child: ChildProcess,
    exit: Promise<void>,
    exited: () => boolean,
    graceMs: number,
): Promise<StopResult> {
    const t0 = Date.now();
    if (exited()) return { stopMs: 0, signal: "none" };
    child.kill("SIGTERM");
    let signal: StopResult["signal"] = "SIGTERM";
    let timer: NodeJS.Timeout | undefined;
    const gone = await Promise.race([
        exit.then(() => true),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(false), graceMs))),
    ]);
    clearTimeout(timer);
    if (!gone) {
        child.kill("SIGKILL");
        signal = "SIGKILL";
        await exit;
    }
    // The `exit` event comes after libuv's waitpid(): the PID has been reaped.
    return { stopMs: Date.now() - t0, signal };
}

/**
 * Stop a process this program did not spawn but knows by PID (e.g. the containerd that a dockerd we
 * started started itself, from its pidfile): SIGTERM, wait up to `graceMs`, then SIGKILL and wait
 * until it is gone. Reaping it is its parent's (or init's) job, so "gone" means no longer running.
 */
export async function stopPid(pid: number, graceMs: number): Promise<StopResult["signal"]> {
    if (!pidAlive(pid) || !signalPid(pid, "SIGTERM")) return "none";
    const deadline = Date.now() + graceMs;
    while (pidAlive(pid) && Date.now() < deadline) await sleep(25);
    if (!pidAlive(pid)) return "SIGTERM";
    signalPid(pid, "SIGKILL");
    while (pidAlive(pid)) await sleep(25);
    return "SIGKILL";
}

/** Send a signal to a PID (or, negative, a process group); false if there is no such process. */
export function signalPid(pid: number, signal: NodeJS.Signals): boolean {
    try {
        process.kill(pid, signal);
        return true;
    } catch {
        return false;
    }
}

/** The last lines of a log file, for error messages. */
export function tail(file: string, lines = 30): string {
    try {
        return fs.readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
    } catch {
        return "(no log)";
    }
}

/** Is a process with this PID running (present and not a zombie)? */
export function pidAlive(pid: number): boolean {
    try {
        process.kill(pid, 0);
    } catch {
        return false;
    }
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
        return state !== "Z";
    } catch {
        return false;
    }
}
