/**
 * `npm run bench:transfer`: what moving bytes costs, per option of issue 23 item 3, on the stand-in (each build on a
 * fresh Docker host, CodeBuild's docker-container builder for `registry`, the daemon's own builder for `inline`):
 * - zstd against gzip layers (`layerCompression`, components/layerCompression.ts), for the image and the cache:
 *   bytes pushed and pulled, the image's size, BuildKit's compression time, the build's seconds; cold, warm and change;
 * - shared blobs: the bytes a build pushed against the bytes of the blobs that were new (its image's and its cache's
 *   manifests, each digest once), the duplicate uploads and the existence checks that saved one, with the cache
 *   written beside the push (skip on, the default) and after it (export.sh's second invocation: the
 *   `registry-gzip-after` variant takes build.sh's in-build export out of the buildspec, `registry-gzip-skip-off`
 *   runs with skip off);
 * - the order and count of `--cache-from` refs for a branch and the default branch: requests per kind and client.
 * Every request goes through a logging proxy (bench/requestLog.ts) in front of the stand-in's registry.
 *
 * `--network NAME` shapes the registry's link (standIn/networkProfiles.ts), as `npm run bench` does: the registry's
 * own proxy applies the profile (standIn/shapedLink.ts) and the logging proxy sits in front of it, so the bytes it
 * counts are the bytes the build sent and received, and every request pays the latency once. The results record the
 * profile and the machine's load average. A run is added to transfer.json; it replaces an earlier run only of the
 * same network and selection (bench/transferResults.ts, withTransferRun).
 *
 *   npm run bench:transfer                                     # heavy, light and text workloads, loopback
 *   npm run bench:transfer -- --network writeup --workload heavy,light --variant registry-gzip,registry-gzip-after \
 *       --run cold,change --no-refs                            # the cache beside against after the push, ~25 min
 *   npm run bench:transfer -- --workload smoke --no-refs --out /tmp/transfer-smoke
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { startLocalHost, LocalHost } from "../standIn/host";
import { runScenario, ScenarioResult } from "../standIn/scenario";
import { NetworkProfile, networkFlag, profileSummary } from "../standIn/networkProfiles";
import { booleanFlag, Command, runCommand, text } from "../localBuild/flags";
import { singleStage, StepData, WORKLOADS } from "../localBuild/dockerfile";
import { recordOf, skipMismatch, skippedOf } from "../localBuild/experiment";
import { LoggedRegistry, startRequestLog, uploadSummary } from "./requestLog";
import {
    Descriptor,
    manifestBlobs,
    newBlobBytes,
    RefsRecord,
    requestCounts,
    subStepSeconds,
    parseTransferFile,
    TransferFile,
    TransferRecord,
    TransferResults,
    transferMarkdown,
    uploadFields,
    withTransferRun,
} from "./transferResults";
import {
    cacheAfterPush,
    runPlan,
    TRANSFER_WORKLOAD_NAMES,
    TransferRun,
    transferRunFlag,
    TransferVariant,
    transferVariantFlag,
    transferWorkloadFlag,
} from "./transferOptions";

/** A workload of the transfer bench: the main bench's two, and `text` (compressible data). */
interface TransferWorkload {
    readonly name: string;
    readonly steps: number;
    readonly mbPerStep: number;
    readonly hashRounds: number;
    readonly data: StepData;
    readonly description: string;
}

const TRANSFER_WORKLOADS: Record<(typeof TRANSFER_WORKLOAD_NAMES)[number], TransferWorkload> = {
    heavy: { ...WORKLOADS.heavy, data: "random", description: `${WORKLOADS.heavy.description}, random bytes` },
    light: { ...WORKLOADS.light, data: "random", description: `${WORKLOADS.light.description}, random bytes` },
    text: {
        name: "text",
        steps: 24,
        mbPerStep: 4,
        hashRounds: 1,
        data: "text",
        description:
            "24 steps × 4 MB of text (a hex dump of random bytes: compressible, like source and packages), 1 hash pass",
    },
    smoke: {
        name: "smoke",
        steps: 4,
        mbPerStep: 1,
        hashRounds: 1,
        data: "text",
        description: "4 steps × 1 MB of text: a smoke test",
    },
};

const flags = {
    workload: transferWorkloadFlag,
    variant: transferVariantFlag,
    run: transferRunFlag,
    network: networkFlag,
    "no-refs": booleanFlag("Leave out the --cache-from order section."),
    out: text({ default: "results", help: "Folder for transfer.json and transfer.md.", placeholder: "DIR" }),
};

