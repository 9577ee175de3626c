/**
 * The `registry` export on a change build, with variants of export.sh's command, on CodeBuild's path (the
 * docker-container builder): for each variant, a cold build then a change build halfway, in a repository of its
 * own; prints the change build's time, its export command's time, BuildKit's "preparing build cache for export"
 * and the number of layers in the cache manifest after the export. The measurement behind export.sh's choice.
 * Every variant but `in-build` runs with skipUnchanged off, so export.sh's second invocation writes the cache;
 * `in-build` runs with it on (the default): a change build is a key miss, so the build writes the cache beside its
 * push (build.sh's CACHE_IN_BUILD), and its "export" is BuildKit's own time for that step.
 *
 *   npx tsx bench/exportVariants.ts --steps 96 --variants as-is,in-build
 */
import { singleStage } from "../localBuild/dockerfile";
import { exportCommandSeconds } from "../localBuild/experiment";
import { startLocalHost } from "../standIn/host";
import { runScenario } from "../standIn/scenario";
import { Command, invalidValue, runCommand, stepsFlag, text } from "../localBuild/flags";

/** Rewrites of the export command in the buildspec YAML. */
export const EXPORT_VARIANTS: Record<string, (yaml: string) => string> = {
    "as-is": (y) => y,
    // The export invocation without the cache import: only what this build's builder has.
    "no-import": (y) => y.replace(/"\$\{CACHE_FROM\[@\]\}" \\\n(\s*)--cache-to/, "\\\n$1--cache-to"),
    // mode=min: only the final image's layers; not enough for multi-stage builds (the builder stage is lost).
    "mode-min": (y) => y.replace(/mode=max,image-manifest=true/g, "mode=min,image-manifest=true"),
    zstd: (y) => y.replace(/mode=max,image-manifest=true/g, "mode=max,compression=zstd,image-manifest=true"),
    "compression-0": (y) =>
        y.replace(/mode=max,image-manifest=true/g, "mode=max,compression-level=0,image-manifest=true"),
    // Skip on: the export in the build invocation (no rewrite; see SKIP_ON).
    "in-build": (y) => y,
};

/** The variants that run with skipUnchanged on. */
const SKIP_ON = new Set(["in-build"]);

const flags = {
    steps: stepsFlag({ min: 2, default: 96 }),
    variants: text({ default: "as-is,no-import", help: "Variants, comma-separated.", placeholder: "LIST" }),
};
const command: Command<typeof flags> = {
    name: "npx tsx bench/exportVariants.ts",
    summary: "The registry export on a change build, per variant of export.sh's command.",
    flags,
    examples: ["npx tsx bench/exportVariants.ts --steps 96 --variants as-is,no-import"],
};

function preparing(output: string): number | undefined {
    const builds = output.split(/^\[build\] #0 building with /m);
    const last = builds[builds.length - 1];
    const id = /^\[build\] #(\d+) preparing build cache for export/m.exec(last)?.[1];
    if (!id) return undefined;
    const done = [...last.matchAll(new RegExp(`^\\[build\\] #${id} DONE (\\d+(?:\\.\\d+)?)s`, "gm"))];
    return done.length ? Number(done[done.length - 1][1]) : undefined;
}

runCommand(command, async (values) => {
    const names = values.variants.split(",");
    for (const n of names)
        if (!(n in EXPORT_VARIANTS))
            throw invalidValue("variants", values.variants, Object.keys(EXPORT_VARIANTS).join(", "));
    const host = await startLocalHost();
    const rows: string[] = [];
    try {
        for (const name of names) {
            const repo = `export-variants/${name}-${Date.now().toString(36)}`;
            const base = { baseImage: host.base.ref, steps: values.steps, mbPerStep: 2, hashRounds: 1 };
            const out: string[] = [];
            for (const [run, dockerfile] of [
                ["cold", singleStage(base)],
                ["change", singleStage({ ...base, changeAt: Math.ceil(values.steps / 2), changeMarker: "x" })],
                ["change2", singleStage({ ...base, changeAt: Math.ceil(values.steps / 2), changeMarker: "y" })],
            ] as const) {
                const r = await runScenario({
                    host,
                    strategy: "registry",
                    repo,
                    dockerfile,
                    registryMode: "docker-container",
                    quiet: true,
                    printReport: false,
                    rewriteBuildspec: EXPORT_VARIANTS[name],
                    args: { skipUnchanged: SKIP_ON.has(name) },
                });
                if (!r.succeeded)
                    throw new Error(`${name} ${run} failed:\n${r.output.split("\n").slice(-30).join("\n")}`);
                const layers = await cacheLayers(host.registry, repo);
                out.push(
                    `${run} ${(r.timings.buildMs / 1000).toFixed(1)} s, export ${exportCommandSeconds(r)?.toFixed(1)} s, preparing ${preparing(r.output) ?? "-"} s, cache layers ${layers}`,
                );
            }
            rows.push(`${name}: ${out.join("; ")}`);
            console.log(rows[rows.length - 1]);
        }
    } finally {
        await host.stop();
    }
});

async function cacheLayers(registry: { address: string; username: string; password: string }, repo: string) {
    const auth = Buffer.from(`${registry.username}:${registry.password}`).toString("base64");
    const res = await fetch(`http://${registry.address}/v2/${repo}/manifests/buildcache`, {
        headers: {
            Authorization: `Basic ${auth}`,
            Accept: "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json",
        },
    });
    if (!res.ok) return `? (${res.status})`;
    const m = (await res.json()) as { layers?: unknown[]; manifests?: unknown[] };
    return String((m.layers ?? m.manifests ?? []).length);
}
