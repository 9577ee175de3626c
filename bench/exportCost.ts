/**
 * What the `registry` strategy's cache export costs when nothing changed: the measurement behind the
 * buildspec's "export skipped when every step was a hit". For each builder and step count: a cold build
 * (which exports), a warm build as the buildspec runs it (every step a hit: the export is skipped), then a
 * warm build on a fresh host whose export is forced, by one command added before the export (`CACHE_FOUND=0`,
 * so the skip condition is false). Reports the build times, the export command's time and BuildKit's own
 * "preparing build cache for export" vertex, for the cold and the forced warm export.
 *
 *   npx tsx bench/exportCost.ts                       # 24 and 48 steps of 2 MB, both builders
 *   npx tsx bench/exportCost.ts --steps 24,48 --mb 2 --modes docker-container
 */
import { singleStage } from "../localBuild/dockerfile";
import { componentBuildspec } from "../standIn/componentBuildspec";
import { LocalBuildResult, LocalHost, startLocalHost } from "../standIn/host";
import { localArgs, REGISTRY_MODES, RegistryMode, runSpecOnDockerfile } from "../standIn/scenario";
import { Command, invalidValue, mbFlag, runCommand, text } from "../localBuild/flags";
import type { Buildspec } from "../standIn/runner";

const flags = {
    steps: text({ default: "24,48", help: "Step counts to measure, comma-separated.", placeholder: "N,N" }),
    mb: mbFlag({ min: 0, default: 2 }),
    modes: text({
        default: REGISTRY_MODES.join(","),
        help: `Builders to measure, comma-separated: ${REGISTRY_MODES.join(", ")}.`,
        placeholder: "LIST",
    }),
};

const command: Command<typeof flags> = {
    name: "npx tsx bench/exportCost.ts",
    summary: "What the registry strategy's cache export costs when nothing changed, per builder and step count.",
    flags,
    examples: [
        "npx tsx bench/exportCost.ts",
        "npx tsx bench/exportCost.ts --steps 24,48 --mb 2 --modes docker-container",
    ],
};

/** A comma-separated list given to `flag`, each item read by `parse` (undefined: not allowed). */
function list<T extends string | number>(
    flag: string,
    raw: string,
    parse: (v: string) => T | undefined,
    allowed: string,
): T[] {
    return raw.split(",").map((v) => {
        const parsed = parse(v);
        if (parsed === undefined) throw invalidValue(flag, raw, allowed, `${JSON.stringify(v)} is not one`);
        return parsed;
    });
}

/** Seconds of BuildKit's "preparing build cache for export" vertex in the export (the last docker build). */
function preparingSeconds(output: string): number | undefined {
    const builds = output.split(/^\[build\] #0 building with /m);
    const last = builds[builds.length - 1];
    const id = /^\[build\] #(\d+) preparing build cache for export/m.exec(last)?.[1];
    if (!id) return undefined;
    const done = [...last.matchAll(new RegExp(`^\\[build\\] #${id} DONE (\\d+(?:\\.\\d+)?)s`, "gm"))];
    return done.length ? Number(done[done.length - 1][1]) : undefined;
}

async function once(
    host: LocalHost,
    mode: RegistryMode,
    spec: Buildspec,
    dockerfile: string,
    label: string,
): Promise<LocalBuildResult> {
    const r = await runSpecOnDockerfile(host, spec, dockerfile, {
        containerdStore: mode === "containerd-store",
        label,
        quiet: true,
        printReport: false,
    });
    if (!r.succeeded) throw new Error(`${label} failed:\n${r.output.split("\n").slice(-40).join("\n")}`);
    return r;
}

/** Seconds of the build phase's last command: the export. */
const exportSeconds = (r: LocalBuildResult) =>
    (r.phases.find((p) => p.name === "build")?.commands.at(-1)?.durationMs ?? NaN) / 1000;

runCommand(command, async (values) => {
    const stepCounts = list(
        "steps",
        values.steps,
        (v) => (/^\d+$/.test(v) && Number(v) >= 2 ? Number(v) : undefined),
        "whole numbers >= 2, comma-separated",
    );
    const mbPerStep = values.mb;
    const modes = list(
        "modes",
        values.modes,
        (v) => REGISTRY_MODES.find((m) => m === v),
        `${REGISTRY_MODES.join(", ")}, comma-separated`,
    );
    const host = await startLocalHost();
    const rows: string[] = [];
    try {
        for (const mode of modes) {
            for (const steps of stepCounts) {
                const repo = `export-cost/${mode}-${steps}-${Date.now().toString(36)}`;
                const spec = await componentBuildspec(localArgs("registry", mode), `${host.registry.address}/${repo}`);
                const dockerfile = singleStage({ baseImage: host.base.ref, steps, mbPerStep, hashRounds: 1 });
                const cold = await once(host, mode, spec, dockerfile, `${mode} ${steps} cold`);
                const skipped = await once(host, mode, spec, dockerfile, `${mode} ${steps} warm, export skipped`);
                const forced = structuredClone(spec);
                const cmds = forced.phases!.build!.commands!;
                cmds.splice(cmds.length - 1, 0, "CACHE_FOUND=0");
                const warm = await once(host, mode, forced, dockerfile, `${mode} ${steps} warm, export forced`);
                const b = warm.steps.builds[0];
                const row = [
                    mode,
                    String(steps),
                    `${b.cached}/${b.cached + b.rebuilt}`,
                    (cold.timings.buildMs / 1000).toFixed(1),
                    exportSeconds(cold).toFixed(1),
                    String(preparingSeconds(cold.output) ?? "-"),
                    (skipped.timings.buildMs / 1000).toFixed(1),
                    (warm.timings.buildMs / 1000).toFixed(1),
                    exportSeconds(warm).toFixed(1),
                    String(preparingSeconds(warm.output) ?? "-"),
                ];
                rows.push(`| ${row.join(" | ")} |`);
                console.log(rows[rows.length - 1]);
            }
        }
    } finally {
        await host.stop();
    }
    console.log(
        [
            `\n${mbPerStep} MB per step; seconds.`,
            "| builder | steps | warm hits | cold build | cold export | cold preparing | warm build, export skipped | warm build, export forced | forced export | its preparing |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            ...rows,
        ].join("\n"),
    );
});
