/**
 * The two-platform row of the benchmark (issue 10): the component's two-platform buildspec, run both ways in one run
 * on fresh local hosts against the local registry.
 *
 * - native: the batch (standIn/batch.ts): `build_amd64`, `build_arm64`, then `manifest`; cold, warm (no change) and a
 *   change halfway, each platform with its own cache. Here the arm64 job runs under QEMU (no arm64 CPU on this
 *   machine); on CodeBuild it runs natively on ARM_CONTAINER, side by side with amd64.
 * - emulated: one build of both platforms (`platformMode: emulated`) on one host, the same three builds.
 *
 * The same Dockerfile for every build: FROM scratch, the platform's own static busybox, then `--steps` steps of
 * `--mb` MB of random data hashed `--rounds` times each (localBuild/dockerfile.ts's step); the change is in the middle
 * step. Writes results/platforms.json and results/platforms.md.
 *
 *   npm run bench:platforms -- --steps 4 --mb 2 --rounds 10
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import type { CachedDockerBuildArgs } from "../components/args";
import { runBatch } from "../standIn/batch";
import { builderImageOf } from "../standIn/buildkitImage";
import { componentBuildspecYaml } from "../standIn/componentBuildspec";
import { arm64Busybox, ensureArm64Emulation } from "../standIn/emulation";
import { LocalHost, LocalBuildResult, runLocalBuild, startLocalHost } from "../standIn/host";
import type { Buildspec } from "../standIn/runner";
import { localArgs } from "../standIn/scenario";
import { stepCommand } from "../localBuild/dockerfile";
import { Command, mbFlag, roundsFlag, runCommand, stepsFlag } from "../localBuild/flags";

const ROUNDS = ["cold", "warm", "change"] as const;
type Round = (typeof ROUNDS)[number];

export interface PlatformCell {
    seconds: number;
    cached: number;
    steps: number;
    succeeded: boolean;
}

export interface PlatformsResults {
    date: string;
    config: { steps: number; mb: number; rounds: number; changeAt: number };
    native: Record<Round, { amd64: PlatformCell; arm64: PlatformCell; manifest: PlatformCell }>;
    emulated: Record<Round, PlatformCell>;
}

/** The Dockerfile: the platform's busybox, then the steps; `marker` changes the middle step. */
export function platformsDockerfile(steps: number, mb: number, rounds: number, marker: string): string {
    const changeAt = Math.ceil(steps / 2);
    const lines = [
        "FROM scratch",
        "ARG TARGETARCH",
        "COPY busybox-${TARGETARCH} /bin/busybox",
        'RUN ["/bin/busybox", "sh", "-c", "/bin/busybox --install -s /bin && mkdir -p /data"]',
    ];
    for (let s = 1; s <= steps; s++) {
        lines.push(`RUN ${stepCommand(s, mb, rounds)}${s === changeAt ? ` && echo ${marker} > /data/change.txt` : ""}`);
    }
    return lines.join("\n") + "\n";
}

function cell(r: LocalBuildResult | undefined): PlatformCell {
    if (!r) return { seconds: NaN, cached: 0, steps: 0, succeeded: false };
    const m = /layer cache: (\d+) of (\d+) steps cached/.exec(r.output);
    return {
        seconds: r.timings.buildMs / 1000,
        cached: m ? Number(m[1]) : 0,
        steps: m ? Number(m[2]) : 0,
        succeeded: r.succeeded,
    };
}

async function spec(host: LocalHost, repo: string, extra: CachedDockerBuildArgs): Promise<Buildspec> {
    const args = { ...localArgs("registry", "docker-container"), platforms: ["linux/amd64", "linux/arm64"], ...extra };
    return YAML.parse(
        await componentBuildspecYaml(args as CachedDockerBuildArgs, `${host.registry.address}/${repo}`),
    ) as Buildspec;
}

