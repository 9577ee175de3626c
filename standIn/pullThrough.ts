// ECR's pull-through cache, emulated in front of the local registry that plays ECR: an HTTP front on
// 127.0.0.1 that builds use as "ECR". Requests under a cache prefix (`GET`/`HEAD /v2/<prefix>/<path>/manifests/…`
// and `…/blobs/<digest>`) are answered from the local registry when it holds the content; on a miss, the front
// imports it from the rule's upstream registry into `<prefix>/<path>` of the local registry (manifest, child
// manifests of an index, config and layers) and then answers from there. Everything else (login, pushes, the
// layer cache, repositories outside the prefixes) passes through to the local registry unchanged.
//
// How ECR does it, and what is kept (ECR user guide, "Sync an upstream registry with an Amazon ECR private
// registry"): a pull of `<registry>/<prefix>/<upstream path>:<tag>` that misses fetches the image from the
// upstream with the rule's credential, creates the repository `<prefix>/<upstream path>` and stores the image
// there; later pulls are served from that repository. So the front STORES, not just proxies: a second build
// on a fresh host must get the base image without touching the upstream, and the cached repository must exist
// afterwards, as in ECR. The client authenticates to "ECR" only (the local registry's login): the front imports
// only after the local registry has answered an authenticated request with 404, and it talks to the upstream
// with the upstream's own credential, as ECR does with the rule's Secrets Manager secret.
//
// Not emulated: ECR checks the upstream for a newer image of a cached tag at least once every 24 hours (here a
// cached tag is never re-checked); repository creation templates (no lifecycle rules on the created repository);
// other requests under a prefix (pushes, tag lists) just pass through. Blobs are copied through memory (fine for
// base images of a few MB, as in the tests).
import * as http from "http";
import * as net from "net";
import type { LocalRegistry } from "./registry";

/** A pull-through cache rule: repositories under `prefix` come from `upstream` (host:port, plain HTTP). */
export interface PullThroughRule {
    prefix: string;
    upstream: { address: string; username: string; password: string };
}

/** A request the front handles as a pull through a cache rule. */
export interface CacheRequest {
    prefix: string;
    /** The repository in the local registry, `<prefix>/<upstream path>`. */
    repository: string;
    /** The repository in the upstream registry. */
    upstreamRepository: string;
    kind: "manifests" | "blobs";
    /** A tag or a digest for `manifests`, a digest for `blobs`. */
    reference: string;
}

const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/**
 * The cache request `method` `url` is, or undefined when it isn't one: only `GET` and `HEAD` of a manifest
 * (by tag or digest) or a blob (by digest) in a repository under one of `prefixes` (the longest that matches),
 * with a non-empty path below it. Uploads, tag lists, the `/v2/` ping and everything else are not.
 */
export function parseCacheRequest(method: string, url: string, prefixes: readonly string[]): CacheRequest | undefined {
    if (method !== "GET" && method !== "HEAD") return undefined;
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/?#]+)(?:\?.*)?$/.exec(url);
    if (!m) return undefined;
    const [, repository, kind, reference] = m as unknown as [string, string, "manifests" | "blobs", string];
    if (kind === "blobs" ? !DIGEST.test(reference) : !TAG.test(reference) && !DIGEST.test(reference)) {
        return undefined;
    }
    const prefix = [...prefixes]
        .sort((a, b) => b.length - a.length)
        .find((p) => repository.startsWith(`${p}/`) && repository.length > p.length + 1);
    if (prefix === undefined) return undefined;
    return { prefix, repository, upstreamRepository: repository.slice(prefix.length + 1), kind, reference };
}

/** What a manifest refers to: child manifests (of an index or manifest list) and blobs (config and layers). */
export function referencedContent(manifest: unknown): { manifests: string[]; blobs: string[] } {
    const m = (manifest ?? {}) as {
        manifests?: Array<{ digest?: unknown }>;
        config?: { digest?: unknown };
        layers?: Array<{ digest?: unknown }>;
    };
    const digests = (xs: Array<{ digest?: unknown }> | undefined) =>
        (xs ?? []).map((x) => x.digest).filter((d): d is string => typeof d === "string");
    return {
        manifests: digests(m.manifests),
        blobs: [...digests(m.config ? [m.config] : []), ...digests(m.layers)],
    };
}

