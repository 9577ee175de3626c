// The helper that runs the stand-in's background processes (standIn/detached.ts), on real small processes
// (sleep, sh). Nothing is mocked. "Reaped" is checked with /proc/<pid>: a zombie still has its entry.
import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { pidAlive, startDetached, stopPid } from "../../standIn/detached";

const SH_ENV = { PATH: "/usr/bin:/bin" };

describe("startDetached / stop", function () {
    this.timeout(10_000);
    let dir: string;
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "cbdetached-"))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
    const log = () => path.join(dir, "log");
    const logText = () => fs.readFileSync(log(), "utf8");

    it("starts a process, waits until it is ready, and stops it with SIGTERM; it is gone and reaped", async () => {
        let polls = 0;
        const p = await startDetached({
            name: "sleeper",
            command: "sleep",
            args: ["30"],
            env: SH_ENV,
            logFile: log(),
            ready: () => ++polls >= 3,
            pollMs: 10,
        });
        assert.equal(polls, 3);
        assert.ok(pidAlive(p.pid), "running after start");
        assert.equal(p.exited(), false);
        const r = await p.stop();
        assert.equal(r.signal, "SIGTERM");
        assert.equal(p.exited(), true);
        assert.equal(fs.existsSync(`/proc/${p.pid}`), false, "no /proc entry left: reaped, not a zombie");
        assert.strictEqual(await p.stop(), r, "stop() is idempotent");
    });

    it("SIGKILLs a process that ignores SIGTERM once the grace period is over", async () => {
        // The trap is set before "ready" is printed, and an ignored signal stays ignored across exec.
        const p = await startDetached({
            name: "stubborn",
            command: "sh",
            args: ["-c", "trap '' TERM; echo ready; exec sleep 30"],
            env: SH_ENV,
            logFile: log(),
            ready: () => logText().includes("ready"),
            stopGraceMs: 300,
        });
        const r = await p.stop();
        assert.equal(r.signal, "SIGKILL");
        assert.ok(r.stopMs >= 300, `stopped after ${r.stopMs} ms`);
        assert.equal(fs.existsSync(`/proc/${p.pid}`), false);
    });

    it("a process that exits during start-up fails the start with its status and the end of its log", async () => {
        await assert.rejects(
            startDetached({
                name: "crasher",
                command: "sh",
                args: ["-c", "echo 'bad config' >&2; exit 3"],
                env: SH_ENV,
                logFile: log(),
                ready: () => false,
            }),
            { message: /^crasher \(PID \d+\) exited during start-up \(status 3\):\nbad config\n/ },
        );
    });

    it("a process that is not ready in time is stopped, and the error says how long it waited", async () => {
        await assert.rejects(
            startDetached({
                name: "slow",
                command: "sh",
                args: ["-c", "echo $$; exec sleep 30"],
                env: SH_ENV,
                logFile: log(),
                ready: () => false,
                readyTimeoutMs: 200,
            }),
            { message: /^slow \(PID \d+\) was not ready after 200 ms:/ },
        );
        const pid = Number(logText().trim());
        assert.ok(pid > 0);
        assert.equal(fs.existsSync(`/proc/${pid}`), false, "stopped and reaped after the failed start");
    });

    it("a command that can't be run fails the start with the command's name", async () => {
        await assert.rejects(
            startDetached({
                name: "missing",
                command: path.join(dir, "no-such-program"),
                args: [],
                env: SH_ENV,
                logFile: log(),
                ready: () => true,
            }),
            { message: /^missing: could not start .*no-such-program: spawn .* ENOENT$/ },
        );
    });
});

describe("stopPid", function () {
    this.timeout(10_000);

    it("ends a process known only by its PID, and says which signal it took", async () => {
        const child = spawn("sleep", ["30"], { stdio: "ignore" });
        await new Promise((r) => child.once("spawn", r));
        const pid = child.pid!;
        assert.equal(await stopPid(pid, 5_000), "SIGTERM");
        assert.equal(pidAlive(pid), false);
        assert.equal(await stopPid(pid, 5_000), "none", "nothing to do the second time");
    });
});
