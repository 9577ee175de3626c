/**
 * A second counting proxy, in front of the stand-in's registry (standIn/registry.ts), that keeps every request: method,
 * what it addressed (blob, upload, manifest), the digest, the status and the bytes each way. The transfer bench
 * (bench/transfer.ts) reads from it what the registry's counters can't tell: whether a blob was uploaded twice, how
 * many existence checks (HEAD) found a blob already there, and how many round trips each client made.
 *
 * It looks like a LocalRegistry to the stand-in (same user and password; its own address and counters), so a build
 * pointed at it goes through it and then through the registry's own proxy (and its fault front) as before.
 */
import * as http from "http";
import * as net from "net";
import type { ByteCounters, LocalRegistry } from "../standIn/registry";

/** What a request addressed, from its method and path (the distribution API's routes). */
export type RequestKind =
    | "blob GET"
    | "blob HEAD"
    | "upload start"
    | "upload data"
    | "upload end"
    | "manifest GET"
    | "manifest HEAD"
    | "manifest PUT"
    | "other";

export interface LoggedRequest {
    readonly method: string;
    readonly kind: RequestKind;
    /** The blob or manifest digest the request named (blobs; manifests by digest; an upload's end: `?digest=`). */
    readonly digest?: string;
    readonly status: number;
    /** Request body bytes (uploads, manifest PUTs). */
    readonly sentBytes: number;
    /** Response body bytes. */
    readonly receivedBytes: number;
    /** The User-Agent's first product name (`buildkit`, `docker`, `containerd`, `Go-http-client`…). */
    readonly client: string;
}

/** The kind of a request, from its method and path. Pure; exported for tests. */
export function requestKind(method: string, url: string): { kind: RequestKind; digest?: string } {
    const path = url.split("?")[0];
    const query = url.includes("?") ? url.slice(url.indexOf("?") + 1) : "";
    const digestOf = (s: string) => /sha256:[0-9a-f]{64}/.exec(decodeURIComponent(s))?.[0];
    if (/^\/v2\/.+\/blobs\/uploads\/?$/.test(path) && method === "POST") {
        // A cross-repository mount (`?mount=…&from=…`) is an upload start too.
        return { kind: "upload start", digest: digestOf(query) };
    }
    if (/^\/v2\/.+\/blobs\/uploads\/[^/]+$/.test(path)) {
        if (method === "PUT") return { kind: "upload end", digest: digestOf(query) };
        if (method === "PATCH") return { kind: "upload data" };
        return { kind: "other" };
    }
    const blob = /^\/v2\/.+\/blobs\/(sha256:[0-9a-f]{64})$/.exec(path);
    if (blob && (method === "GET" || method === "HEAD")) return { kind: `blob ${method}`, digest: blob[1] };
    const manifest = /^\/v2\/.+\/manifests\/([^/]+)$/.exec(path);
    if (manifest && (method === "GET" || method === "HEAD" || method === "PUT")) {
        return { kind: `manifest ${method}`, digest: digestOf(manifest[1]) };
    }
    return { kind: "other" };
}

export interface LoggedRegistry extends LocalRegistry {
    /** The requests since the last resetCounters(), in the order they ended. */
    requests(): LoggedRequest[];
}

