/**
 * `npm run smoke -- --stack <name>`: after `pulumi up`, one real build on the stack's CodeBuild project, with the
 * user's AWS credentials (the SDK's default chain), followed phase by phase; then the build's hits, time and MB
 * pushed from its JSON line in CloudWatch Logs. Run it again for the warm build. Exit codes: tools/smoke/verdict.ts
 * (EXIT), and the README's deploy section.
 *
 *   npm run smoke -- --stack dev                   # project from `pulumi stack output --json --stack dev`
 *   npm run smoke -- --project docker-cache-dev --region eu-west-1   # no Pulumi CLI needed
 *   npm run smoke -- --stack dev --expect-warm     # a build that finds no cache is a miss (exit 4)
 */
import * as path from "path";
import { CodeBuildClient } from "@aws-sdk/client-codebuild";
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import {
    booleanFlag,
    Command,
    FlagError,
    FlagValues,
    optionalText,
    parseFlags,
    usage,
    wholeNumber,
} from "../../localBuild/flags";
import { Output, runSmoke } from "./smoke";
import { fileState, StateStore } from "./state";
import { pulumiOutputs, ReadOutputs, Target, targetFromOutputs } from "./target";
import { EXIT, ExitCode } from "./verdict";

/** The repository's root: the Pulumi project, where `pulumi stack output` runs and `.smoke/` lives. */
const ROOT = path.resolve(__dirname, "..", "..");

const flags = {
    stack: optionalText({
        placeholder: "NAME",
        help: "The Pulumi stack; its outputs name the project (needs the Pulumi CLI and its backend login).",
    }),
    project: optionalText({
        placeholder: "NAME",
        help: "The CodeBuild project, directly (the stack output projectName); no Pulumi CLI needed.",
    }),
    image: optionalText({
        placeholder: "NAME",
        help: "With --stack of a stack that builds several images: which image's project.",
    }),
    region: optionalText({
        placeholder: "REGION",
        help: "The AWS region.",
        defaultText: "the region of the stack's projectArn, else the SDK's (AWS_REGION, the profile's)",
    }),
    "expect-warm": booleanFlag(
        "A build that finds no layer cache in ECR is a miss (exit 4), not the first cold build. Implied when the previous smoke run wrote the cache.",
    ),
    poll: wholeNumber({ min: 1, default: 5, help: "Seconds between the first polls (slower while nothing changes)." }),
    timeout: wholeNumber({ min: 1, default: 120, help: "Minutes to follow the build before giving up (exit 1)." }),
};

export const SMOKE_COMMAND: Command<typeof flags> = {
    name: "npm run smoke --",
    summary:
        "Start one build on a deployed stack's CodeBuild project (a batch build when the project has two native platforms), " +
        "follow its phases, and print the cache hits, time and MB pushed from its JSON line in CloudWatch Logs. " +
        "Exit codes: 0 OK (warm, skipped as unchanged, or the first cold build), 1 other error, 2 usage, 3 build failed, " +
        "4 cache missed, 5 no AWS credentials, 6 the build's JSON line could not be read.",
    flags,
    examples: [
        "npm run smoke -- --stack dev",
        "npm run smoke -- --project docker-cache-dev --region us-east-1",
        "npm run smoke -- --stack multi --image api --expect-warm",
    ],
};

export type SmokeFlags = FlagValues<typeof flags>;

/** The project to build, from exactly one of --stack and --project. Throws a {@link FlagError} on bad use. */
export async function resolveTarget(f: SmokeFlags, readOutputs: ReadOutputs): Promise<Target> {
    if ((f.stack === undefined) === (f.project === undefined)) {
        throw new FlagError(
            `Give exactly one of '--stack' and '--project' (got ${f.stack === undefined ? "neither" : "both"}).`,
        );
    }
    if (f.image !== undefined && f.stack === undefined) {
        throw new FlagError("'--image' picks an image of a stack's outputs: use it with '--stack'.");
    }
    const t =
        f.stack !== undefined
            ? targetFromOutputs(f.stack, await readOutputs(f.stack), f.image)
            : { projectName: f.project as string, from: "--project" };
    return { ...t, region: f.region ?? t.region };
}

export interface MainDeps {
    readonly out: Output;
    readonly err: (text: string) => void;
    readonly readOutputs: ReadOutputs;
    readonly state: StateStore;
    readonly sleep: (ms: number) => Promise<void>;
    readonly now: () => number;
}

/** The command: parse, resolve the project, run. Returns the exit code. */
export async function main(argv: readonly string[], d: MainDeps): Promise<ExitCode> {
    let flags: SmokeFlags;
    let target: Target;
    try {
        const parsed = parseFlags(SMOKE_COMMAND, argv);
        if (parsed.help) {
            d.out.write(`${usage(SMOKE_COMMAND)}\n`);
            return EXIT.ok;
        }
        flags = parsed.values;
        target = await resolveTarget(flags, d.readOutputs);
    } catch (e) {
        if (e instanceof FlagError) {
            d.err(`${e.message}\n\n${usage(SMOKE_COMMAND)}\n`);
            return EXIT.usage;
        }
        d.err(`${e instanceof Error ? e.message : String(e)}\n`);
        return EXIT.error;
    }
    // The default credential chain; the region from the flag or the outputs, else the SDK's own resolution.
    const config = target.region === undefined ? {} : { region: target.region };
    return runSmoke(
        {
            projectName: target.projectName,
            region: target.region,
            from: target.from,
            expectWarm: flags["expect-warm"],
            pollSeconds: flags.poll,
            timeoutMinutes: flags.timeout,
        },
        {
            codebuild: new CodeBuildClient(config),
            logs: new CloudWatchLogsClient(config),
            out: d.out,
            state: d.state,
            sleep: d.sleep,
            now: d.now,
        },
    );
}

if (require.main === module) {
    main(process.argv.slice(2), {
        out: { write: (t) => process.stdout.write(t), isTTY: process.stdout.isTTY === true },
        err: (t) => process.stderr.write(t),
        readOutputs: pulumiOutputs(ROOT),
        state: fileState(path.join(ROOT, ".smoke")),
        sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
        now: () => Date.now(),
    }).then(
        (code) => (process.exitCode = code),
        (e: unknown) => {
            console.error(e);
            process.exitCode = EXIT.error;
        },
    );
}
