/**
 * The physical limit of a no-change rebuild: a build whose every input is unchanged needs only a few registry
 * round-trips (log in, look the image up by its key, point the tag at it), so its floor is the time of those
 * round-trips, not of any layer. This measures one round-trip against the local registry (an authenticated
 * manifest HEAD of an image that exists, through the same counting proxy the builds use) and states the floor as
 * {@link LIMIT_ROUND_TRIPS} of them.
 */
import * as http from "http";
import type { LocalRegistry } from "../standIn/registry";

/** Round-trips of a no-change rebuild at its floor: the login's token, the lookup (manifest HEAD), the tag (manifest PUT). */
export const LIMIT_ROUND_TRIPS = 3;

export interface RegistryLimit {
    /** Median milliseconds of one authenticated manifest HEAD. */
    readonly roundTripMs: number;
    /** How many were timed. */
    readonly samples: number;
    /** The floor of a no-change rebuild: LIMIT_ROUND_TRIPS round-trips, in seconds. */
    readonly limitSeconds: number;
}

/** Median of a non-empty list. */
export function median(xs: readonly number[]): number {
    if (xs.length === 0) throw new Error("median of nothing");
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The limit from timed round-trips (milliseconds). */
export function limitOf(roundTripsMs: readonly number[]): RegistryLimit {
    const roundTripMs = median(roundTripsMs);
    return { roundTripMs, samples: roundTripsMs.length, limitSeconds: (LIMIT_ROUND_TRIPS * roundTripMs) / 1000 };
}

/** How many times a no-change rebuild's time is the limit (1 = at the limit). */
export function timesLimit(buildSeconds: number, limit: Pick<RegistryLimit, "limitSeconds">): number {
    return buildSeconds / limit.limitSeconds;
}

function headOnce(registry: LocalRegistry, repo: string, tag: string): Promise<{ ms: number; status: number }> {
    const [host, port] = registry.address.split(":");
    const auth = Buffer.from(`${registry.username}:${registry.password}`).toString("base64");
    const t0 = process.hrtime.bigint();
    return new Promise((resolve, reject) => {
        const req = http.request(
            {
                host,
                port: Number(port),
                method: "HEAD",
                path: `/v2/${repo}/manifests/${tag}`,
                agent: false, // a new connection each time, as a fresh client's first request
                headers: {
                    Authorization: `Basic ${auth}`,
                    Accept: "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.index.v1+json",
                },
            },
            (res) => {
                res.resume();
                res.on("end", () =>
                    resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, status: res.statusCode ?? 0 }),
                );
            },
        );
        req.on("error", reject);
        req.end();
    });
}

/** Times `n` manifest HEADs of `repo:tag` (which must exist) and returns the limit. */
export async function measureRegistryLimit(
    registry: LocalRegistry,
    repo: string,
    tag: string,
    n = 21,
): Promise<RegistryLimit> {
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
        const r = await headOnce(registry, repo, tag);
        if (r.status !== 200) throw new Error(`HEAD ${repo}:${tag} answered ${r.status}, expected 200`);
        times.push(r.ms);
    }
    return limitOf(times);
}
