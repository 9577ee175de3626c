/**
 * The buildspec (`components/buildspec/`): build, report and export, run in real bash with stub `docker`/`aws` (tests/helpers/bash.ts).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { BuildspecOptions, phaseFragments } from "../../../components/buildspec";
import { buildspec } from "../../../components/buildspec/render";
import { BashRun, runBash } from "../../helpers/bash";
import { flagValues } from "../../helpers/shell";
import { REPO, options, STRATEGIES, commandOf, runnable, buildId } from "./shared";

describe("buildspec (pure)", () => {
    describe("build, report and export (executed in bash)", () => {
        let tmp = "";
        const logs: string[] = [];
        before(() => {
            tmp = fs.mkdtempSync(path.join(os.tmpdir(), "build-"));
        });
        after(() => {
            fs.rmSync(tmp, { recursive: true, force: true });
            logs.forEach((l) => fs.rmSync(l, { force: true }));
        });

        /** Runs the build command as a build of this trust, with a docker stub that prints `log` and returns `rc`. */
        function runBuild(
            o: BuildspecOptions,
            trusted: string,
            log = "",
            rc = 0,
            before = "",
        ): BashRun & { log: string } {
            const id = buildId();
            logs.push(id.log);
            const r = runBash(`${before}${runnable(o, "build")}`, {
                env: { TRUSTED: trusted, CODEBUILD_BUILD_ID: id.id, LOG: log, RC: String(rc) },
                stubs: { docker: 'printf "%s" "$LOG"; return "$RC"' },
            });
            return { ...r, log: id.log };
        }

        it("registry trusted: the argv ends with the cache import, the store=false image push and the context, and exports no cache; untrusted: cacheonly, no export, no push", () => {
            const o = options({ cacheStrategy: "registry" });
            const trusted = runBuild(o, "1");
            assert.equal(trusted.status, 0);
            assert.equal(trusted.calls.length, 1);
            const argv = trusted.calls[0];
            assert.deepEqual(argv.slice(-5), [
                "--cache-from",
                `type=registry,ref=${REPO}:buildcache`,
                "--output",
                `type=image,name=${REPO}:latest,push=true,store=false,compression=gzip,force-compression=true`,
                "al/x86_64/standard/5.0",
            ]);
            assert.ok(!argv.includes("--push") && !argv.includes("--tag"));
            assert.ok(!argv.includes("--cache-to"), "the cache is exported by the export command, not the build");
            const untrusted = runBuild(o, "0").calls[0];
            assert.deepEqual(untrusted.slice(-3), ["--output", "type=cacheonly", "al/x86_64/standard/5.0"]);
            assert.ok(!untrusted.includes("--push"));
            assert.ok(!untrusted.includes("--cache-to"));
            assert.ok(!untrusted.includes("--tag"));
            assert.ok(!untrusted.some((w) => w.includes("push=true")), JSON.stringify(untrusted));
        });

        for (const strategy of ["inline", "pull"] as const) {
            it(`${strategy} trusted: the argv ends with --tag <image> --push and the context; untrusted: cacheonly, no tag, no push`, () => {
                const o = options({ cacheStrategy: strategy });
                const trusted = runBuild(o, "1");
                assert.equal(trusted.status, 0);
                const argv = trusted.calls[0];
                assert.deepEqual(argv.slice(-4), ["--tag", `${REPO}:latest`, "--push", "al/x86_64/standard/5.0"]);
                assert.equal(argv.filter((w) => w === "--tag").length, 1);
                assert.ok(!argv.some((w) => w.startsWith("--output") || w.includes("push=true")));
                const untrusted = runBuild(o, "0").calls[0];
                assert.deepEqual(untrusted.slice(-3), ["--output", "type=cacheonly", "al/x86_64/standard/5.0"]);
                assert.ok(
                    !untrusted.includes("--push") && !untrusted.includes("--tag") && !untrusted.includes("--cache-to"),
                );
                assert.ok(!untrusted.some((w) => w.includes("push=true")), JSON.stringify(untrusted));
            });
        }

        it("the whole argv, exactly: docker buildx build, the shared flags, the cache import, the write flags, the context", () => {
            const o = options({
                cacheStrategy: "inline",
                buildArgs: { V: "1 2", Q: "it's $HOME" },
                buildNetwork: "none",
            });
            assert.deepEqual(runBuild(o, "1").calls, [
                [
                    "docker",
                    "buildx",
                    "build",
                    "--progress=plain",
                    "--provenance=false",
                    "--sbom=false",
                    "--file",
                    "al/x86_64/standard/5.0/Dockerfile",
                    "--build-arg",
                    "V=1 2",
                    "--build-arg",
                    "Q=it's $HOME",
                    "--network=none",
                    "--cache-from",
                    `type=registry,ref=${REPO}:latest`,
                    "--cache-to",
                    "type=inline",
                    "--tag",
                    `${REPO}:latest`,
                    "--push",
                    "al/x86_64/standard/5.0",
                ],
            ]);
        });

        it("writes the build's output to this build's own log (the UUID part of CODEBUILD_BUILD_ID)", () => {
            const r = runBuild(options(), "1", "#5 [2/3] RUN make\n");
            assert.equal(r.stdout, "#5 [2/3] RUN make\n");
            assert.equal(fs.readFileSync(r.log, "utf8"), "#5 [2/3] RUN make\n");
        });

        it("a failing docker build fails the command despite the tee (pipefail)", () => {
            assert.notEqual(runBuild(options(), "1", "boom\n", 1).status, 0);
        });

        for (const strategy of STRATEGIES) {
            it(`${strategy}: IMAGE_PUSHED=1 only when a trusted build's pipeline succeeded, and a failure stays the command's status`, () => {
                const o = options({ cacheStrategy: strategy });
                // IMAGE_PUSHED=1 beforehand, as if left over: the command must reset it.
                const run = (trusted: string, rc: number) => {
                    const id = buildId();
                    logs.push(id.log);
                    return runBash(
                        `IMAGE_PUSHED=1\n${runnable(o, "build")}\nrc=$?\necho "rc=$rc IMAGE_PUSHED=$IMAGE_PUSHED"`,
                        {
                            env: { TRUSTED: trusted, CODEBUILD_BUILD_ID: id.id, RC: String(rc) },
                            stubs: { docker: 'echo "#1 log"; return "$RC"' },
                        },
                    ).stdout;
                };
                assert.match(run("1", 0), /rc=0 IMAGE_PUSHED=1$/m);
                assert.match(run("0", 0), /rc=0 IMAGE_PUSHED=0$/m);
                assert.match(run("1", 3), /rc=3 IMAGE_PUSHED=0$/m, "a failed build pushed nothing");
                assert.match(run("0", 3), /rc=3 IMAGE_PUSHED=0$/m);
            });
        }

        describe("report", () => {
            const report = commandOf(options(), "report");
            const log = () => path.join(tmp, "report.log");
            const run = (text: string, found: string) => {
                fs.writeFileSync(log(), text);
                const r = runBash(`set -o pipefail\n${report}\necho "N=$N_CACHED/$N_STEPS"`, {
                    env: { BUILD_LOG: log(), CACHE_FOUND: found, BUILD_ATTEMPTS: "1" },
                });
                assert.equal(r.status, 0, r.stderr);
                assert.deepEqual(r.calls, []);
                return r.stdout;
            };
            const cold = [
                "#1 [internal] load build definition",
                "#5 [1/3] FROM docker.io/library/alpine",
                "#6 [2/3] RUN make",
                "#7 [3/3] COPY . .",
                "#8 exporting to image",
            ].join("\n");

            it("counts cached steps on cold and warm logs, under pipefail, exits 0, and hands the counts on (N_STEPS, N_CACHED)", () => {
                const c = run(cold, "0");
                assert.match(c, /layer cache: 0 of 2 steps cached/);
                assert.match(c, /^N=0\/2$/m);
                const warm = cold
                    .replace("#6 [2/3] RUN make", "#6 [2/3] RUN make\n#6 CACHED")
                    .replace("#7 [3/3] COPY . .", "#7 [3/3] COPY . .\n#7 CACHED");
                const w = run(warm, "1");
                assert.match(w, /layer cache: 2 of 2 steps cached/);
                assert.match(w, /^N=2\/2$/m);
                assert.ok(!w.includes("WARNING"));
                assert.match(run(cold, "1"), /WARNING: a layer cache was found in ECR but no step used it/);
            });

            it("counts hits printed DONE with layer downloads and no output of their own, does not warn 'no step used it' then, and still warns when only FROM downloaded", () => {
                const digest = "a".repeat(64);
                const base = [
                    "#1 [internal] load build definition",
                    "#5 [1/3] FROM docker.io/library/alpine",
                    `#5 sha256:${"b".repeat(64)} 2.10MB / 2.10MB 0.1s done`,
                    `#5 extracting sha256:${"b".repeat(64)} 0.1s done`,
                    "#5 DONE 0.2s",
                ];
                // Both steps were hits whose layers BuildKit had to fetch: they end in DONE, not CACHED.
                const fetched = [
                    ...base,
                    "#6 [2/3] RUN make",
                    `#6 sha256:${digest} 1.05MB / 1.05MB 0.1s done`,
                    `#6 extracting sha256:${digest} 0.0s done`,
                    "#6 DONE 0.1s",
                    "#7 [3/3] COPY . .",
                    `#7 extracting sha256:${digest} 0.0s done`,
                    "#7 DONE 0.1s",
                    "#8 exporting to image",
                ].join("\n");
                const f = run(fetched, "1");
                assert.match(f, /layer cache: 2 of 2 steps cached/);
                assert.ok(!f.includes("WARNING"), f);
                // Rebuilt steps that print their own output, with only the base image downloaded: the warning stays.
                const rebuilt = [
                    ...base,
                    "#6 [2/3] RUN make",
                    "#6 0.105 step 2: done",
                    "#6 DONE 0.3s",
                    "#7 [3/3] COPY . .",
                    "#7 DONE 0.1s",
                    "#8 exporting to image",
                ].join("\n");
                const r = run(rebuilt, "1");
                assert.match(r, /WARNING: a layer cache was found in ECR but no step used it/);
                assert.match(r, /layer cache: 0 of 2 steps cached/);
                // A step that printed output ran, even with downloads on its lines: not a hit.
                const ranWithDownload = fetched.replace("#6 DONE 0.1s", "#6 0.2 compiling\n#6 DONE 0.1s");
                assert.match(run(ranWithDownload, "1"), /layer cache: 1 of 2 steps cached/);
            });

            it("warns on a cache import error, except 'not found' when the probe found no cache", () => {
                const failedImport = `${cold}\n#3 importing cache manifest from ${REPO}:latest\n#3 ERROR: failed to fetch blob`;
                assert.match(
                    run(failedImport, "1"),
                    /WARNING: BuildKit reported a layer-cache error, so this build did not use the cache as configured: #3 ERROR: failed to fetch blob/,
                );
                const notFound = `${cold}\n#3 importing cache manifest from ${REPO}:latest\n#3 ERROR: ${REPO}:latest: not found`;
                assert.ok(!run(notFound, "0").includes("layer-cache error"));
                assert.match(run(notFound, "1"), /layer-cache error/);
            });
        });

        describe("registry: the cache export", () => {
            const o = options({ cacheStrategy: "registry", buildArgs: { V: "1 2" }, buildNetwork: "none" });
            const log = () => path.join(tmp, "export.log");
            const EXPORT_TAIL = [
                // It reads the cache too: records the build took from it without loading them must stay in the export.
                "--cache-from",
                `type=registry,ref=${REPO}:buildcache`,
                "--cache-to",
                `type=registry,ref=${REPO}:buildcache,mode=max,image-manifest=true,oci-mediatypes=true,compression=gzip,force-compression=true`,
                "--output",
                "type=cacheonly",
                "al/x86_64/standard/5.0",
            ];

            /** Runs `script` with the inputs as variables, a docker stub that prints a line and returns `rc`, no pipefail set beforehand. */
            function runExport(vars: Record<string, string>, script = runnable(o, "export"), rc = 0) {
                return runBash(script, {
                    env: { BUILD_LOG: log(), BUILD_ATTEMPTS: "1", ...vars, RC: String(rc) },
                    stubs: { docker: 'echo "#99 exporting cache"; return "$RC"' },
                });
            }

            /** The build's argv before its cache import: what the export must share with it. */
            function baseArgv(): string[] {
                const id = buildId();
                logs.push(id.log);
                const words = runBash(runnable(o, "build"), { env: { TRUSTED: "1", CODEBUILD_BUILD_ID: id.id } })
                    .calls[0];
                return words.slice(0, words.indexOf("--cache-from"));
            }

            beforeEach(() => fs.writeFileSync(log(), "#5 [2/3] RUN make\n"));

            it("(a) untrusted: no docker call, says the cache is not exported", () => {
                for (const found of ["0", "1"]) {
                    const r = runExport({ TRUSTED: "0", CACHE_FOUND: found, N_STEPS: "3", N_CACHED: "1" });
                    assert.equal(r.status, 0, r.stderr);
                    assert.deepEqual(r.calls, []);
                    assert.equal(r.stdout.trim(), "layer cache: untrusted ref: the cache is not exported");
                }
            });

            it("(b) trusted, cache found, every step cached: no docker call, the cache is already complete", () => {
                const r = runExport({ TRUSTED: "1", CACHE_FOUND: "1", N_STEPS: "24", N_CACHED: "24" });
                assert.equal(r.status, 0, r.stderr);
                assert.deepEqual(r.calls, []);
                assert.equal(
                    r.stdout.trim(),
                    `layer cache: every step came from ${REPO}:buildcache, which is already complete: not exported again`,
                );
                assert.equal(fs.readFileSync(log(), "utf8"), "#5 [2/3] RUN make\n", "the log is left alone");
            });

            const exporting: [string, Record<string, string>][] = [
                ["(c) trusted, partial hits", { TRUSTED: "1", CACHE_FOUND: "1", N_STEPS: "24", N_CACHED: "11" }],
                ["(c) trusted, no hit at all", { TRUSTED: "1", CACHE_FOUND: "1", N_STEPS: "24", N_CACHED: "0" }],
                [
                    "(d) trusted, no cache found (first build), even with every step counted as cached",
                    { TRUSTED: "1", CACHE_FOUND: "0", N_STEPS: "3", N_CACHED: "3" },
                ],
                [
                    "trusted, a Dockerfile with no counted step (0 of 0)",
                    { TRUSTED: "1", CACHE_FOUND: "1", N_STEPS: "0", N_CACHED: "0" },
                ],
            ];
            for (const [title, vars] of exporting) {
                it(`${title}: exactly one docker call, the build's base argv + --cache-from <cache> --cache-to …mode=max… --output type=cacheonly <context>, appended to the log`, () => {
                    const r = runExport(vars);
                    assert.equal(r.status, 0, r.stderr);
                    assert.equal(r.calls.length, 1, JSON.stringify(r.calls));
                    assert.deepEqual(r.calls[0], [...baseArgv(), ...EXPORT_TAIL]);
                    assert.deepEqual(r.calls[0].slice(0, 11), [
                        "docker",
                        "buildx",
                        "build",
                        "--progress=plain",
                        "--provenance=false",
                        "--sbom=false",
                        "--file",
                        "al/x86_64/standard/5.0/Dockerfile",
                        "--build-arg",
                        "V=1 2",
                        "--network=none",
                    ]);
                    assert.ok(
                        !r.calls[0].some(
                            (w) => w === "--push" || w === "--tag" || w.includes("push=true") || w.includes(":latest"),
                        ),
                        "the export pushes no image",
                    );
                    assert.equal(
                        fs.readFileSync(log(), "utf8"),
                        "#5 [2/3] RUN make\n#99 exporting cache\n",
                        "the export's output is appended to the build log",
                    );
                });
            }

            it("(d) CACHE_FOUND, N_STEPS or N_CACHED unset (the report didn't run before it): fails loudly, exports nothing", () => {
                const all = { TRUSTED: "1", CACHE_FOUND: "1", N_STEPS: "3", N_CACHED: "3" };
                for (const missing of ["CACHE_FOUND", "N_STEPS", "N_CACHED"] as const) {
                    const vars: Record<string, string> = { ...all };
                    delete vars[missing];
                    const r = runExport(vars);
                    assert.notEqual(r.status, 0, missing);
                    // The command carries the declaration as written: bash names the variable and who sets it.
                    assert.match(r.stderr, new RegExp(`${missing}: set by (probe\\.sh|report\\.sh)`));
                    assert.deepEqual(r.calls, []);
                }
            });

            it("(e) a failing export fails the command, without pipefail set beforehand and despite the tee", () => {
                const r = runExport({ TRUSTED: "1", CACHE_FOUND: "1", N_STEPS: "24", N_CACHED: "11" }, undefined, 7);
                assert.equal(r.calls.length, 1);
                assert.notEqual(r.status, 0);
            });

            it("two platforms emulated: one export per platform, each with its --platform alone and its own <cache>-<arch>; a failed one stops the next", () => {
                const e = options({
                    cacheStrategy: "registry",
                    platforms: ["linux/amd64", "linux/arm64"],
                    platformMode: "emulated",
                });
                const script = runnable(e, "export");
                const r = runExport({ TRUSTED: "1", CACHE_FOUND: "0", N_STEPS: "6", N_CACHED: "0" }, script);
                assert.equal(r.status, 0, r.stderr);
                assert.equal(r.calls.length, 2);
                for (const [i, arch] of ["amd64", "arm64"].entries()) {
                    const argv = r.calls[i];
                    assert.deepEqual(flagValues(argv, "--platform"), [`linux/${arch}`], "only this platform");
                    assert.deepEqual(flagValues(argv, "--cache-to"), [
                        `type=registry,ref=${REPO}:buildcache-${arch},mode=max,image-manifest=true,oci-mediatypes=true,compression=gzip,force-compression=true`,
                    ]);
                    assert.deepEqual(flagValues(argv, "--cache-from"), [
                        `type=registry,ref=${REPO}:buildcache-amd64`,
                        `type=registry,ref=${REPO}:buildcache-arm64`,
                    ]);
                    assert.deepEqual(argv.slice(-3), ["--output", "type=cacheonly", "al/x86_64/standard/5.0"]);
                }
                assert.equal((fs.readFileSync(log(), "utf8").match(/#99 exporting cache/g) ?? []).length, 2);
                const failed = runExport({ TRUSTED: "1", CACHE_FOUND: "0", N_STEPS: "6", N_CACHED: "0" }, script, 7);
                assert.notEqual(failed.status, 0);
                assert.equal(failed.calls.length, 1, "the arm64 export is not tried after amd64's failed");
                const warm = runExport({ TRUSTED: "1", CACHE_FOUND: "1", N_STEPS: "6", N_CACHED: "6" }, script);
                assert.deepEqual(warm.calls, []);
                assert.match(
                    warm.stdout,
                    new RegExp(`every step came from ${REPO}:buildcache, which is already complete`),
                );
            });

            it("with the report: a fully cached log skips the export, a log with one rebuilt step exports, a cold build exports", () => {
                const warm = [
                    "#1 [internal] load build definition",
                    "#5 [1/3] FROM docker.io/library/alpine",
                    "#6 [2/3] RUN make",
                    "#6 CACHED",
                    "#7 [3/3] COPY . .",
                    "#7 CACHED",
                    "#8 exporting to image",
                ].join("\n");
                const script = `${commandOf(o, "report")}\n${runnable(o, "export")}`;
                fs.writeFileSync(log(), warm);
                const skipped = runExport({ TRUSTED: "1", CACHE_FOUND: "1" }, script);
                assert.equal(skipped.status, 0, skipped.stderr);
                assert.match(skipped.stdout, /layer cache: 2 of 2 steps cached\n.*not exported again/);
                assert.deepEqual(skipped.calls, []);
                fs.writeFileSync(log(), warm.replace("#7 CACHED", "#7 DONE 0.1s"));
                const partial = runExport({ TRUSTED: "1", CACHE_FOUND: "1" }, script);
                assert.match(partial.stdout, /layer cache: 1 of 2 steps cached/);
                assert.equal(partial.calls.length, 1);
                assert.deepEqual(partial.calls[0].slice(-EXPORT_TAIL.length), EXPORT_TAIL);
                fs.writeFileSync(log(), warm);
                const cold = runExport({ TRUSTED: "1", CACHE_FOUND: "0" }, script);
                assert.equal(cold.calls.length, 1, "no cache was found: whatever the count, the export runs");
            });

            it("inline and pull have no export command", () => {
                for (const strategy of ["inline", "pull"] as const) {
                    const p = options({ cacheStrategy: strategy });
                    assert.deepEqual(phaseFragments(p).build, ["build", "report"], strategy);
                    assert.ok(!buildspec(p).phases.build.commands.join("\n").includes("exported"), strategy);
                }
            });
        });
    });
});
