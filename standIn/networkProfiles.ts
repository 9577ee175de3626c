/**
 * Network profiles for the stand-in registry's link: what moving bytes to and from "ECR" costs. The stand-in's
 * registry sits on loopback, where a manifest round trip takes about 2 ms and layers move at memory speed; on
 * CodeBuild the bytes cost time. A profile is applied by the registry's counting proxy (standIn/registry.ts, shaped by
 * standIn/shapedLink.ts), so every build, every strategy and the floor measurement (bench/limit.ts) pay it alike.
 *
 * Why the proxy and not a kernel tool: `tc qdisc … netem` on `lo` would shape every loopback connection of the
 * machine (other Docker hosts, other tests), and the proxy already sees each request and counts its bytes.
 *
 * `npm run bench -- --network NAME` and `npm run local-build -- --network NAME` pick one; `loopback` is the default.
 * MB here is 10^6 bytes, as in the bench's MB pulled and pushed.
 */
import { Flag, invalidValue } from "../localBuild/flags";

export interface NetworkProfile {
    /** The name given to `--network`. */
    readonly name: string;
    /** One line: what link this stands for. */
    readonly description: string;
    /**
     * Milliseconds added before every request is forwarded: one round trip per request (a manifest HEAD, a token,
     * a blob upload's PATCH/PUT). 0 for none.
     */
    readonly requestLatencyMs: number;
    /**
     * Milliseconds added, on top of `requestLatencyMs`, before a blob GET: on ECR a layer download is answered by a
     * redirect to S3, whose first byte comes later. 0 for none.
     */
    readonly blobLatencyMs: number;
    /** MB/s from the registry to the build (pulls), shared by every connection at once; undefined = unshaped. */
    readonly downMBps?: number;
    /** MB/s from the build to the registry (pushes), shared by every connection at once; undefined = unshaped. */
    readonly upMBps?: number;
    /** Where each number comes from, or that it is an assumption: one entry per number. */
    readonly sources: readonly string[];
}

/** The write-up's warm build: about 6 minutes, "most of which" downloading "almost 5 GB" from ECR. */
const WRITEUP_SOURCE =
    "the original write-up (../shared/seed/): warm build about 6 min, 'most of which is spent downloading the image from Amazon ECR (which is almost 5 GB)': 5000 MB over 4.5–5.5 min is 15–19 MB/s of pull and extract together";
/** AWS whitepaper 'Best Practices Design Patterns: Optimizing Amazon S3 Performance' (first byte of small objects). */
const S3_FIRST_BYTE_SOURCE =
    "AWS whitepaper 'Best Practices Design Patterns: Optimizing Amazon S3 Performance': consistent latencies for small objects of about 100–200 ms (first byte); ECR serves layer blobs from S3";
/** A table of measured average latency between AWS regions (2017). */
const INTER_REGION_SOURCE =
    "measured average latency between AWS regions (table 'Latency Between AWS Global Regions', reproduced at acomputerscientistlearnsaws.blogspot.com/2017/04/aws-regions.html): US East (N. Virginia) to EU (Ireland) 80.5 ms";
/** Amazon VPC user guide, 'NAT gateway basics'. */
const NAT_SOURCE =
    "Amazon VPC user guide, 'NAT gateway basics': 'A NAT gateway supports 5 Gbps of bandwidth and automatically scales up to 100 Gbps', so the gateway itself is not what limits one build";

