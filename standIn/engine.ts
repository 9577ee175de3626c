// Installs a Docker engine that resembles CodeBuild's current images on this machine: a dockerd >= 23,
// a Docker client >= 23 (the 28 client at /usr/local/bin/docker on this machine's kind) and the buildx
// plugin, so that `docker build` is BuildKit through buildx, as on CodeBuild. Running a daemon is
// daemon.ts's job; this module only makes the binaries available and says where they are.
//
// Where things come from (see /work/shared/notes/local-docker.md):
//   * Debian 12 packages, installed with apt-get when missing: docker-registry, busybox-static,
//     runc (newer Debian runc needs a newer glibc and does not run on Debian 12), apache2-utils (htpasswd),
//     tini (docker-init, which the `docker-container` builder's container needs).
//   * The engine: docker.io, containerd and docker-buildx from Debian **sid** by default (dockerd 28.5.2,
//     CodeBuild's version), or trixie with CBCACHE_DOCKER_SUITE=trixie (dockerd 26.1.5); see
//     dockerSuite(). They are fetched with `apt-get download` through a PRIVATE apt list/state folder (the
//     system's apt sources are untouched) and unpacked with `dpkg -x` into the cache folder (never the
//     repo). A marker file makes that idempotent.
//
// "Good enough" existing Docker (reused instead of Debian's): a `dockerd` on PATH whose version is
// >= 23 (BuildKit default, containerd-snapshotter feature), a `containerd` and `runc` on PATH, and a
// buildx plugin in one of the standard cli-plugins folders. None of that exists on a fresh machine of
// this project's kind, so normally the Debian path is taken.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { mkdirp, parseVersion, run, runOk, which } from "./util";

export interface DockerEnv {
    /** Where dockerd/containerd/buildx come from: the system's, or the Debian suite of dockerSuite(). */
    source: "system" | "debian-trixie" | "debian-sid";
    /** dockerd binary. */
    dockerd: string;
    /** PATH given to dockerd: where it finds containerd, the shims and (Debian 12's) runc. */
    daemonPath: string;
    /** The docker CLI used by builds (28.x at /usr/local/bin/docker on this machine kind). */
    client: string;
    /** The buildx plugin binary, copied into each build's $DOCKER_CONFIG/cli-plugins. */
    buildxPlugin: string;
    /**
     * docker-init (tini), given to dockerd with `--init-path`: buildx's `docker-container` driver starts its
     * BuildKit container with `init: true`, which fails with `exec: "docker-init": executable file not found`
     * without it. The Debian engine packages link docker-init to a tini-static they don't ship, so Debian 12's
     * `tini` package provides it.
     */
    initPath?: string;
    versions: { dockerd: string; client: string; buildx: string; runc: string; containerd: string };
    /** Cache folder for downloaded packages and unpacked binaries. */
    cacheDir: string;
}

const ENGINE_PACKAGES = ["docker.io", "containerd", "docker-buildx"];
const PLUGIN_DIRS = [
    "/usr/local/lib/docker/cli-plugins",
    "/usr/local/libexec/docker/cli-plugins",
    "/usr/lib/docker/cli-plugins",
    "/usr/libexec/docker/cli-plugins",
    path.join(os.homedir(), ".docker/cli-plugins"),
];
const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/** Debian 12's tini package: the static init dockerd runs as docker-init. */
const TINI_STATIC = "/usr/bin/tini-static";

/** The cache folder: $CBCACHE_LOCAL_DIR, else /var/cache/cbcache-local for root, else $XDG_CACHE_HOME/cbcache-local. */
export function cacheDir(): string {
    if (process.env.CBCACHE_LOCAL_DIR) return process.env.CBCACHE_LOCAL_DIR;
    if (process.getuid && process.getuid() === 0) return "/var/cache/cbcache-local";
    const xdg = process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
    return path.join(xdg, "cbcache-local");
}

type Log = (msg: string) => void;
const defaultLog: Log = (m) => process.stderr.write(`[engine] ${m}\n`);

let memo: Promise<DockerEnv> | undefined;

/**
 * Debian suite the engine comes from, chosen with $CBCACHE_DOCKER_SUITE:
 * - "sid" (default): at the time of writing dockerd 28.5.2 (the version in CodeBuild's current
 *   images), containerd 2.1, buildx 0.29. Needed by the `registry` strategy's
 *   `--output type=image,push=true,store=false` on the containerd store: buildx 0.13 follows that
 *   push with a daemon-side push of an image that was, by design, not stored, and fails.
 *   Unstable is a moving target; if it ever stops working here, use "trixie".
 * - "trixie": dockerd 26.1.5, containerd 1.7.24, buildx 0.13.1 (fixed versions; inline and pull
 *   strategies work, the registry strategy's push does not).
 */
