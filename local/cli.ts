/**
 * `npm run local-build`: the project's main job on a machine without AWS. It runs the buildspec the
 * component generates, for real, the way CodeBuild would, on a fresh Docker host per build, against a
 * local registry that requires a login and stands in for ECR: a cold build, a rebuild with no change,
 * and a rebuild after a change halfway down a small synthetic Dockerfile, for each cache strategy.
 * `registry` runs on CodeBuild's `docker-container` builder where a fresh host can get its BuildKit image
 * (local/buildkit-image.ts), else, said in one line, on the containerd-store mode (local/scenario.ts).
 *
 *   npm run local-build                          # all three strategies, small Dockerfile
 *   npm run local-build -- --strategy registry   # one strategy
 *   npm run local-build -- --steps 12 --mb 4 --verbose
 *   npm run local-build -- --help
 */
import { runExperiment, RunRecord, summaryTable } from "../bench/experiment";
import { Command, mbFlag, roundsFlag, runCommand, stepsFlag, strategyFlag, verboseFlag } from "./flags";
import { startLocalHost } from "./host";
import { chooseRegistryMode } from "./scenario";

const flags = {
    strategy: strategyFlag,
    steps: stepsFlag({ min: 1, default: 8 }),
    mb: mbFlag({ min: 1, default: 2 }),
    rounds: roundsFlag({ min: 1, default: 20 }),
    verbose: verboseFlag,
};

const command: Command<typeof flags> = {
    name: "npm run local-build --",
    summary:
        "Runs the component's buildspec on a fresh local Docker host per build, against a local registry that\n" +
        "stands in for ECR: a cold build, a warm one with no change and one after a change halfway down a\n" +
        "synthetic Dockerfile, for each cache strategy. For the full benchmark: npm run bench.",
    flags,
    examples: [
        "npm run local-build",
        "npm run local-build -- --strategy registry",
        "npm run local-build -- --steps 12 --mb 4 --verbose",
    ],
};

runCommand(command, async (values) => {
    const cfg = { steps: values.steps, mbPerStep: values.mb, hashRounds: values.rounds };
    const host = await startLocalHost();
    const records: RunRecord[] = [];
    try {
        console.log(`local registry (stands in for ECR): ${host.registry.address}, login required`);
        const registryMode = values.strategy.includes("registry") ? await chooseRegistryMode(host) : undefined;
        if (registryMode === "docker-container")
            console.log("registry strategy: on the docker-container builder, CodeBuild's path");
        for (const strategy of values.strategy) {
            records.push(
                ...(await runExperiment(host, strategy, cfg, {
                    repo: `local-build/${strategy}`,
                    registryMode,
                    quiet: !values.verbose,
                    progress: (e) => {
                        if (e.phase === "start")
                            process.stdout.write(`${e.variant} ${e.run} build on a fresh host ... `);
                        else if (e.record) {
                            const r = e.record;
                            const builder =
                                r.builderImageSeconds !== undefined
                                    ? `; builder start: image ${r.builderImageSeconds.toFixed(1)} s (host, before the buildspec) + create/bootstrap ${(r.builderCreateSeconds ?? 0).toFixed(1)} s (pre_build, in the build time)`
                                    : "";
                            console.log(
                                `${r.buildSeconds.toFixed(1)} s, ${r.cachedSteps} steps cached, ${r.rebuiltSteps} rebuilt, ${r.pulledMB.toFixed(1)} MB pulled, ${r.pushedMB.toFixed(1)} MB pushed${builder}`,
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
});
