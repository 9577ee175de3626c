// A CodeBuild batch build (build graph) on the local build host: runs the jobs of a buildspec's
// `batch.build-graph` in dependency order, each on a fresh host (runLocalBuild), each told its identifier in
// CODEBUILD_BATCH_BUILD_IDENTIFIER as CodeBuild does. A job whose dependency failed is not run (CodeBuild starts a
// task only once the tasks it depends on completed; this stand-in takes a failed dependency to mean "not started",
// and says so). What differs from CodeBuild: jobs run one after another, not side by side, and every job runs on
// this amd64 machine; the job `env` overrides (type, image, compute type) are recorded, not applied, so an arm64
// job's steps run under QEMU here (standIn/emulation.ts), natively on CodeBuild.
import type { Buildspec } from "./runner";
import { builderImageOf } from "./buildkitImage";
import { LocalBuildOptions, LocalBuildResult, runLocalBuild } from "./host";

export interface BatchTask {
    identifier: string;
    env?: { type?: string; image?: string; "compute-type"?: string };
    "depend-on"?: string[];
}

export interface BatchJobResult {
    identifier: string;
    /** The job ran; false: a dependency failed, so CodeBuild would not start it. */
    ran: boolean;
    succeeded: boolean;
    result?: LocalBuildResult;
    /** Why it did not run. */
    reason?: string;
}

export interface BatchResult {
    succeeded: boolean;
    jobs: BatchJobResult[];
    /** One line per job: `<identifier>: SUCCEEDED|FAILED|NOT RUN (…)`. */
    summary: string;
}

/** The tasks of a buildspec's build graph in an order where each comes after every task it depends on. */
export function graphOrder(tasks: readonly BatchTask[]): BatchTask[] {
    const done = new Set<string>();
    const order: BatchTask[] = [];
    while (order.length < tasks.length) {
        const next = tasks.find((t) => !done.has(t.identifier) && (t["depend-on"] ?? []).every((d) => done.has(d)));
        if (next === undefined) {
            throw new Error(`the build graph has a cycle or an unknown dependency: ${JSON.stringify(tasks)}`);
        }
        order.push(next);
        done.add(next.identifier);
    }
    return order;
}

/**
 * Runs the batch: every job of `buildspec.batch["build-graph"]`, in dependency order, with the same source, registry
 * and options (`env` per job may add variables, e.g. to make one job fail).
 */
export async function runBatch(
    buildspec: Buildspec,
    opts: Omit<LocalBuildOptions, "buildspec" | "builderImage"> & { jobEnv?: Record<string, Record<string, string>> },
): Promise<BatchResult> {
    const graph = (buildspec.batch as { "build-graph"?: BatchTask[] } | undefined)?.["build-graph"];
    if (!graph) throw new Error("the buildspec has no batch.build-graph");
    const jobs: BatchJobResult[] = [];
    for (const task of graphOrder(graph)) {
        const failed = (task["depend-on"] ?? []).filter((d) => !jobs.find((j) => j.identifier === d)?.succeeded);
        if (failed.length > 0) {
            jobs.push({
                identifier: task.identifier,
                ran: false,
                succeeded: false,
                reason: `not run: ${failed.join(", ")} did not succeed`,
            });
            continue;
        }
        const result = await runLocalBuild({
            ...opts,
            buildspec,
            label: `${opts.label ?? "batch"} ${task.identifier}`,
            env: { ...opts.env, ...opts.jobEnv?.[task.identifier], CODEBUILD_BATCH_BUILD_IDENTIFIER: task.identifier },
            builderImage: builderImageOf(buildspec),
        });
        jobs.push({ identifier: task.identifier, ran: true, succeeded: result.succeeded, result });
    }
    const summary = jobs
        .map((j) => `${j.identifier}: ${j.ran ? (j.succeeded ? "SUCCEEDED" : "FAILED") : `NOT RUN (${j.reason})`}`)
        .join("\n");
    return { succeeded: jobs.every((j) => j.succeeded), jobs, summary };
}
