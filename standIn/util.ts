// Small process / filesystem helpers shared by the local CodeBuild stand-in.
import { spawn, SpawnOptions } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";

export interface RunResult {
    code: number;
    stdout: string;
    stderr: string;
}

/** Run a program to completion (no shell), collecting its output. Never throws on non-zero exit. */
export function run(
    cmd: string,
    args: string[],
    opts: SpawnOptions & { input?: string | Buffer } = {},
): Promise<RunResult> {
    return new Promise((resolve, reject) => {
        const { input, ...spawnOpts } = opts;
        const child = spawn(cmd, args, { ...spawnOpts, stdio: ["pipe", "pipe", "pipe"] });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on("data", (b: Buffer) => out.push(b));
        child.stderr.on("data", (b: Buffer) => err.push(b));
        child.on("error", reject);
        // A program that exits without reading its stdin (umount, …) makes the write below fail with EPIPE.
        child.stdin.on("error", () => undefined);
        child.on("close", (code, signal) =>
            resolve({
                code: code ?? (signal ? 128 : 1),
                stdout: Buffer.concat(out).toString("utf8"),
                stderr: Buffer.concat(err).toString("utf8"),
            }),
        );
        child.stdin.end(input ?? "");
    });
}

/** Like run() but throws with the command's stderr when it fails. */
export async function runOk(
    cmd: string,
    args: string[],
    opts: SpawnOptions & { input?: string | Buffer } = {},
): Promise<RunResult> {
    const r = await run(cmd, args, opts);
    if (r.code !== 0) {
        throw new Error(`${cmd} ${args.join(" ")} exited ${r.code}\n${r.stderr}${r.stdout}`.trim());
    }
    return r;
}

/** Absolute path of a program found on PATH (or undefined). */
export function which(name: string, pathVar = process.env.PATH ?? ""): string | undefined {
    for (const dir of pathVar.split(":")) {
        if (!dir) continue;
        const p = path.join(dir, name);
        try {
            fs.accessSync(p, fs.constants.X_OK);
            if (fs.statSync(p).isFile()) return p;
        } catch {
            /* not here */
        }
    }
    return undefined;
}

/** A free TCP port on 127.0.0.1 (racy by nature, but fine for a single machine). */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.unref();
        srv.on("error", reject);
        srv.listen(0, "127.0.0.1", () => {
            const port = (srv.address() as net.AddressInfo).port;
            srv.close(() => resolve(port));
        });
    });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Parse "26.1.5+dfsg1" / "v0.13.1" / "28.2.2" into [major, minor, patch]. */
export function parseVersion(s: string): [number, number, number] | undefined {
    const m = /(\d+)\.(\d+)(?:\.(\d+))?/.exec(s);
    if (!m) return undefined;
    return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

export function mkdirp(p: string): string {
    fs.mkdirSync(p, { recursive: true });
    return p;
}

/** Format bytes as MB with one decimal. */
export function mb(bytes: number): string {
    return (bytes / 1e6).toFixed(1);
}
