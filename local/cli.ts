/**
 * `npm run local-build`: the project's main job on a machine without AWS. It runs the buildspec the
 * component generates, for real, the way CodeBuild would, on a fresh Docker host per build, against a
 * local registry that requires a login and stands in for ECR: a cold build, a rebuild with no change,
 * and a rebuild after a change halfway down a small synthetic Dockerfile, for each cache strategy.
 *
 *   npm run local-build                          # all three strategies, small Dockerfile
 *   npm run local-build -- --strategy registry   # one strategy
 *   npm run local-build -- --steps 12 --mb 4 --verbose
 */
import { parseArgs } from "util";
import { CACHE_STRATEGIES, CacheStrategy } from "../components/args";
import { runExperiment, RunRecord, summaryTable } from "../bench/experiment";
import { startLocalHost } from "./host";

function positiveInt(name: string, v: string | undefined, dflt: number): number {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1)
        throw new Error(`Invalid value for '--${name}': ${JSON.stringify(v)}. Allowed: a whole number >= 1.`);
    return n;
}

async function main(): Promise<void> {
    const { values } = parseArgs({
        options: {
            strategy: { type: "string", default: "all" },
            steps: { type: "string" },
            mb: { type: "string" },
            rounds: { type: "string" },
            verbose: { type: "boolean", default: false },
        },
    });
    const strategies: CacheStrategy[] =
        values.strategy === "all" ? [...CACHE_STRATEGIES] : [values.strategy as CacheStrategy];
    for (const s of strategies) {
        if (!(CACHE_STRATEGIES as readonly string[]).includes(s)) {
            throw new Error(
                `Invalid value for '--strategy': ${JSON.stringify(s)}. Allowed: all, ${CACHE_STRATEGIES.join(", ")}.`,
            );
        }
    }
    const cfg = {
        steps: positiveInt("steps", values.steps, 8),
        mbPerStep: positiveInt("mb", values.mb, 2),
        hashRounds: positiveInt("rounds", values.rounds, 20),
    };
    const host = await startLocalHost();
    const records: RunRecord[] = [];
    try {
        console.log(`local registry (stands in for ECR): ${host.registry.address}, login required`);
        for (const strategy of strategies) {
            records.push(
                ...(await runExperiment(host, strategy, cfg, {
                    repo: `local-build/${strategy}`,
                    quiet: !values.verbose,
                    progress: (e) => {
                        if (e.phase === "start")
                            process.stdout.write(`${strategy} ${e.run} build on a fresh host ... `);
                        else if (e.record) {
                            const r = e.record;
                            console.log(
                                `${r.buildSeconds.toFixed(1)} s, ${r.cachedSteps} steps cached, ${r.rebuiltSteps} rebuilt, ${r.pulledMB.toFixed(1)} MB pulled, ${r.pushedMB.toFixed(1)} MB pushed`,
                            );
                        }
                    },
                })),
            );
        }
    } finally {
        await host.stop();
    }
    console.log(`\n${summaryTable(records)}`);
    console.log(
        `\n${cfg.steps} steps of ${cfg.mbPerStep} MB; the change is at step ${Math.ceil(cfg.steps / 2)}. For the full benchmark: npm run bench`,
    );
}

main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
});
