/**
 * The bench's own flags that are pure to parse: which workloads to run, and the scale series' step counts. Shared
 * by bench/run.ts and its tests.
 */
import { Flag, invalidValue } from "../localBuild/flags";
import { SCALE_STEPS, WORKLOADS, Workload, WorkloadName } from "../localBuild/dockerfile";

export const WORKLOAD_NAMES = [...(Object.keys(WORKLOADS) as WorkloadName[]), "custom"] as const;

/** `--workload heavy,light,custom`: the workloads of the main table, in order, each once. */
export const workloadFlag: Flag<string[]> = {
    type: "string",
    placeholder: "LIST",
    allowed: `${WORKLOAD_NAMES.join(", ")}, comma-separated, each once`,
    help: "Workloads of the main table: heavy (24 steps of real work), light (48 cheap steps), custom (--steps, --mb, --rounds).",
    defaultText: "heavy,light",
    parse: (raw, flag) => {
        if (raw === undefined) return ["heavy", "light"];
        const text = String(raw);
        const names = text.split(",").map((s) => s.trim());
        for (const n of names) {
            if (!(WORKLOAD_NAMES as readonly string[]).includes(n))
                throw invalidValue(flag, text, workloadFlag.allowed, `${JSON.stringify(n)} is not one`);
        }
        if (new Set(names).size !== names.length) throw invalidValue(flag, text, workloadFlag.allowed, "a repeat");
        return names;
    },
};

/** The workloads named, `custom` built from the --steps, --mb and --rounds values. */
export function selectedWorkloads(
    names: readonly string[],
    custom: { steps: number; mbPerStep: number; hashRounds: number },
): Workload[] {
    return names.map((n) =>
        n === "custom"
            ? {
                  name: "custom",
                  ...custom,
                  description: `${custom.steps} steps × ${custom.mbPerStep} MB, ${custom.hashRounds} hash passes`,
              }
            : WORKLOADS[n as WorkloadName],
    );
}

/**
 * `--scale-steps 12,24,48,96`: the scale series' step counts, ascending, each at least 2 and once. Issue 12's
 * target is set at 96 steps; small counts (e.g. `4,8`) are for a smoke test.
 */
export const scaleStepsFlag: Flag<number[]> = {
    type: "string",
    placeholder: "LIST",
    allowed: "whole numbers >= 2, comma-separated, ascending, each once",
    help: "Step counts of the scale series (--scale); issue 12's target is at 96 steps, small counts are for a smoke test.",
    defaultText: SCALE_STEPS.join(","),
    parse: (raw, flag) => {
        if (raw === undefined) return [...SCALE_STEPS];
        const text = String(raw);
        const parts = text.split(",").map((s) => s.trim());
        for (const p of parts) {
            if (!/^\d+$/.test(p) || Number(p) < 2)
                throw invalidValue(flag, text, scaleStepsFlag.allowed, `${JSON.stringify(p)} is not one`);
        }
        const steps = parts.map(Number);
        if (steps.some((n, i) => i > 0 && n <= steps[i - 1]))
            throw invalidValue(flag, text, scaleStepsFlag.allowed, "not ascending, or a repeat");
        return steps;
    },
};
