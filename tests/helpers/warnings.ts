import * as pulumi from "@pulumi/pulumi";

/**
 * Runs `run` with `pulumi.log.warn` recording its messages instead of sending them to the engine, and returns
 * `run`'s result with what was warned, in order. The original `warn` is put back whatever happens.
 */
export async function withWarnings<T>(run: () => Promise<T>): Promise<{ warned: string[]; result: T }> {
    const warned: string[] = [];
    const log = pulumi.log as { warn: (msg: string) => Promise<void> };
    const original = log.warn;
    log.warn = (msg: string) => {
        warned.push(msg);
        return Promise.resolve();
    };
    try {
        return { warned, result: await run() };
    } finally {
        log.warn = original;
    }
}
