// Interrupting a stand-in tool stops its background processes (standIn/interrupt.ts). Real: a Node process running
// tests/standIn/fixtures/interruptible.ts, which starts a real `sleep` with startDetached, and real signals. No Docker.
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import * as path from "node:path";

const FIXTURE = path.join(__dirname, "fixtures", "interruptible.ts");

function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

/** Starts the fixture, waits for its `ready <pid>`, sends `signal`; resolves with its exit and output. */
async function interrupt(
    signal: "SIGINT" | "SIGTERM",
    extra: string[] = [],
): Promise<{ code: number | null; stderr: string; sleepPid: number }> {
    const child = spawn(process.execPath, ["--require", "tsx/cjs", FIXTURE, ...extra], {
        stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    const sleepPid = await new Promise<number>((resolve, reject) => {
        child.stdout.on("data", (b: Buffer) => {
            stdout += b.toString();
            const m = /ready (\d+)/.exec(stdout);
            if (m) resolve(Number(m[1]));
        });
        child.once("exit", (code) => reject(new Error(`the fixture exited (${code}) before it was ready: ${stderr}`)));
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill(signal);
    return { code: await exited, stderr, sleepPid };
}

describe("interrupting a stand-in tool (SIGINT, SIGTERM) stops what it started (real processes, no Docker)", function () {
    this.timeout(60_000);

    for (const [signal, code] of [
        ["SIGINT", 130],
        ["SIGTERM", 143],
    ] as const) {
        it(`${signal}: the background process is stopped by its PID, the line names it, the tool exits ${code}`, async () => {
            const r = await interrupt(signal);
            after(() => void (alive(r.sleepPid) && process.kill(r.sleepPid, "SIGKILL")));
            assert.equal(r.code, code, r.stderr);
            assert.match(r.stderr, new RegExp(`${signal}: stopping sleep \\(PID ${r.sleepPid}\\)`));
            assert.equal(alive(r.sleepPid), false, `sleep (PID ${r.sleepPid}) still runs`);
        });
    }

    it("a process already stopped the normal way is no longer registered: nothing to stop", async () => {
        const r = await interrupt("SIGINT", ["stop-first"]);
        assert.equal(r.code, 130, r.stderr);
        assert.match(r.stderr, /SIGINT: stopping nothing \(no background process running\)/);
        assert.equal(alive(r.sleepPid), false);
    });
});
