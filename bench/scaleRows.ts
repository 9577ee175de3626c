/**
 * The scale series' rows, pure (bench/scale.ts runs the builds; bench/results.ts reads the target from these rows).
 * A single change build is noisy on this machine (inline at 96 steps: 10.2 s, then 11.3 s in two consecutive change
 * builds), so each step count has four change builds (`change` … `change 4`, each a real change against the build
 * before it) and the change time is their mean; each is kept to be shown.
 */
import type { RunRecord } from "../localBuild/experiment";

/** One row per strategy and step count: cold, warm, change (mean of the change builds) and the export, in seconds. */
export interface ScaleRow {
    readonly variant: string;
    readonly steps: number;
    readonly cold: number;
    readonly warm: number;
    /** The mean of {@link changes}. */
    readonly change: number;
    /** Each change build's seconds, in order (`change`, then `change 2` when it ran). */
    readonly changes: readonly number[];
    /** The mean of the change builds' export times, when they have one (`registry`). */
    readonly changeExport?: number;
    readonly coldExport?: number;
}

/** The mean of a non-empty list. */
export function mean(xs: readonly number[]): number {
    if (xs.length === 0) throw new Error("mean of nothing");
    return xs.reduce((n, x) => n + x, 0) / xs.length;
}

export function scaleRows(records: readonly RunRecord[]): ScaleRow[] {
    const keys = [...new Set(records.map((r) => `${r.variant}\u0000${r.steps}`))];
    return keys.flatMap((k) => {
        const [variant, stepsText] = k.split("\u0000");
        const steps = Number(stepsText);
        const get = (run: string) => records.find((r) => r.variant === variant && r.steps === steps && r.run === run);
        const cold = get("cold");
        const warm = get("warm");
        const changes = (["change", "change 2", "change 3", "change 4"] as const)
            .map(get)
            .filter((r): r is RunRecord => r !== undefined);
        if (!cold || !warm || !get("change")) return [];
        const exports = changes.map((r) => r.exportSeconds).filter((x): x is number => x !== undefined);
        return [
            {
                variant,
                steps,
                cold: cold.buildSeconds,
                warm: warm.buildSeconds,
                change: mean(changes.map((r) => r.buildSeconds)),
                changes: changes.map((r) => r.buildSeconds),
                ...(exports.length ? { changeExport: mean(exports) } : {}),
                ...(cold.exportSeconds !== undefined ? { coldExport: cold.exportSeconds } : {}),
            },
        ];
    });
}

/**
 * `registry` change at the largest step count against `inline` change at the same count (each the mean of its change
 * builds): the 10 % target.
 */
export function registryVsInlineChange(
    rows: readonly ScaleRow[],
): { steps: number; ratio: number; registry: number; inline: number } | undefined {
    if (rows.length === 0) return undefined;
    const steps = Math.max(...rows.map((r) => r.steps));
    const reg = rows.find((r) => r.steps === steps && r.variant.startsWith("registry"));
    const inl = rows.find((r) => r.steps === steps && r.variant === "inline");
    return reg && inl ? { steps, ratio: reg.change / inl.change, registry: reg.change, inline: inl.change } : undefined;
}
