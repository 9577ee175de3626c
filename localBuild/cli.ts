/**
 * `npm run local-build`: the project's main job on a machine without AWS. It runs the buildspec the
 * component generates, for real, the way CodeBuild would, on a fresh Docker host per build, against a
 * local registry that requires a login and stands in for ECR: a cold build, a rebuild with no change,
 * and a rebuild after a change halfway down a small synthetic Dockerfile, for each cache strategy.
 * `registry` runs on CodeBuild's `docker-container` builder where a fresh host can get its BuildKit image
 * (standIn/buildkitImage.ts), else, said in one line, on the containerd-store mode (standIn/scenario.ts).
 *
 *   npm run local-build                          # all three strategies, small Dockerfile
 *   npm run local-build -- --strategy registry   # one strategy
 *   npm run local-build -- --steps 12 --mb 4 --verbose
 *   npm run local-build -- --help
 *
 * With `--context DIR` it runs the same buildspec on the user's own Dockerfile instead (localBuild/userBuild.ts):
 * cold, warm, one change build per `--change` path, `--runs N` times (default {@link DEFAULT_RUNS}), BuildKit's checks
 * and the cache findings, and the report (localBuild/userReport.ts): every step of every stage, the verdict, medians and
 * ranges. Before the first build, localBuild/preflight.ts checks the host (each failure one line, exit 1).
 * `--portable` runs those builds on an existing Docker daemon instead of fresh ones (localBuild/portable.ts).
 *
 *   npm run local-build -- --context examples/dockerfiles/cache-friendly --change app/main.sh \
 *       --build-arg BASE_IMAGE={local-base} --build-arg BASE_DIGEST={local-base-digest}
 */
import { runExperiment, RunRecord, summaryTable } from "./experiment";
import type { CacheStrategy } from "../components/args";
import { cacheFindings } from "./advice";
import { findBuildkitArchive } from "../standIn/buildkitImage";
import {
    booleanFlag,
    buildArgFlag,
    Command,
    FlagError,
    FlagValues,
    mbFlag,
    optionalStrategyFlag,
    optionalText,
    roundsFlag,
    runCommand,
    stepsFlag,
    textList,
    verboseFlag,
    wholeNumber,
} from "./flags";
import { startLocalHost } from "../standIn/host";
import { DEBIAN_REGISTRY_IMAGE, startPortableHost } from "./portable";
import { chooseRegistryMode, RegistryMode } from "../standIn/scenario";
import { checkUserContext } from "./userContext";
import { builderLine, BuilderInfo, preflightStandIn } from "./preflight";
import { registryModeSetInEnv } from "../standIn/scenario";
import {
    BASE_PLACEHOLDERS,
    resolveBuildArgs,
    runBuildkitChecks,
    runUserBuilds,
    UserBuildHost,
    UserBuildRecord,
} from "./userBuild";
import { SPREAD_POINTS, userReport } from "./userReport";

/**
 * `--runs`' default. One run shows no spread, and on a shared machine one build's share of cold moved between 66 and
 * 85 % over four runs (issue 26). Three is the fewest runs whose median sets one outlier aside and whose range shows
 * the spread; each run repeats every build, cold included, so more runs cost their time in full.
 */
export const DEFAULT_RUNS = 3;

const flags = {
    strategy: optionalStrategyFlag("all; with --context: registry (CodeBuild's docker-container builder)"),
    steps: stepsFlag({ min: 1, default: 8 }),
    mb: mbFlag({ min: 1, default: 2 }),
    rounds: roundsFlag({ min: 1, default: 20 }),
    verbose: verboseFlag,
    context: optionalText({
        placeholder: "DIR",
        help: "Build YOUR Dockerfile: the build context folder (copied; your files are never modified). FROM images must be reachable from the build host.",
    }),
    file: optionalText({
        placeholder: "PATH",
        help: "With --context: the Dockerfile, relative to the current folder.",
        defaultText: "<context>/Dockerfile",
    }),
    change: textList({
        placeholder: "PATH",
        help: "With --context: a file (relative to the context) to change for one more build: a newline is appended to it in the copy. Changes add up, in the order given.",
    }),
    "build-arg": buildArgFlag(
        `With --context: a build arg (the component's buildArgs). ${Object.entries(BASE_PLACEHOLDERS)
            .map(([k, v]) => `${k} in a value is ${v}`)
            .join("; ")}.`,
    ),
    portable: booleanFlag(
        "With --context: run on the existing Docker daemon (DOCKER_HOST or the current context), without root: a fresh docker-container builder per build and a throwaway registry container, all removed afterwards. registry strategy only.",
    ),
    runs: wholeNumber({
        min: 1,
        help: `With --context: run the whole series (cold, warm, each change) this many times, each from a cold cache; the report gives each build's median time and share of cold with their range, flags a share spread over more than ${SPREAD_POINTS} points, and says whether the cache hits agreed.`,
        defaultText: `${DEFAULT_RUNS} (the fewest whose median sets an outlier aside)`,
    }),
    target: optionalText({
        placeholder: "STAGE",
        help: "With --context: the stage to build (the component's target); its steps and those of the stages it uses are built, the others show -.",
        defaultText: "the last stage",
    }),
    "registry-image": optionalText({
        placeholder: "REF",
        help: `With --portable: the throwaway registry's image, or ${DEBIAN_REGISTRY_IMAGE} (made from Debian's docker-registry binary).`,
        defaultText: "registry:2",
    }),
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
        "npm run local-build -- --context ./app --change package.json --change src/index.js",
        "npm run local-build -- --context ./app --file docker/app.Dockerfile --portable",
        "npm run local-build -- --context ./app --target builder --change src/main.c --runs 5",
    ],
};

