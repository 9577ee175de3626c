// bench/transferResults.ts: what the transfer bench computes from manifests and BuildKit's plain progress. Pure: the
// manifests' descriptors and the progress lines are written here.
import { strict as assert } from "assert";
import {
    newBlobBytes,
    parseTransferFile,
    placementComparison,
    runMarkdown,
    subStepSeconds,
    TransferRecord,
    TransferResults,
    transferMarkdown,
    withTransferRun,
} from "../../bench/transferResults";
import { NETWORK_PROFILES } from "../../standIn/networkProfiles";

const D1 = `sha256:${"1".repeat(64)}`;
const D2 = `sha256:${"2".repeat(64)}`;

/** A registry gzip record of the light workload; `over` sets what a test is about. Written here, not measured. */
function record(over: Partial<TransferRecord>): TransferRecord {
    return {
        workload: "light",
        variant: "registry gzip",
        strategy: "registry",
        compression: "gzip",
        cacheAfter: false,
        run: "cold",
        buildSeconds: 10,
        cachedSteps: 0,
        rebuiltSteps: 49,
        pushedMB: 101.8,
        pulledMB: 1.1,
        newBlobMB: 101.8,
        imageLayerMB: 101.8,
        duplicateUploads: 0,
        duplicateMB: 0,
        headsFound: 0,
        requests: 100,
        requestsByKind: {},
        requestsByClient: {},
        compressSeconds: 0,
        pushSeconds: 0,
        layerMediaTypes: [],
        skipped: false,
        ...over,
    };
}

/** A run of the bench under `network`; its records and selection from `over`. */
function run(network: keyof typeof NETWORK_PROFILES, over: Partial<TransferResults> = {}): TransferResults {
    return {
        date: "2026-12-07T02:00:00.000Z",
        network,
        profile: NETWORK_PROFILES[network],
        selection: { workloads: ["light"], variants: ["registry-gzip"], runs: ["cold"], refs: false },
        machine: {
            cpus: 2,
            dockerd: "dockerd X",
            buildx: "buildx Y",
            buildkit: "v0.32.2",
            loadAverage: { start: [6.18, 4.22, 2.88], end: [7.5, 5, 3] },
        },
        workloads: [{ name: "light", description: "48 steps" }],
        records: [record({})],
        refs: [],
        ...over,
    };
}

