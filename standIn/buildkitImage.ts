// The BuildKit image of the `registry` strategy's `docker-container` builder, on a fresh local host.
//
// On CodeBuild, `docker buildx create --driver docker-container --driver-opt image=<builderImage> --bootstrap`
// (in the buildspec's pre_build) pulls the image from its registry on every build. This machine has no
// public registry, so each fresh host gets the image before the buildspec runs, from the first of:
//   1. the real pull (`docker pull <ref>`), where the network allows it (here it fails in well under 0.1 s);
//   2. the `docker save` archive named by $CBCACHE_BUILDKIT_IMAGE_ARCHIVE;
//   3. `<repo>/../shared/buildkit/buildkit-image.tar.gz` (BuildKit v0.32.2 built from its source; its README
//      says how it was made).
// A loaded archive is tagged with the reference the buildspec names (`docker tag`), so that buildx, whose
// pull then fails, falls back to the local image of that name ("pulling failed, using local image"). The
// buildspec itself is never rewritten.
import * as fs from "fs";
import * as path from "path";
import type { Buildspec } from "./runner";
import { run } from "./util";

/** Environment variable naming a `docker save` archive of a BuildKit image. */
export const BUILDKIT_ARCHIVE_ENV = "CBCACHE_BUILDKIT_IMAGE_ARCHIVE";

/** The repository's root folder (this file is `<root>/standIn/buildkitImage.ts`). */
export const REPO_ROOT = path.resolve(__dirname, "..");

/** `<repo>/../shared/buildkit/buildkit-image.tar.gz`: where the machine's shared folder keeps the archive. */
export function sharedArchivePath(repoRoot: string = REPO_ROOT): string {
    return path.resolve(repoRoot, "..", "shared", "buildkit", "buildkit-image.tar.gz");
}

/** How to get an archive of the BuildKit image onto a machine that can't pull it, in one sentence. */
export const archiveHowTo = (ref: string) =>
    `on a machine that can pull it, run \`docker pull ${ref} && docker save ${ref} | gzip > buildkit.tar.gz\`, copy the file here and set ${BUILDKIT_ARCHIVE_ENV}=/path/to/buildkit.tar.gz`;

/**
 * The line said when the BuildKit image can't be had and the stand-in measures on the daemon's own builder instead
 * (the containerd-store mode): that these are not CodeBuild's numbers, and how to get CodeBuild's builder.
 */
export const fallbackLine = (ref: string, why: string) =>
    `registry strategy: CodeBuild's builder runs in the BuildKit image ${ref}, which this machine can't pull (${why}) ` +
    `and has no archive of; measuring on the daemon's own builder (containerd store) instead, which CodeBuild doesn't use: ` +
    `its numbers differ (a warm build cost 12.8 % of cold there against 3.1 % on CodeBuild's builder, in issue 8's measurement). ` +
    `For CodeBuild's builder, ${archiveHowTo(ref)} (or set CBCACHE_LOCAL_REGISTRY_MODE=containerd-store to choose this builder).`;

export interface ArchiveSource {
    path: string;
    /** Where the path came from: the environment variable or the shared folder. */
    from: typeof BUILDKIT_ARCHIVE_ENV | "shared folder";
}

/**
 * The archive to load when the pull fails: $CBCACHE_BUILDKIT_IMAGE_ARCHIVE if set (it must name a file, or be
 * `none`: no archive at all, to see how the stand-in does without one), else the shared folder's archive if
 * it exists, else undefined.
 */
export function findBuildkitArchive(
    env: NodeJS.ProcessEnv = process.env,
    repoRoot: string = REPO_ROOT,
): ArchiveSource | undefined {
    const named = env[BUILDKIT_ARCHIVE_ENV];
    if (named === "none") return undefined;
    if (named !== undefined && named !== "") {
        const p = path.resolve(named);
        if (!fs.existsSync(p) || !fs.statSync(p).isFile()) {
            throw new Error(
                `Invalid value for '${BUILDKIT_ARCHIVE_ENV}': ${JSON.stringify(named)}: no such file. ` +
                    `Allowed: the path of a \`docker save\` archive (.tar or .tar.gz) of a BuildKit image, "none", or unset.`,
            );
        }
        return { path: p, from: BUILDKIT_ARCHIVE_ENV };
    }
    const shared = sharedArchivePath(repoRoot);
    return fs.existsSync(shared) ? { path: shared, from: "shared folder" } : undefined;
}

