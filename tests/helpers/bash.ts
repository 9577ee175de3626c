/**
 * The one bash runner of the tests: runs buildspec commands in a real bash, the way CodeBuild's one shell does,
 * with `docker` and `aws` replaced by shell functions that record each call's argv.
 *
 * What is mocked: only `docker` and `aws` (and `tee`, if asked), as shell functions defined before the script.
 * Each call writes its argv, NUL-separated, to a file of its own named by `$EPOCHREALTIME` (calls in one
 * pipeline run concurrently), then runs the stub body given for that program (default: nothing, status 0).
 * Everything else (grep, sort, comm, mktemp, …) is the real program. The environment holds only a system
 * PATH, `CALLS_DIR` and what the caller passes: no CodeBuild variable leaks in from this machine.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export interface BashStubs {
    /** Bash run by the `docker` stub after recording its argv (`$@` is the argv); its status is the call's. */
    readonly docker?: string;
    /** Same, for `aws`. */
    readonly aws?: string;
    /** Replace `tee` with a function that drops its input (no build log is written). */
    readonly dropTee?: boolean;
}

export interface BashRun {
    readonly status: number;
    readonly stdout: string;
    readonly stderr: string;
    /** Each docker/aws call's argv, program first, in the order the calls started. */
    readonly calls: string[][];
}

export interface BashOptions {
    readonly env?: Readonly<Record<string, string>>;
    readonly stubs?: BashStubs;
    /** Passed to bash on stdin (default: none). */
    readonly input?: string;
}

const SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin";

function stubFunctions(stubs: BashStubs): string {
    return [
        `__record() { printf '%s\\0' "$@" > "$CALLS_DIR/$EPOCHREALTIME.$BASHPID.$RANDOM"; }`,
        `docker() { __record docker "$@"; ${stubs.docker ?? ":"}\n}`,
        `aws() { __record aws "$@"; ${stubs.aws ?? ":"}\n}`,
        ...(stubs.dropTee ? [`tee() { cat > /dev/null; }`] : []),
    ].join("\n");
}

/** Runs `script` in a fresh `bash --noprofile --norc` after the stubs. Never throws for a failing script. */
export function runBash(script: string, opts: BashOptions = {}): BashRun {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bash-calls-"));
    try {
        const r = spawnSync("bash", ["--noprofile", "--norc", "-c", `${stubFunctions(opts.stubs ?? {})}\n${script}`], {
            env: { PATH: SYSTEM_PATH, ...opts.env, CALLS_DIR: dir },
            input: opts.input ?? "",
            encoding: "utf8",
            timeout: 20_000,
        });
        if (r.error) {
            throw r.error;
        }
        const files = fs.readdirSync(dir).sort((a, b) => {
            const [sa, ua] = a.split(".").map(Number);
            const [sb, ub] = b.split(".").map(Number);
            return sa - sb || ua - ub;
        });
        const calls = files.map((f) => fs.readFileSync(path.join(dir, f), "utf8").split("\0").slice(0, -1));
        return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, calls };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

export const PHASES = ["pre_build", "build", "post_build"] as const;
export type Phase = (typeof PHASES)[number];

export interface PhasesRun extends BashRun {
    /** The first command that failed, by phase and index in its phase; undefined if none did. */
    readonly failed?: { readonly phase: Phase; readonly index: number };
    /** The phases whose commands all ran and succeeded. */
    readonly succeeded: Phase[];
}

/**
 * Runs a buildspec's phases in one bash with CodeBuild's phase semantics (buildspec reference, "Build phase
 * transitions"), given each phase's commands (a buildspec's `phases` will do): each command is sourced from a file of its own; a failing command ends its phase; a failure
 * in pre_build skips build and post_build; a failure in build still runs post_build, with
 * `CODEBUILD_BUILD_SUCCEEDING=0` (1 otherwise). A command that makes the shell exit (a declared input missing,
 * `${NAME:?…}`) ends the run there. This is the local stand-in's semantics (standIn/runner.ts) without its
 * daemon, output attribution or shell restarts.
 */
export function runPhases(
    phases: Partial<Record<Phase, readonly string[] | { readonly commands: readonly string[] }>>,
    opts: BashOptions = {},
): PhasesRun {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bash-phases-"));
    try {
        const lines = ["CODEBUILD_BUILD_SUCCEEDING=1", "__ok=1"];
        for (const phase of PHASES) {
            if (phase === "post_build") {
                lines.push(`if [ "$__ok" = 0 ]; then CODEBUILD_BUILD_SUCCEEDING=0; fi`, "__ok=1");
            }
            const p = phases[phase] ?? [];
            ("commands" in p ? p.commands : p).forEach((c, i) => {
                const file = path.join(dir, `${phase}.${i}.sh`);
                fs.writeFileSync(file, `${c}\n`);
                lines.push(
                    `if [ "$__ok" = 1 ]; then . '${file}'; __rc=$?; ` +
                        `if [ "$__rc" != 0 ]; then __ok=0; echo "__failed ${phase} ${i} $__rc" >&2; fi; fi`,
                );
            });
            lines.push(`if [ "$__ok" = 1 ]; then echo "__succeeded ${phase}" >&2; fi`);
            if (phase === "pre_build") {
                lines.push(`if [ "$__ok" = 0 ]; then exit 90; fi`);
            }
        }
        const r = runBash(lines.join("\n"), opts);
        const failedBy = /__failed (\w+) (\d+) \d+\n/.exec(r.stderr);
        // The shell itself exited in a command: bash names the file it was sourcing.
        const exitedIn = /\/(\w+)\.(\d+)\.sh: line \d+:/.exec(r.stderr);
        const m = failedBy ?? (r.status !== 0 ? exitedIn : null);
        const succeeded = PHASES.filter((p) => r.stderr.includes(`__succeeded ${p}\n`));
        return {
            ...r,
            stderr: r.stderr.replace(/^__(failed|succeeded) .*\n/gm, ""),
            failed: m ? { phase: m[1] as Phase, index: Number(m[2]) } : undefined,
            succeeded,
        };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