export const transferCommand: Command<typeof flags> = {
    name: "npm run bench:transfer --",
    summary:
        "zstd against gzip, shared blobs between the image and the cache, and the order of --cache-from refs, each\n" +
        "build on a fresh local Docker host; bytes and requests counted at a proxy. Writes transfer.json and transfer.md.",
    flags,
    examples: [
        "npm run bench:transfer",
        "npm run bench:transfer -- --network writeup --workload heavy,light --variant registry-gzip,registry-gzip-after --run cold,change --no-refs",
        "npm run bench:transfer -- --workload smoke --no-refs --out /tmp/transfer",
    ],
};

/** The manifest `ref` (a tag) of `repo`, or undefined when there is none; an index's first manifest. */
async function manifest(
    reg: LoggedRegistry | LocalHost["registry"],
    repo: string,
    ref: string,
): Promise<{ config?: Descriptor; layers?: Descriptor[] } | undefined> {
    const auth = Buffer.from(`${reg.username}:${reg.password}`).toString("base64");
    const get = async (r: string) => {
        const res = await fetch(`http://${reg.upstream}/v2/${repo}/manifests/${r}`, {
            headers: {
                Authorization: `Basic ${auth}`,
                Accept: [
                    "application/vnd.oci.image.manifest.v1+json",
                    "application/vnd.docker.distribution.manifest.v2+json",
                    "application/vnd.oci.image.index.v1+json",
                    "application/vnd.docker.distribution.manifest.list.v2+json",
                ].join(", "),
            },
        });
        return res.ok
            ? ((await res.json()) as { config?: Descriptor; layers?: Descriptor[]; manifests?: Descriptor[] })
            : undefined;
    };
    const m = await get(ref);
    if (m?.manifests?.length) return get(m.manifests[0].digest);
    return m;
}

async function transferRuns(
    host: LocalHost,
    reg: LoggedRegistry,
    w: TransferWorkload,
    v: TransferVariant,
    runs: readonly TransferRun[],
    stamp: string,
    log: (s: string) => void,
): Promise<TransferRecord[]> {
    const repo = `transfer/${w.name}-${v.key}-${stamp}`;
    const baseImage = host.base.ref.replace(host.registry.address, reg.address);
    const base = { baseImage, steps: w.steps, mbPerStep: w.mbPerStep, hashRounds: w.hashRounds, data: w.data };
    const changeAt = Math.ceil(w.steps / 2);
    const dockerfiles = {
        base: singleStage(base),
        change: singleStage({ ...base, changeAt, changeMarker: `change-${stamp}` }),
        "change 2": singleStage({ ...base, changeAt, changeMarker: `change2-${stamp}` }),
    };
    const known = new Set<string>();
    const records: TransferRecord[] = [];
    for (const { run: r, skip } of runPlan(v, runs)) {
        const variant = v.label;
        log(`[transfer] ${w.name} ${variant} ${r.run} ... `);
        const res: ScenarioResult = await runScenario({
            host: { ...host, registry: reg },
            strategy: v.strategy,
            repo,
            dockerfile: dockerfiles[r.dockerfile],
            registryMode: "docker-container",
            args: { skipUnchanged: skip, layerCompression: v.compression },
            ...(v.cacheAfter && !v.skipOff ? { rewriteBuildspec: cacheAfterPush } : {}),
            label: `${w.name} ${variant} ${r.run}`,
            quiet: true,
            printReport: false,
        });
        const requests = reg.requests();
        if (!res.succeeded)
            throw new Error(`${variant} ${r.run} failed:\n${res.output.split("\n").slice(-40).join("\n")}`);
        const wrong = skipMismatch(`${variant} ${r.run}`, false, skippedOf(res.lines));
        if (wrong) throw new Error(wrong);
        const image = await manifest(reg, repo, "latest");
        const cache = v.strategy === "registry" ? await manifest(reg, repo, "buildcache") : undefined;
        const blobs = [...manifestBlobs(image), ...manifestBlobs(cache)];
        const newBytes = newBlobBytes(blobs, known);
        for (const b of blobs) known.add(b.digest);
        const base0 = recordOf(res, { strategy: v.strategy, variant, run: "cold" });
        const counts = requestCounts(requests);
        const rec: TransferRecord = {
            workload: w.name,
            variant,
            strategy: v.strategy,
            compression: v.compression,
            ...(v.strategy === "registry" ? { cacheAfter: v.cacheAfter } : {}),
            run: r.run,
            buildSeconds: base0.buildSeconds,
            ...(base0.dockerfileSeconds !== undefined ? { dockerfileSeconds: base0.dockerfileSeconds } : {}),
            ...(base0.exportSeconds !== undefined ? { exportSeconds: base0.exportSeconds } : {}),
            cachedSteps: base0.cachedSteps,
            rebuiltSteps: base0.rebuiltSteps,
            pushedMB: base0.pushedMB,
            pulledMB: base0.pulledMB,
            newBlobMB: newBytes / 1e6,
            imageLayerMB: (image?.layers ?? []).reduce((n, l) => n + l.size, 0) / 1e6,
            ...uploadFields(uploadSummary(requests)),
            requests: requests.length,
            requestsByKind: counts.byKind,
            requestsByClient: counts.byClient,
            compressSeconds: subStepSeconds(res.output, "exporting layers"),
            pushSeconds: subStepSeconds(res.output, "pushing layers"),
            layerMediaTypes: [...new Set((image?.layers ?? []).map((l) => l.mediaType ?? "?"))],
            skipped: skippedOf(res.lines) === true,
        };
        records.push(rec);
        log(
            `${rec.buildSeconds.toFixed(1)} s (Dockerfile work ${(rec.dockerfileSeconds ?? 0).toFixed(1)} s, export.sh ${(rec.exportSeconds ?? 0).toFixed(1)} s), ${rec.cachedSteps}/${rec.rebuiltSteps} cached/rebuilt, pushed ${rec.pushedMB.toFixed(1)} MB (new blobs ${rec.newBlobMB.toFixed(1)}, ${rec.duplicateUploads} duplicate uploads ${rec.duplicateMB.toFixed(1)} MB), pulled ${rec.pulledMB.toFixed(1)} MB, ${rec.requests} requests, compress ${rec.compressSeconds.toFixed(1)} s, image ${rec.imageLayerMB.toFixed(1)} MB ${rec.layerMediaTypes.join(" ")}\n`,
        );
    }
    return records;
}