/** Every manifest type an image here can have: OCI and Docker, single image and index. */
export const MANIFEST_TYPES = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
] as const;

/** One request the front made to an upstream registry. */
export interface UpstreamRequest {
    method: string;
    /** e.g. `/v2/library/busybox/manifests/1`. */
    path: string;
    status: number;
}

export interface PullThroughStats {
    /** Cache requests the local registry answered with 2xx without an upstream fetch (method, path, status). */
    servedFromCache: UpstreamRequest[];
    /** Manifests and blobs imported on a miss: `<repository>:<reference>` or `<repository>@<digest>`. */
    imported: string[];
    /** Every request made to an upstream registry, in order. */
    upstreamRequests: UpstreamRequest[];
}

export interface PullThroughFront {
    /** host:port of the front: the "ECR" address builds use. */
    address: string;
    /** The local registry as builds see it through the front: `address` is the front's, the rest is the registry's. */
    registry: LocalRegistry;
    stats(): PullThroughStats;
    resetStats(): void;
    /** Stops the front only (the registry behind it belongs to its owner). */
    stop(): Promise<void>;
}

const emptyStats = (): PullThroughStats => ({ servedFromCache: [], imported: [], upstreamRequests: [] });

/** Starts the front on 127.0.0.1 before `ecr` (the local registry playing ECR), with `rules`. */
export async function startPullThroughFront(
    ecr: LocalRegistry,
    rules: readonly PullThroughRule[],
): Promise<PullThroughFront> {
    let stats = emptyStats();
    const prefixes = rules.map((r) => r.prefix);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    const [ecrHost, ecrPort] = ecr.address.split(":");
    const basic = (u: string, p: string) => "Basic " + Buffer.from(`${u}:${p}`).toString("base64");
    // Imports write straight to the registry (not through its byte-counting proxy): they are ECR's own traffic.
    const ecrDirect = (path: string, init: RequestInit = {}) =>
        fetch(`http://${ecr.upstream}${path}`, {
            ...init,
            headers: { authorization: basic(ecr.username, ecr.password), ...(init.headers ?? {}) },
        });

    /** The client's request, sent on to the local registry (through its counting proxy), unanswered yet. */
    const forward = (req: http.IncomingMessage, body: boolean): Promise<http.IncomingMessage> =>
        new Promise((resolve, reject) => {
            const up = http.request(
                {
                    host: ecrHost,
                    port: Number(ecrPort),
                    method: req.method,
                    path: req.url,
                    headers: req.headers,
                    agent,
                },
                resolve,
            );
            up.on("error", reject);
            if (body) req.pipe(up);
            else up.end();
        });
    const answer = (res: http.ServerResponse, ures: http.IncomingMessage) => {
        res.writeHead(
            ures.statusCode ?? 502,
            ures.statusMessage,
            ures.rawHeaders as unknown as http.OutgoingHttpHeaders,
        );
        ures.pipe(res);
    };

    const upstreamGet = async (rule: PullThroughRule, path: string, accept?: string) => {
        const r = await fetch(`http://${rule.upstream.address}${path}`, {
            headers: {
                authorization: basic(rule.upstream.username, rule.upstream.password),
                ...(accept ? { accept } : {}),
            },
        });
        stats.upstreamRequests.push({ method: "GET", path, status: r.status });
        return r;
    };

    const copyBlob = async (rule: PullThroughRule, c: CacheRequest, digest: string): Promise<boolean> => {
        if ((await ecrDirect(`/v2/${c.repository}/blobs/${digest}`, { method: "HEAD" })).status === 200) return true;
        const r = await upstreamGet(rule, `/v2/${c.upstreamRepository}/blobs/${digest}`);
        if (r.status !== 200) return false;
        const body = Buffer.from(await r.arrayBuffer());
        const start = await ecrDirect(`/v2/${c.repository}/blobs/uploads/`, { method: "POST" });
        const location = start.headers.get("location");
        if (start.status !== 202 || !location) throw new Error(`blob upload to ${c.repository}: HTTP ${start.status}`);
        const put = new URL(location, `http://${ecr.upstream}`);
        put.searchParams.set("digest", digest);
        const done = await ecrDirect(put.pathname + put.search, {
            method: "PUT",
            body,
            headers: { "content-type": "application/octet-stream" },
        });
        if (done.status !== 201) throw new Error(`blob upload to ${c.repository}: HTTP ${done.status}`);
        stats.imported.push(`${c.repository}@${digest}`);
        return true;
    };

    const copyManifest = async (rule: PullThroughRule, c: CacheRequest, reference: string): Promise<boolean> => {
        const r = await upstreamGet(
            rule,
            `/v2/${c.upstreamRepository}/manifests/${reference}`,
            MANIFEST_TYPES.join(", "),
        );
        if (r.status !== 200) return false;
        const body = Buffer.from(await r.arrayBuffer());
        const type = r.headers.get("content-type") ?? MANIFEST_TYPES[3];
        const refs = referencedContent(JSON.parse(body.toString("utf8")));
        for (const d of refs.manifests) {
            if (!(await copyManifest(rule, c, d))) throw new Error(`${c.upstreamRepository}@${d}: not in the upstream`);
        }
        for (const d of refs.blobs) {
            if (!(await copyBlob(rule, c, d))) throw new Error(`${c.upstreamRepository}@${d}: not in the upstream`);
        }
        const put = await ecrDirect(`/v2/${c.repository}/manifests/${reference}`, {
            method: "PUT",
            body,
            headers: { "content-type": type },
        });
        if (put.status !== 201) throw new Error(`manifest ${c.repository}:${reference}: HTTP ${put.status}`);
        stats.imported.push(`${c.repository}${reference.includes(":") ? "@" : ":"}${reference}`);
        return true;
    };

    // One import per content at a time: BuildKit may ask for the same manifest twice at once.
    const inFlight = new Map<string, Promise<boolean>>();
    const importFor = (c: CacheRequest): Promise<boolean> => {
        const key = `${c.kind} ${c.repository} ${c.reference}`;
        let p = inFlight.get(key);
        if (!p) {
            const rule = rules.find((r) => r.prefix === c.prefix)!;
            p = (c.kind === "manifests" ? copyManifest(rule, c, c.reference) : copyBlob(rule, c, c.reference)).finally(
                () => inFlight.delete(key),
            );
            inFlight.set(key, p);
        }
        return p;
    };

    const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
        const c = parseCacheRequest(req.method ?? "", req.url ?? "/", prefixes);
        if (!c) return answer(res, await forward(req, true));
        const first = await forward(req, false);
        // 401: the client hasn't authenticated to "ECR" yet; anything but 404: ECR's answer stands.
        if (first.statusCode !== 404) {
            const status = first.statusCode ?? 0;
            if (status < 300) stats.servedFromCache.push({ method: req.method!, path: req.url!, status });
            return answer(res, first);
        }
        first.resume();
        await importFor(c);
        // Served from the local registry now, or its 404 when the upstream has no such content either.
        answer(res, await forward(req, false));
    };

    const server = http.createServer((req, res) => {
        handle(req, res).catch((e: unknown) => {
            if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
            res.end(`pull-through front: ${e instanceof Error ? e.message : String(e)}`);
        });
    });
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => resolve());
    });
    const address = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;

    let stopped = false;
    const stop = async () => {
        if (stopped) return;
        stopped = true;
        await new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections();
        });
        agent.destroy();
    };
    return {
        address,
        registry: {
            address,
            upstream: ecr.upstream,
            username: ecr.username,
            password: ecr.password,
            storageDir: ecr.storageDir,
            counters: () => ecr.counters(),
            resetCounters: () => ecr.resetCounters(),
            // The registry's own fault front, behind this one (requests this front serves itself are not faulted).
            faults: ecr.faults,
            stop,
        },
        stats: () => ({
            servedFromCache: [...stats.servedFromCache],
            imported: [...stats.imported],
            upstreamRequests: [...stats.upstreamRequests],
        }),
        resetStats: () => {
            stats = emptyStats();
        },
        stop,
    };
}
