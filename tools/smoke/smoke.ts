/**
 * `npm run smoke`: one build on a deployed stack's CodeBuild project, followed phase by phase, then its JSON line
 * (components/buildspec/metrics.sh) read back from CloudWatch Logs and judged (tools/smoke/verdict.ts).
 *
 * - A project with a `buildBatchConfig` (two platforms built natively, components/codebuild.ts) is started with
 *   StartBuildBatch, anything else with StartBuild; BatchGetProjects tells which, so `--project` alone is enough.
 * - Progress: BatchGetBuilds / BatchGetBuildBatches, polled with backoff (slower while nothing changes, back to the
 *   start on a change); each phase is printed once, when it ends, with its duration. On a TTY a status line shows the
 *   running phase and is rewritten in place; elsewhere only whole lines are written.
 * - The line: GetLogEvents on the build's `logs.groupName` / `logs.streamName`, from the head. CloudWatch Logs
 *   returns the token it was given when the stream's end is reached (GetLogEvents API reference, nextForwardToken).
 *   Logs arrive a little after the build ends, so a missing stream or line is retried a few times before it counts.
 * - Throttling (ThrottlingException and the like) is retried here with backoff, on top of the SDK's own retries.
 *
 * The clients, the clock, the output and the state store are given, so tests run it against mocked clients.
 */
