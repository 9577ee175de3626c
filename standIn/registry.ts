// A real registry (distribution 2.8, Debian 12's `docker-registry`) on 127.0.0.1 that plays ECR,
// with htpasswd auth, filesystem storage that survives across builds, and a small byte-counting
// HTTP proxy in front of it. Builds talk to the proxy address.
//
// Counting: request bodies of every request = bytes pushed; response bodies of blob GETs
// (GET /v2/<name>/blobs/<digest>) = bytes pulled. Manifest traffic is counted separately.
//
// Faults: every request goes through `faults` (faults.ts) first, which passes it on unless a plan is on
// (`registry.faults.set({...})`, `registry.faults.clear()`). Requests answered with a fault are not counted.
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { startDetached } from "./detached";
import { FaultFront } from "./faults";
import { freePort, mkdirp, runOk, which } from "./util";

export interface ByteCounters {
    /** Request bodies (blob uploads, manifest PUTs). */
    pushedBytes: number;
    /** Response bodies of blob GETs. */
    pulledBytes: number;
    /** Response bodies of manifest GETs (small, but shows how many manifests were fetched). */
    manifestBytes: number;
    requests: number;
    blobGets: number;
    /** Requests answered 401 (auth challenge or bad credentials). */
    unauthorized: number;
    /** Requests per client: the User-Agent's first product name (`curl`, `docker`, `buildkit`, `containerd`, …). */
    clients: Record<string, number>;
}

export interface LocalRegistry {
    /** host:port that builds use (the counting proxy), e.g. 127.0.0.1:41234 */
    address: string;
    /** host:port of the registry itself (not counted). */
    upstream: string;
    username: string;
    password: string;
    storageDir: string;
    counters(): ByteCounters;
    resetCounters(): void;
    /** The fault-injecting front: off until `faults.set(plan)`. */
    faults: FaultFront;
    stop(): Promise<void>;
}

export interface StartRegistryOptions {
    /** Storage folder; created if missing and kept after stop() unless removeStorageOnStop. */
    storageDir?: string;
    removeStorageOnStop?: boolean;
    /** ECR's user name is always AWS. */
    username?: string;
    password?: string;
    /** No authentication at all: anyone may pull and push, as from a public registry (ECR Public, Docker Hub). */
    anonymous?: boolean;
    /** bcrypt cost of the htpasswd entry (each request pays it: keep 4 or 5 for tests). */
    bcryptCost?: number;
    /**
     * Runs the registry some other way than Debian's `docker-registry` binary (e.g. as a container: portable.ts),
     * listening on 127.0.0.1:`port` with the storage and auth it chooses; then no htpasswd is made, the proxy
     * still counts, and `stop()` calls the returned `stop`.
     */
    launch?: (port: number) => Promise<{ stop(): Promise<unknown> }>;
}

const zero = (): ByteCounters => ({
    pushedBytes: 0,
    pulledBytes: 0,
    manifestBytes: 0,
    requests: 0,
    blobGets: 0,
    unauthorized: 0,
    clients: {},
});

