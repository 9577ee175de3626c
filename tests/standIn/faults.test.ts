/**
 * The fault-injecting front of the local registry (standIn/faults.ts), Docker-free: a real HTTP server stands in
 * for the registry behind a real front on 127.0.0.1, and a real HTTP client sends the requests. Nothing is
 * mocked.
 */
import { strict as assert } from "assert";
import * as http from "http";
import * as net from "net";
import { FaultFront, FaultPlan, matches, mulberry32, validatePlan } from "../../standIn/faults";

/** An upstream that answers 200 "ok" (and counts), with the front before it, like registry.ts wires it. */
async function frontOnUpstream(): Promise<{
    front: FaultFront;
    port: number;
    upstreamHits: () => number;
    close: () => Promise<void>;
}> {
    let hits = 0;
    const front = new FaultFront();
    const server = http.createServer((req, res) =>
        front.handle(req, res, () => {
            hits++;
            req.resume();
            req.on("end", () => res.end("ok"));
        }),
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as net.AddressInfo).port;
    return {
        front,
        port,
        upstreamHits: () => hits,
        close: () =>
            new Promise<void>((r) => {
                server.close(() => r());
                server.closeAllConnections();
            }),
    };
}

interface Answer {
    status?: number;
    body?: string;
    error?: string;
    ms: number;
}

function send(port: number, method: string, path: string, body?: string): Promise<Answer> {
    const t0 = Date.now();
    return new Promise((resolve) => {
        const req = http.request({ host: "127.0.0.1", port, method, path, agent: false }, (res) => {
            let text = "";
            res.setEncoding("utf8");
            res.on("data", (d: string) => (text += d));
            res.on("end", () => resolve({ status: res.statusCode, body: text, ms: Date.now() - t0 }));
        });
        req.on("error", (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message, ms: Date.now() - t0 }));
        req.end(body);
    });
}

const BLOB = "/v2/app/blobs/sha256:" + "a".repeat(64);
const MANIFEST = "/v2/app/manifests/latest";

