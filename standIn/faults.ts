// A fault-injecting front for the local registry (issue 14): the registry's proxy (registry.ts) hands every
// request to `FaultFront.handle` first, which either passes it on or answers it with a fault: an HTTP 429 with
// an empty body (as ECR's throttling looks to a HEAD) or with a registry error body (`429json`: TOOMANYREQUESTS, as
// a throttled GET, PUT or POST gets it; a HEAD still gets no body), a 500 or a 503 with a registry error body, a dropped
// connection (TCP reset), or a delay before passing it on. It is off until `set(plan)` switches it on, and
// `clear()` switches it off again, so one scenario can have healthy builds and faulty builds against the same
// registry.
//
// Deterministic: which matching request gets a fault, and which fault, is drawn from a PRNG seeded by the plan
// (mulberry32), in the order the requests arrive. The same plan over the same sequence of requests injects the
// same faults; builds that send requests in parallel (layer uploads) can order them differently from run to
// run, so the faults can land on other requests, but their share and number stay those of the plan.
import type * as http from "http";

export const FAULT_KINDS = ["429", "429json", "500", "503", "reset", "delay"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/**
 * Which requests a plan can hit:
 * - `data`: blob and manifest requests (`/v2/<name>/blobs/…`, `/v2/<name>/manifests/…`, uploads included);
 * - `all`: every request, `/v2/` (login and ping) too: a full outage;
 * - `writes`: data requests that write (PUT, POST, PATCH, DELETE): pushes and cache exports fail, reads work;
 * - `reads`: data requests that read (GET, HEAD).
 */
export const FAULT_MATCHES = ["data", "all", "writes", "reads"] as const;
export type FaultMatch = (typeof FAULT_MATCHES)[number];

export interface FaultPlan {
    /** Share of the matching requests that get a fault, from 0 to 1 (1: every one, an outage). */
    readonly rate: number;
    /** The faults to inject; each faulty request gets one of them, drawn with the seed. */
    readonly kinds: readonly FaultKind[];
    /** Which requests can get a fault. @default "data" */
    readonly match?: FaultMatch;
    /** Only requests of this repository (`/v2/<repo>/…`); every repository when unset. */
    readonly repo?: string;
    /** Only requests whose path (without the query) matches, e.g. `/\/manifests\/buildcache$/`: the cache tag's write. */
    readonly path?: RegExp;
    /** How long a `delay` fault holds a request before passing it on, in ms, 0 to 600000. @default 2000 */
    readonly delayMs?: number;
    /** Seed of the draw, an integer. @default 1 */
    readonly seed?: number;
    /** At most this many faults, then the front passes everything on; unset: no limit. */
    readonly limit?: number;
    /**
     * The first this many matching requests pass untouched (and draw nothing), e.g. to let the buildspec's own lookup
     * of a manifest through and fail BuildKit's read of it. @default 0
     */
    readonly skip?: number;
}

export interface FaultStats {
    /** Requests seen while a plan was on. */
    seen: number;
    /** Of those, requests the plan matched. */
    matched: number;
    /** Faults injected, per kind. */
    injected: Record<FaultKind, number>;
    /** Every fault injected: method, path (without query) and kind, in order. */
    log: { method: string; path: string; kind: FaultKind }[];
}

/** mulberry32: a small, fast, seedable PRNG with a 2^32 period; enough to spread faults evenly. */
export function mulberry32(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

const DATA_PATH = /^\/v2\/(.+)\/(blobs|manifests)\//;
const WRITES = new Set(["PUT", "POST", "PATCH", "DELETE"]);

/** Whether a request (method, URL path) is one the plan's `match` and `repo` select. */
export function matches(plan: Pick<FaultPlan, "match" | "repo" | "path">, method: string, url: string): boolean {
    const path = url.split("?")[0];
    if (plan.path !== undefined && !plan.path.test(path)) return false;
    const data = DATA_PATH.exec(path);
    if (plan.repo !== undefined && data?.[1] !== plan.repo) {
        // With a repository given, only its data requests count, and `/v2/` only for a full outage.
        return plan.match === "all" && path === "/v2/";
    }
    switch (plan.match ?? "data") {
        case "all":
            return true;
        case "data":
            return data !== null;
        case "writes":
            return data !== null && WRITES.has(method);
        case "reads":
            return data !== null && !WRITES.has(method);
    }
}

/** Checks a plan; throws an error naming the key, the value and what is allowed. */
export function validatePlan(plan: FaultPlan): void {
    const bad = (key: string, value: unknown, allowed: string) => {
        throw new Error(`Invalid fault plan: '${key}' is ${JSON.stringify(value)}; allowed: ${allowed}.`);
    };
    if (typeof plan.rate !== "number" || !(plan.rate >= 0 && plan.rate <= 1)) {
        bad("rate", plan.rate, "a number from 0 to 1");
    }
    if (!Array.isArray(plan.kinds) || plan.kinds.length === 0) {
        bad("kinds", plan.kinds, `a non-empty list of ${FAULT_KINDS.join(", ")}`);
    }
    for (const k of plan.kinds) {
        if (!(FAULT_KINDS as readonly string[]).includes(k)) bad("kinds", k, FAULT_KINDS.join(", "));
    }
    if (plan.match !== undefined && !(FAULT_MATCHES as readonly string[]).includes(plan.match)) {
        bad("match", plan.match, FAULT_MATCHES.join(", "));
    }
    if (
        plan.delayMs !== undefined &&
        !(Number.isInteger(plan.delayMs) && plan.delayMs >= 0 && plan.delayMs <= 600_000)
    ) {
        bad("delayMs", plan.delayMs, "an integer from 0 to 600000");
    }
    if (plan.seed !== undefined && !Number.isInteger(plan.seed)) bad("seed", plan.seed, "an integer");
    if (plan.limit !== undefined && !(Number.isInteger(plan.limit) && plan.limit >= 0)) {
        bad("limit", plan.limit, "an integer, 0 or more");
    }
    if (plan.skip !== undefined && !(Number.isInteger(plan.skip) && plan.skip >= 0)) {
        bad("skip", plan.skip, "an integer, 0 or more");
    }
    if (plan.path !== undefined && !(plan.path instanceof RegExp)) bad("path", plan.path, "a regular expression");
    if (plan.repo !== undefined && (typeof plan.repo !== "string" || plan.repo === "")) {
        bad("repo", plan.repo, "a repository name");
    }
}

const zeroStats = (): FaultStats => ({
    seen: 0,
    matched: 0,
    injected: { "429": 0, "429json": 0, "500": 0, "503": 0, reset: 0, delay: 0 },
    log: [],
});

/**
 * The bodies of the 500 and 503 faults: a 503 as distribution writes one (its UNAVAILABLE error, which BuildKit
 * prints as `unavailable: service unavailable`), a 500 as a proxy or load balancer does, in plain text (BuildKit
 * then prints the status: `500 Internal Server Error`).
 */
const ERROR_BODIES: Record<"429json" | "500" | "503", { type: string; body: string }> = {
    "429json": {
        type: "application/json",
        body: JSON.stringify({ errors: [{ code: "TOOMANYREQUESTS", message: "Rate exceeded" }] }),
    },
    "500": { type: "text/plain; charset=utf-8", body: "internal server error\n" },
    "503": {
        type: "application/json",
        body: JSON.stringify({ errors: [{ code: "UNAVAILABLE", message: "service unavailable" }] }),
    },
};

export class FaultFront {
    private plan: FaultPlan | undefined;
    private draw: () => number = mulberry32(1);
    private s: FaultStats = zeroStats();

    /** Switches the front on with `plan` (validated), from a fresh draw and fresh stats. */
    set(plan: FaultPlan): void {
        validatePlan(plan);
        this.plan = { ...plan, kinds: [...plan.kinds] };
        this.draw = mulberry32(plan.seed ?? 1);
        this.s = zeroStats();
    }

    /** Switches the front off: every request passes. The stats of the last plan stay readable. */
    clear(): void {
        this.plan = undefined;
    }

    /** The plan in force, if any. */
    current(): FaultPlan | undefined {
        return this.plan;
    }

    stats(): FaultStats {
        return { ...this.s, injected: { ...this.s.injected }, log: [...this.s.log] };
    }

    /** The fault for one request, or undefined to pass it on; counts it. Exposed for tests. */
    decide(method: string, url: string): FaultKind | undefined {
        const plan = this.plan;
        if (!plan) return undefined;
        this.s.seen++;
        if (!matches(plan, method, url)) return undefined;
        this.s.matched++;
        if (this.s.matched <= (plan.skip ?? 0)) return undefined;
        const total = FAULT_KINDS.reduce((n, k) => n + this.s.injected[k], 0);
        if (plan.limit !== undefined && total >= plan.limit) return undefined;
        // Two draws per matching request, always, so a request's fate doesn't depend on the earlier ones' kinds.
        const hit = this.draw() < plan.rate;
        const kind = plan.kinds[Math.floor(this.draw() * plan.kinds.length)];
        if (!hit) return undefined;
        this.s.injected[kind]++;
        this.s.log.push({ method, path: url.split("?")[0], kind });
        return kind;
    }

    /** The proxy's entry: answers `req` with a fault, or calls `next()` (at once, or after a delay). */
    handle(req: http.IncomingMessage, res: http.ServerResponse, next: () => void): void {
        const kind = this.decide(req.method ?? "GET", req.url ?? "/");
        if (kind === undefined) return next();
        if (kind === "delay") {
            setTimeout(next, this.plan?.delayMs ?? 2000);
            return;
        }
        if (kind === "reset") {
            // A dropped connection: a TCP reset (the client sees "connection reset by peer" or an EOF).
            req.socket.resetAndDestroy();
            return;
        }
        // The request body (a layer upload) is read and dropped, so the connection stays usable.
        req.resume();
        const { type, body } =
            kind === "429" || (kind === "429json" && req.method === "HEAD")
                ? { type: undefined, body: "" }
                : ERROR_BODIES[kind];
        res.writeHead(kind === "429json" ? 429 : Number(kind), {
            "Content-Length": Buffer.byteLength(body),
            ...(type ? { "Content-Type": type } : {}),
            "Docker-Distribution-Api-Version": "registry/2.0",
        });
        res.end(body);
    }
}
