// A failed build's summary (localBuild/userBuild.ts failureSummary): the phase, the command's first line, its exit status,
// its last error lines and the log file, instead of the buildspec's bash. The build result is made up here in the
// shape standIn/runner.ts returns (a real failing build: tests/e2e/userContext.test.ts). No Docker.
import { strict as assert } from "assert";
import type { OutputLine, PhaseResult } from "../../standIn/runner";
import { failureSummary } from "../../localBuild/userBuild";

const BASH = [
    'if [ "${CODEBUILD_BUILD_SUCCEEDING:-1}" = 1 ]; then',
    ...Array.from({ length: 40 }, (_, i) => `  step_${i} --with "many" args`),
    "fi",
].join("\n");
const line = (phase: OutputLine["phase"], stream: OutputLine["stream"], text: string): OutputLine => ({
    phase,
    stream,
    text,
    t: 0,
});

describe("the summary of a failed build", () => {
    const phases: PhaseResult[] = [
        { name: "install", status: "ABSENT", durationMs: 0, commands: [] },
        {
            name: "pre_build",
            status: "SUCCEEDED",
            durationMs: 1,
            commands: [
                {
                    phase: "pre_build",
                    block: "commands",
                    command: "docker login",
                    exitCode: 0,
                    durationMs: 1,
                    shellExited: false,
                },
            ],
        },
        {
            name: "build",
            status: "FAILED",
            durationMs: 9,
            reason: "command failed",
            commands: [
                {
                    phase: "build",
                    block: "commands",
                    command: "echo ok",
                    exitCode: 0,
                    durationMs: 1,
                    shellExited: false,
                },
                { phase: "build", block: "commands", command: BASH, exitCode: 1, durationMs: 8, shellExited: false },
            ],
        },
    ];
    const lines: OutputLine[] = [
        line("pre_build", "runner", "Running command docker login"),
        line("pre_build", "stderr", "WARNING! Your password will be stored unencrypted"),
        line("build", "runner", "Running command echo ok"),
        line("build", "stdout", "ok"),
        line("build", "runner", `Running command ${BASH}`),
        line("build", "stderr", "#7 [builder 4/7] RUN exit 3"),
        line("build", "stderr", '#7 ERROR: process "/bin/sh -c exit 3" did not complete successfully: exit code: 3'),
        line("build", "stderr", "------"),
        line("build", "stderr", ""),
        line(
            "build",
            "stderr",
            'ERROR: failed to build: failed to solve: process "/bin/sh -c exit 3" did not complete successfully: exit code: 3',
        ),
        line("build", "runner", `Command did not exit successfully ${BASH} (exit status 1)`),
        line("build", "stderr", "an error in a later finally block is not this command's"),
    ];
    it("names the phase, the command's first line, its status, its error lines and the log file; no bash dump", () => {
        assert.equal(
            failureSummary("cold", { phases, lines }, "/tmp/l/registry-run1-cold.log"),
            [
                'the cold build failed in build, at the command `if [ "${CODEBUILD_BUILD_SUCCEEDING:-1}" = 1 ]; then` (exit status 1)',
                "its last error lines:",
                '  #7 ERROR: process "/bin/sh -c exit 3" did not complete successfully: exit code: 3',
                '  ERROR: failed to build: failed to solve: process "/bin/sh -c exit 3" did not complete successfully: exit code: 3',
                "the whole log: /tmp/l/registry-run1-cold.log",
            ].join("\n"),
        );
    });
    it("without error-looking lines, the command's last lines (at most 5)", () => {
        const quiet = [
            line("build", "runner", `Running command ${BASH}`),
            ...Array.from({ length: 8 }, (_, i) => line("build", "stdout", `line ${i}`)),
            line("build", "runner", "Command did not exit successfully"),
        ];
        const s = failureSummary("warm", { phases, lines: quiet }, "/x.log").split("\n");
        assert.deepEqual(s.slice(1, 7), [
            "its last error lines:",
            "  line 3",
            "  line 4",
            "  line 5",
            "  line 6",
            "  line 7",
        ]);
    });
});
