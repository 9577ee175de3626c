// What the stand-in's tools stop when they are interrupted. A bench or a local build runs for minutes with a dockerd,
// its containerd and a registry in the background; Ctrl-C (SIGINT) or a SIGTERM used to end the tool and leave them
// running, holding their ports and directories. Each background process registers its stop here while it runs
// (detached.ts, daemon.ts); on the first SIGINT or SIGTERM every registered stop runs (by PID, as always), then the
// tool exits with 128 + the signal's number. A second signal ends the tool at once (the handlers are `once`).
import * as os from "os";

type Cleanup = { readonly what: string; readonly run: () => Promise<unknown> };

const cleanups = new Set<Cleanup>();
let installed = false;

/**
 * Registers `run` to be awaited if this process gets SIGINT or SIGTERM; returns the function that takes it off again
 * (call it once the thing has been stopped the normal way). `what` names it in the one line said on the interrupt.
 */
export function onInterrupt(what: string, run: () => Promise<unknown>): () => void {
    const c: Cleanup = { what, run };
    cleanups.add(c);
    if (!installed) {
        installed = true;
        for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void interrupted(signal));
    }
    return () => void cleanups.delete(c);
}

/** What is registered now (for tests and messages). */
export function pendingCleanups(): string[] {
    return [...cleanups].map((c) => c.what);
}

async function interrupted(signal: "SIGINT" | "SIGTERM"): Promise<void> {
    const all = [...cleanups];
    console.error(
        `\n${signal}: stopping ${all.length === 0 ? "nothing (no background process running)" : all.map((c) => c.what).join(", ")}`,
    );
    const results = await Promise.allSettled(all.map((c) => c.run()));
    results.forEach((r, i) => {
        if (r.status === "rejected")
            console.error(
                `${signal}: stopping ${all[i].what} failed: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`,
            );
    });
    process.exit(128 + os.constants.signals[signal]);
}
