// The network shaping of the stand-in registry's link (standIn/shapedLink.ts), through the real counting proxy of
// standIn/registry.ts. No Docker and no registry binary: the proxy's upstream is a plain Node HTTP server started with
// startLocalRegistry's `launch` hook, which answers a blob GET with N bytes and reads an upload's body. What is real:
// the proxy, its sockets on 127.0.0.1 and the shaping; what is stand-in: the registry behind it.
//
// Times are asserted from below only: shaping holds bytes back, so a shaped transfer can't end before its bytes have
// crossed (10 MB over 10 MB/s: not before about 1 s), and a loaded machine only makes it later. What needs a bound
// from above (the two directions don't share one pipe, a HEAD doesn't pay the blob latency, loopback holds nothing
// back) is checked on the pipes' own reservations and on the link's latency rule, which don't depend on the
// machine's load; the one comparison left on real sockets (loopback against a shaped 5 s) has a 5x margin.
import * as assert from "assert";
import * as http from "http";
import { NetworkProfile } from "../../standIn/networkProfiles";
import { LocalRegistry, startLocalRegistry } from "../../standIn/registry";
import { Pipe, ShapedLink, isBlobGet, shapedLink } from "../../standIn/shapedLink";

const MB = 1e6;
const BLOB = "/v2/bench/x/blobs/sha256:" + "a".repeat(64);
const UPLOAD = "/v2/bench/x/blobs/uploads/some-upload";
const MANIFEST = "/v2/bench/x/manifests/latest";

/** The stand-in upstream: GET blob → `?n` bytes (default 10 MB), PUT/PATCH → reads the body, anything else → 200. */
async function fakeUpstream(port: number): Promise<{ stop(): Promise<unknown> }> {
    const server = http.createServer((req, res) => {
        if (req.method === "GET" && req.url?.startsWith(BLOB)) {
            const n = Number(new URL(req.url, "http://x").searchParams.get("n") ?? 10 * MB);
            res.writeHead(200, { "Content-Length": n, "Content-Type": "application/octet-stream" });
            res.end(Buffer.alloc(n, 7));
            return;
        }
        let got = 0;
        req.on("data", (b: Buffer) => (got += b.length));
        req.on("end", () => {
            res.writeHead(201, { "Content-Type": "text/plain" });
            res.end(String(got));
        });
    });
    await new Promise<void>((r) => server.listen(port, "127.0.0.1", () => r()));
    return { stop: () => new Promise((r) => server.close(() => r(undefined))) };
}

function profile(p: Partial<NetworkProfile>): NetworkProfile {
    return { name: "test", description: "test", requestLatencyMs: 0, blobLatencyMs: 0, sources: [], ...p };
}

/** One request through the proxy; resolves with the seconds it took, the status and the body's length. */
function request(
    reg: LocalRegistry,
    method: string,
    path: string,
    body?: Buffer,
): Promise<{ seconds: number; status: number; bytes: number; text: string }> {
    const [host, port] = reg.address.split(":");
    const t0 = performance.now();
    return new Promise((resolve, reject) => {
        const req = http.request({ host, port: Number(port), method, path, agent: false }, (res) => {
            let bytes = 0;
            let text = "";
            res.on("data", (b: Buffer) => {
                bytes += b.length;
                if (text.length < 100) text += b.toString();
            });
            res.on("end", () =>
                resolve({
                    seconds: (performance.now() - t0) / 1000,
                    status: res.statusCode ?? 0,
                    bytes,
                    text: bytes < 100 ? text : "",
                }),
            );
        });
        req.on("error", reject);
        req.end(body);
    });
}

