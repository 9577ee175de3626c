// The network profiles (standIn/networkProfiles.ts) and their `--network` flag: pure, no Docker.
import { strict as assert } from "assert";
import { parseFlags } from "../../localBuild/flags";
import {
    DECIDING_NETWORK,
    DEFAULT_NETWORK,
    NETWORK_PROFILES,
    NetworkProfile,
    networkFlag,
    profileSummary,
    shapes,
} from "../../standIn/networkProfiles";

const cmd = { name: "t", summary: "", flags: { network: networkFlag }, examples: [] };

describe("network profiles (standIn/networkProfiles.ts)", () => {
    it("has loopback (shapes nothing, the default) and at least the write-up's, a fast and a slow profile", () => {
        assert.equal(DEFAULT_NETWORK, "loopback");
        assert.equal(shapes(NETWORK_PROFILES.loopback), false);
        for (const n of ["writeup", "in-region", "cross-region"] as const) assert.ok(shapes(NETWORK_PROFILES[n]), n);
        assert.equal(DECIDING_NETWORK, "writeup");
        const down = (n: keyof typeof NETWORK_PROFILES) => (NETWORK_PROFILES[n] as NetworkProfile).downMBps ?? Infinity;
        assert.ok(down("cross-region") < down("writeup") && down("writeup") < down("in-region"));
        assert.ok(NETWORK_PROFILES["cross-region"].requestLatencyMs > NETWORK_PROFILES["in-region"].requestLatencyMs);
    });

    it("the write-up's profile sits in the 15–20 MB/s its own figure gives (almost 5 GB in most of 6 minutes)", () => {
        const p = NETWORK_PROFILES.writeup;
        assert.ok(p.downMBps >= 15 && p.downMBps <= 20, `${p.downMBps}`);
    });

    it("every shaped number of every profile names its source or says it is an assumption", () => {
        for (const p of Object.values(NETWORK_PROFILES)) {
            const keys = (["downMBps", "upMBps", "requestLatencyMs", "blobLatencyMs"] as const).filter(
                (k) => (p as Record<string, unknown>)[k] !== undefined && (p as Record<string, unknown>)[k] !== 0,
            );
            for (const k of keys)
                assert.ok(
                    p.sources.some((s) => s.includes(k)),
                    `${p.name}.${k} has no source line (sources: ${p.sources.join(" | ")})`,
                );
            for (const s of p.sources)
                assert.match(s, /assumption|write-up|whitepaper|user guide|measured/, `${p.name}: ${s}`);
        }
    });

    it("--network takes a profile's name, defaults to loopback, and refuses others naming the flag, value and names", () => {
        const parsed = parseFlags(cmd, ["--network", "cross-region"]);
        assert.ok(!parsed.help);
        assert.equal(parsed.values.network, NETWORK_PROFILES["cross-region"]);
        const none = parseFlags(cmd, []);
        assert.ok(!none.help && none.values.network === NETWORK_PROFILES.loopback);
        assert.throws(
            () => parseFlags(cmd, ["--network", "fast"]),
            /Invalid value for '--network': "fast"\. Allowed: loopback, writeup, in-region, cross-region\./,
        );
    });

    it("profileSummary says the rates and latencies, or unshaped", () => {
        assert.equal(profileSummary(NETWORK_PROFILES.loopback), "unshaped (loopback)");
        assert.equal(
            profileSummary(NETWORK_PROFILES.writeup),
            "17 MB/s down, 17 MB/s up, 10 ms per request, +100 ms per blob GET",
        );
    });
});
