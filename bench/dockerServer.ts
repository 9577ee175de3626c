/**
 * CodeBuild's Docker server as a rival (`npm run bench -- --docker-server`): the builds of one project share a
 * daemon that survives between them (standIn/dockerServer.ts), and restarts empty after an idle time. For each
 * workload: cold, warm, change, then a warm build after the daemon was recycled (the bench waits out the idle
 * time), for
 * - `docker server alone`: the inline strategy's buildspec with its cache read removed (`CACHE_FROM=(--pull=false)`), what a
 *   project gets by switching the Docker server on and building with a plain `docker build --push`;
 * - `docker server + inline` and `docker server + registry`: the component's buildspecs on the Docker server.
 * The recycled build is where the ECR cache earns its keep: without it, the build after a recycle is a cold one.
 * skipUnchanged per run as localBuild/experiment.ts RUN_PLAN says (the component's buildspecs: on for cold and change, the
 * default, off for warm and recycled, which measure the cache); `docker server alone` has it off in every run, as a
 * plain `docker build --push` has no key.
 */
import type { CacheStrategy } from "../components/args";
import { LocalDockerServer } from "../standIn/dockerServer";
import { RunName, runExperiment, RunRecord, ratioToCold } from "../localBuild/experiment";
import type { Workload } from "../localBuild/dockerfile";
import type { BenchContext, BenchSection, SectionResult } from "./section";

export const DOCKER_SERVER_RUNS: readonly RunName[] = ["cold", "warm", "change", "recycled"];

/**
 * The inline buildspec without its cache read: the Docker server on its own. CACHE_FROM, in the preludes and as the
 * probe hands it on, keeps one harmless word
 * (`--pull=false`, buildx's default), because the fragments check that it is set and bash counts an empty one unset.
 */
export function withoutCacheRead(yaml: string): string {
    const out = yaml.replace(/CACHE_FROM=\([^)\n]*\)/g, "CACHE_FROM=(--pull=false)");
    if (out === yaml) throw new Error("no CACHE_FROM=(...) in the buildspec: the prelude's format changed");
    // The probe hands the refs it found to later commands (BRANCH_SH): those go too.
    const handed = 'declare -p CACHE_FROM >>"$BRANCH_SH"';
    if (!out.includes(handed)) throw new Error("the probe no longer hands CACHE_FROM on: the buildspec changed");
    return out.split(handed).join(`CACHE_FROM=(--pull=false); ${handed}`);
}

interface Variant {
    readonly name: string;
    readonly strategy: CacheStrategy;
    readonly rewrite?: (yaml: string) => string;
    /** skipUnchanged off in every run (not the component's buildspec: no key). */
    readonly skipOff?: boolean;
}

export const DOCKER_SERVER_VARIANTS: readonly Variant[] = [
    { name: "docker server alone", strategy: "inline", rewrite: withoutCacheRead, skipOff: true },
    { name: "docker server + inline", strategy: "inline" },
    { name: "docker server + registry", strategy: "registry" },
];

const f1 = (x: number) => x.toFixed(1);

export function dockerServerMarkdown(res: SectionResult): string {
    const idle = Number(res.extra?.idleSeconds ?? 0);
    const workloads = [...new Set(res.records.map((r) => r.workload ?? ""))];
    return [
        `## CodeBuild's Docker server, modelled: one daemon per project, recycled after ${idle} s idle`,
        ``,
        `Each variant is its own project with its own daemon (standIn/dockerServer.ts). \`recycled\` is a warm build (nothing changed) after the daemon sat idle past its idle time and restarted empty. \`docker server alone\` is a plain \`docker build --push\` (the inline buildspec with its cache read removed); the other two are the component's buildspecs run on the Docker server.`,
        ``,
        `| workload | variant | run | build s | × cold | cached | rebuilt | MB pulled | MB pushed |`,
        `|---|---|---|---:|---:|---:|---:|---:|---:|`,
        ...workloads.flatMap((w) =>
            res.records
                .filter((r) => (r.workload ?? "") === w)
                .map(
                    (r) =>
                        `| ${w} | ${r.variant} | ${r.run} | ${f1(r.buildSeconds)} | ${ratioToCold(res.records, r).toFixed(3)} | ${r.cachedSteps} | ${r.rebuiltSteps} | ${f1(r.pulledMB)} | ${f1(r.pushedMB)} |`,
                ),
        ),
        ``,
    ].join("\n");
}

export function dockerServerSection(workloads: readonly Workload[], idleSeconds: number): BenchSection {
    return {
        key: "docker-server",
        title: "Docker server",
        count: () => workloads.length * DOCKER_SERVER_VARIANTS.length * DOCKER_SERVER_RUNS.length,
        run: async (ctx: BenchContext): Promise<SectionResult> => {
            const records: RunRecord[] = [];
            for (const w of workloads) {
                for (const v of DOCKER_SERVER_VARIANTS) {
                    const server = new LocalDockerServer({ idleMs: idleSeconds * 1000 });
                    try {
                        records.push(
                            ...(await runExperiment(
                                ctx.host,
                                v.strategy,
                                { steps: w.steps, mbPerStep: w.mbPerStep, hashRounds: w.hashRounds },
                                {
                                    repo: ctx.repo(`docker-server-${v.name.replace(/[^a-z]+/g, "-")}-${w.name}`),
                                    registryMode: v.strategy === "registry" ? ctx.registryMode : undefined,
                                    quiet: true,
                                    workload: w.name,
                                    variant: v.name,
                                    runs: DOCKER_SERVER_RUNS,
                                    startHost: server.startHost,
                                    rewriteBuildspec: v.rewrite,
                                    skipOff: v.skipOff,
                                    progress: ctx.progress,
                                    // Before `recycled`: wait out the idle time, so that the next build finds it recycled.
                                    before: async (run) => {
                                        if (run === "recycled")
                                            await new Promise((r) => setTimeout(r, idleSeconds * 1000 + 500));
                                    },
                                },
                            )),
                        );
                        const kinds = server.events.map((e) => e.kind).join(",");
                        if (kinds !== "started,reused,reused,recycled")
                            throw new Error(
                                `${v.name}: the daemon was ${kinds}, expected started,reused,reused,recycled`,
                            );
                    } finally {
                        await server.close();
                    }
                }
            }
            return { key: "docker-server", title: "Docker server", records, extra: { idleSeconds } };
        },
        markdown: dockerServerMarkdown,
    };
}