describe("network shaping of the registry link (real proxy, stand-in upstream; no Docker)", function () {
    this.timeout(30_000);
    let reg: LocalRegistry | undefined;
    const start = async (network?: NetworkProfile) => {
        reg = await startLocalRegistry({ launch: fakeUpstream, network });
        return reg;
    };
    afterEach(async () => {
        await reg?.stop();
        reg = undefined;
    });
    it("a 10 MB blob over a 10 MB/s profile is held back to about 1 s, and is counted as 10 MB pulled", async () => {
        const r = await start(profile({ downMBps: 10 }));
        const got = await request(r, "GET", BLOB);
        assert.strictEqual(got.status, 200);
        assert.strictEqual(got.bytes, 10 * MB);
        assert.ok(got.seconds >= 0.8, `took ${got.seconds.toFixed(2)} s, expected at least 0.8 s`);
        assert.strictEqual(r.counters().pulledBytes, 10 * MB);
    });

    it("without a profile (loopback) the same blob is not held back: it ends before a 2 MB/s link's 5 s", async () => {
        const loopback = await request(await start(), "GET", BLOB);
        await reg?.stop();
        const shaped = await request(await start(profile({ downMBps: 2 })), "GET", BLOB);
        assert.strictEqual(loopback.bytes, 10 * MB);
        assert.ok(shaped.seconds >= 4.5, `shaped took ${shaped.seconds.toFixed(2)} s, expected at least 4.5 s`);
        assert.ok(
            loopback.seconds < shaped.seconds,
            `unshaped ${loopback.seconds.toFixed(2)} s, shaped ${shaped.seconds.toFixed(2)} s`,
        );
    });

    it("a 10 MB upload over a 10 MB/s up link is held back to about 1 s, and the upstream gets every byte", async () => {
        const r = await start(profile({ upMBps: 10 }));
        const got = await request(r, "PUT", UPLOAD, Buffer.alloc(10 * MB, 1));
        assert.strictEqual(got.status, 201);
        assert.strictEqual(got.text, String(10 * MB));
        assert.ok(got.seconds >= 0.8, `took ${got.seconds.toFixed(2)} s, expected at least 0.8 s`);
        assert.strictEqual(r.counters().pushedBytes, 10 * MB);
    });

    it("a 10 MB pull and a 10 MB push at once are each held back, and each counted", async () => {
        const r = await start(profile({ downMBps: 10, upMBps: 10 }));
        const [down, up] = await Promise.all([
            request(r, "GET", BLOB),
            request(r, "PUT", UPLOAD, Buffer.alloc(10 * MB, 1)),
        ]);
        for (const [what, got] of [
            ["pull", down],
            ["push", up],
        ] as const)
            assert.ok(got.seconds >= 0.8, `${what} took ${got.seconds.toFixed(2)} s, expected at least 0.8 s`);
        assert.strictEqual(r.counters().pulledBytes, 10 * MB);
        assert.strictEqual(r.counters().pushedBytes, 10 * MB);
    });

    it("one direction's pipe is shared: two 5 MB pulls at once over 10 MB/s end after about 1 s, not 0.5 s", async () => {
        const r = await start(profile({ downMBps: 10 }));
        const both = await Promise.all([
            request(r, "GET", `${BLOB}?n=${5 * MB}`),
            request(r, "GET", `${BLOB}?n=${5 * MB}`),
        ]);
        const last = Math.max(...both.map((g) => g.seconds));
        assert.ok(last >= 0.8, `the later of two took ${last.toFixed(2)} s, expected at least 0.8 s`);
    });

    it("latency is paid per request: 10 manifest HEADs one after another at 50 ms each take at least 0.5 s", async () => {
        const r = await start(profile({ requestLatencyMs: 50 }));
        const t0 = performance.now();
        for (let i = 0; i < 10; i++) assert.strictEqual((await request(r, "HEAD", MANIFEST)).status, 201);
        const s = (performance.now() - t0) / 1000;
        assert.ok(s >= 0.5, `10 requests took ${s.toFixed(2)} s, expected at least 0.5 s`);
        assert.strictEqual(r.counters().requests, 10);
    });

    it("a blob GET pays the blob latency on top of the request latency", async () => {
        const r = await start(profile({ requestLatencyMs: 20, blobLatencyMs: 300 }));
        const blob = await request(r, "GET", `${BLOB}?n=10`);
        assert.ok(blob.seconds >= 0.3, `blob GET took ${blob.seconds.toFixed(3)} s, expected >= 0.32 s`);
    });
});

describe("shapedLink (pure parts)", () => {
    it("loopback and an all-zero profile give no link; any latency or rate gives one", () => {
        assert.strictEqual(shapedLink(undefined), undefined);
        assert.strictEqual(shapedLink(profile({})), undefined);
        assert.ok(shapedLink(profile({ requestLatencyMs: 1 })) instanceof ShapedLink);
        assert.ok(shapedLink(profile({ upMBps: 5 })) instanceof ShapedLink);
    });

    it("latencyMs: a blob GET pays both latencies, a blob HEAD or a manifest GET only the request's", () => {
        const link = new ShapedLink(profile({ requestLatencyMs: 10, blobLatencyMs: 100 }));
        assert.strictEqual(link.latencyMs("GET", BLOB), 110);
        assert.strictEqual(link.latencyMs("HEAD", BLOB), 10);
        assert.strictEqual(link.latencyMs("GET", MANIFEST), 10);
        assert.strictEqual(isBlobGet("GET", UPLOAD), false);
    });

    it("the two directions are two pipes: a 10 MB push at 10 MB/s ends after 1 s whatever the pull reserved", () => {
        const link = new ShapedLink(profile({ downMBps: 10, upMBps: 10 }));
        const down = link.pipes.down!;
        const up = link.pipes.up!;
        assert.notStrictEqual(down, up);
        assert.ok(Math.abs(down.reserve(10 * MB) - 1000) < 5);
        const push = up.reserve(10 * MB);
        assert.ok(Math.abs(push - 1000) < 5, `the push would end after ${push} ms, not 2,000 (one shared pipe)`);
        assert.strictEqual(new ShapedLink(profile({ downMBps: 10 })).pipes.up, undefined, "an unshaped direction");
    });

    it("each stream reserves its own direction's pipe: a chunk through down() leaves up() free", async () => {
        const link = new ShapedLink(profile({ downMBps: 10, upMBps: 10 }));
        const stream = link.down()!;
        const passed = new Promise((resolve) => stream.once("data", resolve));
        stream.write(Buffer.alloc(MB));
        const downBusy = link.pipes.down!.reserve(0);
        const upBusy = link.pipes.up!.reserve(0);
        assert.ok(downBusy > 0, `the down pipe is busy (${downBusy} ms) after 1 MB`);
        assert.strictEqual(upBusy, 0, "the up pipe is free");
        await passed;
        stream.destroy();
    });

    it("a pipe reserves first come first served: 1 MB at 10 MB/s is 100 ms, the next MB ends at 200 ms", () => {
        const pipe = new Pipe(10);
        const first = pipe.reserve(MB);
        const second = pipe.reserve(MB);
        assert.ok(Math.abs(first - 100) < 5, `first ${first}`);
        assert.ok(Math.abs(second - 200) < 5, `second ${second}`);
    });

    it("a bad rate or latency is refused with the key and the value", () => {
        assert.throws(() => new Pipe(0), /the rate must be a number of MB\/s above 0, got 0/);
        assert.throws(
            () => new ShapedLink(profile({ requestLatencyMs: -1 })),
            /network profile test: requestLatencyMs must be a number of ms >= 0, got -1/,
        );
    });
});
