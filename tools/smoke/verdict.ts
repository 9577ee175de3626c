/**
 * What a smoke build's result means, as pure functions: the exit codes, the verdict on one build's JSON line
 * (components/buildspec/metrics.sh, schema in components/buildEvent.ts), the verdict on a whole run, and the
 * text that says so. No AWS client here; tools/smoke/smoke.ts feeds these.
 */
import type { BuildEvent } from "../../components/buildEvent";

/**
 * The exit codes of `npm run smoke`. Each names one outcome; when a batch's jobs end differently, the run exits
 * with the first of {@link EXIT_PRECEDENCE} that any job has.
 */
export const EXIT = {
    /** The build succeeded and the cache behaved: steps came from it, the build was skipped as unchanged, or it was the first (cold) build. */
    ok: 0,
    /** Anything else: an AWS error not listed here (e.g. AccessDenied), a timeout while following, a bug. */
    error: 1,
    /** A usage error: bad flags, no such stack, project or image, or no Pulumi CLI to read `--stack` with. */
    usage: 2,
    /** The build (or a job of the batch) did not succeed; the output names the phase that failed. */
    buildFailed: 3,
    /** The build succeeded but missed the cache (see {@link judgeEvent}). */
    cacheMiss: 4,
    /** No AWS credentials were found, or AWS refused them (expired, invalid). */
    noCredentials: 5,
    /** The build succeeded but its JSON line could not be read: no log stream, logs off, or no line in the log. */
    noResult: 6,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Which code a run exits with when its jobs' outcomes differ: the first one present. */
export const EXIT_PRECEDENCE: readonly ExitCode[] = [EXIT.buildFailed, EXIT.noResult, EXIT.cacheMiss, EXIT.ok];

/** The worst of several outcomes, by {@link EXIT_PRECEDENCE}; `ok` for none. */
export function worst(codes: readonly ExitCode[]): ExitCode {
    return EXIT_PRECEDENCE.find((c) => codes.includes(c)) ?? EXIT.ok;
}

/** A build line a previous smoke run of the same project saw (kept in `.smoke/<project>.json`). */
export interface PreviousRun {
    /** When that run ended, ISO 8601. */
    readonly at: string;
    /** Its lines, one per platform job (one for a single build). */
    readonly events: readonly BuildEvent[];
}

export type EventKind = "warm" | "skipped" | "cold" | "miss" | "failed";

export interface EventVerdict {
    readonly kind: EventKind;
    readonly code: ExitCode;
    /** One sentence: what happened and why it is that kind. */
    readonly reason: string;
}

/**
 * The verdict on one build's line. Precisely:
 * - `failed`: `succeeded` is false (the build status decides the exit code; this only labels the line).
 * - `skipped`: the build was skipped as unchanged (`skipped`): an image of the same content existed. OK.
 * - `miss`: a cache was found in ECR (`cacheFound`) and there were steps, but none came from it (`cached` 0): the
 *   same condition as report.sh's warning "a layer cache was found in ECR but no step used it".
 * - `miss`: no cache was found (`cacheFound` false) when one was expected: `expectWarm` (the `--expect-warm` flag),
 *   or the previous smoke run of this project saw a successful build that wrote the cache (`export: written`).
 * - `cold`: no cache was found and none was expected: the first build ever, which writes the cache. OK.
 * - `warm`: anything else that succeeded: some steps came from the cache, or there were no steps to take. OK.
 */
export function judgeEvent(e: BuildEvent, o: { expectWarm: boolean; previous?: PreviousRun }): EventVerdict {
    if (!e.succeeded) {
        return { kind: "failed", code: EXIT.buildFailed, reason: "the build did not succeed" };
    }
    if (e.skipped) {
        return { kind: "skipped", code: EXIT.ok, reason: `skipped as unchanged: ${e.key ?? "its key"} existed` };
    }
    const steps = e.steps ?? 0;
    if (e.cacheFound && steps > 0 && e.cached === 0) {
        return {
            kind: "miss",
            code: EXIT.cacheMiss,
            reason: `a layer cache was found in ECR (${e.cacheRef}) but no step used it: all ${steps} steps were rebuilt`,
        };
    }
    if (!e.cacheFound) {
        const wrote = o.previous?.events.find(
            (p) => p.succeeded && p.export === "written" && p.cacheRef === e.cacheRef,
        );
        if (o.expectWarm || wrote !== undefined) {
            const why =
                wrote !== undefined
                    ? `the previous smoke run's build ${wrote.buildId} (${o.previous?.at}) wrote it`
                    : "--expect-warm was given";
            return {
                kind: "miss",
                code: EXIT.cacheMiss,
                reason: `no layer cache was found in ECR (${e.cacheRef}), but ${why}`,
            };
        }
        return {
            kind: "cold",
            code: EXIT.ok,
            reason: `cold: no layer cache in ECR yet (${e.cacheRef}); this build ${e.export === "written" ? "wrote it" : "did not write it (export: " + e.export + ")"}. Run again to see the warm build`,
        };
    }
    return {
        kind: "warm",
        code: EXIT.ok,
        reason:
            steps > 0
                ? `warm: ${e.cached ?? 0} of ${steps} steps came from the cache`
                : "warm: a cache was found and the Dockerfile has no steps to rebuild",
    };
}

/** `1m 05s`, `12s`, `0s`. */
export function duration(seconds: number): string {
    const s = Math.max(0, Math.round(seconds));
    return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
}

const num = (v: number | null, digits = 1) => (v === null ? "n/a" : v.toFixed(digits));
/** Seconds with their unit, or `n/a`. */
const sec = (v: number | null) => (v === null ? "n/a" : `${v.toFixed(1)} s`);

/**
 * The lines that report one build's JSON line: hits, time and MB pushed, and the previous run's numbers of the
 * same job beside them when there are some. `label` names the job in a batch (empty for a single build).
 */
export function eventLines(e: BuildEvent, label: string, previous?: BuildEvent): string[] {
    const p = label === "" ? "" : `[${label}] `;
    const hits =
        e.steps === null
            ? "steps not counted"
            : `${e.cached ?? 0} of ${e.steps} steps from the cache${e.hitRatio === null ? "" : ` (hit ratio ${e.hitRatio.toFixed(3)})`}`;
    const s = e.seconds;
    const lines = [
        `${p}hits:   ${hits}; cache found in ECR: ${e.cacheFound ? "yes" : "no"}; export: ${e.export}${e.skipped ? "; skipped as unchanged" : ""}`,
        `${p}time:   ${sec(s.total)} (pre_build ${sec(s.preBuild)}, build ${sec(s.build)}, export ${sec(s.export)})`,
        `${p}pushed: ${e.mbPushed === null ? "n/a (BuildKit printed no layer sizes)" : `${num(e.mbPushed)} MB`}`,
    ];
    if (previous !== undefined) {
        const hitsBefore = previous.steps === null ? "n/a" : `${previous.cached ?? 0} of ${previous.steps}`;
        lines.push(
            `${p}before: ${hitsBefore} steps from the cache, ${sec(previous.seconds.total)}, ${previous.mbPushed === null ? "n/a" : `${num(previous.mbPushed)} MB`} (build ${previous.buildId})`,
        );
    }
    return lines;
}