/**
 * The builder image a buildspec's pre_build starts (`docker buildx create … --driver-opt image=<ref>`),
 * or undefined when it creates no `docker-container` builder.
 */
export function builderImageOf(spec: Buildspec): string | undefined {
    // The reference sits in the command's value prelude (`DRIVER_OPTS=(--driver-opt image=<ref> …)`), quoted
    // by the buildspec's shell quoting only if it needed quotes, which a valid image reference never does.
    for (const c of spec.phases?.pre_build?.commands ?? []) {
        if (!/^\s*docker buildx create .*--driver docker-container/m.test(c)) continue;
        const m = /--driver-opt '?image=([^\s')]+)/.exec(c);
        if (m) return m[1];
    }
    return undefined;
}

/** How a fresh host got its builder image, and how long each step took. */
export interface BuilderImageResult {
    ref: string;
    /** `pull`: the real pull worked; `archive`: loaded (and tagged); `none`: neither, the buildx create will fail. */
    source: "pull" | "archive" | "none";
    pullMs: number;
    /** `docker load` plus `docker tag`; 0 unless loaded. */
    loadMs: number;
    /** The archive loaded, if any. */
    archive?: string;
    /** One line: what happened (e.g. why the pull failed). */
    detail: string;
    /** Why the pull failed (its error's first line), unless it worked. */
    pullError?: string;
}

/** Runs the docker client with the host's variables; resolves with its exit status and output. */
export type DockerRunner = (args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;

export function dockerRunner(client: string, variables: Record<string, string>): DockerRunner {
    return (args) => run(client, args, { env: { ...process.env, ...variables } });
}

const firstLine = (s: string) => s.trim().split("\n")[0] ?? "";

/**
 * Gives a fresh host the builder image `ref`: the real pull, else `archive` loaded and tagged `ref`.
 * Never throws for an image it can't get (source `none`): the buildspec's `buildx create` then fails in
 * pre_build, as it would on CodeBuild. Throws if the archive is there but can't be loaded or tagged.
 */
export async function provideBuilderImage(
    docker: DockerRunner,
    ref: string,
    archive: ArchiveSource | undefined,
): Promise<BuilderImageResult> {
    const p0 = Date.now();
    const pull = await docker(["pull", "--quiet", ref]);
    const pullMs = Date.now() - p0;
    if (pull.code === 0) return { ref, source: "pull", pullMs, loadMs: 0, detail: `pulled ${ref}` };
    const why = firstLine(pull.stderr || pull.stdout);
    if (!archive) {
        return {
            ref,
            source: "none",
            pullMs,
            loadMs: 0,
            pullError: why,
            detail:
                `the pull of ${ref} failed (${why}), and there is no archive to load ` +
                `(${BUILDKIT_ARCHIVE_ENV} unset or "none", ${sharedArchivePath()} absent or not used)`,
        };
    }
    const l0 = Date.now();
    const load = await docker(["load", "--quiet", "--input", archive.path]);
    if (load.code !== 0) {
        throw new Error(`docker load --input ${archive.path} failed: ${(load.stderr || load.stdout).trim()}`);
    }
    const loaded = [...load.stdout.matchAll(/^Loaded image(?: ID)?: (\S+)$/gm)].map((m) => m[1]);
    if (loaded.length === 0) throw new Error(`docker load --input ${archive.path} loaded no image:\n${load.stdout}`);
    if (!loaded.includes(ref)) {
        const tag = await docker(["tag", loaded[0], ref]);
        if (tag.code !== 0)
            throw new Error(`docker tag ${loaded[0]} ${ref} failed: ${(tag.stderr || tag.stdout).trim()}`);
    }
    return {
        ref,
        source: "archive",
        pullMs,
        loadMs: Date.now() - l0,
        archive: archive.path,
        pullError: why,
        detail:
            `the pull of ${ref} failed (${why}); loaded ${archive.path} (${archive.from})` +
            (loaded.includes(ref) ? "" : `, tagged ${loaded[0]} as ${ref}`),
    };
}
