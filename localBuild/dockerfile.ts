/**
 * Synthetic Dockerfiles for the end-to-end tests and the benchmark, as pure functions.
 *
 * Each step does real work, like a compile: it writes `mbPerStep` MB of random (incompressible) data
 * into its own layer and hashes it `hashRounds` times. A "change" appends a harmless command to one
 * step, as the original write-up did (an echo added to a statement halfway down the Dockerfile): that
 * step and every step after it must be rebuilt, every step before it must come from the cache.
 */

export interface SyntheticOptions {
    /** Image every stage starts FROM (made locally; no public registry is reachable). */
    readonly baseImage: string;
    /** Number of work steps. */
    readonly steps: number;
    /** MB of random data each step writes into its layer. */
    readonly mbPerStep: number;
    /** How many times each step hashes its data: the CPU part of the work. */
    readonly hashRounds: number;
    /** 1-based step that carries the change marker, if any. */
    readonly changeAt?: number;
    /** Text of the change; a different marker is a different change. */
    readonly changeMarker?: string;
    /** 1-based step that fails (exit 1), for failure tests. */
    readonly failAt?: number;
    /**
     * What each step writes: `random` bytes (incompressible: gzip and zstd both store them as they are) or `text`, a
     * hex dump of random bytes that compresses to under half, like source trees and package folders do.
     * @default "random"
     */
    readonly data?: StepData;
}

/** What a step writes: see {@link SyntheticOptions.data}. */
export type StepData = "random" | "text";

function check(o: SyntheticOptions): void {
    const whole = (n: number, min: number) => Number.isInteger(n) && n >= min;
    if (!whole(o.steps, 1)) throw new Error(`steps must be a whole number >= 1, got ${o.steps}`);
    if (!whole(o.mbPerStep, 0)) throw new Error(`mbPerStep must be a whole number >= 0, got ${o.mbPerStep}`);
    if (!whole(o.hashRounds, 0)) throw new Error(`hashRounds must be a whole number >= 0, got ${o.hashRounds}`);
    for (const [key, v] of [
        ["changeAt", o.changeAt],
        ["failAt", o.failAt],
    ] as const) {
        if (v !== undefined && !(whole(v, 1) && v <= o.steps))
            throw new Error(`${key} must be a step from 1 to ${o.steps}, got ${v}`);
    }
    if (o.changeMarker !== undefined && !/^[A-Za-z0-9_.-]+$/.test(o.changeMarker)) {
        throw new Error(`changeMarker must be letters, digits, '_', '.', '-', got ${JSON.stringify(o.changeMarker)}`);
    }
}

/** The shell of one work step: write the data, then hash it. */
export function stepCommand(step: number, mb: number, rounds: number, data: StepData = "random"): string {
    const file = `/data/step-${String(step).padStart(3, "0")}.bin`;
    // `od -An -tx1` writes 3 characters per byte and a newline per 16: 1 MB of text from 21,400 random bytes (× 49/16).
    const write =
        data === "text"
            ? `dd if=/dev/urandom bs=1k count=${mb * 334} 2>/dev/null | od -An -tx1 > ${file}`
            : `dd if=/dev/urandom of=${file} bs=1M count=${mb} 2>/dev/null`;
    // The closing echo gives every executed step a line of output, which tells a rebuilt step apart from
    // a cache hit whose layer BuildKit had to download (both can end in DONE).
    return `${write} && i=0 && while [ $i -lt ${rounds} ]; do sha256sum ${file} >/dev/null; i=$((i+1)); done && echo "step ${step}: ${mb} MB hashed ${rounds} times"`;
}

/** A single-stage Dockerfile of `steps` work steps. */
export function singleStage(o: SyntheticOptions): string {
    check(o);
    const lines = [`FROM ${o.baseImage}`, `RUN mkdir -p /data`];
    for (let s = 1; s <= o.steps; s++) {
        let cmd = stepCommand(s, o.mbPerStep, o.hashRounds, o.data);
        if (o.changeAt === s) cmd += ` && echo ${o.changeMarker ?? "changed"} > /data/change-${s}.txt`;
        if (o.failAt === s) cmd += ` && echo "step ${s} fails on purpose" && exit 1`;
        lines.push(`RUN ${cmd}`);
    }
    lines.push(`CMD ["sh", "-c", "ls -l /data"]`);
    return lines.join("\n") + "\n";
}

/**
 * A multi-stage Dockerfile: a builder stage does all the work steps; the final stage only copies one
 * small artifact out of it. Only a cache that keeps the builder stage (mode=max) lets a fresh host skip it.
 */
export function multiStage(o: SyntheticOptions): string {
    check(o);
    const lines = [`FROM ${o.baseImage} AS builder`, `RUN mkdir -p /data /out`];
    for (let s = 1; s <= o.steps; s++) {
        lines.push(`RUN ${stepCommand(s, o.mbPerStep, o.hashRounds)}`);
    }
    lines.push(`RUN cat /data/*.bin | sha256sum > /out/artifact.sha256`);
    lines.push(`FROM ${o.baseImage}`);
    lines.push(`COPY --from=builder /out/artifact.sha256 /artifact.sha256`);
    lines.push(`CMD ["cat", "/artifact.sha256"]`);
    return lines.join("\n") + "\n";
}

/** Number of Dockerfile steps BuildKit reports (FROM excluded) for a single-stage file. */
export function singleStageStepCount(steps: number): number {
    return steps + 1;
}

/** A benchmark workload: the shape of the synthetic Dockerfile, per step. */
export interface Workload {
    /** `heavy`: few steps of real work each (the original's ratio of work to image size); `light`: many cheap steps. */
    readonly name: string;
    readonly steps: number;
    readonly mbPerStep: number;
    readonly hashRounds: number;
    /** One line for the tables. */
    readonly description: string;
}

/**
 * The benchmark's two workloads. `heavy` is today's: 24 steps of about 2 s of hashing over 4 MB each, where the
 * Dockerfile's own work dominates. `light` has many cheap steps (2 MB, one hash pass, well under a second each),
 * where the fixed costs of a build and of each step (cache lookups, layer round-trips, the export) dominate, as in
 * real Dockerfiles of dozens of small `RUN`s (issue 12).
 */
export const WORKLOADS = {
    heavy: { name: "heavy", steps: 24, mbPerStep: 4, hashRounds: 80, description: "24 steps × 4 MB, 80 hash passes" },
    light: { name: "light", steps: 48, mbPerStep: 2, hashRounds: 1, description: "48 steps × 2 MB, 1 hash pass" },
} as const satisfies Record<string, Workload>;
export type WorkloadName = keyof typeof WORKLOADS;

/** The scale series' step counts (same work per step as `light`, the change halfway). */
export const SCALE_STEPS = [12, 24, 48, 96] as const;

/** The light workload at `steps` steps: one point of the scale series. */
export function scaleWorkload(steps: number): Workload {
    const light = WORKLOADS.light;
    return {
        ...light,
        name: `light-${steps}`,
        steps,
        description: `${steps} steps × ${light.mbPerStep} MB, ${light.hashRounds} hash pass`,
    };
}