/** The branch.sh rewrites of the refs section: the order of CACHE_REFS for a branch build. */
const REFS_ORDER: Record<string, (yaml: string) => string> = {
    "own cache first": (y) => y,
    "default branch's first": (y) =>
        replaceOnce(
            y,
            'CACHE_REFS=("$CACHE_REF$branch_tag" "$CACHE_REF")',
            'CACHE_REFS=("$CACHE_REF" "$CACHE_REF$branch_tag")',
        ),
    "own cache only": (y) =>
        replaceOnce(y, 'CACHE_REFS=("$CACHE_REF$branch_tag" "$CACHE_REF")', 'CACHE_REFS=("$CACHE_REF$branch_tag")'),
};

function replaceOnce(s: string, from: string, to: string): string {
    if (!s.includes(from)) throw new Error(`the buildspec no longer holds ${JSON.stringify(from)} (branch.sh changed)`);
    return s.replace(from, to);
}

async function refsSection(host: LocalHost, reg: LoggedRegistry, stamp: string, log: (s: string) => void) {
    const repo = `transfer/refs-${stamp}`;
    const baseImage = host.base.ref.replace(host.registry.address, reg.address);
    const dockerfile = singleStage({ baseImage, steps: 12, mbPerStep: 2, hashRounds: 1 });
    const branchEnv = {
        CODEBUILD_WEBHOOK_EVENT: "PUSH",
        CODEBUILD_WEBHOOK_TRIGGER: "branch/feature/x",
        CODEBUILD_WEBHOOK_HEAD_REF: "refs/heads/feature/x",
        CODEBUILD_SOURCE_VERSION: "4".repeat(40),
    };
    const builds: { build: string; env?: Record<string, string>; rewrite?: (y: string) => string }[] = [
        { build: "default branch, cold" },
        { build: "default branch, warm" },
        { build: "branch, first build", env: branchEnv },
        ...Object.entries(REFS_ORDER).map(([name, rewrite]) => ({
            build: `branch, warm, ${name}`,
            env: branchEnv,
            rewrite,
        })),
    ];
    const out: RefsRecord[] = [];
    for (const b of builds) {
        log(`[transfer] refs: ${b.build} ... `);
        const res = await runScenario({
            host: { ...host, registry: reg },
            strategy: "registry",
            repo,
            dockerfile,
            registryMode: "docker-container",
            args: { skipUnchanged: false, trustedRefs: ["main", "feature/x"] },
            env: b.env,
            rewriteBuildspec: b.rewrite,
            label: `refs ${b.build}`,
            quiet: true,
            printReport: false,
        });
        const requests = reg.requests();
        if (!res.succeeded) throw new Error(`refs ${b.build} failed:\n${res.output.split("\n").slice(-40).join("\n")}`);
        const r = recordOf(res, { strategy: "registry", variant: "registry", run: "cold" });
        const counts = requestCounts(requests);
        const cacheFrom = [...res.output.matchAll(/layer cache: found ([^\s"$]+)$/gm)].map((m) =>
            m[1].replace(/^.*:/, ":"),
        );
        out.push({
            build: b.build,
            cacheFrom,
            buildSeconds: r.buildSeconds,
            cachedSteps: r.cachedSteps,
            rebuiltSteps: r.rebuiltSteps,
            requests: requests.length,
            requestsByKind: counts.byKind,
            requestsByClient: counts.byClient,
            pulledMB: r.pulledMB,
        });
        log(
            `${r.buildSeconds.toFixed(1)} s, ${r.cachedSteps}/${r.rebuiltSteps}, ${requests.length} requests ${JSON.stringify(counts.byKind)} ${JSON.stringify(counts.byClient)}\n`,
        );
    }
    return out;
}

/** Runs the transfer bench on `network` (applied to the stand-in registry's link). */
export async function runTransfer(o: {
    network: NetworkProfile;
    workloads: readonly (typeof TRANSFER_WORKLOAD_NAMES)[number][];
    variants: readonly TransferVariant[];
    runs: readonly TransferRun[];
    refs: boolean;
    log?: (s: string) => void;
    /** Called with the results so far after each variant (the command writes them: a run cut short keeps them). */
    partial?: (r: TransferResults) => void;
}): Promise<TransferResults> {
    const log = o.log ?? ((s: string) => process.stdout.write(s));
    const loadAtStart = loadAverage();
    const host = await startLocalHost({ registry: { network: o.network } });
    log(`[transfer] network profile: ${o.network.name} (${profileSummary(o.network)})\n`);
    const reg = await startRequestLog(host.registry);
    const stamp = Date.now().toString(36);
    const records: TransferRecord[] = [];
    let refs: RefsRecord[] = [];
    const versions = { dockerd: host.dockerEnv.versions.dockerd, buildx: host.dockerEnv.versions.buildx };
    const results = (): TransferResults => ({
        date: new Date().toISOString(),
        network: o.network.name,
        profile: o.network,
        selection: {
            workloads: [...o.workloads],
            variants: o.variants.map((v) => v.key),
            runs: o.runs.map((r) => r.key),
            refs: o.refs,
        },
        machine: {
            cpus: os.cpus().length,
            ...versions,
            buildkit: "v0.32.2 (the stand-in's builder image)",
            loadAverage: { start: loadAtStart, end: loadAverage() },
        },
        workloads: o.workloads.map((n) => ({ name: n, description: TRANSFER_WORKLOADS[n].description })),
        records,
        refs,
    });
    try {
        for (const name of o.workloads)
            for (const v of o.variants) {
                records.push(...(await transferRuns(host, reg, TRANSFER_WORKLOADS[name], v, o.runs, stamp, log)));
                o.partial?.(results());
            }
        if (o.refs) refs = await refsSection(host, reg, stamp, log);
    } finally {
        await reg.stop();
        await host.stop();
    }
    return results();
}

/** `os.loadavg()` to two decimals, as bench/run.ts records it. */
function loadAverage(): number[] {
    return os.loadavg().map((x) => Math.round(x * 100) / 100);
}

if (require.main === module) {
    runCommand(transferCommand, async (values) => {
        const t0 = Date.now();
        const out = path.resolve(values.out);
        fs.mkdirSync(out, { recursive: true });
        const file = path.join(out, "transfer.json");
        const before: TransferFile | undefined = fs.existsSync(file)
            ? parseTransferFile(fs.readFileSync(file, "utf8"))
            : undefined;
        const write = (r: TransferResults) => {
            const all = withTransferRun(before, r);
            fs.writeFileSync(file, JSON.stringify(all, null, 2) + "\n");
            fs.writeFileSync(path.join(out, "transfer.md"), transferMarkdown(all.runs));
        };
        write(
            await runTransfer({
                network: values.network,
                workloads: values.workload as (typeof TRANSFER_WORKLOAD_NAMES)[number][],
                variants: values.variant,
                runs: values.run,
                refs: !values["no-refs"],
                partial: write,
            }),
        );
        console.log(`\nwrote ${file} and transfer.md in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    });
}