export async function runPlatformsBench(o: { steps: number; mb: number; rounds: number }): Promise<PlatformsResults> {
    const emulation = ensureArm64Emulation();
    if (!emulation.available) throw new Error(`arm64 can't be emulated here: ${emulation.detail}`);
    const host = await startLocalHost();
    const src = fs.mkdtempSync(path.join(os.tmpdir(), "cbplat-bench-"));
    try {
        fs.mkdirSync(path.join(src, "app"));
        fs.copyFileSync("/bin/busybox", path.join(src, "app", "busybox-amd64"));
        fs.copyFileSync(arm64Busybox(), path.join(src, "app", "busybox-arm64"));
        const id = Date.now().toString(36);
        const nativeSpec = await spec(host, `bench/platforms-native-${id}`, { platformMode: "native" });
        const emulatedSpec = await spec(host, `bench/platforms-emulated-${id}`, { platformMode: "emulated" });
        const native = {} as PlatformsResults["native"];
        const emulated = {} as PlatformsResults["emulated"];
        for (const round of ROUNDS) {
            const marker = round === "change" ? "changed" : "original";
            fs.writeFileSync(path.join(src, "app", "Dockerfile"), platformsDockerfile(o.steps, o.mb, o.rounds, marker));
            process.stdout.write(`[platforms] native ${round}: batch of build_amd64, build_arm64, manifest ... `);
            const b = await runBatch(nativeSpec, {
                sourceDir: src,
                registry: host.registry,
                dockerEnv: host.dockerEnv,
                quiet: true,
                printReport: false,
            });
            const job = (n: string) => cell(b.jobs.find((j) => j.identifier === n)?.result);
            native[round] = { amd64: job("build_amd64"), arm64: job("build_arm64"), manifest: job("manifest") };
            console.log(b.succeeded ? "ok" : `FAILED\n${b.summary}`);
            process.stdout.write(`[platforms] emulated ${round}: one build of both platforms ... `);
            const e = await runLocalBuild({
                buildspec: emulatedSpec,
                sourceDir: src,
                registry: host.registry,
                dockerEnv: host.dockerEnv,
                quiet: true,
                printReport: false,
                builderImage: builderImageOf(emulatedSpec),
            });
            emulated[round] = cell(e);
            console.log(e.succeeded ? "ok" : "FAILED");
        }
        return {
            date: new Date().toISOString(),
            config: { ...o, changeAt: Math.ceil(o.steps / 2) },
            native,
            emulated,
        };
    } finally {
        fs.rmSync(src, { recursive: true, force: true });
        await host.stop();
    }
}

/** The row as a markdown table: seconds (steps cached of all) per build. */
export function platformsMarkdown(r: PlatformsResults): string {
    const c = (x: PlatformCell) =>
        x.succeeded ? `${x.seconds.toFixed(1)} s (${x.cached}/${x.steps} cached)` : "failed";
    const m = (x: PlatformCell) => (x.succeeded ? `${x.seconds.toFixed(1)} s` : "failed");
    const rows = ROUNDS.map((round) => {
        const n = r.native[round];
        return `| ${round} | ${c(n.amd64)} | ${c(n.arm64)} | ${m(n.manifest)} | ${c(r.emulated[round])} |`;
    });
    return [
        `# Two platforms: native batch against one emulated build (${r.date.slice(0, 10)})`,
        "",
        `${r.config.steps} steps of ${r.config.mb} MB hashed ${r.config.rounds} times each, the change at step ${r.config.changeAt}; each build on a fresh local host, \`registry\` strategy, docker-container builder. Time of the buildspec's phases per build.`,
        "",
        "| build | native `build_amd64` | native `build_arm64` (QEMU here, native on CodeBuild) | `manifest` | emulated, one build of both |",
        "|---|---|---|---|---|",
        ...rows,
        "",
        "On CodeBuild the two platform jobs run side by side on their own hosts, so a native batch takes about the longer of the two plus the manifest job; here the arm64 job's steps run under QEMU, as the emulated build's arm64 half does, so this machine shows the emulation's cost (arm64 against amd64 job) and that each platform keeps its own cache, not native arm64 speed.",
        "",
    ].join("\n");
}

const flags = {
    steps: stepsFlag({ min: 2, default: 4 }),
    mb: mbFlag({ min: 0, default: 2 }),
    rounds: roundsFlag({ min: 0, default: 10 }),
};

const command: Command<typeof flags> = {
    name: "npm run bench:platforms --",
    summary:
        "Two platforms, built both ways on fresh local hosts: the native batch (build_amd64, build_arm64, manifest;\n" +
        "arm64 under QEMU here) and one emulated build; cold, warm and a change halfway. Writes results/platforms.json\n" +
        "and results/platforms.md. Needs root (Docker daemons, binfmt_misc).",
    flags,
    examples: ["npm run bench:platforms", "npm run bench:platforms -- --steps 4 --mb 2 --rounds 10"],
};

if (require.main === module) {
    runCommand(command, async (values) => {
        const r = await runPlatformsBench({ steps: values.steps, mb: values.mb, rounds: values.rounds });
        const out = path.resolve("results");
        fs.mkdirSync(out, { recursive: true });
        fs.writeFileSync(path.join(out, "platforms.json"), JSON.stringify(r, null, 2) + "\n");
        fs.writeFileSync(path.join(out, "platforms.md"), platformsMarkdown(r));
        console.log(`\n${platformsMarkdown(r)}\nwrote results/platforms.json and results/platforms.md`);
    });
}