runCommand(command, async (values) => {
    if (values.context !== undefined) return userBuild(values, values.context);
    const contextOnly = {
        file: values.file !== undefined,
        change: values.change.length > 0,
        "build-arg": Object.keys(values["build-arg"]).length > 0,
        portable: values.portable,
        runs: values.runs !== undefined,
        target: values.target !== undefined,
        "registry-image": values["registry-image"] !== undefined,
    };
    const given = Object.entries(contextOnly).find(([, v]) => v);
    if (given) throw new FlagError(`'--${given[0]}' needs '--context DIR' (it is about your own Dockerfile).`);
    const strategies: CacheStrategy[] = values.strategy ?? ["inline", "registry", "pull"];
    const cfg = { steps: values.steps, mbPerStep: values.mb, hashRounds: values.rounds };
    const host = await startLocalHost();
    const records: RunRecord[] = [];
    try {
        console.log(`local registry (stands in for ECR): ${host.registry.address}, login required`);
        const registryMode = strategies.includes("registry") ? await chooseRegistryMode(host) : undefined;
        if (registryMode === "docker-container")
            console.log("registry strategy: on the docker-container builder, CodeBuild's path");
        for (const strategy of strategies) {
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

/** `--context DIR`: the user's Dockerfile. Every input is checked before any daemon starts, the host before any build. */
async function userBuild(values: FlagValues<typeof flags>, context: string): Promise<void> {
    const ctx = checkUserContext({ context, file: values.file, changes: values.change, target: values.target });
    const strategies: CacheStrategy[] = values.strategy ?? ["registry"];
    const runs = values.runs ?? DEFAULT_RUNS;
    if (values.portable && strategies.some((s) => s !== "registry")) {
        throw new FlagError(
            `Invalid value for '--strategy': ${JSON.stringify(strategies.join(","))} (with --portable). Allowed: registry: ` +
                "the portable mode runs on a fresh docker-container builder per build; inline and pull use the daemon's own builder and image store, which on an existing daemon are neither cold nor yours to fill.",
        );
    }
    if (!values.portable && values["registry-image"] !== undefined) {
        throw new FlagError("'--registry-image' needs '--portable'.");
    }
    const modeSet = registryModeSetInEnv();
    let host: UserBuildHost & { stop(): Promise<unknown> };
    let mode: RegistryMode = "docker-container";
    let builder: BuilderInfo;
    if (values.portable) {
        const p = await startPortableHost({ registryImage: values["registry-image"], archive: findBuildkitArchive() });
        host = p;
        builder = p.builder;
    } else {
        const local = await startLocalHost();
        host = {
            dockerEnv: local.dockerEnv,
            registry: local.registry,
            baseImage: () => Promise.resolve(local.base),
            provideBuilderImage: true,
            describe: "a fresh Docker host per build",
            stop: () => local.stop(),
        };
        try {
            const checked = await preflightStandIn(local, { registry: strategies.includes("registry"), modeSet });
            mode = checked.mode;
            builder = checked.builder;
        } catch (e) {
            await local.stop();
            throw e;
        }
    }
    try {
        const buildArgs = await resolveBuildArgs(values["build-arg"], () => host.baseImage());
        const findings = cacheFindings(ctx.parsed, buildArgs);
        const checks = await runBuildkitChecks({ ctx, host, buildArgs });
        for (const strategy of strategies) {
            const all: UserBuildRecord[][] = [];
            for (let run = 1; run <= runs; run++) {
                const of = runs > 1 ? `run ${run}/${runs}: ` : "";
                all.push(
                    await runUserBuilds({
                        ctx,
                        host,
                        strategy,
                        registryMode: mode,
                        buildArgs,
                        target: ctx.target,
                        run,
                        quiet: !values.verbose,
                        progress: (e) => {
                            if (e.phase === "start") process.stdout.write(`${strategy}: ${of}${e.label} build ... `);
                            else if (e.record) console.log(`${e.record.buildSeconds.toFixed(1)} s`);
                        },
                    }),
                );
            }
            const where = strategy === "registry" ? `${mode} builder` : "the daemon's builder";
            const target = ctx.target ? `, target ${ctx.target}` : "";
            console.log(
                "\n" +
                    userReport({
                        title: `${values.file ?? "Dockerfile"} in ${context}${target}, strategy ${strategy} (${where}), on ${host.describe}`,
                        builder: builderLine(builder, strategy === "registry" ? mode : "daemon"),
                        parsed: ctx.parsed,
                        runs: all,
                        checks: checks.checks,
                        checksError: checks.buildError,
                        findings,
                    }) +
                    "\n",
            );
        }
    } finally {
        const removed = await host.stop();
        if (Array.isArray(removed) && removed.length) console.log(`removed: ${removed.join("; ")}`);
    }
}