import {
    BatchGetBuildBatchesCommand,
    BatchGetBuildsCommand,
    BatchGetProjectsCommand,
    Build,
    BuildBatch,
    CodeBuildClient,
    StartBuildBatchCommand,
    StartBuildCommand,
} from "@aws-sdk/client-codebuild";
import { CloudWatchLogsClient, GetLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { buildEvents, BuildEvent } from "../../components/buildEvent";
import { jobOf, PLATFORMS } from "../../components/platforms";
import { FlagError } from "../../localBuild/flags";
import type { StateStore } from "./state";
import { duration, eventLines, EXIT, ExitCode, judgeEvent, worst } from "./verdict";

/** Where the display writes: stdout in the tool, a buffer in tests. */
export interface Output {
    write(text: string): void;
    readonly isTTY: boolean;
}

export interface SmokeOptions {
    readonly projectName: string;
    /** The region the clients use, for the output; undefined when the SDK chose it. */
    readonly region?: string;
    /** Where the project name came from (`stack dev's outputs`, `--project`). */
    readonly from: string;
    /** A build that finds no cache is a miss (exit 4), not the first cold build. */
    readonly expectWarm: boolean;
    /** First polling interval; it grows ×1.5 while nothing changes, up to {@link MAX_POLL_SECONDS}. */
    readonly pollSeconds: number;
    /** Give up following after this long (the build goes on). */
    readonly timeoutMinutes: number;
}

export interface SmokeDeps {
    readonly codebuild: CodeBuildClient;
    readonly logs: CloudWatchLogsClient;
    readonly out: Output;
    readonly state: StateStore;
    readonly sleep: (ms: number) => Promise<void>;
    readonly now: () => number;
}

export const MAX_POLL_SECONDS = 30;
/** Throttling: first wait, and how many retries in a row before giving up. */
export const THROTTLE_FIRST_SECONDS = 2;
export const THROTTLE_MAX_RETRIES = 6;
/** Reading the line: attempts, and the wait before each retry (logs reach CloudWatch a little after the build). */
export const LOG_ATTEMPTS = 4;
export const LOG_RETRY_SECONDS = 5;

/** Error names AWS uses for throttling (SDK v3 also marks modeled ones with `$retryable.throttling`). */
const THROTTLING = new Set([
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
]);
/** Errors that mean there are no usable credentials: none found by the default chain, or refused by AWS. */
const CREDENTIALS = new Set([
    "CredentialsProviderError",
    "ExpiredTokenException",
    "ExpiredToken",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
]);

interface AwsError {
    name?: string;
    message?: string;
    $retryable?: { throttling?: boolean };
}
const asAws = (e: unknown): AwsError => (e !== null && typeof e === "object" ? e : {});
export const isThrottling = (e: unknown) =>
    THROTTLING.has(asAws(e).name ?? "") || asAws(e).$retryable?.throttling === true;
export const isCredentialError = (e: unknown) => CREDENTIALS.has(asAws(e).name ?? "");

/** Ends the run with a code and a message (printed as `smoke: <message>`). */
class Stop extends Error {
    constructor(
        readonly code: ExitCode,
        message: string,
    ) {
        super(message);
    }
}

/** The platform jobs of a batch: the ones that print a JSON line (the manifest job, MANIFEST_JOB, only joins their images). */
const PLATFORM_JOBS: readonly string[] = PLATFORMS.map(jobOf);

/** A build ID from a build ARN (`arn:…:build/<project>:<uuid>`); an ID is returned as it is. */
export function buildIdOf(arnOrId: string): string {
    return /:build\/(.+)$/.exec(arnOrId)?.[1] ?? arnOrId;
}

/** The first phase (of a build or a batch) that ended other than SUCCEEDED, with CodeBuild's message. */
export function failedPhase(b: { phases?: PhaseLike[] }): string | undefined {
    const p = (b.phases ?? []).find((x) => x.phaseStatus !== undefined && x.phaseStatus !== "SUCCEEDED");
    if (p === undefined) return undefined;
    const context = (p.contexts ?? []).map((c) => [c.statusCode, c.message].filter(Boolean).join(": ")).join("; ");
    return `${p.phaseType} (${p.phaseStatus})${context ? `: ${context}` : ""}`;
}

/** Runs one smoke build; returns the exit code ({@link EXIT}). Never throws. */
export async function runSmoke(o: SmokeOptions, d: SmokeDeps): Promise<ExitCode> {
    const display = new Display(d.out);
    try {
        return await smoke(o, d, display);
    } catch (e) {
        display.clear();
        if (e instanceof Stop) {
            display.line(`smoke: ${e.message}`);
            return e.code;
        }
        if (e instanceof FlagError) {
            display.line(`smoke: ${e.message}`);
            return EXIT.usage;
        }
        const err = asAws(e);
        if (isCredentialError(e)) {
            display.line(
                `smoke: no usable AWS credentials (${err.name}: ${err.message}). The default credential chain is used: ` +
                    "AWS_PROFILE / AWS_ACCESS_KEY_ID, ~/.aws/config and SSO (aws sso login), or an instance role.",
            );
            return EXIT.noCredentials;
        }
        if (/^Region is missing/.test(err.message ?? "")) {
            display.line("smoke: no AWS region: pass --region, or set AWS_REGION or the profile's region.");
            return EXIT.usage;
        }
        display.line(`smoke: ${err.name ?? "Error"}: ${err.message ?? String(e)}`);
        return EXIT.error;
    }
}

async function smoke(o: SmokeOptions, d: SmokeDeps, display: Display): Promise<ExitCode> {
    const call = <T>(what: string, fn: () => Promise<T>) => withThrottleRetry(what, fn, d, display);
    const where = o.region === undefined ? "" : ` in ${o.region}`;

    const projects = await call("BatchGetProjects", () =>
        d.codebuild.send(new BatchGetProjectsCommand({ names: [o.projectName] })),
    );
    const project = projects.projects?.find((p) => p.name === o.projectName);
    if (project === undefined) {
        throw new Stop(EXIT.usage, `no CodeBuild project ${JSON.stringify(o.projectName)}${where} (from ${o.from}).`);
    }
    const batch = project.buildBatchConfig !== undefined;
    display.line(
        `smoke: project ${o.projectName}${where} (from ${o.from}); ${batch ? "a batch build (the project has a buildBatchConfig: two platforms built natively)" : "a single build"}`,
    );

    const previous = d.state.read(o.projectName);
    const started = d.now();
    const { builds, batchFailure } = batch
        ? await followBatch(o, d, display, call)
        : { builds: await followBuild(o, d, display, call), batchFailure: undefined };
    display.clear();

    // The result of the batch and of each build, then the lines of those that print one.
    const codes: ExitCode[] = [];
    if (batchFailure !== undefined) {
        display.line(`smoke: ${batchFailure}`);
        codes.push(EXIT.buildFailed);
    }
    for (const { label, build } of builds) {
        const p = label === "" ? "" : `[${label}] `;
        if (build.buildStatus !== "SUCCEEDED") {
            display.line(
                `${p}build ${build.id} ${build.buildStatus ?? "ended"}${failedPhase(build) ? ` in phase ${failedPhase(build)}` : ""}`,
            );
            codes.push(EXIT.buildFailed);
        }
    }
    const events: BuildEvent[] = [];
    for (const { label, build } of builds) {
        if (batch && !PLATFORM_JOBS.includes(label)) continue;
        const p = label === "" ? "" : `[${label}] `;
        // A failed build may have ended before its logs began: one look, no waiting for late logs.
        const read = await readLine(build, build.buildStatus === "SUCCEEDED" ? LOG_ATTEMPTS : 1, d, display, call);
        if (typeof read === "string") {
            display.line(`${p}${read}`);
            // A failed build's missing line is not news: the failure is.
            if (build.buildStatus === "SUCCEEDED") codes.push(EXIT.noResult);
            continue;
        }
        events.push(read);
        const before = previous?.events.find((e) => e.image === read.image);
        for (const l of eventLines(read, label, before)) display.line(l);
        if (build.buildStatus === "SUCCEEDED") {
            const v = judgeEvent(read, { expectWarm: o.expectWarm, previous });
            display.line(`${p}${v.reason}`);
            codes.push(v.code);
        }
    }

    const code = worst(codes);
    if (events.length > 0) d.state.write(o.projectName, { at: new Date(d.now()).toISOString(), events });
    display.line(`smoke: ${VERDICT[code]} after ${duration((d.now() - started) / 1000)}; exit ${code}`);
    return code;
}

const VERDICT: Record<ExitCode, string> = {
    [EXIT.ok]: "OK",
    [EXIT.error]: "error",
    [EXIT.usage]: "usage error",
    [EXIT.buildFailed]: "the build failed",
    [EXIT.cacheMiss]: "the build missed the cache",
    [EXIT.noCredentials]: "no credentials",
    [EXIT.noResult]: "the build's JSON line could not be read",
};

type Call = <T>(what: string, fn: () => Promise<T>) => Promise<T>;

/** A build and the job it is in a batch (`build_amd64`, …; empty for a single build). */
interface Followed {
    readonly label: string;
    build: Build;
    printed: number;
}

async function followBuild(o: SmokeOptions, d: SmokeDeps, display: Display, call: Call): Promise<Followed[]> {
    const res = await call("StartBuild", () => d.codebuild.send(new StartBuildCommand({ projectName: o.projectName })));
    const id = res.build?.id;
    if (id === undefined) throw new Error("StartBuild returned no build ID");
    display.line(`smoke: started build ${id}`);
    const followed: Followed = { label: "", build: res.build ?? {}, printed: 0 };
    await poll(o, d, display, async () => {
        const got = await call("BatchGetBuilds", () => d.codebuild.send(new BatchGetBuildsCommand({ ids: [id] })));
        const b = got.builds?.find((x) => x.id === id);
        if (b === undefined) throw new Error(`BatchGetBuilds did not return build ${id}`);
        followed.build = b;
        const changed = follow(followed, display);
        display.status(`${b.currentPhase ?? "…"} ${duration((d.now() - (b.startTime?.getTime() ?? d.now())) / 1000)}`);
        return { done: b.buildComplete === true, changed };
    });
    return [followed];
}

/** Follows a batch; its jobs' builds, and what went wrong with the batch itself (undefined when it succeeded). */
async function followBatch(
    o: SmokeOptions,
    d: SmokeDeps,
    display: Display,
    call: Call,
): Promise<{ builds: Followed[]; batchFailure?: string }> {
    const res = await call("StartBuildBatch", () =>
        d.codebuild.send(new StartBuildBatchCommand({ projectName: o.projectName })),
    );
    const id = res.buildBatch?.id;
    if (id === undefined) throw new Error("StartBuildBatch returned no batch ID");
    display.line(`smoke: started batch ${id}`);
    let batchPrinted = 0;
    const jobs = new Map<string, Followed>();
    let batch: BuildBatch = {};
    await poll(o, d, display, async () => {
        const got = await call("BatchGetBuildBatches", () =>
            d.codebuild.send(new BatchGetBuildBatchesCommand({ ids: [id] })),
        );
        const found = got.buildBatches?.find((x) => x.id === id);
        if (found === undefined) throw new Error(`BatchGetBuildBatches did not return batch ${id}`);
        batch = found;
        const printed = printPhases("batch", batch.phases ?? [], batchPrinted, display);
        let changed = printed !== batchPrinted;
        batchPrinted = printed;
        // Each group's current build (a retried job gets a new one). The build ARN's form is the build's.
        for (const g of batch.buildGroups ?? []) {
            const arn = g.currentBuildSummary?.arn;
            if (g.identifier === undefined || arn === undefined) continue;
            const buildId = buildIdOf(arn);
            const known = jobs.get(g.identifier);
            if (known === undefined || known.build.id !== buildId) {
                if (known !== undefined) display.line(`  [${g.identifier}] retried as build ${buildId}`);
                jobs.set(g.identifier, { label: g.identifier, build: { id: buildId }, printed: 0 });
                changed = true;
            }
        }
        const ids = [...jobs.values()].map((j) => j.build.id).filter((x): x is string => x !== undefined);
        if (ids.length > 0) {
            const got = await call("BatchGetBuilds", () => d.codebuild.send(new BatchGetBuildsCommand({ ids })));
            for (const j of jobs.values()) {
                const b = got.builds?.find((x) => x.id === j.build.id);
                if (b !== undefined) j.build = b;
                changed = follow(j, display) || changed;
            }
        }
        const running = [...jobs.values()].filter((j) => j.build.buildComplete !== true);
        display.status(
            running.length > 0
                ? running.map((j) => `${j.label} ${j.build.currentPhase ?? "…"}`).join(", ")
                : (batch.currentPhase ?? "…"),
        );
        const done = batch.complete === true && running.length === 0;
        return { done, changed };
    });
    const builds = [...jobs.values()].sort((a, b) => a.label.localeCompare(b.label));
    if (batch.buildBatchStatus === "SUCCEEDED") return { builds };
    const phase = failedPhase(batch);
    return {
        builds,
        batchFailure: `batch ${id} ${batch.buildBatchStatus ?? "ended"}${phase === undefined ? "" : ` in phase ${phase}`}`,
    };
}

/** Prints a followed build's phases that ended since the last call; whether any did. */
function follow(f: Followed, display: Display): boolean {
    const printed = printPhases(f.label, f.build.phases ?? [], f.printed, display);
    const changed = printed !== f.printed;
    f.printed = printed;
    return changed;
}

/** What a build's and a batch's phases share. */
interface PhaseLike {
    readonly phaseType?: string;
    readonly phaseStatus?: string;
    readonly endTime?: Date;
    readonly durationInSeconds?: number;
    readonly contexts?: { statusCode?: string; message?: string }[];
}

/** Prints the phases from index `from` that have ended (each once); returns the index of the first not printed. */
function printPhases(label: string, phases: readonly PhaseLike[], from: number, display: Display): number {
    let i = from;
    // A phase has ended when it has an end time (the last one, COMPLETED, never gets one, nor a status).
    while (i < phases.length && phases[i].endTime !== undefined) {
        const p = phases[i];
        const context = (p.contexts ?? [])
            .filter((c) => c.message)
            .map((c) => `${c.statusCode ? `${c.statusCode}: ` : ""}${c.message}`)
            .join("; ");
        const prefix = label === "" ? "  " : `  [${label}] `;
        display.line(
            `${prefix}${(p.phaseType ?? "?").padEnd(18)} ${(p.phaseStatus ?? "").padEnd(9)} ${duration(p.durationInSeconds ?? 0).padStart(7)}${p.phaseStatus !== "SUCCEEDED" && context ? `  ${context}` : ""}`,
        );
        i++;
    }
    return i;
}

/** Calls `tick` until it says done; the wait grows ×1.5 while nothing changes, and starts over on a change. */
async function poll(
    o: SmokeOptions,
    d: SmokeDeps,
    display: Display,
    tick: () => Promise<{ done: boolean; changed: boolean }>,
): Promise<void> {
    const deadline = d.now() + o.timeoutMinutes * 60_000;
    let wait = o.pollSeconds;
    for (;;) {
        const { done, changed } = await tick();
        if (done) return;
        if (d.now() >= deadline) {
            throw new Stop(
                EXIT.error,
                `gave up following after ${o.timeoutMinutes} min (--timeout); the build goes on in CodeBuild.`,
            );
        }
        wait = changed ? o.pollSeconds : Math.min(wait * 1.5, MAX_POLL_SECONDS);
        await d.sleep(wait * 1000);
        display.tick();
    }
}

/** Calls `fn`, retrying throttling errors with a doubling wait; says each retry on its own line. */
async function withThrottleRetry<T>(what: string, fn: () => Promise<T>, d: SmokeDeps, display: Display): Promise<T> {
    let wait = THROTTLE_FIRST_SECONDS;
    for (let retry = 0; ; retry++) {
        try {
            return await fn();
        } catch (e) {
            if (!isThrottling(e) || retry >= THROTTLE_MAX_RETRIES) throw e;
            display.line(`smoke: ${what} was throttled (${asAws(e).name}); retry ${retry + 1} in ${wait}s`);
            await d.sleep(wait * 1000);
            wait = Math.min(wait * 2, MAX_POLL_SECONDS);
        }
    }
}

/** The build's JSON line, or a sentence saying why there is none. */
async function readLine(
    build: Build,
    attempts: number,
    d: SmokeDeps,
    display: Display,
    call: Call,
): Promise<BuildEvent | string> {
    const group = build.logs?.groupName;
    const stream = build.logs?.streamName;
    if (build.logs?.cloudWatchLogs?.status === "DISABLED" || group === undefined || stream === undefined) {
        return `build ${build.id} has no CloudWatch Logs (the project's logsConfig is off), so its JSON line can't be read.`;
    }
    let last = "";
    for (let attempt = 1; attempt <= attempts; attempt++) {
        try {
            const text = await readStream(group, stream, d, call);
            const events = buildEvents(text);
            if (events.length > 0) return events[events.length - 1];
            last = `no JSON line ({"layerCache":…}) in log stream ${stream} of log group ${group}`;
        } catch (e) {
            if (asAws(e).name !== "ResourceNotFoundException") throw e;
            last = `the log stream ${stream} of log group ${group} does not exist (ResourceNotFoundException: ${asAws(e).message})`;
        }
        if (attempt < attempts) {
            display.line(`smoke: ${last}; logs can arrive late, retry ${attempt} in ${LOG_RETRY_SECONDS * attempt}s`);
            await d.sleep(LOG_RETRY_SECONDS * attempt * 1000);
        }
    }
    return attempts > 1
        ? `${last}, after ${attempts} attempts. The build's result is known, its cache numbers are not: check the log group's retention and the role's logs:PutLogEvents.`
        : `${last}.`;
}

/** A log stream's messages from the head, joined by newlines. */
async function readStream(group: string, stream: string, d: SmokeDeps, call: Call): Promise<string> {
    const messages: string[] = [];
    let token: string | undefined;
    // A bound on pages, so a stream that keeps growing can't hold the tool.
    for (let page = 0; page < 1000; page++) {
        const res = await call("GetLogEvents", () =>
            d.logs.send(
                new GetLogEventsCommand({
                    logGroupName: group,
                    logStreamName: stream,
                    startFromHead: true,
                    nextToken: token,
                }),
            ),
        );
        for (const e of res.events ?? []) messages.push((e.message ?? "").replace(/\n$/, ""));
        if (res.nextForwardToken === undefined || res.nextForwardToken === token) break;
        token = res.nextForwardToken;
    }
    return messages.join("\n");
}

/**
 * The display: whole lines always; on a TTY also one status line, rewritten in place (`\r` + erase line), that is
 * erased before any whole line is written, so a log file never gets a half line or an escape sequence.
 */
class Display {
    private statusText = "";
    private shown = false;
    private dots = 0;
    constructor(private readonly out: Output) {}
    line(text: string): void {
        this.erase();
        this.out.write(`${text}\n`);
        this.render();
    }
    status(text: string): void {
        this.statusText = text;
        this.render();
    }
    tick(): void {
        this.dots = (this.dots + 1) % 4;
        this.render();
    }
    /** Erases the status line for good (until the next {@link status}). */
    clear(): void {
        this.erase();
        this.statusText = "";
    }
    private erase(): void {
        if (this.shown) this.out.write("\r\x1b[2K");
        this.shown = false;
    }
    private render(): void {
        if (!this.out.isTTY || this.statusText === "") return;
        this.out.write(`\r\x1b[2K… ${this.statusText}${".".repeat(this.dots)}`);
        this.shown = true;
    }
}