describe("fault front of the local registry (standIn/faults.ts)", () => {
    let f: Awaited<ReturnType<typeof frontOnUpstream>>;
    beforeEach(async () => {
        f = await frontOnUpstream();
    });
    afterEach(async () => {
        await f.close();
    });

    it("is off until a plan is set: every request reaches the registry, nothing is counted", async () => {
        for (const p of ["/v2/", BLOB, MANIFEST]) assert.equal((await send(f.port, "GET", p)).status, 200);
        assert.equal(f.upstreamHits(), 3);
        assert.equal(f.front.stats().seen, 0);
    });

    it("an outage (rate 1) of 503: every matching request is answered 503 with a registry error body, none reaches the registry; clear() ends it", async () => {
        f.front.set({ rate: 1, kinds: ["503"] });
        const a = await send(f.port, "HEAD", MANIFEST);
        assert.equal(a.status, 503);
        const b = await send(f.port, "PUT", BLOB, "x".repeat(100_000));
        assert.equal(b.status, 503);
        assert.match(b.body ?? "", /"code":"UNAVAILABLE"/);
        // `data` (the default) leaves /v2/ alone: a login still works.
        assert.equal((await send(f.port, "GET", "/v2/")).status, 200);
        assert.equal(f.upstreamHits(), 1);
        assert.deepEqual(f.front.stats().injected, { "429": 0, "429json": 0, "500": 0, "503": 2, reset: 0, delay: 0 });
        f.front.clear();
        assert.equal((await send(f.port, "GET", MANIFEST)).status, 200);
        assert.equal(f.front.stats().injected["503"], 2, "the stats of the last plan stay readable");
    });

    it("429 has an empty body (as ECR's throttling looks to a HEAD); 500 a plain-text body, as a proxy's", async () => {
        f.front.set({ rate: 1, kinds: ["429"] });
        const t = await send(f.port, "GET", MANIFEST);
        assert.deepEqual([t.status, t.body], [429, ""]);
        f.front.set({ rate: 1, kinds: ["500"] });
        const e = await send(f.port, "GET", MANIFEST);
        assert.deepEqual([e.status, e.body], [500, "internal server error\n"]);
    });

    it("429json has ECR's TOOMANYREQUESTS body on a GET, none on a HEAD", async () => {
        f.front.set({ rate: 1, kinds: ["429json"] });
        const t = await send(f.port, "GET", MANIFEST);
        assert.deepEqual(
            [t.status, JSON.parse(t.body ?? "")],
            [429, { errors: [{ code: "TOOMANYREQUESTS", message: "Rate exceeded" }] }],
        );
        const h = await send(f.port, "HEAD", MANIFEST);
        assert.deepEqual([h.status, h.body], [429, ""]);
        assert.equal(f.upstreamHits(), 0);
    });

    it("skip lets the first N matching requests through, then faults as planned", async () => {
        f.front.set({ rate: 1, kinds: ["503"], skip: 2 });
        const statuses = [];
        for (let i = 0; i < 4; i++) statuses.push((await send(f.port, "GET", MANIFEST)).status);
        assert.deepEqual(statuses, [200, 200, 503, 503]);
        assert.equal(f.upstreamHits(), 2);
        assert.throws(
            () => f.front.set({ rate: 1, kinds: ["503"], skip: -1 }),
            /'skip' is -1; allowed: an integer, 0 or more/,
        );
    });

    it("reset drops the connection: the client gets ECONNRESET and no answer", async () => {
        f.front.set({ rate: 1, kinds: ["reset"] });
        const r = await send(f.port, "GET", BLOB);
        assert.equal(r.status, undefined);
        assert.equal(r.error, "ECONNRESET");
        assert.equal(f.upstreamHits(), 0);
    });

    it("delay holds a request, then passes it on", async () => {
        f.front.set({ rate: 1, kinds: ["delay"], delayMs: 300 });
        const r = await send(f.port, "GET", BLOB);
        assert.equal(r.status, 200);
        assert.ok(r.ms >= 280, `${r.ms} ms`);
        assert.equal(f.upstreamHits(), 1);
    });

    it("rate 0.1 over 500 requests: about a tenth fail, the same ones for the same seed and order, others for another seed", async () => {
        const plan: FaultPlan = { rate: 0.1, kinds: ["429", "500", "503"], seed: 7 };
        const run = async (p: FaultPlan) => {
            f.front.set(p);
            const out: number[] = [];
            for (let i = 0; i < 500; i++) out.push((await send(f.port, "GET", `${BLOB}?i=${i}`)).status ?? 0);
            return out;
        };
        const a = await run(plan);
        const b = await run(plan);
        const c = await run({ ...plan, seed: 8 });
        const failed = a.filter((s) => s !== 200).length;
        assert.ok(failed >= 30 && failed <= 75, `${failed} of 500 failed at rate 0.1`);
        assert.deepEqual(b, a, "same seed, same order: the same faults");
        assert.notDeepEqual(c, a, "another seed: other faults");
        assert.deepEqual(new Set(a.filter((s) => s !== 200)), new Set([429, 500, 503]), "each kind is drawn");
        const s = f.front.stats();
        assert.equal(s.seen, 500);
        assert.equal(s.log.length, c.filter((x) => x !== 200).length);
    });

    it("limit: at most that many faults, then healthy", async () => {
        f.front.set({ rate: 1, kinds: ["503"], limit: 2 });
        const statuses = [];
        for (let i = 0; i < 4; i++) statuses.push((await send(f.port, "GET", MANIFEST)).status);
        assert.deepEqual(statuses, [503, 503, 200, 200]);
    });

    it("which requests a plan matches: data, all, writes, reads, one repository", () => {
        const up = "/v2/app/blobs/uploads/5f0c?_state=x";
        assert.equal(matches({}, "GET", "/v2/"), false);
        assert.equal(matches({}, "GET", BLOB), true);
        assert.equal(matches({}, "PATCH", up), true);
        assert.equal(matches({ match: "all" }, "GET", "/v2/"), true);
        assert.equal(matches({ match: "writes" }, "HEAD", MANIFEST), false);
        assert.equal(matches({ match: "writes" }, "PUT", MANIFEST), true);
        assert.equal(matches({ match: "writes" }, "POST", "/v2/app/blobs/uploads/"), true);
        assert.equal(matches({ match: "reads" }, "GET", BLOB), true);
        assert.equal(matches({ match: "reads" }, "PUT", BLOB), false);
        assert.equal(matches({ repo: "e2e/a" }, "GET", "/v2/e2e/a/manifests/x"), true);
        assert.equal(matches({ repo: "e2e/a" }, "GET", "/v2/e2e/b/manifests/x"), false);
        assert.equal(matches({ repo: "e2e/a", match: "all" }, "GET", "/v2/"), true);
        assert.equal(matches({ repo: "e2e/a", match: "all" }, "GET", "/v2/e2e/b/manifests/x"), false);
        // One tag's write: the registry strategy's cache export, not the image push.
        const cacheWrite = { match: "writes", path: /\/manifests\/buildcache$/ } as const;
        assert.equal(matches(cacheWrite, "PUT", "/v2/app/manifests/buildcache"), true);
        assert.equal(matches(cacheWrite, "PUT", "/v2/app/manifests/latest"), false);
        assert.equal(matches(cacheWrite, "HEAD", "/v2/app/manifests/buildcache"), false);
    });

    it("a bad plan is refused with an error naming the key, the value and what is allowed", () => {
        const bad: [Partial<FaultPlan>, RegExp][] = [
            [{ rate: 1.5 }, /'rate' is 1\.5; allowed: a number from 0 to 1\./],
            [{ kinds: [] }, /'kinds' is \[\]; allowed: a non-empty list of 429, 429json, 500, 503, reset, delay\./],
            [{ kinds: ["418" as never] }, /'kinds' is "418"; allowed: 429, 429json, 500, 503, reset, delay\./],
            [{ match: "some" as never }, /'match' is "some"; allowed: data, all, writes, reads\./],
            [{ delayMs: -1 }, /'delayMs' is -1; allowed: an integer from 0 to 600000\./],
            [{ seed: 1.5 }, /'seed' is 1\.5; allowed: an integer\./],
            [{ limit: -2 }, /'limit' is -2; allowed: an integer, 0 or more\./],
            [{ path: "latest" as never }, /'path' is "latest"; allowed: a regular expression\./],
        ];
        for (const [over, msg] of bad) {
            assert.throws(() => validatePlan({ rate: 0.1, kinds: ["503"], ...over }), msg);
        }
        assert.doesNotThrow(() => validatePlan({ rate: 0, kinds: ["delay"], delayMs: 0, limit: 0, seed: -3 }));
    });

    it("mulberry32 is deterministic per seed and spreads over [0, 1)", () => {
        const a = mulberry32(42);
        const b = mulberry32(42);
        const xs = Array.from({ length: 1000 }, () => a());
        assert.deepEqual(
            Array.from({ length: 1000 }, () => b()),
            xs,
        );
        assert.ok(xs.every((x) => x >= 0 && x < 1));
        const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
        assert.ok(Math.abs(mean - 0.5) < 0.05, String(mean));
    });
});