export async function startLocalRegistry(opts: StartRegistryOptions = {}): Promise<LocalRegistry> {
    const username = opts.username ?? "AWS";
    const password = opts.password ?? `local-${Math.random().toString(36).slice(2, 12)}`;
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "cbreg-"));
    const storageDir = mkdirp(opts.storageDir ?? path.join(work, "storage"));
    const port = await freePort();
    const upstream = `127.0.0.1:${port}`;
    const registry = await (opts.launch ?? ((p) => launchBinary(p, { ...opts, username, password, work, storageDir })))(
        port,
    ).catch((e: unknown) => {
        fs.rmSync(work, { recursive: true, force: true });
        throw e;
    });

    // ---- counting proxy
    let c = zero();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    const faults = new FaultFront();
    const forward = (req: http.IncomingMessage, res: http.ServerResponse) => {
        c.requests++;
        const client = /^[^/\s]+/.exec(req.headers["user-agent"] ?? "")?.[0] ?? "(none)";
        c.clients[client] = (c.clients[client] ?? 0) + 1;
        const url = req.url ?? "/";
        const isBlobGet = req.method === "GET" && /^\/v2\/.+\/blobs\/sha256:[0-9a-f]+/.test(url);
        const isManifestGet = req.method === "GET" && /^\/v2\/.+\/manifests\//.test(url);
        if (isBlobGet) c.blobGets++;
        const up = http.request(
            { host: "127.0.0.1", port, method: req.method, path: url, headers: req.headers, agent },
            (ures) => {
                if (ures.statusCode === 401) c.unauthorized++;
                res.writeHead(
                    ures.statusCode ?? 502,
                    ures.statusMessage,
                    ures.rawHeaders as unknown as http.OutgoingHttpHeaders,
                );
                ures.on("data", (b: Buffer) => {
                    if (isBlobGet && ures.statusCode! < 300) c.pulledBytes += b.length;
                    else if (isManifestGet) c.manifestBytes += b.length;
                });
                ures.pipe(res);
            },
        );
        up.on("error", (e) => {
            if (!res.headersSent) res.writeHead(502);
            res.end(String(e));
        });
        req.on("data", (b: Buffer) => (c.pushedBytes += b.length));
        req.pipe(up);
    };
    const proxy = http.createServer((req, res) => faults.handle(req, res, () => forward(req, res)));
    proxy.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
        proxy.once("error", reject);
        proxy.listen(0, "127.0.0.1", () => resolve());
    });
    const address = `127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;

    let stopped = false;
    return {
        address,
        upstream,
        username,
        password,
        storageDir,
        counters: () => ({ ...c, clients: { ...c.clients } }),
        resetCounters: () => {
            c = zero();
        },
        faults,
        stop: async () => {
            if (stopped) return;
            stopped = true;
            await new Promise<void>((r) => {
                proxy.close(() => r());
                proxy.closeAllConnections();
            });
            agent.destroy();
            await registry.stop();
            // The default storage lives inside `work`: it survives across builds (the registry outlives
            // them) but not past stop(). A caller-given storageDir is kept unless removeStorageOnStop.
            fs.rmSync(work, { recursive: true, force: true });
            if (opts.removeStorageOnStop && opts.storageDir)
                fs.rmSync(opts.storageDir, { recursive: true, force: true });
        },
    };
}

/** Debian's `docker-registry` binary on 127.0.0.1:`port`, with htpasswd auth and the storage in `o.storageDir`. */
async function launchBinary(
    port: number,
    o: StartRegistryOptions & { username: string; password: string; work: string; storageDir: string },
): Promise<{ stop(): Promise<unknown> }> {
    const { username, password, work, storageDir } = o;
    const registryBin = which("docker-registry", "/usr/bin:/usr/sbin:/usr/local/bin");
    if (!registryBin) throw new Error("docker-registry not installed (run ensureDockerEnv() first)");
    const htpasswdBin = which("htpasswd", "/usr/bin:/usr/sbin:/usr/local/bin");
    if (!htpasswdBin) throw new Error("htpasswd not installed (apache2-utils; run ensureDockerEnv() first)");

    // bcrypt hash with the requested cost (htpasswd -B uses bcrypt; -C is its cost).
    const cost = String(o.bcryptCost ?? 4);
    const hash = await runOk(htpasswdBin, ["-niBC", cost, username], { input: password + "\n" });
    const htpasswdFile = path.join(work, "htpasswd");
    fs.writeFileSync(htpasswdFile, hash.stdout.trim() + "\n", { mode: 0o600 });

    const upstream = `127.0.0.1:${port}`;
    const config = path.join(work, "config.yml");
    fs.writeFileSync(
        config,
        [
            "version: 0.1",
            "log:",
            "  level: warn",
            "  accesslog:",
            "    disabled: true",
            "storage:",
            "  filesystem:",
            `    rootdirectory: ${storageDir}`,
            "  delete:",
            "    enabled: true",
            "http:",
            `  addr: ${upstream}`,
            `  secret: ${Math.random().toString(36).slice(2)}`,
            ...(o.anonymous ? [] : ["auth:", "  htpasswd:", "    realm: local-ecr", `    path: ${htpasswdFile}`]),
            "",
        ].join("\n"),
    );
    return startDetached({
        name: "docker-registry",
        command: registryBin,
        args: ["serve", config],
        env: { PATH: "/usr/bin:/bin", HOME: work },
        logFile: path.join(work, "registry.log"),
        ready: () => canConnect(port),
        readyTimeoutMs: 15_000,
    });
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
export function canConnect(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const s = net.connect(port, "127.0.0.1");
        s.once("connect", () => {
            s.destroy();
            resolve(true);
        });
        s.once("error", () => resolve(false));
    });
}
