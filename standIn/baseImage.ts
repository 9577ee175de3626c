// A tiny busybox base image, made locally (no public registry is reachable) and pushed to the
// local registry. Reproducible: every fresh host gets the same manifest digest.
//
// Why not `docker import`: it stamps the current time into the image config, so each import has
// a new config digest and a new manifest digest. Instead the layer tar is made reproducibly with
// GNU tar (--sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner), gzipped by node's zlib
// (header mtime 0), and the config + manifest are written here with fixed timestamps, then pushed
// with the registry's HTTP API (monolithic blob uploads). The result is an ordinary Docker schema 2
// image that both the overlay2 store and the containerd store pull.
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";
import { LocalRegistry } from "./registry";
import { run, runOk } from "./util";

export interface BaseImage {
    /** repo:tag reference through the registry address builds use, e.g. 127.0.0.1:4000/base/busybox:1 */
    ref: string;
    /** Same image pinned by digest. */
    refByDigest: string;
    /** Manifest digest (sha256:...). Same on every host with the same busybox-static package. */
    digest: string;
    layerDigest: string;
    layerBytes: number;
    /** Size of the manifest in bytes (what an index that lists it must say). */
    manifestSize: number;
}

const BUSYBOX = "/bin/busybox";
const MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json";

export interface BaseImageOptions {
    repo?: string;
    tag?: string;
    /** The image's architecture (default: this machine's) and the static busybox binary for it (default /bin/busybox):
     *  standIn/emulation.ts makes the arm64 one from Debian's arm64 busybox-static, which runs here under QEMU. */
    arch?: "amd64" | "arm64";
    busybox?: string;
}

/** Build (deterministically) and push the busybox base image; cheap if it is already there. */
export async function ensureBaseImage(registry: LocalRegistry, opts: BaseImageOptions = {}): Promise<BaseImage> {
    const repo = opts.repo ?? "base/busybox";
    const tag = opts.tag ?? "latest";
    const { layerGz, diffId } = await makeLayer(opts.busybox);
    const layerDigest = sha(layerGz);
    const arch = opts.arch ?? (process.arch === "arm64" ? "arm64" : "amd64");
    const config = Buffer.from(
        JSON.stringify({
            architecture: arch,
            os: "linux",
            created: "1970-01-01T00:00:00Z",
            config: {
                Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                Cmd: ["sh"],
            },
            rootfs: { type: "layers", diff_ids: [diffId] },
            history: [{ created: "1970-01-01T00:00:00Z", created_by: "cbcache-local: busybox-static rootfs" }],
        }),
    );
    const configDigest = sha(config);
    const manifest = Buffer.from(
        JSON.stringify({
            schemaVersion: 2,
            mediaType: MANIFEST_TYPE,
            config: {
                mediaType: "application/vnd.docker.container.image.v1+json",
                size: config.length,
                digest: configDigest,
            },
            layers: [
                {
                    mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    size: layerGz.length,
                    digest: layerDigest,
                },
            ],
        }),
    );
    const digest = sha(manifest);

    const api = registryApi(registry);
    for (const [d, body] of [
        [layerDigest, layerGz],
        [configDigest, config],
    ] as Array<[string, Buffer]>) {
        const head = await api("HEAD", `/v2/${repo}/blobs/${d}`);
        if (head.status === 200) continue;
        const start = await api("POST", `/v2/${repo}/blobs/uploads/`);
        if (start.status !== 202 || !start.location)
            throw new Error(`upload start failed: ${start.status} ${start.body}`);
        const loc = new URL(start.location, `http://${registry.upstream}`);
        loc.searchParams.set("digest", d);
        const put = await api("PUT", loc.pathname + loc.search, body, "application/octet-stream");
        if (put.status !== 201) throw new Error(`blob upload failed: ${put.status} ${put.body}`);
    }
    const put = await api("PUT", `/v2/${repo}/manifests/${tag}`, manifest, MANIFEST_TYPE);
    if (put.status !== 201) throw new Error(`manifest put failed: ${put.status} ${put.body}`);
    if (put.digest && put.digest !== digest) throw new Error(`registry digest ${put.digest} != ${digest}`);
    return {
        ref: `${registry.address}/${repo}:${tag}`,
        refByDigest: `${registry.address}/${repo}@${digest}`,
        digest,
        layerDigest,
        layerBytes: layerGz.length,
        manifestSize: manifest.length,
    };
}

