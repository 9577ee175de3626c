/**
 * Issue 12: the benchmark's pure parts: the workloads and their flag, the records' export time, Dockerfile-work
 * share and distance to the registry floor, the scale series' rows and target, the Docker server variants' buildspec
 * rewrite, the Markdown, and the local Docker server model's recycling (its daemon starter and clock injected: no
 * Docker here). The timings themselves are measured by `npm run bench`, never asserted.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { SCALE_STEPS, scaleWorkload, WORKLOADS } from "../../localBuild/dockerfile";
import { scaleStepsFlag, selectedWorkloads, workloadFlag } from "../../bench/options";
import {
    builderStart,
    dockerfileWorkSeconds,
    expectSkipped,
    exportCommandSeconds,
    IN_BUILD_EXPORT_LINE,
    mainRuns,
    overheadShare,
    ratioToCold,
    recordOf,
    RUN_PLAN,
    runArgs,
    RunName,
    RunRecord,
    SCALE_RUNS,
    skippedOf,
    skipMismatch,
} from "../../localBuild/experiment";
import { limitOf, LIMIT_ROUND_TRIPS, median, timesLimit } from "../../bench/limit";
import { mean, registryVsInlineChange, scaleChartSpec, scaleMarkdown, scaleRows } from "../../bench/scale";
import { DOCKER_SERVER_RUNS, DOCKER_SERVER_VARIANTS, withoutCacheRead } from "../../bench/dockerServer";
import {
    BenchResults,
    chartSpec,
    issue12Targets,
    limitText,
    markdown,
    ORIGINAL,
    overheadText,
    TARGETS,
    verdicts,
} from "../../bench/results";
import { Problems } from "../../components/problems";
import { resolveSkipUnchanged, SKIP_STRATEGIES } from "../../components/skip";
import { LocalDockerServer, shouldRecycle } from "../../standIn/dockerServer";
import { componentBuildspecYaml } from "../../standIn/componentBuildspec";
import type { BuildHostOptions } from "../../standIn/daemon";
import type { DockerEnv } from "../../standIn/engine";

function rec(o: Partial<RunRecord> & Pick<RunRecord, "variant" | "run" | "buildSeconds">): RunRecord {
    return {
        strategy: o.variant.startsWith("registry") ? "registry" : "inline",
        succeeded: true,
        phaseSeconds: {},
        hostSeconds: 0,
        cachedSteps: 0,
        rebuiltSteps: 0,
        pulledMB: 0,
        pushedMB: 0,
        ...o,
    };
}

describe("the benchmark (bench/)", () => {
    describe("workloads", () => {
        it("light has many cheap steps and heavy few steps of real work; the scale series keeps light's work per step", () => {
            assert.ok(WORKLOADS.light.steps >= 2 * WORKLOADS.heavy.steps);
            assert.ok(WORKLOADS.light.hashRounds * 10 <= WORKLOADS.heavy.hashRounds);
            assert.deepEqual([...SCALE_STEPS], [12, 24, 48, 96]);
            for (const n of SCALE_STEPS) {
                const w = scaleWorkload(n);
                assert.equal(w.steps, n);
                assert.equal(w.mbPerStep, WORKLOADS.light.mbPerStep);
                assert.equal(w.hashRounds, WORKLOADS.light.hashRounds);
                assert.equal(w.name, `light-${n}`);
            }
        });

        it("--workload: default heavy,light; custom takes --steps/--mb/--rounds; unknown or repeated names are refused", () => {
            assert.deepEqual(workloadFlag.parse(undefined, "workload"), ["heavy", "light"]);
            assert.deepEqual(workloadFlag.parse("light,custom", "workload"), ["light", "custom"]);
            assert.throws(
                () => workloadFlag.parse("light,medium", "workload"),
                /Invalid value for '--workload': "light,medium" \("medium" is not one\)/,
            );
            assert.throws(() => workloadFlag.parse("light,light", "workload"), /a repeat/);
            const [custom] = selectedWorkloads(["custom"], { steps: 6, mbPerStep: 1, hashRounds: 2 });
            assert.deepEqual([custom.steps, custom.mbPerStep, custom.hashRounds], [6, 1, 2]);
            assert.equal(selectedWorkloads(["heavy"], { steps: 6, mbPerStep: 1, hashRounds: 2 })[0], WORKLOADS.heavy);
        });
    });

    describe("the runs' arguments (RUN_PLAN)", () => {
        /** The component's own default for skipUnchanged (nothing given). */
        const componentDefault = (s: "inline" | "registry" | "pull") => resolveSkipUnchanged(new Problems(), {}, s);

        it("cold and change build with skip on, the component's default; warm has it off; pull never skips", () => {
            for (const s of ["inline", "registry", "pull"] as const) {
                const skips = SKIP_STRATEGIES.includes(s);
                assert.equal(componentDefault(s), skips, `${s}: the component's default`);
                for (const run of ["cold", "change", "change 2", "change 3", "change 4"] as const) {
                    assert.equal(runArgs(s, run).skipUnchanged, componentDefault(s), `${s} ${run}: the default`);
                    assert.equal(expectSkipped(s, run), false, `${s} ${run} is a key miss: it builds`);
                }
                assert.deepEqual(runArgs(s, "warm"), { skipUnchanged: false }, `${s} warm: the engine's rebuild`);
                assert.deepEqual(runArgs(s, "recycled"), { skipUnchanged: false });
                assert.equal(runArgs(s, "warm, skip on").skipUnchanged, skips);
                assert.equal(expectSkipped(s, "warm, skip on"), skips, `${s}: warm with skip on must be skipped`);
            }
            // Forced off (the Docker server on its own): nothing skips, nothing is expected to.
            for (const run of Object.keys(RUN_PLAN) as RunName[]) {
                assert.deepEqual(runArgs("inline", run, true), { skipUnchanged: false });
                assert.equal(expectSkipped("inline", run, true), false);
            }
        });

        it("runs in the order cold, warm, warm skip on, change (pull without the skip run); scale has four changes", () => {
            assert.deepEqual(mainRuns("inline"), ["cold", "warm", "warm, skip on", "change"]);
            assert.deepEqual(mainRuns("registry"), ["cold", "warm", "warm, skip on", "change"]);
            assert.deepEqual(mainRuns("pull"), ["cold", "warm", "change"]);
            assert.deepEqual([...SCALE_RUNS], ["cold", "warm", "change", "change 2", "change 3", "change 4"]);
            assert.equal(RUN_PLAN["warm, skip on"].dockerfile, "base", "no change");
            const changes = (["change", "change 2", "change 3", "change 4"] as const).map(
                (r) => RUN_PLAN[r].dockerfile,
            );
            assert.equal(new Set(changes).size, 4, "each a real change against the one before");
            assert.equal(RUN_PLAN.recycled.dockerfile, "change", "the build before it, again: no change");
        });

        it("the Docker server: its buildspecs follow the plan, `docker server alone` never skips", () => {
            assert.deepEqual([...DOCKER_SERVER_RUNS], ["cold", "warm", "change", "recycled"]);
            const alone = DOCKER_SERVER_VARIANTS.find((v) => v.name === "docker server alone")!;
            assert.equal(alone.skipOff, true);
            for (const v of DOCKER_SERVER_VARIANTS.filter((x) => x !== alone)) assert.equal(v.skipOff, undefined);
            // No run of the section must be skipped: the recycled build measures the cache on an empty daemon.
            for (const v of DOCKER_SERVER_VARIANTS)
                for (const run of DOCKER_SERVER_RUNS) assert.equal(expectSkipped(v.strategy, run, v.skipOff), false);
        });

        it("a build's skip is read from its JSON line; a build against the plan is a loud failure", () => {
            const line = (skipped: boolean, stream = "stdout") => ({
                text: `{"layerCache":1,"project":"p","skipped":${skipped},"key":"k"}`,
                stream,
            });
            assert.equal(skippedOf([{ text: "x" }, line(true)]), true);
            assert.equal(skippedOf([line(false)]), false);
            assert.equal(skippedOf([{ text: "no line" }]), undefined);
            assert.equal(skippedOf([line(true, "runner")]), undefined, "the runner's own lines don't count");
            assert.equal(skipMismatch("inline warm, skip on", true, true), undefined);
            assert.equal(skipMismatch("inline cold", false, false), undefined);
            assert.equal(skipMismatch("pull cold", false, undefined), undefined);
            assert.match(skipMismatch("inline warm, skip on", true, false)!, /should have been skipped .* it built/);
            assert.match(skipMismatch("inline warm, skip on", true, undefined)!, /printed no JSON line/);
            assert.match(skipMismatch("registry change", false, true)!, /registry change should have built/);
        });
    });

    describe("records", () => {
        const phases = [
            {
                name: "build",
                status: "SUCCEEDED",
                durationMs: 9000,
                commands: [
                    { command: "BUILD_LOG=x\ndocker buildx build", durationMs: 6000 },
                    { command: "report", durationMs: 100 },
                    {
                        command: 'export_once() {\n docker buildx build --cache-to "type=registry,ref=r"',
                        durationMs: 2500,
                    },
                ],
            },
        ] as never;
        const steps = {
            builds: [
                {
                    cached: 1,
                    rebuilt: 2,
                    steps: [
                        { instruction: "FROM", status: "DONE", seconds: 0.5 },
                        { instruction: "RUN", status: "CACHED" },
                        { instruction: "RUN", status: "DONE", seconds: 1.5 },
                        { instruction: "RUN", status: "DONE", seconds: 2 },
                        { instruction: "RUN", status: "DONE", seconds: 9, fetchedFromCache: true },
                    ],
                },
            ],
        } as never;

        it("the export's time is export.sh's command; Dockerfile work sums the rebuilt steps, not FROM or fetched hits", () => {
            assert.equal(exportCommandSeconds({ phases }), 2.5);
            assert.equal(exportCommandSeconds({ phases: [] }), undefined);
            // The build wrote the cache itself (a key that missed): BuildKit's time for that step of the build.
            const inBuild = [
                "[build] #12 exporting cache to registry",
                "[build] #12 preparing build cache for export 1.5s done",
                "[build] #12 DONE 2.4s",
                `[build] ${IN_BUILD_EXPORT_LINE}`,
            ].join("\n");
            assert.equal(exportCommandSeconds({ phases, output: inBuild }), 2.4);
            assert.equal(exportCommandSeconds({ phases, output: "[build] #12 DONE 2.4s" }), 2.5, "export.sh's own");
            assert.equal(dockerfileWorkSeconds({ steps }), 3.5);
            const r = recordOf(
                {
                    phases,
                    steps,
                    lines: [{ text: '{"layerCache":{"v":1},"skipped":false}', stream: "stdout" }] as never,
                    succeeded: true,
                    timings: { daemonStartMs: 1, daemonStopMs: 1, buildMs: 10000, totalMs: 0 },
                    bytes: { pulledMB: 1, pushedMB: 2 } as never,
                },
                {
                    strategy: "registry",
                    variant: "registry (docker-container)",
                    run: "change",
                    steps: 3,
                    workload: "light",
                },
            );
            assert.equal(r.exportSeconds, 2.5);
            assert.equal(r.dockerfileSeconds, 3.5);
            assert.equal(r.workload, "light");
            assert.equal(r.skipped, false);
            assert.equal(r.dockerBuilds, 1);
            const withBuilder = { ...r, builderImageSeconds: 1, builderCreateSeconds: 0.6 };
            assert.equal(builderStart(withBuilder), "1.0 + 0.6");
            assert.equal(builderStart({ ...withBuilder, skipped: true }), "none (skipped)");
            assert.equal(overheadShare(r), 0.65);
            assert.equal(overheadText(r), "65 %");
        });

        it("an inline record has no export time; a registry record whose export skipped has 0", () => {
            const noExport = [
                {
                    ...(phases as unknown as object[])[0],
                    commands: [{ command: "docker buildx build", durationMs: 1 }],
                },
            ];
            const base = {
                phases: noExport as never,
                steps,
                lines: [],
                succeeded: true,
                timings: { daemonStartMs: 0, daemonStopMs: 0, buildMs: 1000, totalMs: 0 },
                bytes: { pulledMB: 0, pushedMB: 0 } as never,
            };
            assert.equal(
                recordOf(base, { strategy: "inline", variant: "inline", run: "warm" }).exportSeconds,
                undefined,
            );
            assert.equal(recordOf(base, { strategy: "registry", variant: "registry", run: "warm" }).exportSeconds, 0);
        });

        it("ratios to cold are per variant and workload", () => {
            const rs = [
                rec({ variant: "inline", run: "cold", buildSeconds: 10, workload: "heavy" }),
                rec({ variant: "inline", run: "cold", buildSeconds: 40, workload: "light" }),
                rec({ variant: "inline", run: "warm", buildSeconds: 4, workload: "light" }),
            ];
            assert.equal(ratioToCold(rs, rs[2]), 0.1);
            assert.throws(
                () => ratioToCold(rs, rec({ variant: "pull", run: "warm", buildSeconds: 1 })),
                /no cold run for pull/,
            );
        });
    });

    describe("the limit", () => {
        it("is LIMIT_ROUND_TRIPS median round-trips; a warm build is that many times it", () => {
            assert.equal(median([5, 1, 3]), 3);
            assert.equal(median([4, 1, 3, 2]), 2.5);
            assert.throws(() => median([]));
            const l = limitOf([10, 30, 20]);
            assert.equal(l.roundTripMs, 20);
            assert.equal(l.limitSeconds, (LIMIT_ROUND_TRIPS * 20) / 1000);
            assert.equal(timesLimit(3, l), 3 / l.limitSeconds);
            assert.equal(
                limitText(rec({ variant: "inline", run: "warm", buildSeconds: 0.6 }), { ...l, limitSeconds: 0.06 }),
                "10×",
            );
            assert.equal(limitText(rec({ variant: "inline", run: "cold", buildSeconds: 6 }), l), "");
            assert.equal(limitText(rec({ variant: "inline", run: "warm", buildSeconds: 6 }), undefined), "");
        });
    });

    describe("the scale series", () => {
        const records = [12, 96].flatMap((steps) =>
            ["inline", "registry (docker-container)"].flatMap((variant) =>
                (["cold", "warm", "change"] as const).map((run) =>
                    rec({
                        variant,
                        run,
                        steps,
                        workload: `light-${steps}`,
                        buildSeconds:
                            steps * (run === "cold" ? 1 : run === "warm" ? 0.1 : variant === "inline" ? 0.5 : 0.6),
                        ...(variant.startsWith("registry") ? { exportSeconds: run === "warm" ? 0 : steps / 10 } : {}),
                    }),
                ),
            ),
        );

        it("the change time is the mean of the change builds, each kept; the target uses the means", () => {
            assert.equal(mean([10.2, 11.3]), 10.75);
            assert.throws(() => mean([]));
            const twice = [
                ...records,
                ...[12, 96].flatMap((steps) =>
                    ["inline", "registry (docker-container)"].map((variant) =>
                        rec({
                            variant,
                            run: "change 2",
                            steps,
                            buildSeconds: steps * (variant === "inline" ? 0.7 : 0.6),
                            ...(variant.startsWith("registry") ? { exportSeconds: steps / 5 } : {}),
                        }),
                    ),
                ),
            ];
            const rows = scaleRows(twice);
            const inl = rows.find((r) => r.steps === 96 && r.variant === "inline")!;
            assert.deepEqual(inl.changes, [48, 96 * 0.7]);
            assert.ok(Math.abs(inl.change - 96 * 0.6) < 1e-9);
            const reg = rows.find((r) => r.steps === 96 && r.variant.startsWith("registry"))!;
            assert.ok(Math.abs(reg.changeExport! - (9.6 + 19.2) / 2) < 1e-9);
            // registry 57.6 against inline 57.6 (means); the first change alone would say 120 %.
            const t = registryVsInlineChange(rows)!;
            assert.ok(Math.abs(t.ratio - 1) < 1e-9);
            const md = scaleMarkdown({ key: "scale", title: "", records: twice });
            assert.match(md, /\| change s \(mean\) \| change s \(each\) \|/);
            assert.match(md, /\| inline \| 96 \| 96\.0 \| 9\.6 \| 57\.6 \| 48\.0, 67\.2 \|/);
            assert.match(md, /100 % of it \(met\)/);
            const spec = JSON.stringify(scaleChartSpec({ key: "scale", title: "", records: twice }));
            assert.match(spec, /"series":"change \(mean of 4\)","seconds":57\.59/);
            assert.match(spec, /"values":\[12,96\]/, "the axis shows the step counts that ran");
        });

        it("--scale-steps: default 12,24,48,96; small counts for a smoke test; bad lists are refused", () => {
            assert.deepEqual(scaleStepsFlag.parse(undefined, "scale-steps"), [12, 24, 48, 96]);
            assert.deepEqual(scaleStepsFlag.parse("4,8", "scale-steps"), [4, 8]);
            assert.throws(
                () => scaleStepsFlag.parse("4,x", "scale-steps"),
                /Invalid value for '--scale-steps': "4,x" \("x" is not one\)/,
            );
            assert.throws(() => scaleStepsFlag.parse("1", "scale-steps"), /"1" is not one/);
            assert.throws(() => scaleStepsFlag.parse("8,4", "scale-steps"), /not ascending, or a repeat/);
            assert.throws(() => scaleStepsFlag.parse("4,4", "scale-steps"), /not ascending, or a repeat/);
        });

        it("one row per strategy and step count, with the change build's export", () => {
            const rows = scaleRows(records);
            assert.equal(rows.length, 4);
            const r96 = rows.find((r) => r.steps === 96 && r.variant.startsWith("registry"))!;
            assert.equal(r96.cold, 96);
            assert.equal(r96.changeExport, 9.6);
            assert.equal(rows.find((r) => r.variant === "inline")!.changeExport, undefined);
        });

        it("the target compares registry change with inline change at the largest step count", () => {
            const t = registryVsInlineChange(scaleRows(records))!;
            assert.equal(t.steps, 96);
            assert.ok(Math.abs(t.ratio - 1.2) < 1e-9);
            assert.match(
                scaleMarkdown({ key: "scale", title: "", records }),
                /Target: `registry` change at 96 steps within 10 % of `inline` change \(means of four change builds\): 120 % of it \(not met\)/,
            );
            assert.equal(registryVsInlineChange(scaleRows(records.filter((r) => r.variant === "inline"))), undefined);
        });
    });

    describe("the Docker server", () => {
        it("'docker server alone' is the inline buildspec with its cache read replaced, nothing else", async () => {
            const yaml = await componentBuildspecYaml(
                { cacheStrategy: "inline" },
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com/repo",
            );
            const out = withoutCacheRead(yaml);
            assert.doesNotMatch(out, /^\s*CACHE_FROM=\(--cache-from/m, "no prelude reads the cache");
            assert.match(
                out,
                /CACHE_FROM=\(--pull=false\); declare -p CACHE_FROM >>"\$BRANCH_SH"/,
                "nor what the probe found",
            );
            assert.match(out, /CACHE_FROM=\(--pull=false\)/);
            assert.equal(out.split("\n").length, yaml.split("\n").length);
            assert.throws(() => withoutCacheRead("no prelude"), /no CACHE_FROM/);
        });

        it("recycles only after the idle time, and only between builds", async () => {
            assert.equal(shouldRecycle(undefined, 100, 10), false);
            assert.equal(shouldRecycle(90, 99, 10), false);
            assert.equal(shouldRecycle(90, 100, 10), true);

            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dstest-"));
            try {
                fs.writeFileSync(path.join(dir, "buildx"), "");
                const env = { buildxPlugin: path.join(dir, "buildx"), client: "docker" } as DockerEnv;
                let clock = 0;
                const daemons: { host: string; stopped: boolean }[] = [];
                const server = new LocalDockerServer({
                    idleMs: 1000,
                    now: () => clock,
                    start: () => {
                        const d = { host: `unix:///d${daemons.length}`, stopped: false };
                        daemons.push(d);
                        const stop = () => ((d.stopped = true), Promise.resolve({ stopMs: 0 }));
                        return Promise.resolve({ host: d.host, startMs: 5, stop });
                    },
                });
                const build = async (i: number) => {
                    const bo = { env, containerdStore: false, workDir: path.join(dir, `w${i}`) } as BuildHostOptions;
                    return server.startHost(bo);
                };
                const a = await build(1);
                assert.equal(a.variables.DOCKER_HOST, "unix:///d0");
                assert.equal(a.timings.daemonStart, 5);
                clock = 5000; // a long build: busy, never recycled under it
                const b = await build(2);
                assert.equal(b.variables.DOCKER_HOST, "unix:///d0");
                assert.notEqual(
                    a.variables.DOCKER_CONFIG,
                    b.variables.DOCKER_CONFIG,
                    "each build has its own client config",
                );
                await a.stop();
                await b.stop();
                await b.stop(); // idempotent
                clock = 5999;
                const c = await build(3);
                assert.equal(c.variables.DOCKER_HOST, "unix:///d0", "reused within the idle time");
                assert.equal(c.timings.daemonStart, 0);
                await c.stop();
                clock = 5999 + 1000;
                const d = await build(4);
                assert.equal(d.variables.DOCKER_HOST, "unix:///d1", "recycled: a new, empty daemon");
                assert.equal(daemons[0].stopped, true);
                await d.stop();
                assert.deepEqual(
                    server.events.map((e) => e.kind),
                    ["started", "reused", "reused", "recycled"],
                );
                await server.close();
                assert.equal(daemons[1].stopped, true);
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });
    });

    describe("the Markdown", () => {
        it("has the new columns, the limit line, and issue 12's targets with what was not measured", () => {
            const records = [
                rec({
                    variant: "registry (docker-container)",
                    run: "cold",
                    buildSeconds: 20,
                    workload: "light",
                    dockerfileSeconds: 10,
                    exportSeconds: 1,
                }),
                rec({
                    variant: "registry (docker-container)",
                    run: "warm",
                    buildSeconds: 2,
                    workload: "light",
                    dockerfileSeconds: 0,
                    exportSeconds: 0,
                }),
                rec({
                    variant: "registry (docker-container)",
                    run: "change",
                    buildSeconds: 12,
                    workload: "light",
                    dockerfileSeconds: 5,
                    exportSeconds: 2,
                }),
            ];
            const res: BenchResults = {
                date: "d",
                machine: { cpus: 2, memoryGB: 1, docker: {}, registryModes: ["docker-container"] },
                config: { steps: 48, mbPerStep: 2, hashRounds: 1, changeAt: 24, imageMB: 96 },
                workloads: [WORKLOADS.light],
                records,
                limit: limitOf([10]),
                original: ORIGINAL,
                targets: { ...TARGETS, changeMaxRatio: 0.6 },
            };
            const md = markdown(res);
            assert.match(md, /\| export s \| Dockerfile work s \| not Dockerfile work \| × limit \|/);
            assert.match(
                md,
                /\| light \| registry \(docker-container\) \| warm \| 2\.0 \| 0\.100 \|.*\| 0\.0 \| 0\.0 \| 100 % \| 67× \|/,
            );
            assert.match(md, /10\.0 ms \(median of 1\)/);
            const targets = issue12Targets(res).join("\n");
            assert.match(
                targets,
                /light workload, `registry` on CodeBuild's path: 10\.0 % of cold \(target ≤ 15\.0 %\): met/,
            );
            assert.match(targets, /at 96 steps: not measured in this run \(`--scale`\)/);
        });

        it("warm with skip on: a target line per workload and strategy that skips, met only at ≤ 2 % and no layer pulled (a config GET is allowed)", () => {
            const four = (variant: string, workload: string, cold: number, skipSeconds: number, skipMB: number) => [
                rec({ variant, workload, run: "cold", buildSeconds: cold }),
                rec({ variant, workload, run: "warm", buildSeconds: cold / 10 }),
                rec({ variant, workload, run: "warm, skip on", buildSeconds: skipSeconds, pulledMB: skipMB }),
                rec({ variant, workload, run: "change", buildSeconds: cold / 2 }),
            ];
            const records = [
                ...four("inline", "heavy", 100, 1.5, 0.03), // 1.5 %, a 30 kB config GET: met
                ...four("registry (docker-container)", "heavy", 100, 1.9, 0.2), // MB pulled: not met
                ...four("inline", "light", 50, 1.5, 0), // 3 %: not met
                ...four("registry (docker-container)", "light", 50, 1, 0), // 2 %: met (the bound is inclusive)
                rec({ variant: "pull", workload: "light", run: "cold", buildSeconds: 60 }),
                rec({ variant: "pull", workload: "light", run: "warm", buildSeconds: 30 }),
                rec({ variant: "pull", workload: "light", run: "change", buildSeconds: 40 }),
            ].map((r) => ({ ...r, strategy: r.variant.split(" ")[0] as RunRecord["strategy"] }));
            // An old result's targets, without the skip fields: the defaults apply.
            const { skipWarmMaxRatio: _r, skipWarmMaxPulledMB: _m, ...oldTargets } = TARGETS;
            void _r;
            void _m;
            const res = {
                date: "d",
                machine: { cpus: 2, memoryGB: 1, docker: {}, registryModes: ["docker-container"] },
                config: { steps: 24, mbPerStep: 4, hashRounds: 80, changeAt: 12, imageMB: 96 },
                workloads: [WORKLOADS.heavy, WORKLOADS.light],
                records,
                original: ORIGINAL,
                targets: { ...oldTargets, changeMaxRatio: 0.6 },
            } as unknown as BenchResults;
            assert.equal(TARGETS.skipWarmMaxRatio, 0.02);
            assert.equal(TARGETS.skipWarmMaxPulledMB, 0.05);
            const lines = issue12Targets(res).filter((l) => l.startsWith("- warm with skip on"));
            assert.deepEqual(lines, [
                "- warm with skip on, heavy workload, `inline`: 1.5 % of cold (target ≤ 2.0 %), MB pulled 0.03 (target: no layer, under 0.05 MB; a config GET is allowed): met.",
                "- warm with skip on, heavy workload, `registry (docker-container)`: 1.9 % of cold (target ≤ 2.0 %), MB pulled 0.20 (target: no layer, under 0.05 MB; a config GET is allowed): not met.",
                "- warm with skip on, light workload, `inline`: 3.0 % of cold (target ≤ 2.0 %), MB pulled 0.00 (target: no layer, under 0.05 MB; a config GET is allowed): not met.",
                "- warm with skip on, light workload, `registry (docker-container)`: 2.0 % of cold (target ≤ 2.0 %), MB pulled 0.00 (target: no layer, under 0.05 MB; a config GET is allowed): met.",
            ]);
            const pull = verdicts(res).find((v) => v.strategy === "pull")!;
            assert.equal(pull.skipWarmRatio, undefined, "pull has no skip run");
            assert.equal(pull.warmRatio, 0.5);

            const md = markdown(res);
            assert.match(md, /- `warm, skip on`: no change, skip on \(the default\): the key exists/);
            assert.doesNotMatch(md, /- `change 2`/, "only the runs that ran are explained");
            assert.match(md, /\| heavy \| inline \| warm, skip on \| 1\.5 \| 0\.015 \|/);
            assert.match(md, /\| light \| pull \| 0\.500 \|.*\| — \| — \|$/m);
            assert.match(md, /\| heavy \| inline \| 0\.100 \|.*\| 0\.015 \| 0\.0 \|$/m);

            const values = (chartSpec(res).data as { values: { group: string; run: string; ratio: number }[] }).values;
            const bar = values.find((v) => v.group === "inline, light" || v.group === "inline (here), light");
            assert.ok(bar, JSON.stringify(values.map((v) => v.group)));
            assert.ok(
                values.some((v) => v.run === "warm, skip on" && v.group.startsWith("inline") && v.ratio === 0.03),
                "the chart has the skip run",
            );

            // Neither strategy that skips ran: said so.
            const onlyPull = { ...res, records: records.filter((r) => r.variant === "pull") } as BenchResults;
            assert.match(issue12Targets(onlyPull).join("\n"), /- warm with skip on: not measured in this run/);
        });
    });
});
