/**
 * The bench's "warm with skip on" measurement (skip unchanged builds, components/buildspec/key.sh): per strategy
 * that skips (`inline`, `registry`), a cold build and a rebuild with no change, both with `skipUnchanged` on, each on
 * a fresh local build host against the same registry, with the buildspec the component generates. The warm build
 * should run no docker build at all: its ratio to cold, and the layer MB and blob GETs it pulled, are the numbers.
 *
 *   npm run bench:skip                                          # the bench's default workload, both strategies
 *   npm run bench:skip -- --steps 4 --mb 1 --rounds 1           # small
 *
 * {@link runSkipExperiment} is what `npm run bench` can call per strategy to add these rows to its own table.
 * Writes `<out>/bench-skip.json` and `<out>/bench-skip.md`.
 */
import * as fs from "fs";
import * as path from "path";
import type { CacheStrategy } from "../components/args";
import { SKIP_STRATEGIES } from "../components/skip";
import type { LocalHost } from "../local/host";
import { startLocalHost } from "../local/host";
import { Command, mbFlag, roundsFlag, runCommand, stepsFlag, strategyFlag, text } from "../local/flags";
import { chooseRegistryMode, RegistryMode, runScenario } from "../local/scenario";
import { singleStage } from "./dockerfile";
import type { ExperimentConfig } from "./experiment";
import { variantName } from "./experiment";

export interface SkipRecord {
    readonly strategy: CacheStrategy;
    readonly variant: string;
    readonly run: "cold" | "warm, skip on";
    readonly succeeded: boolean;
    /** The build's JSON line said `skipped: true`. */
    readonly skipped: boolean;
    readonly buildSeconds: number;
    /** `docker buildx build` invocations the build ran (0 when skipped). */
    readonly dockerBuilds: number;
    /** Layer bytes pulled from the registry (blob GET bodies), in MB, and the number of blob GETs. */
    readonly pulledMB: number;
    readonly blobGets: number;
    readonly pushedMB: number;
}

/** Cold, then warm with no change, both with skipUnchanged on, for one strategy. */
export async function runSkipExperiment(
    host: LocalHost,
    strategy: CacheStrategy,
    cfg: Pick<ExperimentConfig, "steps" | "mbPerStep" | "hashRounds">,
    opts: { repo: string; registryMode?: RegistryMode; quiet?: boolean },
): Promise<SkipRecord[]> {
    const dockerfile = singleStage({ baseImage: host.base.ref, ...cfg });
    const mode = strategy === "registry" ? opts.registryMode : undefined;
    const variant = variantName(strategy, mode);
    const records: SkipRecord[] = [];
    for (const run of ["cold", "warm, skip on"] as const) {
        const r = await runScenario({
            host,
            strategy,
            repo: opts.repo,
            dockerfile,
            registryMode: mode,
            args: { skipUnchanged: true },
            label: `${variant} ${run}`,
            quiet: opts.quiet ?? true,
            printReport: false,
        });
        const line = r.lines.map((l) => l.text).find((t) => t.startsWith('{"layerCache":'));
        const record: SkipRecord = {
            strategy,
            variant,
            run,
            succeeded: r.succeeded,
            skipped: line !== undefined && (JSON.parse(line) as { skipped?: boolean }).skipped === true,
            buildSeconds: r.timings.buildMs / 1000,
            // Builds with Dockerfile steps: `imagetools create` on the daemon's builder can print a build header of its own.
            dockerBuilds: r.steps.builds.filter((b) => b.steps.length > 0).length,
            pulledMB: r.bytes.pulledMB,
            blobGets: r.bytes.blobGets,
            pushedMB: r.bytes.pushedMB,
        };
        records.push(record);
        if (!r.succeeded) {
            throw new Error(`${variant} ${run} failed:\n${r.output.split("\n").slice(-40).join("\n")}`);
        }
    }
    return records;
}

/** The table: per variant, cold and warm with skip on, the warm one as a share of cold. */
export function skipMarkdown(records: readonly SkipRecord[]): string {
    const rows = records.map((r) => {
        const cold = records.find((x) => x.variant === r.variant && x.run === "cold")!;
        return `| ${r.variant} | ${r.run} | ${r.buildSeconds.toFixed(1)} | ${((100 * r.buildSeconds) / cold.buildSeconds).toFixed(1)} % | ${r.skipped ? "yes" : "no"} | ${r.dockerBuilds} | ${r.pulledMB.toFixed(2)} | ${r.blobGets} | ${r.pushedMB.toFixed(2)} |`;
    });
    return [
        "| variant | run | build s | of cold | skipped | docker builds | layer MB pulled | blob GETs | MB pushed |",
        "|---|---|---:|---:|---|---:|---:|---:|---:|",
        ...rows,
    ].join("\n");
}

const flags = {
    strategy: strategyFlag,
    steps: stepsFlag({ min: 2, default: 24 }),
    mb: mbFlag({ min: 0, default: 12 }),
    rounds: roundsFlag({ min: 0, default: 80 }),
    out: text({ default: "results", help: "Folder for bench-skip.json and bench-skip.md.", placeholder: "DIR" }),
};

const command: Command<typeof flags> = {
    name: "npm run bench:skip --",
    summary:
        "Skip unchanged builds: a cold build, then a rebuild with no change, both with skipUnchanged on, for each\n" +
        "strategy that skips, on a fresh local Docker host per build. Writes bench-skip.json and bench-skip.md.",
    flags,
    examples: ["npm run bench:skip", "npm run bench:skip -- --steps 4 --mb 1 --rounds 1 --strategy registry"],
};

if (require.main === module) {
    runCommand(command, async (values) => {
        const cfg = { steps: values.steps, mbPerStep: values.mb, hashRounds: values.rounds };
        const host = await startLocalHost();
        const records: SkipRecord[] = [];
        try {
            const mode = values.strategy.includes("registry") ? await chooseRegistryMode(host) : undefined;
            for (const strategy of values.strategy.filter((s) => SKIP_STRATEGIES.includes(s))) {
                records.push(
                    ...(await runSkipExperiment(host, strategy, cfg, {
                        repo: `bench/skip-${strategy}-${Date.now().toString(36)}`,
                        registryMode: mode,
                    })),
                );
                console.log(skipMarkdown(records.filter((r) => r.strategy === strategy)));
            }
        } finally {
            await host.stop();
        }
        const out = path.resolve(values.out);
        fs.mkdirSync(out, { recursive: true });
        const md = `# Skip unchanged builds: warm with skip on\n\n${cfg.steps} steps of ${cfg.mbPerStep} MB, ${cfg.hashRounds} hash rounds; ${new Date().toISOString()}\n\n${skipMarkdown(records)}\n`;
        fs.writeFileSync(path.join(out, "bench-skip.json"), JSON.stringify({ config: cfg, records }, null, 2) + "\n");
        fs.writeFileSync(path.join(out, "bench-skip.md"), md);
        console.log(`\n${skipMarkdown(records)}\n\nwrote ${path.join(out, "bench-skip.json")} and bench-skip.md`);
    });
}