function sha(b: Buffer): string {
    return "sha256:" + crypto.createHash("sha256").update(b).digest("hex");
}

/** Make the rootfs and its reproducible tar; returns the gzipped layer and its diff id. */
export async function makeLayer(busybox = BUSYBOX): Promise<{ layerGz: Buffer; diffId: string; tar: Buffer }> {
    if (!fs.existsSync(busybox)) throw new Error("busybox-static is not installed (run ensureDockerEnv() first)");
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "cbbase-"));
    try {
        const root = path.join(work, "rootfs");
        const dir = (p: string, mode = 0o755) => {
            fs.mkdirSync(path.join(root, p), { recursive: true });
            fs.chmodSync(path.join(root, p), mode);
        };
        dir(".");
        for (const d of [
            "bin",
            "sbin",
            "usr",
            "usr/bin",
            "usr/sbin",
            "etc",
            "root",
            "tmp",
            "var",
            "dev",
            "proc",
            "sys",
        ])
            dir(d);
        fs.chmodSync(path.join(root, "tmp"), 0o1777);
        fs.chmodSync(path.join(root, "root"), 0o700);
        fs.copyFileSync(busybox, path.join(root, "bin/busybox"));
        fs.chmodSync(path.join(root, "bin/busybox"), 0o755);
        const list = (await runOk(busybox, ["--list-full"])).stdout
            .split("\n")
            .map((s) => s.trim())
            .filter(Boolean);
        for (const applet of list.sort()) {
            if (applet === "bin/busybox") continue;
            const p = path.join(root, applet);
            fs.mkdirSync(path.dirname(p), { recursive: true });
            if (!fs.existsSync(p)) fs.symlinkSync("/bin/busybox", p);
        }
        const file = (p: string, s: string, mode = 0o644) => {
            fs.writeFileSync(path.join(root, p), s);
            fs.chmodSync(path.join(root, p), mode);
        };
        file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
        file("etc/group", "root:x:0:\nnogroup:x:65534:\n");
        const tarFile = path.join(work, "layer.tar");
        const r = await run("tar", [
            "--sort=name",
            "--mtime=@0",
            "--owner=0",
            "--group=0",
            "--numeric-owner",
            "--format=gnu",
            "-C",
            root,
            "-cf",
            tarFile,
            ".",
        ]);
        if (r.code !== 0) throw new Error(`tar failed: ${r.stderr}`);
        const tar = fs.readFileSync(tarFile);
        const layerGz = zlib.gzipSync(tar, { level: 9 });
        return { layerGz, diffId: sha(tar), tar };
    } finally {
        fs.rmSync(work, { recursive: true, force: true });
    }
}

interface ApiResponse {
    status: number;
    body: string;
    location?: string;
    digest?: string;
}

/** Minimal registry HTTP client (basic auth, straight to the upstream so pushes aren't counted). */
export function registryApi(registry: LocalRegistry) {
    const [host, port] = registry.upstream.split(":");
    const auth = "Basic " + Buffer.from(`${registry.username}:${registry.password}`).toString("base64");
    return (method: string, p: string, body?: Buffer, type?: string): Promise<ApiResponse> =>
        new Promise((resolve, reject) => {
            const headers: http.OutgoingHttpHeaders = { Authorization: auth };
            if (body) {
                headers["Content-Length"] = body.length;
                headers["Content-Type"] = type ?? "application/octet-stream";
            }
            const req = http.request({ host, port: Number(port), method, path: p, headers }, (res) => {
                const chunks: Buffer[] = [];
                res.on("data", (b: Buffer) => chunks.push(b));
                res.on("end", () =>
                    resolve({
                        status: res.statusCode ?? 0,
                        body: Buffer.concat(chunks).toString("utf8"),
                        location: res.headers.location,
                        digest: res.headers["docker-content-digest"] as string | undefined,
                    }),
                );
            });
            req.on("error", reject);
            req.end(body);
        });
}