/** Starts the logging proxy in front of `upstream` (its address), on a free port of 127.0.0.1. */
export async function startRequestLog(upstream: LocalRegistry): Promise<LoggedRegistry> {
    const [host, port] = [upstream.address.split(":")[0], Number(upstream.address.split(":")[1])];
    let log: LoggedRequest[] = [];
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    const server = http.createServer((req, res) => {
        const url = req.url ?? "/";
        const method = req.method ?? "GET";
        const { kind, digest } = requestKind(method, url);
        const client = /^[^/\s]+/.exec(req.headers["user-agent"] ?? "")?.[0] ?? "(none)";
        let sent = 0;
        let received = 0;
        const up = http.request({ host, port, method, path: url, headers: req.headers, agent }, (ures) => {
            res.writeHead(
                ures.statusCode ?? 502,
                ures.statusMessage,
                ures.rawHeaders as unknown as http.OutgoingHttpHeaders,
            );
            ures.on("data", (b: Buffer) => (received += b.length));
            ures.on("end", () =>
                log.push({
                    method,
                    kind,
                    digest,
                    status: ures.statusCode ?? 0,
                    sentBytes: sent,
                    receivedBytes: received,
                    client,
                }),
            );
            ures.pipe(res);
        });
        up.on("error", (e) => {
            if (!res.headersSent) res.writeHead(502);
            res.end(String(e));
        });
        req.on("data", (b: Buffer) => (sent += b.length));
        req.pipe(up);
    });
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => resolve());
    });
    const address = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    const counters = (): ByteCounters => {
        const c: ByteCounters = {
            pushedBytes: 0,
            pulledBytes: 0,
            manifestBytes: 0,
            requests: log.length,
            blobGets: 0,
            unauthorized: 0,
            deniedWrites: {},
            clients: {},
        };
        for (const r of log) {
            if (r.status === 403 && r.method !== "GET" && r.method !== "HEAD")
                c.deniedWrites[r.method] = (c.deniedWrites[r.method] ?? 0) + 1;
            c.pushedBytes += r.sentBytes;
            if (r.kind === "blob GET") {
                c.blobGets++;
                if (r.status < 300) c.pulledBytes += r.receivedBytes;
            }
            if (r.kind === "manifest GET") c.manifestBytes += r.receivedBytes;
            if (r.status === 401) c.unauthorized++;
            c.clients[r.client] = (c.clients[r.client] ?? 0) + 1;
        }
        return c;
    };
    return {
        ...upstream,
        address,
        counters,
        resetCounters: () => {
            log = [];
            upstream.resetCounters();
        },
        requests: () => [...log],
        stop: async () => {
            await new Promise<void>((r) => {
                server.close(() => r());
                server.closeAllConnections();
            });
            agent.destroy();
        },
    };
}

/** What a build's requests say about its uploads. Pure; exported for tests. */
export interface UploadSummary {
    /** Blobs whose upload finished (PUT …?digest=, 201), counted once each. */
    readonly blobsUploaded: number;
    /** Finished uploads of a digest that had already been uploaded in the same build (a second copy of the bytes). */
    readonly duplicateUploads: number;
    /** Bytes sent in the duplicate uploads (their PATCH and PUT bodies). */
    readonly duplicateBytes: number;
    /** Existence checks (blob HEAD) answered 200: a blob the client then did not upload. */
    readonly headsFound: number;
    /** Existence checks answered 404. */
    readonly headsMissing: number;
    /** Requests per kind. */
    readonly byKind: Readonly<Partial<Record<RequestKind, number>>>;
}

/**
 * The upload summary of a request log. An upload's bytes are its PUT's body (containerd's and so BuildKit's pusher
 * sends the blob in the PUT that ends the upload) or, when that is empty, the body of the same client's last PATCH
 * before it (dockerd's pusher sends the data in PATCHes; one PATCH per blob here, as its blobs are small): exact for
 * BuildKit, a close estimate for dockerd when its uploads interleave.
 */
export function uploadSummary(log: readonly LoggedRequest[]): UploadSummary {
    const seen = new Map<string, number>();
    const lastPatch = new Map<string, number>();
    const byKind: Partial<Record<RequestKind, number>> = {};
    let duplicateUploads = 0;
    let duplicateBytes = 0;
    let headsFound = 0;
    let headsMissing = 0;
    for (const r of log) {
        byKind[r.kind] = (byKind[r.kind] ?? 0) + 1;
        if (r.kind === "blob HEAD") {
            if (r.status === 200) headsFound++;
            else if (r.status === 404) headsMissing++;
        }
        if (r.kind === "upload data") lastPatch.set(r.client, r.sentBytes);
        if (r.kind === "upload end" && r.status === 201 && r.digest) {
            const n = seen.get(r.digest) ?? 0;
            if (n > 0) {
                duplicateUploads++;
                duplicateBytes += r.sentBytes > 0 ? r.sentBytes : (lastPatch.get(r.client) ?? 0);
            }
            seen.set(r.digest, n + 1);
        }
    }
    return { blobsUploaded: seen.size, duplicateUploads, duplicateBytes, headsFound, headsMissing, byKind };
}
