// One bench record (a build of the bench's main table) for tests of bench/: the fields a test names, the rest zero.
import type { RunRecord } from "../../localBuild/experiment";

/** A successful build's record of `variant`'s `run`; the strategy follows from the variant's name. */
export function benchRecord(
    workload: string,
    variant: string,
    run: RunRecord["run"],
    buildSeconds: number,
    pulledMB = 0,
): RunRecord {
    return {
        strategy: variant.startsWith("registry") ? "registry" : variant === "pull" ? "pull" : "inline",
        variant,
        run,
        succeeded: true,
        buildSeconds,
        phaseSeconds: {},
        hostSeconds: 0,
        cachedSteps: 0,
        rebuiltSteps: 0,
        pulledMB,
        pushedMB: 0,
        workload,
    };
}