export type DockerSuite = "trixie" | "sid";

export function dockerSuite(): DockerSuite {
    const s = process.env.CBCACHE_DOCKER_SUITE ?? "sid";
    if (s !== "trixie" && s !== "sid") throw new Error(`CBCACHE_DOCKER_SUITE must be trixie or sid (got ${s})`);
    return s;
}

/**
 * Make sure everything is installed; idempotent and fast (a few `--version` calls) once done.
 * Memoized per process.
 */
export function ensureDockerEnv(opts: { log?: Log } = {}): Promise<DockerEnv> {
    if (!memo) {
        memo = doEnsure(opts.log ?? defaultLog, dockerSuite());
        memo.catch(() => (memo = undefined));
    }
    return memo;
}

async function doEnsure(log: Log, suite: DockerSuite): Promise<DockerEnv> {
    const dir = mkdirp(cacheDir());
    await ensureDebian12Packages(log);

    const client = await pickClient(dir, suite, log);
    const system = await findSystemDocker();
    let env: Omit<DockerEnv, "versions" | "client">;
    if (system) {
        log(`reusing the system's Docker: ${system.dockerd}`);
        env = { ...system, cacheDir: dir };
    } else {
        const root = await ensureDebianRoot(dir, suite, ENGINE_PACKAGES, log);
        env = {
            source: suite === "trixie" ? "debian-trixie" : "debian-sid",
            dockerd: path.join(root, "usr/sbin/dockerd"),
            // The suite's containerd + shims first, then the system dirs with Debian 12's /usr/sbin/runc.
            daemonPath: `${path.join(root, "usr/sbin")}:${path.join(root, "usr/bin")}:${SYSTEM_PATH}`,
            buildxPlugin: path.join(root, "usr/libexec/docker/cli-plugins/docker-buildx"),
            cacheDir: dir,
        };
    }
    const versions = {
        dockerd: firstLine((await run(env.dockerd, ["--version"])).stdout),
        client: firstLine((await run(client, ["--version"])).stdout),
        buildx: firstLine((await run(env.buildxPlugin, ["version"])).stdout),
        runc: firstLine((await run(which("runc", env.daemonPath) ?? "runc", ["--version"])).stdout),
        containerd: firstLine((await run(which("containerd", env.daemonPath) ?? "containerd", ["--version"])).stdout),
    };
    // which() follows symlinks, so the engine's dangling docker-init -> tini-static is passed over.
    const initPath = which("docker-init", env.daemonPath) ?? (fs.existsSync(TINI_STATIC) ? TINI_STATIC : undefined);
    return { ...env, client, versions, initPath };
}

function firstLine(s: string): string {
    return s.split("\n")[0].trim();
}

/** Debian 12 packages this stand-in needs on the host. */
async function ensureDebian12Packages(log: Log): Promise<void> {
    const want: Array<[string, () => boolean]> = [
        ["docker-registry", () => !!which("docker-registry", SYSTEM_PATH)],
        ["busybox-static", () => dpkgInstalled("busybox-static")],
        ["runc", () => fs.existsSync("/usr/sbin/runc") || !!which("runc", SYSTEM_PATH)],
        ["apache2-utils", () => !!which("htpasswd", SYSTEM_PATH)],
        ["tini", () => fs.existsSync(TINI_STATIC)],
    ];
    const missing = want.filter(([, ok]) => !ok()).map(([p]) => p);
    if (missing.length === 0) return;
    log(`apt-get install ${missing.join(" ")}`);
    const args = ["install", "-y", "-qq", "--no-install-recommends", ...missing];
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    let r = await run("apt-get", args, { env });
    if (r.code !== 0) {
        log("apt-get install failed; running apt-get update once and retrying");
        await runOk("apt-get", ["update", "-qq"], { env });
        r = await run("apt-get", args, { env });
    }
    if (r.code !== 0) throw new Error(`apt-get install ${missing.join(" ")} failed:\n${r.stderr}`);
}

