/**
 * A bench run's records read back from its progress log (the `[bench N/T, E s] VARIANT RUN ... WORKLOAD S s (…)`
 * lines bench/run.ts prints), for a run that was stopped before it wrote bench.json. What the log holds: each build's
 * seconds, steps cached and rebuilt, MB pulled and pushed rounded to whole MB, the builder's start and the export's
 * seconds. What it lacks: phase times, BuildKit's own step times, blob GETs, exact MB (so "no layer pulled" reads as
 * "0 MB after rounding"), and the registry round trip. bench/fromLog.ts writes such a run, marked as salvaged.
 */
import type { CacheStrategy } from "../components/args";
import type { RunName, RunRecord } from "../localBuild/experiment";

const LINE =
    /^\[bench \d+\/\d+, \d+ s\] (.+?) (cold|warm, skip on|warm|change(?: \d)?|recycled) \.\.\. (\S+) (\d+(?:\.\d+)?) s \((skipped, )?(\d+) cached, (\d+) rebuilt, (\d+) MB pulled, (\d+) MB pushed(?:; builder: image (\d+(?:\.\d+)?) s, create (\d+(?:\.\d+)?) s)?(?:; export (\d+(?:\.\d+)?) s)?\)$/;

/** The records of every finished build in a bench log, in order; lines of other kinds are passed over. */
export function recordsFromLog(log: string): RunRecord[] {
    const out: RunRecord[] = [];
    // A build's result follows its start on the same line (`... `), unless another line came between.
    for (const line of log.split("\n")) {
        const m = LINE.exec(line.trim());
        if (!m) continue;
        const [, variant, run, workload, secs, skipped, cached, rebuilt, pulled, pushed, image, create, exp] = m;
        const strategy = variant.split(" ")[0] as CacheStrategy;
        const mode = /^registry \((.+)\)$/.exec(variant)?.[1];
        out.push({
            strategy,
            variant,
            ...(mode ? { registryMode: mode as RunRecord["registryMode"] } : {}),
            run: run as RunName,
            succeeded: true,
            buildSeconds: Number(secs),
            phaseSeconds: {},
            hostSeconds: 0,
            ...(image !== undefined
                ? { builderImageSeconds: Number(image), builderCreateSeconds: Number(create) }
                : {}),
            cachedSteps: Number(cached),
            rebuiltSteps: Number(rebuilt),
            pulledMB: Number(pulled),
            pushedMB: Number(pushed),
            skipped: skipped !== undefined,
            workload,
            ...(/^light-(\d+)$/.test(workload) ? { steps: Number(workload.slice("light-".length)) } : {}),
            ...(exp !== undefined ? { exportSeconds: Number(exp) } : {}),
        });
    }
    return out;
}
