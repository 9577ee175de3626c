/**
 * The bench's own flags that are pure to parse: which workloads to run. Shared by bench/run.ts and its tests.
 */
import { Flag, invalidValue } from "../local/flags";
import { WORKLOADS, Workload, WorkloadName } from "./dockerfile";

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
