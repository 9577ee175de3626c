// bench/transferOptions.ts and bench/transfer.ts's command line: which workloads, variants, runs and network a
// transfer bench run takes. Pure: flags are parsed, nothing is built (no Docker here).
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parseFlags } from "../../localBuild/flags";
import { NETWORK_PROFILES } from "../../standIn/networkProfiles";
import { transferCommand } from "../../bench/transfer";
import {
    cacheAfterPush,
    IN_BUILD_CACHE_EXPORT,
    runPlan,
    TRANSFER_RUNS,
    TRANSFER_VARIANTS,
    transferRunFlag,
    transferVariantFlag,
    transferWorkloadFlag,
} from "../../bench/transferOptions";

function values(argv: string[]) {
    const r = parseFlags(transferCommand, argv);
    if (r.help) throw new Error("help asked");
    return r.values;
}

describe("transfer bench options", () => {
    it("defaults: heavy, light and text; the three variants it always had; every run; loopback; the refs section", () => {
        const v = values([]);
        assert.deepEqual(v.workload, ["heavy", "light", "text"]);
        assert.deepEqual(
            v.variant.map((x) => x.key),
            ["registry-gzip", "registry-zstd", "inline-gzip"],
        );
        assert.deepEqual(
            v.run.map((r) => r.run),
            ["cold", "warm", "change", "change, export after"],
        );
        assert.equal(v.network, NETWORK_PROFILES.loopback);
        assert.equal(v["no-refs"], false);
    });

    it("--network takes every profile of standIn/networkProfiles.ts, as npm run bench does, and refuses others by name", () => {
        assert.equal(values(["--network", "writeup"]).network, NETWORK_PROFILES.writeup);
        assert.equal(values(["--network=cross-region"]).network, NETWORK_PROFILES["cross-region"]);
        assert.throws(
            () => values(["--network", "dialup"]),
            /Invalid value for '--network': "dialup". Allowed: loopback, writeup, in-region, cross-region/,
        );
    });

    it("--workload, --variant and --run take comma-separated names, each once; unknown ones are refused by name", () => {
        assert.deepEqual(transferWorkloadFlag.parse("light,heavy", "workload"), ["light", "heavy"]);
        assert.throws(
            () => transferWorkloadFlag.parse("light,medium", "workload"),
            /Invalid value for '--workload': "light,medium" \("medium" is not one\)/,
        );
        assert.deepEqual(
            transferVariantFlag.parse("registry-gzip-after,registry-gzip", "variant").map((v) => v.label),
            ["registry gzip, cache after push", "registry gzip"],
        );
        assert.throws(() => transferVariantFlag.parse("registry-gzip,registry-gzip", "variant"), /a repeat/);
        assert.throws(
            () => transferVariantFlag.parse("inline-zstd", "variant"),
            /Allowed: registry-gzip, registry-gzip-after, registry-gzip-skip-off, registry-zstd, inline-gzip,/,
        );
        assert.throws(() => transferRunFlag.parse("cold,hot", "run"), /"hot" is not one/);
    });

    it("--run keeps the runs' own order whatever order it is given in (each builds on the ones before it)", () => {
        assert.deepEqual(
            transferRunFlag.parse("change,cold", "run").map((r) => r.key),
            ["cold", "change"],
        );
    });

    describe("runPlan: which runs a variant builds, and with skip on or off", () => {
        it("the cache beside the push: cold and change with skip on (build.sh writes it in the build), warm off", () => {
            const plan = runPlan(TRANSFER_VARIANTS["registry-gzip"], TRANSFER_RUNS);
            assert.deepEqual(
                plan.map((p) => [p.run.run, p.skip]),
                [
                    ["cold", true],
                    ["warm", false],
                    ["change", true],
                    ["change, export after", false],
                ],
            );
        });

        it("the cache after the push: skip on as by default (build.sh's export is taken out); no second change run", () => {
            const plan = runPlan(TRANSFER_VARIANTS["registry-gzip-after"], TRANSFER_RUNS);
            assert.deepEqual(
                plan.map((p) => [p.run.run, p.skip]),
                [
                    ["cold", true],
                    ["warm", false],
                    ["change", true],
                ],
            );
        });

        it("skip off: every build with skip off, so no key and export.sh writes the cache; no second change run", () => {
            const plan = runPlan(TRANSFER_VARIANTS["registry-gzip-skip-off"], TRANSFER_RUNS);
            assert.deepEqual(
                plan.map((p) => [p.run.run, p.skip]),
                [
                    ["cold", false],
                    ["warm", false],
                    ["change", false],
                ],
            );
        });

        it("inline has no `change, export after` (it has no cache export); a selection narrows every variant", () => {
            assert.deepEqual(
                runPlan(TRANSFER_VARIANTS["inline-gzip"], TRANSFER_RUNS).map((p) => p.run.key),
                ["cold", "warm", "change"],
            );
            const selected = transferRunFlag.parse("cold,change", "run");
            assert.deepEqual(
                runPlan(TRANSFER_VARIANTS["registry-gzip"], selected).map((p) => [p.run.key, p.skip]),
                [
                    ["cold", true],
                    ["change", true],
                ],
            );
        });
    });

    describe("cacheAfterPush (the buildspec rewrite of the `registry-gzip-after` variant)", () => {
        // The golden buildspec is the rendered one (npm run golden), so this fails when build.sh's line changes.
        const golden = fs.readFileSync(path.join(__dirname, "..", "golden", "registry-docker-container.yaml"), "utf8");

        it("takes build.sh's in-build cache export out of the rendered buildspec, and nothing else", () => {
            assert.ok(golden.includes(IN_BUILD_CACHE_EXPORT));
            const out = cacheAfterPush(golden);
            assert.ok(!out.includes("CACHE_IN_BUILD=1"), "no build sets CACHE_IN_BUILD=1: export.sh writes the cache");
            assert.equal(out.length, golden.length - IN_BUILD_CACHE_EXPORT.length + 1);
        });

        it("throws when the buildspec no longer holds it (build.sh changed), rather than measure the default twice", () => {
            assert.throws(() => cacheAfterPush("phases: {}"), /holds build.sh's in-build cache export 0 times/);
        });
    });
});