describe("transferResults", () => {
    describe("newBlobBytes", () => {
        it("counts each digest the registry lacked once, across the image's and the cache's manifests", () => {
            const image = [
                { digest: D1, size: 10 },
                { digest: D2, size: 20 },
            ];
            const cache = [{ digest: D2, size: 20 }];
            assert.equal(newBlobBytes([...image, ...cache], new Set()), 30);
            assert.equal(newBlobBytes([...image, ...cache], new Set([D1])), 20);
            assert.equal(newBlobBytes(image, new Set([D1, D2])), 0);
        });
    });

    describe("subStepSeconds (BuildKit's plain progress)", () => {
        it("sums a sub-step's times over every export, a sub-step with no time counting 0, and reads no other sub-step", () => {
            const out = [
                "[build] #14 exporting to image",
                "[build] #14 exporting layers",
                "[build] #14 exporting layers 2.3s done",
                "[build] #14 pushing layers 0.4s done",
                "[build] #15 exporting layers done",
                "[build] #16 exporting layers 0.7s done",
                "[build] #16 exporting layers and more 9.0s done",
            ].join("\n");
            assert.equal(subStepSeconds(out, "exporting layers"), 3);
            assert.equal(subStepSeconds(out, "pushing layers"), 0.4);
        });
    });

    describe("placementComparison (the cache beside the push against after it)", () => {
        it("pairs each `cache after push` build with the beside build of the same workload and run: bytes, duplicates, seconds, ratio", () => {
            const records = [
                record({
                    run: "cold",
                    pushedMB: 122.8,
                    duplicateUploads: 4,
                    duplicateMB: 16.8,
                    buildSeconds: 100,
                    dockerfileSeconds: 80,
                }),
                record({ run: "change", pushedMB: 71.4, newBlobMB: 54.6, buildSeconds: 50 }),
                record({
                    variant: "registry gzip, cache after push",
                    cacheAfter: true,
                    run: "cold",
                    pushedMB: 101.8,
                    buildSeconds: 90,
                    dockerfileSeconds: 60,
                }),
                record({ workload: "heavy", variant: "registry gzip, cache after push", cacheAfter: true }),
            ];
            const rows = placementComparison(records)
                .split("\n")
                .filter((l) => l.startsWith("| light"));
            // One pair only: the heavy `after` build has no beside build, the light change build no `after` one.
            assert.deepEqual(rows, [
                "| light | registry gzip, cache after push | cold | 101.8 / 101.8 | 122.8 → 101.8 | 4 (16.8) → 0 (0.0) | 100 → 100 | 100.0 → 90.0 | 0.90 | 20.0 → 30.0 | 1.50 |",
            ]);
        });

        it("a record from before Dockerfile work was recorded has no `other s`", () => {
            const rows = placementComparison([
                record({}),
                record({ variant: "registry gzip, cache after push", cacheAfter: true }),
            ]).split("\n");
            assert.ok(rows.some((l) => l.endsWith("| 1.00 | not recorded | – |")));
        });

        it("says it was not run when no run had both variants", () => {
            assert.match(placementComparison([record({})]), /^Not run/);
        });
    });

    describe("results: the run's network and load, and the file of runs", () => {
        it("a run's Markdown names its profile's numbers, the load average at its start and end, and its selection", () => {
            const md = runMarkdown(run("writeup"));
            assert.match(
                md,
                /Network: \*\*writeup\*\* \(17 MB\/s down, 17 MB\/s up, 10 ms per request, \+100 ms per blob GET/,
            );
            assert.match(md, /Load average \(1, 5, 15 min\): 6.18, 4.22, 2.88 at the start, 7.5, 5, 3 at the end/);
            assert.match(md, /Selected: workloads light; variants registry-gzip; runs cold; refs section left out/);
            assert.doesNotMatch(md, /loopback seconds/);
            assert.match(runMarkdown(run("loopback")), /seconds here are loopback seconds/);
            assert.doesNotMatch(
                runMarkdown(run("loopback")),
                /unshaped/,
                "loopback shapes nothing: no profile numbers",
            );
        });

        it("a run from before the flags (one run at the file's top level, no profile or load) reads as one run", () => {
            const old = { ...run("loopback"), profile: undefined, selection: undefined };
            const file = parseTransferFile(JSON.stringify(old));
            assert.equal(file.runs.length, 1);
            assert.match(runMarkdown(file.runs[0]), /Load average \(1, 5, 15 min\): 6.18/);
            assert.throws(() => parseTransferFile("{}"), /neither a list of runs/);
        });

        it("a run under another network, or with another selection, is added; a rerun of the same replaces it", () => {
            const old = run("loopback", { selection: undefined });
            let file = withTransferRun(parseTransferFile(JSON.stringify(old)), run("writeup"));
            assert.deepEqual(
                file.runs.map((r) => r.network),
                ["loopback", "writeup"],
            );
            file = withTransferRun(file, run("loopback"));
            assert.equal(file.runs.length, 3, "loopback with a selection is not the run from before the flags");
            const rerun = run("writeup", { date: "2026-12-07T03:00:00.000Z" });
            file = withTransferRun(file, rerun);
            assert.equal(file.runs.length, 3);
            assert.equal(file.runs[1], rerun);
            const md = transferMarkdown(file.runs);
            assert.deepEqual(
                [...md.matchAll(/^## (.+)$/gm)].map((m) => m[1]),
                [
                    "loopback, 2026-12-07T02:00:00.000Z",
                    "writeup, 2026-12-07T03:00:00.000Z",
                    "loopback, 2026-12-07T02:00:00.000Z",
                ],
            );
        });
    });
});