function dpkgInstalled(pkg: string): boolean {
    try {
        const status = fs.readFileSync("/var/lib/dpkg/status", "utf8");
        const re = new RegExp(
            `^Package: ${pkg.replace(/[.+]/g, "\\$&")}\\n(?:[^\\n]+\\n)*?Status: install ok installed`,
            "m",
        );
        return re.test(status);
    } catch {
        return false;
    }
}

/** Client: /usr/local/bin/docker (28.x) or any docker >= 23 on PATH, else the Debian suite's docker-cli. */
async function pickClient(dir: string, suite: DockerSuite, log: Log): Promise<string> {
    for (const c of ["/usr/local/bin/docker", which("docker", SYSTEM_PATH)]) {
        if (!c || !fs.existsSync(c)) continue;
        const v = parseVersion((await run(c, ["--version"])).stdout);
        if (v && v[0] >= 23) return c;
    }
    log(`no docker client >= 23 found; using Debian ${suite}'s docker-cli`);
    const root = await ensureDebianRoot(dir, suite, [...ENGINE_PACKAGES, "docker-cli"], log);
    return path.join(root, "usr/bin/docker");
}

async function findSystemDocker(): Promise<Omit<DockerEnv, "versions" | "client" | "cacheDir"> | undefined> {
    const dockerd = which("dockerd", SYSTEM_PATH);
    if (!dockerd || !which("containerd", SYSTEM_PATH) || !which("runc", SYSTEM_PATH)) return undefined;
    const v = parseVersion((await run(dockerd, ["--version"])).stdout);
    if (!v || v[0] < 23) return undefined;
    const plugin = PLUGIN_DIRS.map((d) => path.join(d, "docker-buildx")).find((p) => fs.existsSync(p));
    if (!plugin) return undefined;
    return { source: "system", dockerd, daemonPath: SYSTEM_PATH, buildxPlugin: plugin };
}

/**
 * Download the suite's packages with a private apt list/state folder and unpack them with `dpkg -x`
 * into <cache>/debian-sid-root (or, for trixie, debian13-root). A marker file listing the packages
 * makes this idempotent.
 */
async function ensureDebianRoot(dir: string, suite: DockerSuite, packages: string[], log: Log): Promise<string> {
    const root = path.join(dir, suite === "trixie" ? "debian13-root" : "debian-sid-root");
    const marker = path.join(root, ".cbcache-complete.json");
    try {
        const done = JSON.parse(fs.readFileSync(marker, "utf8")) as { packages: string[] };
        if (packages.every((p) => done.packages.includes(p))) return root;
    } catch {
        /* not done yet */
    }
    const apt = path.join(dir, `apt-${suite}`);
    mkdirp(path.join(apt, "lists/partial"));
    mkdirp(path.join(apt, "cache/archives/partial"));
    fs.writeFileSync(path.join(apt, "sources.list"), `deb http://deb.debian.org/debian ${suite} main\n`);
    const o = [
        "-o",
        `Dir::Etc::sourcelist=${path.join(apt, "sources.list")}`,
        "-o",
        "Dir::Etc::sourceparts=/dev/null",
        "-o",
        `Dir::State::Lists=${path.join(apt, "lists")}`,
        "-o",
        `Dir::Cache=${path.join(apt, "cache")}`,
        "-o",
        "APT::Sandbox::User=root",
    ];
    log(`fetching Debian ${suite} packages ${packages.join(" ")} (private apt state in ${apt})`);
    await runOk("apt-get", [...o, "update", "-qq"]);
    const debs = path.join(dir, `debs-${suite}`);
    fs.rmSync(debs, { recursive: true, force: true });
    mkdirp(debs);
    await runOk("apt-get", [...o, "download", ...packages], { cwd: debs });
    const tmp = `${root}.tmp-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    mkdirp(tmp);
    for (const f of fs
        .readdirSync(debs)
        .filter((f) => f.endsWith(".deb"))
        .sort()) {
        await runOk("dpkg", ["-x", path.join(debs, f), tmp]);
    }
    // trixie's and sid's runc need a newer glibc; it is not downloaded, but make sure none slipped in.
    for (const p of ["usr/sbin/runc", "usr/bin/runc"]) fs.rmSync(path.join(tmp, p), { force: true });
    fs.writeFileSync(
        path.join(tmp, ".cbcache-complete.json"),
        JSON.stringify({ packages, debs: fs.readdirSync(debs).sort() }, null, 2),
    );
    fs.rmSync(root, { recursive: true, force: true });
    fs.renameSync(tmp, root);
    return root;
}
