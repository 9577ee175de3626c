/**
 * `npm run smoke` (tools/smoke/): the command run end to end against mocked AWS clients.
 *
 * What is mocked: the CodeBuild and CloudWatch Logs clients (aws-sdk-client-mock replaces `send` on every instance,
 * so no request leaves the process), the clock and `sleep` (a fake clock that `sleep` advances; no real waiting),
 * the stack outputs (a function instead of the Pulumi CLI), and the state store (in memory).
 * What is real: the flag parsing, the polling and the display, and the build's JSON line itself, which is printed by
 * the real components/buildspec/metrics.sh run in bash (tests/helpers/bash.ts) from the variables a build sets.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    BatchGetBuildBatchesCommand,
    BatchGetBuildsCommand,
    BatchGetProjectsCommand,
    Build,
    BuildPhase,
    CodeBuildClient,
    CodeBuildServiceException,
    StartBuildBatchCommand,
    StartBuildCommand,
} from "@aws-sdk/client-codebuild";
import { CloudWatchLogsClient, GetLogEventsCommand, ResourceNotFoundException } from "@aws-sdk/client-cloudwatch-logs";
import { CredentialsProviderError } from "@smithy/core/config";
import { mockClient } from "aws-sdk-client-mock";
import type { BuildEvent } from "../../components/buildEvent";
import { main, MainDeps } from "../../tools/smoke/cli";
import { buildIdOf, LOG_ATTEMPTS } from "../../tools/smoke/smoke";
import { memoryState } from "../../tools/smoke/state";
import { pulumiOutputs, regionOfArn, targetFromOutputs } from "../../tools/smoke/target";
import { EXIT, judgeEvent, worst } from "../../tools/smoke/verdict";
import { runBash } from "../helpers/bash";

const PROJECT = "docker-cache-dev";
const REGION = "eu-west-1";
const REPO = `123456789012.dkr.ecr.${REGION}.amazonaws.com/docker-cache-dev`;
const BUILD_ID = `${PROJECT}:0b6f8a52-1111-4222-8333-944455556666`;
const GROUP = `/aws/codebuild/${PROJECT}`;
const T0 = Date.parse("2026-12-06T12:00:00.000Z");

// ---- The JSON line, printed by the real metrics.sh ---------------------------------------------------------------

interface LineOptions {
    readonly buildId?: string;
    readonly cacheFound: boolean;
    readonly steps: number;
    readonly cached: number;
    readonly succeeded?: boolean;
    readonly image?: string;
    readonly cacheRef?: string;
}

/** The line metrics.sh prints for a registry build with these numbers: 12 s of pre_build, 80 s build, 3 layers pushed. */
function metricsLine(o: LineOptions): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "smoke-test-"));
    try {
        const log = path.join(dir, "build.log");
        // BuildKit's daemon-builder push lines, which metrics.sh sums: 12.5 + 30 + 0.5 = 43 MB; a failed build pushed none.
        fs.writeFileSync(
            log,
            (o.succeeded ?? true) === false
                ? "#14 ERROR: process did not complete successfully\n"
                : [
                      "#14 pushing layer sha256:aaa 12.5MB / 12.5MB 1.1s",
                      "#14 pushing layer sha256:bbb 30MB / 30MB 2.0s",
                      "#14 pushing layer sha256:ccc 512kB / 512kB 0.2s",
                  ].join("\n") + "\n",
        );
        const ok = o.succeeded ?? true;
        const env: Record<string, string> = {
            CODEBUILD_BUILD_ID: o.buildId ?? BUILD_ID,
            TRUSTED: "1",
            CACHE_FOUND: o.cacheFound ? "1" : "0",
            CACHE_STRATEGY: "registry",
            IMAGE_REF: o.image ?? `${REPO}:latest`,
            CACHE_REF: o.cacheRef ?? `${REPO}:buildcache`,
            BRANCH_SH: "/dev/null",
            BUILD_LOG: log,
            BUILD_ATTEMPTS: "1",
            CODEBUILD_BUILD_SUCCEEDING: ok ? "1" : "0",
            LAYER_CACHE_T_trust: "1795970000000",
            LAYER_CACHE_T_build: "1795970012000",
            LAYER_CACHE_T_metrics: "1795970100000",
            LAYER_CACHE_T_post_build: "1795970095000",
        };
        if (ok) {
            Object.assign(env, {
                N_STEPS: String(o.steps),
                N_CACHED: String(o.cached),
                IMAGE_PUSHED: "1",
                LAYER_CACHE_T_report: "1795970092000",
                LAYER_CACHE_T_export: "1795970093000",
            });
        }
        const r = runBash(fs.readFileSync(path.join(__dirname, "../../components/buildspec/metrics.sh"), "utf8"), {
            env,
        });
        assert.equal(r.status, 0, r.stderr);
        const line = r.stdout.split("\n").find((l) => l.startsWith('{"layerCache":'));
        assert.ok(line, r.stdout);
        return line;
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

// ---- CodeBuild fixtures -------------------------------------------------------------------------------------------

const at = (s: number) => new Date(T0 + s * 1000);

/** Phases in order, each [type, status, seconds]; the last `running` ones have no end yet. */
function phases(list: [string, string, number][], running: string[] = []): BuildPhase[] {
    let t = 0;
    const done = list.map(([phaseType, phaseStatus, seconds]) => {
        const p = {
            phaseType,
            phaseStatus,
            startTime: at(t),
            endTime: at(t + seconds),
            durationInSeconds: seconds,
        } as BuildPhase;
        t += seconds;
        return p;
    });
    return [...done, ...running.map((phaseType) => ({ phaseType, startTime: at(t) }) as BuildPhase)];
}

const ALL_OK: [string, string, number][] = [
    ["SUBMITTED", "SUCCEEDED", 0],
    ["QUEUED", "SUCCEEDED", 1],
    ["PROVISIONING", "SUCCEEDED", 14],
    ["DOWNLOAD_SOURCE", "SUCCEEDED", 2],
    ["INSTALL", "SUCCEEDED", 0],
    ["PRE_BUILD", "SUCCEEDED", 12],
    ["BUILD", "SUCCEEDED", 83],
    ["POST_BUILD", "SUCCEEDED", 5],
    ["UPLOAD_ARTIFACTS", "SUCCEEDED", 0],
    ["FINALIZING", "SUCCEEDED", 2],
];

function build(id: string, o: { status: string; phases: BuildPhase[]; complete: boolean; stream?: string }): Build {
    return {
        id,
        startTime: at(0),
        buildStatus: o.status as Build["buildStatus"],
        buildComplete: o.complete,
        currentPhase: o.complete ? "COMPLETED" : o.phases.at(-1)?.phaseType,
        phases: o.phases,
        logs: { groupName: GROUP, streamName: o.stream ?? id.split(":")[1], cloudWatchLogs: { status: "ENABLED" } },
    };
}

/** CodeBuild's log lines of a build, with the JSON line where post_build prints it. */
function logEvents(line: string | undefined) {
    const messages = [
        "[Container] 2026/12/06 12:00:17.000000 Running on CodeBuild On-demand\n",
        "[Container] 2026/12/06 12:00:31.000000 Entering phase BUILD\n",
        "layer cache: 4 of 5 steps cached\n",
        ...(line === undefined ? [] : [`${line}\n`]),
        "[Container] 2026/12/06 12:02:00.000000 Phase complete: POST_BUILD State: SUCCEEDED\n",
    ];
    return messages.map((message, i) => ({ timestamp: T0 + i, message, ingestionTime: T0 + i }));
}

const cb = mockClient(CodeBuildClient);
const cwl = mockClient(CloudWatchLogsClient);

/** GetLogEvents of one stream: one page with the events, then the same token back (the stream's end). */
function mockStream(stream: string, line: string | undefined): void {
    cwl.on(GetLogEventsCommand, { logStreamName: stream, nextToken: undefined }).resolves({
        events: logEvents(line),
        nextForwardToken: `f/${stream}/1`,
        nextBackwardToken: "b/0",
    });
    cwl.on(GetLogEventsCommand, { logStreamName: stream, nextToken: `f/${stream}/1` }).resolves({
        events: [],
        nextForwardToken: `f/${stream}/1`,
        nextBackwardToken: "b/1",
    });
}

/** A single-build project whose build runs once in PROVISIONING, then ends with `final`. */
function mockSingleBuild(final: Build): void {
    cb.on(BatchGetProjectsCommand).resolves({ projects: [{ name: PROJECT }], projectsNotFound: [] });
    cb.on(StartBuildCommand).resolves({
        build: build(BUILD_ID, { status: "IN_PROGRESS", complete: false, phases: phases([], ["SUBMITTED"]) }),
    });
    cb.on(BatchGetBuildsCommand)
        .resolvesOnce({
            builds: [
                build(BUILD_ID, {
                    status: "IN_PROGRESS",
                    complete: false,
                    phases: phases(ALL_OK.slice(0, 2), ["PROVISIONING"]),
                }),
            ],
        })
        .resolves({ builds: [final] });
}

const SUCCEEDED = build(BUILD_ID, { status: "SUCCEEDED", complete: true, phases: phases(ALL_OK, ["COMPLETED"]) });

/** The phase lines of ALL_OK as the display prints them, with a prefix. */
const okPhaseLines = (prefix = "  ") =>
    [
        "SUBMITTED          SUCCEEDED      0s",
        "QUEUED             SUCCEEDED      1s",
        "PROVISIONING       SUCCEEDED     14s",
        "DOWNLOAD_SOURCE    SUCCEEDED      2s",
        "INSTALL            SUCCEEDED      0s",
        "PRE_BUILD          SUCCEEDED     12s",
        "BUILD              SUCCEEDED  1m 23s",
        "POST_BUILD         SUCCEEDED      5s",
        "UPLOAD_ARTIFACTS   SUCCEEDED      0s",
        "FINALIZING         SUCCEEDED      2s",
    ].map((l) => prefix + l);

// ---- Running the command -------------------------------------------------------------------------------------------

interface Run {
    readonly code: number;
    readonly out: string;
    readonly err: string;
    readonly sleeps: number[];
}

async function run(argv: string[], o: Partial<MainDeps> & { isTTY?: boolean } = {}): Promise<Run> {
    let out = "";
    let err = "";
    let clock = T0;
    const sleeps: number[] = [];
    const code = await main(argv, {
        out: { write: (t) => (out += t), isTTY: o.isTTY ?? false },
        err: (t) => (err += t),
        readOutputs:
            o.readOutputs ??
            (() =>
                Promise.resolve({
                    projectName: PROJECT,
                    projectArn: `arn:aws:codebuild:${REGION}:123:project/${PROJECT}`,
                })),
        state: o.state ?? memoryState(),
        sleep: (ms) => {
            sleeps.push(ms);
            clock += ms;
            return Promise.resolve();
        },
        now: () => clock,
    });
    return { code, out, err, sleeps };
}

const lines = (text: string) => text.split("\n").slice(0, -1);

describe("npm run smoke (tools/smoke, AWS clients mocked with aws-sdk-client-mock)", () => {
    beforeEach(() => {
        cb.reset();
        cwl.reset();
    });

    it("success: a warm single build prints each phase once with its duration, then hits, time and MB pushed; exit 0", async () => {
        mockSingleBuild(SUCCEEDED);
        mockStream(BUILD_ID.split(":")[1], metricsLine({ cacheFound: true, steps: 5, cached: 4 }));
        const r = await run(["--stack", "dev"]);
        assert.equal(r.err, "");
        assert.deepEqual(lines(r.out), [
            `smoke: project ${PROJECT} in ${REGION} (from stack dev's outputs); a single build`,
            `smoke: started build ${BUILD_ID}`,
            ...okPhaseLines(),
            "hits:   4 of 5 steps from the cache (hit ratio 0.800); cache found in ECR: yes; export: written",
            "time:   100.0 s (pre_build 12.0 s, build 80.0 s, export 2.0 s)",
            "pushed: 43.0 MB",
            "warm: 4 of 5 steps came from the cache",
            "smoke: OK after 5s; exit 0",
        ]);
        assert.equal(r.code, EXIT.ok);
        // Polled twice: once in PROVISIONING, once complete; the wait between was the first interval (--poll 5).
        assert.equal(cb.commandCalls(BatchGetBuildsCommand).length, 2);
        assert.deepEqual(r.sleeps, [5000]);
        assert.equal(cb.commandCalls(StartBuildBatchCommand).length, 0);
        assert.deepEqual(cb.commandCalls(StartBuildCommand)[0].args[0].input, { projectName: PROJECT });
    });

    it("run again: the first build is cold (exit 0, not a miss); the second is warm and shows the first beside it", async () => {
        const state = memoryState();
        const stream = BUILD_ID.split(":")[1];
        mockSingleBuild(SUCCEEDED);
        mockStream(stream, metricsLine({ cacheFound: false, steps: 5, cached: 0 }));
        const cold = await run(["--project", PROJECT, "--region", REGION], { state });
        assert.equal(cold.code, EXIT.ok);
        assert.ok(
            lines(cold.out).includes(
                `cold: no layer cache in ECR yet (${REPO}:buildcache); this build wrote it. Run again to see the warm build`,
            ),
            cold.out,
        );
        assert.ok(lines(cold.out)[0].endsWith("(from --project); a single build"));

        cb.reset();
        cwl.reset();
        mockSingleBuild(SUCCEEDED);
        mockStream(stream, metricsLine({ cacheFound: true, steps: 5, cached: 5 }));
        const warm = await run(["--project", PROJECT, "--region", REGION], { state });
        assert.equal(warm.code, EXIT.ok);
        const tail = lines(warm.out).slice(-6);
        assert.deepEqual(tail, [
            "hits:   5 of 5 steps from the cache (hit ratio 1.000); cache found in ECR: yes; export: skipped",
            "time:   100.0 s (pre_build 12.0 s, build 80.0 s, export 2.0 s)",
            "pushed: 43.0 MB",
            `before: 0 of 5 steps from the cache, 100.0 s, 43.0 MB (build ${BUILD_ID})`,
            "warm: 5 of 5 steps came from the cache",
            "smoke: OK after 5s; exit 0",
        ]);
    });

    it("a failed phase: names the phase and CodeBuild's message, still prints the line; exit 3", async () => {
        const failed = build(BUILD_ID, {
            status: "FAILED",
            complete: true,
            phases: [
                ...phases([...ALL_OK.slice(0, 6)]),
                {
                    phaseType: "BUILD",
                    phaseStatus: "FAILED",
                    startTime: at(29),
                    endTime: at(70),
                    durationInSeconds: 41,
                    contexts: [
                        {
                            statusCode: "COMMAND_EXECUTION_ERROR",
                            message: "Error while executing command: docker buildx build. Reason: exit status 1",
                        },
                    ],
                },
                {
                    phaseType: "POST_BUILD",
                    phaseStatus: "SUCCEEDED",
                    startTime: at(70),
                    endTime: at(75),
                    durationInSeconds: 5,
                },
                { phaseType: "COMPLETED", startTime: at(75) },
            ],
        });
        mockSingleBuild(failed);
        mockStream(BUILD_ID.split(":")[1], metricsLine({ cacheFound: true, steps: 5, cached: 4, succeeded: false }));
        const r = await run(["--stack", "dev"]);
        const msg =
            "COMMAND_EXECUTION_ERROR: Error while executing command: docker buildx build. Reason: exit status 1";
        assert.deepEqual(lines(r.out).slice(2), [
            ...okPhaseLines().slice(0, 6),
            `  BUILD              FAILED        41s  ${msg}`,
            "  POST_BUILD         SUCCEEDED      5s",
            `build ${BUILD_ID} FAILED in phase BUILD (FAILED): ${msg}`,
            "hits:   steps not counted; cache found in ECR: yes; export: none",
            "time:   100.0 s (pre_build 12.0 s, build 83.0 s, export n/a)",
            "pushed: n/a (BuildKit printed no layer sizes)",
            "smoke: the build failed after 5s; exit 3",
        ]);
        assert.equal(r.code, EXIT.buildFailed);
    });

    it("a build that failed before its logs began: one look for the stream, no waiting; exit 3, not 6", async () => {
        const ASSUME = `CodeBuild is not authorized to perform: sts:AssumeRole on arn:aws:iam::123456789012:role/${PROJECT}-role`;
        const failed = build(BUILD_ID, {
            status: "FAILED",
            complete: true,
            phases: [
                ...phases(ALL_OK.slice(0, 2)),
                {
                    phaseType: "PROVISIONING",
                    phaseStatus: "FAILED",
                    endTime: at(3),
                    durationInSeconds: 2,
                    contexts: [{ statusCode: "CLIENT_ERROR", message: ASSUME }],
                },
                { phaseType: "COMPLETED", startTime: at(3) },
            ],
        });
        mockSingleBuild(failed);
        cwl.on(GetLogEventsCommand).rejects(
            new ResourceNotFoundException({ message: "The specified log stream does not exist.", $metadata: {} }),
        );
        const r = await run(["--stack", "dev"]);
        const stream = BUILD_ID.split(":")[1];
        assert.deepEqual(lines(r.out).slice(-3), [
            `build ${BUILD_ID} FAILED in phase PROVISIONING (FAILED): CLIENT_ERROR: ${ASSUME}`,
            `the log stream ${stream} of log group ${GROUP} does not exist (ResourceNotFoundException: The specified log stream does not exist.).`,
            "smoke: the build failed after 5s; exit 3",
        ]);
        assert.equal(r.code, EXIT.buildFailed);
        assert.equal(cwl.commandCalls(GetLogEventsCommand).length, 1);
        assert.deepEqual(r.sleeps, [5000], "only the one poll interval");
    });

    it("a cache miss: a cache was found but no step used it; exit 4", async () => {
        mockSingleBuild(SUCCEEDED);
        mockStream(BUILD_ID.split(":")[1], metricsLine({ cacheFound: true, steps: 5, cached: 0 }));
        const r = await run(["--stack", "dev"]);
        assert.deepEqual(lines(r.out).slice(-2), [
            `a layer cache was found in ECR (${REPO}:buildcache) but no step used it: all 5 steps were rebuilt`,
            "smoke: the build missed the cache after 5s; exit 4",
        ]);
        assert.equal(r.code, EXIT.cacheMiss);
    });

    it("a cache miss: no cache found after the previous smoke run wrote it, or with --expect-warm; exit 4", async () => {
        const stream = BUILD_ID.split(":")[1];
        const wrote = JSON.parse(
            metricsLine({ cacheFound: false, steps: 5, cached: 0, buildId: `${PROJECT}:earlier` }),
        ) as BuildEvent;
        assert.equal(wrote.export, "written");
        const state = memoryState({ [PROJECT]: { at: "2026-12-06T11:00:00.000Z", events: [wrote] } });
        mockSingleBuild(SUCCEEDED);
        mockStream(stream, metricsLine({ cacheFound: false, steps: 5, cached: 0 }));
        const afterWrite = await run(["--stack", "dev"], { state });
        assert.equal(afterWrite.code, EXIT.cacheMiss);
        assert.ok(
            lines(afterWrite.out).includes(
                `no layer cache was found in ECR (${REPO}:buildcache), but the previous smoke run's build ${PROJECT}:earlier (2026-12-06T11:00:00.000Z) wrote it`,
            ),
            afterWrite.out,
        );

        cb.reset();
        cwl.reset();
        mockSingleBuild(SUCCEEDED);
        mockStream(stream, metricsLine({ cacheFound: false, steps: 5, cached: 0 }));
        const expected = await run(["--stack", "dev", "--expect-warm"]);
        assert.equal(expected.code, EXIT.cacheMiss);
        assert.ok(
            lines(expected.out).includes(
                `no layer cache was found in ECR (${REPO}:buildcache), but --expect-warm was given`,
            ),
        );
    });

    it("throttling: a ThrottlingException on BatchGetBuilds is retried after a wait, then the build is followed; exit 0", async () => {
        mockSingleBuild(SUCCEEDED);
        const throttled = new CodeBuildServiceException({
            name: "ThrottlingException",
            $fault: "client",
            $metadata: { httpStatusCode: 400 },
            message: "Rate exceeded",
        });
        cb.on(BatchGetBuildsCommand)
            .rejectsOnce(throttled)
            .resolves({ builds: [SUCCEEDED] });
        mockStream(BUILD_ID.split(":")[1], metricsLine({ cacheFound: true, steps: 5, cached: 5 }));
        const r = await run(["--stack", "dev"]);
        assert.deepEqual(lines(r.out).slice(1, 3), [
            `smoke: started build ${BUILD_ID}`,
            "smoke: BatchGetBuilds was throttled (ThrottlingException); retry 1 in 2s",
        ]);
        assert.equal(r.code, EXIT.ok);
        assert.equal(cb.commandCalls(BatchGetBuildsCommand).length, 2);
        assert.deepEqual(r.sleeps, [2000]);
        assert.equal(lines(r.out).at(-1), "smoke: OK after 2s; exit 0");
    });

    it("throttling that never ends: gives up after the retries, with the error; exit 1", async () => {
        mockSingleBuild(SUCCEEDED);
        cb.on(BatchGetBuildsCommand).rejects(
            new CodeBuildServiceException({
                name: "ThrottlingException",
                $fault: "client",
                $metadata: {},
                message: "Rate exceeded",
            }),
        );
        const r = await run(["--stack", "dev"]);
        assert.equal(r.code, EXIT.error);
        assert.deepEqual(r.sleeps, [2000, 4000, 8000, 16000, 30000, 30000]);
        assert.equal(lines(r.out).at(-1), "smoke: ThrottlingException: Rate exceeded");
    });

    it("no credentials: the default chain's CredentialsProviderError is said plainly; exit 5, no build started", async () => {
        cb.on(BatchGetProjectsCommand).rejects(
            new CredentialsProviderError("Could not load credentials from any providers", { tryNextLink: false }),
        );
        const r = await run(["--stack", "dev"]);
        assert.deepEqual(lines(r.out), [
            "smoke: no usable AWS credentials (CredentialsProviderError: Could not load credentials from any providers). " +
                "The default credential chain is used: AWS_PROFILE / AWS_ACCESS_KEY_ID, ~/.aws/config and SSO (aws sso login), or an instance role.",
        ]);
        assert.equal(r.code, EXIT.noCredentials);
        assert.equal(cb.commandCalls(StartBuildCommand).length, 0);
    });

    it("a missing log stream: ResourceNotFoundException, retried as logs arrive late, then said clearly; exit 6", async () => {
        mockSingleBuild(SUCCEEDED);
        const stream = BUILD_ID.split(":")[1];
        cwl.on(GetLogEventsCommand).rejects(
            new ResourceNotFoundException({ message: "The specified log stream does not exist.", $metadata: {} }),
        );
        const r = await run(["--stack", "dev"]);
        const missing = `the log stream ${stream} of log group ${GROUP} does not exist (ResourceNotFoundException: The specified log stream does not exist.)`;
        assert.deepEqual(lines(r.out).slice(2 + ALL_OK.length), [
            `smoke: ${missing}; logs can arrive late, retry 1 in 5s`,
            `smoke: ${missing}; logs can arrive late, retry 2 in 10s`,
            `smoke: ${missing}; logs can arrive late, retry 3 in 15s`,
            `${missing}, after 4 attempts. The build's result is known, its cache numbers are not: check the log group's retention and the role's logs:PutLogEvents.`,
            "smoke: the build's JSON line could not be read after 35s; exit 6",
        ]);
        assert.equal(r.code, EXIT.noResult);
        assert.equal(cwl.commandCalls(GetLogEventsCommand).length, LOG_ATTEMPTS);
    });

    it("a log stream without the line (one that is there): exit 6, and the line is looked for on every page", async () => {
        mockSingleBuild(SUCCEEDED);
        mockStream(BUILD_ID.split(":")[1], undefined);
        const r = await run(["--stack", "dev"]);
        assert.equal(r.code, EXIT.noResult);
        assert.match(
            lines(r.out).at(-2) ?? "",
            /^no JSON line \(\{"layerCache":…\}\) in log stream .* after 4 attempts/,
        );
        // Two pages per attempt: the events, then the same token back.
        assert.equal(cwl.commandCalls(GetLogEventsCommand).length, 2 * LOG_ATTEMPTS);
    });

    it("two native platforms: a batch (StartBuildBatch), each job's phases and line, the manifest job's phases only; exit 0", async () => {
        const batchId = `${PROJECT}:batch-1`;
        const ids = { build_amd64: `${PROJECT}:amd`, build_arm64: `${PROJECT}:arm`, manifest: `${PROJECT}:man` };
        cb.on(BatchGetProjectsCommand).resolves({
            projects: [{ name: PROJECT, buildBatchConfig: { serviceRole: "arn:aws:iam::123:role/b" } }],
        });
        cb.on(StartBuildBatchCommand).resolves({ buildBatch: { id: batchId } });
        const arn = (id: string) => `arn:aws:codebuild:${REGION}:123456789012:build/${id}`;
        cb.on(BatchGetBuildBatchesCommand).resolves({
            buildBatches: [
                {
                    id: batchId,
                    complete: true,
                    buildBatchStatus: "SUCCEEDED",
                    phases: [
                        { phaseType: "SUBMITTED", phaseStatus: "SUCCEEDED", endTime: at(0), durationInSeconds: 0 },
                        {
                            phaseType: "DOWNLOAD_BATCHSPEC",
                            phaseStatus: "SUCCEEDED",
                            endTime: at(3),
                            durationInSeconds: 3,
                        },
                        {
                            phaseType: "IN_PROGRESS",
                            phaseStatus: "SUCCEEDED",
                            endTime: at(300),
                            durationInSeconds: 297,
                        },
                        { phaseType: "SUCCEEDED" },
                    ],
                    buildGroups: Object.entries(ids).map(([identifier, id]) => ({
                        identifier,
                        currentBuildSummary: { arn: arn(id), buildStatus: "SUCCEEDED" },
                    })),
                },
            ],
        });
        const short: [string, string, number][] = [
            ["PRE_BUILD", "SUCCEEDED", 12],
            ["BUILD", "SUCCEEDED", 83],
        ];
        cb.on(BatchGetBuildsCommand).resolves({
            builds: Object.values(ids).map((id) =>
                build(id, { status: "SUCCEEDED", complete: true, phases: phases(short, ["COMPLETED"]) }),
            ),
        });
        mockStream(
            "amd",
            metricsLine({
                cacheFound: true,
                steps: 5,
                cached: 5,
                buildId: ids.build_amd64,
                image: `${REPO}:latest-amd64`,
            }),
        );
        mockStream(
            "arm",
            metricsLine({
                cacheFound: true,
                steps: 5,
                cached: 3,
                buildId: ids.build_arm64,
                image: `${REPO}:latest-arm64`,
            }),
        );
        const r = await run(["--stack", "dev"]);
        assert.deepEqual(lines(r.out), [
            `smoke: project ${PROJECT} in ${REGION} (from stack dev's outputs); a batch build (the project has a buildBatchConfig: two platforms built natively)`,
            `smoke: started batch ${batchId}`,
            "  [batch] SUBMITTED          SUCCEEDED      0s",
            "  [batch] DOWNLOAD_BATCHSPEC SUCCEEDED      3s",
            "  [batch] IN_PROGRESS        SUCCEEDED  4m 57s",
            "  [build_amd64] PRE_BUILD          SUCCEEDED     12s",
            "  [build_amd64] BUILD              SUCCEEDED  1m 23s",
            "  [build_arm64] PRE_BUILD          SUCCEEDED     12s",
            "  [build_arm64] BUILD              SUCCEEDED  1m 23s",
            "  [manifest] PRE_BUILD          SUCCEEDED     12s",
            "  [manifest] BUILD              SUCCEEDED  1m 23s",
            "[build_amd64] hits:   5 of 5 steps from the cache (hit ratio 1.000); cache found in ECR: yes; export: skipped",
            "[build_amd64] time:   100.0 s (pre_build 12.0 s, build 80.0 s, export 2.0 s)",
            "[build_amd64] pushed: 43.0 MB",
            "[build_amd64] warm: 5 of 5 steps came from the cache",
            "[build_arm64] hits:   3 of 5 steps from the cache (hit ratio 0.600); cache found in ECR: yes; export: written",
            "[build_arm64] time:   100.0 s (pre_build 12.0 s, build 80.0 s, export 2.0 s)",
            "[build_arm64] pushed: 43.0 MB",
            "[build_arm64] warm: 3 of 5 steps came from the cache",
            "smoke: OK after 0s; exit 0",
        ]);
        assert.equal(r.code, EXIT.ok);
        assert.equal(cb.commandCalls(StartBuildCommand).length, 0);
        // The jobs' builds are asked for by their IDs, taken from the groups' build ARNs.
        assert.deepEqual(cb.commandCalls(BatchGetBuildsCommand)[0].args[0].input, { ids: Object.values(ids) });
        assert.deepEqual(
            cwl.commandCalls(GetLogEventsCommand).map((c) => c.args[0].input.logStreamName),
            ["amd", "amd", "arm", "arm"],
        );
    });

    it("a batch that fails before any job (DOWNLOAD_BATCHSPEC): names the batch's phase; exit 3", async () => {
        const batchId = `${PROJECT}:batch-2`;
        cb.on(BatchGetProjectsCommand).resolves({
            projects: [{ name: PROJECT, buildBatchConfig: { serviceRole: "arn:aws:iam::123:role/b" } }],
        });
        cb.on(StartBuildBatchCommand).resolves({ buildBatch: { id: batchId } });
        cb.on(BatchGetBuildBatchesCommand).resolves({
            buildBatches: [
                {
                    id: batchId,
                    complete: true,
                    buildBatchStatus: "FAILED",
                    phases: [
                        { phaseType: "SUBMITTED", phaseStatus: "SUCCEEDED", endTime: at(0), durationInSeconds: 0 },
                        {
                            phaseType: "DOWNLOAD_BATCHSPEC",
                            phaseStatus: "FAILED",
                            endTime: at(2),
                            durationInSeconds: 2,
                            contexts: [{ statusCode: "YAML_FILE_ERROR", message: "batch: build-graph is invalid" }],
                        },
                        { phaseType: "FAILED" },
                    ],
                    buildGroups: [],
                },
            ],
        });
        const r = await run(["--stack", "dev"]);
        assert.deepEqual(lines(r.out).slice(2), [
            "  [batch] SUBMITTED          SUCCEEDED      0s",
            "  [batch] DOWNLOAD_BATCHSPEC FAILED         2s  YAML_FILE_ERROR: batch: build-graph is invalid",
            `smoke: batch ${batchId} FAILED in phase DOWNLOAD_BATCHSPEC (FAILED): YAML_FILE_ERROR: batch: build-graph is invalid`,
            "smoke: the build failed after 0s; exit 3",
        ]);
        assert.equal(r.code, EXIT.buildFailed);
        assert.equal(cb.commandCalls(BatchGetBuildsCommand).length, 0);
    });

    it("--timeout: stops following a build that doesn't end, says the build goes on; exit 1", async () => {
        mockSingleBuild(SUCCEEDED);
        cb.on(BatchGetBuildsCommand).resolves({
            builds: [
                build(BUILD_ID, {
                    status: "IN_PROGRESS",
                    complete: false,
                    phases: phases(ALL_OK.slice(0, 2), ["PROVISIONING"]),
                }),
            ],
        });
        const r = await run(["--stack", "dev", "--timeout", "1", "--poll", "10"]);
        // 10 s, then ×1.5 while nothing changes: 15, 22.5, then past the minute.
        assert.deepEqual(r.sleeps, [10000, 15000, 22500, 30000]);
        assert.equal(
            lines(r.out).at(-1),
            "smoke: gave up following after 1 min (--timeout); the build goes on in CodeBuild.",
        );
        assert.equal(r.code, EXIT.error);
    });

    it("no region anywhere: says how to give one; exit 2", async () => {
        cb.on(BatchGetProjectsCommand).rejects(new Error("Region is missing"));
        const r = await run(["--project", PROJECT]);
        assert.deepEqual(lines(r.out), [
            "smoke: no AWS region: pass --region, or set AWS_REGION or the profile's region.",
        ]);
        assert.equal(r.code, EXIT.usage);
    });

    it("on a TTY: a status line rewritten in place, erased before every whole line; the lines are the same as elsewhere", async () => {
        mockSingleBuild(SUCCEEDED);
        mockStream(BUILD_ID.split(":")[1], metricsLine({ cacheFound: true, steps: 5, cached: 4 }));
        const plain = await run(["--stack", "dev"]);
        cb.reset();
        cwl.reset();
        mockSingleBuild(SUCCEEDED);
        mockStream(BUILD_ID.split(":")[1], metricsLine({ cacheFound: true, steps: 5, cached: 4 }));
        const tty = await run(["--stack", "dev"], { isTTY: true });
        assert.ok(tty.out.includes("\r\x1b[2K… PROVISIONING 0s"), JSON.stringify(tty.out));
        // Erasing each status segment (from \r\x1b[2K up to the next \r\x1b[2K) gives the plain output back.
        assert.equal(tty.out.replace(/\r\x1b\[2K(… [^\r\n]*)?/g, ""), plain.out);
        assert.ok(tty.out.endsWith("\nsmoke: OK after 5s; exit 0\n"), "no status line left after the last line");
    });

    describe("usage errors (exit 2) and other AWS errors (exit 1)", () => {
        it("neither or both of --stack and --project, --image without --stack, a bad --poll: exit 2 with the usage", async () => {
            for (const [argv, message] of [
                [[], "Give exactly one of '--stack' and '--project' (got neither)."],
                [["--stack", "dev", "--project", "p"], "Give exactly one of '--stack' and '--project' (got both)."],
                [
                    ["--project", "p", "--image", "api"],
                    "'--image' picks an image of a stack's outputs: use it with '--stack'.",
                ],
                [["--stack", "dev", "--poll", "0"], `Invalid value for '--poll': "0". Allowed: a whole number >= 1.`],
                [
                    ["--stak", "dev"],
                    "Unknown flag '--stak'. Allowed: --stack, --project, --image, --region, --expect-warm, --poll, --timeout, --help.",
                ],
            ] as [string[], string][]) {
                const r = await run(argv);
                assert.equal(r.code, EXIT.usage, argv.join(" "));
                assert.equal(r.err.split("\n")[0], message);
                assert.match(r.err, /\n\nUsage: npm run smoke -- \[flags\]\n/);
                assert.equal(r.out, "");
            }
            assert.equal(cb.calls().length, 0);
        });

        it("a stack of several images without --image names them; --image picks one's project and region", async () => {
            const images = {
                api: { projectName: "p-api", repositoryUrl: "123456789012.dkr.ecr.us-east-2.amazonaws.com/api" },
                web: { projectName: "p-web", repositoryUrl: "123456789012.dkr.ecr.us-east-2.amazonaws.com/web" },
            };
            const r = await run(["--stack", "multi"], { readOutputs: () => Promise.resolve({ images }) });
            assert.equal(r.code, EXIT.usage);
            assert.equal(
                r.err.split("\n")[0],
                "Stack multi builds several images; pick one with --image NAME. Allowed: api, web.",
            );
            assert.deepEqual(targetFromOutputs("multi", { images }, "web"), {
                projectName: "p-web",
                region: "us-east-2",
                from: "stack multi's outputs, image web",
            });
            assert.throws(() => targetFromOutputs("multi", { images }, "db"), {
                message: `Invalid value for '--image': "db". Allowed: api, web.`,
            });
        });

        it("no Pulumi CLI on PATH: says so and points to --project (exit 2)", async () => {
            const read = pulumiOutputs(os.tmpdir(), path.join(os.tmpdir(), "no-such-dir", "pulumi"));
            const r = await run(["--stack", "dev"], { readOutputs: read });
            assert.equal(r.code, EXIT.usage);
            assert.equal(
                r.err.split("\n")[0],
                `The Pulumi CLI was not found on PATH; it reads stack "dev"'s outputs. Install it, or pass --project NAME (the stack output projectName).`,
            );
        });

        it("a project that doesn't exist: exit 2, nothing started", async () => {
            cb.on(BatchGetProjectsCommand).resolves({ projects: [], projectsNotFound: ["nope"] });
            const r = await run(["--project", "nope", "--region", REGION]);
            assert.deepEqual(lines(r.out), [`smoke: no CodeBuild project "nope" in ${REGION} (from --project).`]);
            assert.equal(r.code, EXIT.usage);
            assert.equal(cb.commandCalls(StartBuildCommand).length, 0);
        });

        it("AccessDenied on StartBuild: the error's name and message; exit 1", async () => {
            cb.on(BatchGetProjectsCommand).resolves({ projects: [{ name: PROJECT }] });
            cb.on(StartBuildCommand).rejects(
                new CodeBuildServiceException({
                    name: "AccessDeniedException",
                    $fault: "client",
                    $metadata: {},
                    message: "User is not authorized to perform: codebuild:StartBuild",
                }),
            );
            const r = await run(["--stack", "dev"]);
            assert.equal(
                lines(r.out).at(-1),
                "smoke: AccessDeniedException: User is not authorized to perform: codebuild:StartBuild",
            );
            assert.equal(r.code, EXIT.error);
        });
    });
});

describe("smoke's pure parts (tools/smoke/verdict.ts, target.ts)", () => {
    const event = (o: LineOptions) => JSON.parse(metricsLine(o)) as BuildEvent;

    it("judgeEvent: warm, cold, miss (found but unused), miss (expected), skipped, failed", () => {
        const kind = (e: BuildEvent, expectWarm = false) => judgeEvent(e, { expectWarm }).kind;
        assert.equal(kind(event({ cacheFound: true, steps: 5, cached: 1 })), "warm");
        assert.equal(kind(event({ cacheFound: true, steps: 0, cached: 0 })), "warm", "no steps: nothing to miss");
        assert.equal(kind(event({ cacheFound: false, steps: 5, cached: 0 })), "cold");
        assert.equal(kind(event({ cacheFound: false, steps: 5, cached: 0 }), true), "miss");
        assert.equal(kind(event({ cacheFound: true, steps: 5, cached: 0 })), "miss");
        assert.equal(kind({ ...event({ cacheFound: true, steps: 0, cached: 0 }), skipped: true }), "skipped");
        assert.equal(kind(event({ cacheFound: true, steps: 5, cached: 5, succeeded: false })), "failed");
    });

    it("a previous run implies a warm build only for the cache ref it wrote", () => {
        const wrote = event({ cacheFound: false, steps: 5, cached: 0, cacheRef: `${REPO}:other` });
        const now = event({ cacheFound: false, steps: 5, cached: 0 });
        assert.equal(judgeEvent(now, { expectWarm: false, previous: { at: "t", events: [wrote] } }).kind, "cold");
    });

    it("worst: a failure outranks a missing line, which outranks a miss", () => {
        assert.equal(worst([EXIT.ok, EXIT.cacheMiss, EXIT.noResult]), EXIT.noResult);
        assert.equal(worst([EXIT.cacheMiss, EXIT.buildFailed]), EXIT.buildFailed);
        assert.equal(worst([]), EXIT.ok);
    });

    it("buildIdOf and regionOfArn read AWS's ARN forms", () => {
        assert.equal(buildIdOf("arn:aws:codebuild:eu-west-1:123456789012:build/p:abc-1"), "p:abc-1");
        assert.equal(buildIdOf("p:abc-1"), "p:abc-1");
        assert.equal(regionOfArn("arn:aws:codebuild:eu-west-1:123456789012:project/p"), "eu-west-1");
        assert.equal(regionOfArn(undefined), undefined);
    });
});