/** Every profile `--network` accepts, by name. `loopback` shapes nothing. */
export const NETWORK_PROFILES = {
    loopback: {
        name: "loopback",
        description: "the stand-in as it is: loopback, no added latency, memory-speed transfers",
        requestLatencyMs: 0,
        blobLatencyMs: 0,
        sources: ["measured here: a manifest HEAD takes about 2 ms (bench/limit.ts)"],
    },
    writeup: {
        name: "writeup",
        description:
            "derived from the original write-up's own figure: CodeBuild pulling from ECR at about 17 MB/s (pull and extract)",
        requestLatencyMs: 10,
        blobLatencyMs: 100,
        downMBps: 17,
        upMBps: 17,
        sources: [
            `downMBps 17: ${WRITEUP_SOURCE}; the middle of that range. The stand-in extracts on top of it, so this errs slow`,
            "upMBps 17: an assumption; the write-up gives no push figure, so pushes are taken at the pull rate",
            "requestLatencyMs 10: an assumption for one HTTPS request to ECR's API in the same region",
            `blobLatencyMs 100: ${S3_FIRST_BYTE_SOURCE}; the lower end`,
        ],
    },
    "in-region": {
        name: "in-region",
        description: "a fast in-region link: CodeBuild and ECR in one region, no NAT in the way",
        requestLatencyMs: 5,
        blobLatencyMs: 50,
        downMBps: 100,
        upMBps: 60,
        sources: [
            "downMBps 100: an assumption (about 6× the write-up's rate; CodeBuild publishes no network bandwidth per compute type)",
            "upMBps 60: an assumption (pushes are slower than pulls: each layer is uploaded, then checked)",
            "requestLatencyMs 5: an assumption for one HTTPS request to ECR's API in the same region, on a warm connection",
            `blobLatencyMs 50: an assumption, below the S3 first-byte figure (${S3_FIRST_BYTE_SOURCE}), for a warm in-region path`,
        ],
    },
    "cross-region": {
        name: "cross-region",
        description:
            "a slow link: the build in one region, the registry in another (us-east-1 to eu-west-1), through a NAT gateway",
        requestLatencyMs: 80,
        blobLatencyMs: 150,
        downMBps: 8,
        upMBps: 8,
        sources: [
            `requestLatencyMs 80: ${INTER_REGION_SOURCE}`,
            `blobLatencyMs 150: ${S3_FIRST_BYTE_SOURCE}; the middle, paid across the ocean`,
            `downMBps 8 and upMBps 8: an assumption (half the write-up's rate, for the long path and a NAT gateway shared with other traffic); ${NAT_SOURCE}`,
        ],
    },
} as const satisfies Record<string, NetworkProfile>;

export type NetworkProfileName = keyof typeof NETWORK_PROFILES;

/** The default profile: the stand-in as it was before profiles existed. */
export const DEFAULT_NETWORK: NetworkProfileName = "loopback";

/** The profile the project's performance section and its default strategy are decided on (issue 23). */
export const DECIDING_NETWORK: NetworkProfileName = "writeup";

/** Whether a profile shapes anything at all (loopback does not). */
export function shapes(p: NetworkProfile): boolean {
    return p.requestLatencyMs > 0 || p.blobLatencyMs > 0 || p.downMBps !== undefined || p.upMBps !== undefined;
}

/** A profile's numbers in one line, e.g. "17 MB/s down, 17 MB/s up, 10 ms per request, +100 ms per blob GET". */
export function profileSummary(p: NetworkProfile): string {
    if (!shapes(p)) return "unshaped (loopback)";
    const bw = (x: number | undefined) => (x === undefined ? "unshaped" : `${x} MB/s`);
    return `${bw(p.downMBps)} down, ${bw(p.upMBps)} up, ${p.requestLatencyMs} ms per request, +${p.blobLatencyMs} ms per blob GET`;
}

const NAMES = Object.keys(NETWORK_PROFILES) as NetworkProfileName[];

/** `--network NAME`: one of {@link NETWORK_PROFILES}. */
export const networkFlag: Flag<NetworkProfile> = {
    type: "string",
    placeholder: "NAME",
    allowed: NAMES.join(", "),
    help: `Network profile of the link to the stand-in registry (standIn/networkProfiles.ts): ${NAMES.map((n) => `${n} (${profileSummary(NETWORK_PROFILES[n])})`).join("; ")}.`,
    defaultText: DEFAULT_NETWORK,
    parse: (raw, flag) => {
        if (raw === undefined) return NETWORK_PROFILES[DEFAULT_NETWORK];
        const name = String(raw);
        if (!(NAMES as string[]).includes(name)) throw invalidValue(flag, name, networkFlag.allowed);
        return NETWORK_PROFILES[name as NetworkProfileName];
    },
};
