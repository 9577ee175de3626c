// arm64 on the local build host, which has no arm64 CPU: Debian 12's qemu-user-static, registered with the
// kernel's binfmt_misc with the F flag (the kernel opens the interpreter at registration, so it also works inside
// containers, BuildKit's included: the BuildKit image used here has no emulators of its own). On CodeBuild the arm64
// job runs natively on an ARM_CONTAINER host; here the same buildspec runs on an amd64 host, where BuildKit runs the
// arm64 steps under QEMU. Idempotent; needs root (apt-get, mount, the register file).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { BaseImage, ensureBaseImage, registryApi } from "./baseImage";
import type { LocalRegistry } from "./registry";

const BINFMT = "/proc/sys/fs/binfmt_misc";
const ENTRY = `${BINFMT}/qemu-aarch64`;
const CONF = "/usr/lib/binfmt.d/qemu-aarch64.conf";

export interface Emulation {
    readonly available: boolean;
    /** What was done, or why arm64 can't be emulated here. */
    readonly detail: string;
}

function sh(cmd: string): { ok: boolean; out: string } {
    const r = spawnSync("sh", ["-c", cmd], { encoding: "utf8" });
    return { ok: r.status === 0, out: `${r.stdout ?? ""}${r.stderr ?? ""}`.trim() };
}

/** Whether aarch64 binaries run here through a binfmt_misc registration with the F flag. */
export function arm64Registered(): boolean {
    try {
        const entry = fs.readFileSync(ENTRY, "utf8");
        return /^enabled$/m.test(entry) && /^flags: .*F/m.test(entry);
    } catch {
        return false;
    }
}

/** Installs qemu-user-static, mounts binfmt_misc and registers aarch64 with the F flag, unless already done. */
export function ensureArm64Emulation(): Emulation {
    if (arm64Registered()) {
        return { available: true, detail: "aarch64 already registered with binfmt_misc (flag F)" };
    }
    if (process.getuid?.() !== 0) {
        return { available: false, detail: "arm64 emulation needs root (apt-get, mount binfmt_misc, register)" };
    }
    if (!fs.existsSync(CONF)) {
        const r = sh("apt-get install -y qemu-user-static || (apt-get update && apt-get install -y qemu-user-static)");
        if (!r.ok || !fs.existsSync(CONF)) {
            return { available: false, detail: `apt-get install qemu-user-static failed: ${r.out.slice(-300)}` };
        }
    }
    if (!fs.existsSync(`${BINFMT}/register`)) {
        const m = sh(`mount -t binfmt_misc binfmt_misc ${BINFMT}`);
        if (!m.ok) return { available: false, detail: `mount binfmt_misc failed: ${m.out}` };
    }
    if (!fs.existsSync(ENTRY)) {
        try {
            fs.writeFileSync(`${BINFMT}/register`, fs.readFileSync(CONF, "utf8").trim());
        } catch (e) {
            return { available: false, detail: `registering aarch64 failed: ${(e as Error).message}` };
        }
    }
    return arm64Registered()
        ? { available: true, detail: `aarch64 registered from ${CONF}` }
        : { available: false, detail: `${ENTRY} is not enabled with the F flag` };
}

/**
 * The arm64 `busybox` binary of Debian 12's busybox-static (static, so it runs under qemu-aarch64 with no
 * libraries), fetched with a private apt list for arch arm64 (the system's sources are left alone); cached.
 */
export function arm64Busybox(cacheDir = path.join(os.tmpdir(), "cbcache-arm64")): string {
    const bin = path.join(cacheDir, "busybox");
    if (fs.existsSync(bin)) return bin;
    fs.mkdirSync(path.join(cacheDir, "lists", "partial"), { recursive: true });
    fs.mkdirSync(path.join(cacheDir, "cache", "archives", "partial"), { recursive: true });
    fs.writeFileSync(
        path.join(cacheDir, "sources.list"),
        "deb [arch=arm64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main\n",
    );
    const o = [
        `-o Dir::Etc::sourcelist=${cacheDir}/sources.list`,
        "-o Dir::Etc::sourceparts=/dev/null",
        `-o Dir::State::Lists=${cacheDir}/lists`,
        `-o Dir::Cache=${cacheDir}/cache`,
        "-o APT::Architecture=arm64",
        "-o APT::Architectures=arm64",
    ].join(" ");
    const r = sh(
        `cd ${cacheDir} && apt-get ${o} update >/dev/null && apt-get ${o} download busybox-static:arm64 && ` +
            `dpkg -x busybox-static_*_arm64.deb root && cp root/bin/busybox busybox`,
    );
    if (!r.ok || !fs.existsSync(bin)) {
        throw new Error(`could not fetch the arm64 busybox-static: ${r.out.slice(-500)}`);
    }
    return bin;
}

/**
 * A busybox base image for both platforms: the amd64 one of standIn/baseImage.ts, an arm64 one made the same way
 * from the arm64 busybox-static, and an OCI index of the two under `<repo>:<tag>`, so that one `FROM` line serves
 * both platform jobs. Needs {@link ensureArm64Emulation} (the arm64 busybox lists its applets under QEMU).
 */
export async function ensureTwoPlatformBaseImage(
    registry: LocalRegistry,
    opts: { repo?: string; tag?: string } = {},
): Promise<{ ref: string; digest: string }> {
    const repo = opts.repo ?? "base/busybox";
    const tag = opts.tag ?? "multi";
    const amd64 = await ensureBaseImage(registry, { repo, tag: `${tag}-amd64`, arch: "amd64" });
    const arm64 = await ensureBaseImage(registry, {
        repo,
        tag: `${tag}-arm64`,
        arch: "arm64",
        busybox: arm64Busybox(),
    });
    const type = "application/vnd.docker.distribution.manifest.list.v2+json";
    const index = Buffer.from(
        JSON.stringify({
            schemaVersion: 2,
            mediaType: type,
            manifests: [
                [amd64, "amd64"],
                [arm64, "arm64"],
            ].map(([image, architecture]) => ({
                mediaType: "application/vnd.docker.distribution.manifest.v2+json",
                digest: (image as BaseImage).digest,
                size: (image as BaseImage).manifestSize,
                platform: { architecture, os: "linux" },
            })),
        }),
    );
    const body = index;
    const put = await registryApi(registry)("PUT", `/v2/${repo}/manifests/${tag}`, body, type);
    if (put.status !== 201) throw new Error(`manifest list put failed: ${put.status} ${put.body}`);
    return { ref: `${registry.address}/${repo}:${tag}`, digest: put.digest ?? "" };
}
