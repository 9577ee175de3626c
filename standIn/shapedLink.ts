/**
 * The shaping of the stand-in registry's link (a {@link NetworkProfile}), applied by its counting proxy
 * (standIn/registry.ts):
 * - latency: each request waits `requestLatencyMs` (a blob GET `blobLatencyMs` more) before it is forwarded, as if
 *   its round trip had crossed the link;
 * - bandwidth: each direction is one pipe of fixed rate, shared by every connection at once, first come first
 *   served: a chunk crosses when the chunks reserved before it have, so two 10 MB downloads at once over 10 MB/s
 *   take 2 s together, as on one real link. Pulls (response bodies) and pushes (request bodies) have a pipe each, so
 *   one direction does not slow the other. An idle pipe saves no credit for a burst.
 *
 * Back-pressure holds: a chunk's transform calls back only when the chunk has crossed, so a sender is paused by its
 * stream, not buffered without bound.
 */
import { Transform } from "stream";
import { NetworkProfile, shapes } from "./networkProfiles";

/** Bytes in one MB (10^6, as the bench's MB pulled and pushed). */
const MB = 1e6;

/** One direction of the link: a FIFO pipe of `mbps` MB/s shared by every stream made from it. */
export class Pipe {
    /** When (ms, `performance.now()`) the bytes reserved so far have all crossed. */
    private freeAt = 0;
    private readonly bytesPerMs: number;

    constructor(readonly mbps: number) {
        if (!(mbps > 0)) throw new Error(`Pipe: the rate must be a number of MB/s above 0, got ${mbps}`);
        this.bytesPerMs = (mbps * MB) / 1000;
    }

    /** Reserve the pipe for `bytes`; returns how many ms from now they will have crossed. */
    reserve(bytes: number): number {
        const now = performance.now();
        this.freeAt = Math.max(now, this.freeAt) + bytes / this.bytesPerMs;
        return this.freeAt - now;
    }

    /** A pass-through stream whose chunks cross this pipe (each chunk is passed on once it has crossed). */
    stream(): Transform {
        return new Transform({
            transform: (chunk: Buffer, _encoding, callback) => {
                const wait = this.reserve(chunk.length);
                if (wait < 1) callback(null, chunk);
                else setTimeout(() => callback(null, chunk), wait);
            },
        });
    }
}

/** A registry link shaped by a profile: the proxy asks it how long to hold a request and for the two pipes. */
export class ShapedLink {
    private readonly downPipe?: Pipe;
    private readonly upPipe?: Pipe;
    /** The pipe of each direction (undefined: unshaped), one each, never shared (read by tests). */
    readonly pipes: { readonly down?: Pipe; readonly up?: Pipe };

    constructor(readonly profile: NetworkProfile) {
        for (const key of ["requestLatencyMs", "blobLatencyMs"] as const) {
            const v = profile[key];
            if (!(Number.isFinite(v) && v >= 0))
                throw new Error(`network profile ${profile.name}: ${key} must be a number of ms >= 0, got ${v}`);
        }
        if (profile.downMBps !== undefined) this.downPipe = new Pipe(profile.downMBps);
        if (profile.upMBps !== undefined) this.upPipe = new Pipe(profile.upMBps);
        this.pipes = { down: this.downPipe, up: this.upPipe };
    }

    /** Milliseconds a request waits before it is forwarded: the request's round trip, and a blob GET's first byte. */
    latencyMs(method: string, url: string): number {
        return this.profile.requestLatencyMs + (isBlobGet(method, url) ? this.profile.blobLatencyMs : 0);
    }

    /** Calls `next` once the request's latency has passed (at once when it is 0). */
    hold(method: string, url: string, next: () => void): void {
        const ms = this.latencyMs(method, url);
        if (ms <= 0) next();
        else setTimeout(next, ms);
    }

    /** A stream for a response body (registry to build), or undefined when pulls are unshaped. */
    down(): Transform | undefined {
        return this.downPipe?.stream();
    }

    /** A stream for a request body (build to registry), or undefined when pushes are unshaped. */
    up(): Transform | undefined {
        return this.upPipe?.stream();
    }
}

/** The link for a profile, or undefined when it shapes nothing (loopback). */
export function shapedLink(profile: NetworkProfile | undefined): ShapedLink | undefined {
    return profile && shapes(profile) ? new ShapedLink(profile) : undefined;
}

/** A layer or config download: `GET /v2/<name>/blobs/sha256:<hex>` (the proxy counts these as pulled bytes). */
export function isBlobGet(method: string, url: string): boolean {
    return method === "GET" && /^\/v2\/.+\/blobs\/sha256:[0-9a-f]+/.test(url);
}
