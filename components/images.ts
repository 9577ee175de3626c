/**
 * Several images in one stack: the stack config `images`, a map of image name to per-image settings, turned into
 * one set of {@link CachedDockerBuildArgs} per image (the program creates one `CachedDockerBuild` per entry).
 *
 * Pure: it takes the raw config value and the flat arguments (`argsFromConfig`) and returns arguments and problems;
 * nothing here throws or creates a resource. The rules:
 * - an image name is 1 to 32 lowercase letters and digits in `-`-separated words (`api`, `db-migrations`): it names
 *   the image's component (`docker-cache-<name>`), and through it the default repository and project
 *   (`docker-cache-<name>-<stack>`). Lowercase only, so two names can't differ in case alone;
 * - an entry holds only {@link IMAGE_KEYS}; the flat keys of the same names are the defaults of every entry (an
 *   entry's `buildArgs` replaces the flat ones), and every other flat key (source, compute, trust, monitoring, …)
 *   applies to every image. The flat `repositoryName` and `projectName` name one image, so they are refused
 *   together with `images`;
 * - no two images may have the same repository name, or project names that differ in case alone (the project
 *   names its IAM role, and IAM role names ignore case).
 */
import type { CachedDockerBuildArgs } from "./args";
import { type ConfigProblem, Problems } from "./problems";
import { CONFIG_KEYS, type ConfigKey, unknownKeyAdvice } from "./config";

/** The settings an entry of `images` may hold; the flat config keys of the same names are their defaults. */
export const IMAGE_KEYS = [
    "dockerfileDir",
    "dockerfileName",
    "contextDir",
    "buildArgs",
    "target",
    "imageTag",
    "cacheTag",
    "cacheStrategy",
    "repositoryName",
    "projectName",
    "computeType",
    "buildTimeoutMinutes",
    // Platforms (components/platforms.ts): each image its own.
    "platforms",
    "platformMode",
] as const satisfies readonly ConfigKey[];
export type ImageKey = (typeof IMAGE_KEYS)[number];

/** The flat keys refused together with `images`: each names a single image. */
export const SINGLE_IMAGE_KEYS = ["repositoryName", "projectName"] as const satisfies readonly ImageKey[];

const IMAGE_NAME = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const IMAGE_NAME_MAX = 32;
const IMAGE_NAME_RULE = `Allowed: image names of 1 to ${IMAGE_NAME_MAX} lowercase letters and digits in '-'-separated words, such as api or db-migrations (each names its component, repository and project).`;

/** Keys read as text, and the one read as a number; `buildArgs` is read apart. */
const NUMBER_KEYS: readonly ImageKey[] = ["buildTimeoutMinutes"];

/** One image: its name and the component's arguments (the flat ones with the entry's on top). */
export interface ImageArgs {
    readonly name: string;
    /** The keys the entry itself set, to name problems `images.<name>.<key>`. */
    readonly own: ReadonlySet<string>;
    readonly args: CachedDockerBuildArgs;
}

/** The config key of an entry's setting: `images.<name>.<key>`. */
export function imageKey(name: string, key: string): string {
    return `images.${name}.${key}`;
}

/**
 * The images of the `images` config value (its JSON text, as the CLI passes a map; undefined or "" when unset) over
 * the flat arguments `flat`, and what is wrong with the map itself (or with a flat `repositoryName` or `projectName`
 * beside it). Undefined `images` when the key is unset: one image, as before.
 */
export function imagesFromConfig(
    raw: string | undefined,
    flat: CachedDockerBuildArgs,
): { images?: ImageArgs[]; problems: ConfigProblem[] } {
    const p = new Problems();
    if (raw === undefined || raw === "") {
        return { problems: [] };
    }
    let map: unknown;
    try {
        map = JSON.parse(raw);
    } catch {
        map = raw;
    }
    if (
        !p.check(
            typeof map === "object" && map !== null && !Array.isArray(map) && Object.keys(map).length > 0,
            "images",
            map,
            "Allowed: a map of at least one image name to its settings (images: {api: {dockerfileDir: …}}).",
        )
    ) {
        return { problems: p.list };
    }
    for (const key of SINGLE_IMAGE_KEYS) {
        p.check(
            flat[key] === undefined,
            key,
            flat[key],
            `Allowed only without images, where it would name every image alike; set images.<name>.${key} instead.`,
        );
    }
    const images: ImageArgs[] = [];
    for (const [name, entry] of Object.entries(map as Record<string, unknown>)) {
        if (!p.check(IMAGE_NAME.test(name) && name.length <= IMAGE_NAME_MAX, `images.${name}`, name, IMAGE_NAME_RULE)) {
            continue;
        }
        const settings = entry ?? {};
        if (
            !p.check(
                typeof settings === "object" && !Array.isArray(settings),
                `images.${name}`,
                entry,
                `Allowed: a map of settings, of ${IMAGE_KEYS.join(", ")}.`,
            )
        ) {
            continue;
        }
        const own = new Set<string>();
        // The flat names are refused above; no image takes them (they would clash).
        const args: Record<string, unknown> = { ...flat };
        for (const key of SINGLE_IMAGE_KEYS) {
            delete args[key];
        }
        for (const [key, value] of Object.entries(settings as Record<string, unknown>)) {
            const full = imageKey(name, key);
            if (!(IMAGE_KEYS as readonly string[]).includes(key)) {
                p.list.push({ key: full, value, allowed: unknownSettingAdvice(key), unknownKey: true });
                continue;
            }
            const parsed = settingValue(p, full, key as ImageKey, value);
            if (parsed !== undefined) {
                args[key] = parsed;
                own.add(key);
            }
        }
        images.push({ name, own, args });
    }
    return { images, problems: p.list };
}

/** What an entry's unknown setting says: a stack-wide key is set once, without images; else the nearest setting. */
function unknownSettingAdvice(key: string): string {
    const settings = `An image's settings are ${IMAGE_KEYS.join(", ")}; every other key is set once for the stack, without images.`;
    return (CONFIG_KEYS as readonly string[]).includes(key)
        ? `'${key}' is not an image's setting but the stack's: set it once, without images. ${settings}`
        : unknownKeyAdvice(key, IMAGE_KEYS, settings);
}

/** An entry's value: text (`""` means the flat default), a number, a list (`platforms`), or build args as a map or `NAME=value` list. */
function settingValue(p: Problems, key: string, name: ImageKey, value: unknown): unknown {
    if (value === null || value === "") {
        return undefined;
    }
    if (name === "buildArgs") {
        if (Array.isArray(value) && value.every((v) => typeof v === "string")) {
            const out: Record<string, string> = {};
            for (const item of value) {
                const eq = item.indexOf("=");
                if (p.check(eq > 0, key, item, "Allowed: entries of the form NAME=value.")) {
                    out[item.slice(0, eq)] = item.slice(eq + 1);
                }
            }
            return out;
        }
        const isMap =
            typeof value === "object" &&
            !Array.isArray(value) &&
            Object.values(value).every((v) => typeof v === "string");
        return p.check(isMap, key, value, "Allowed: a map of NAME: value, or a list of NAME=value entries.")
            ? value
            : undefined;
    }
    if (name === "platforms") {
        const ok = Array.isArray(value) && value.every((v) => typeof v === "string");
        return p.check(ok, key, value, "Allowed: a list of strings.") ? value : undefined;
    }
    if (NUMBER_KEYS.includes(name)) {
        return p.check(typeof value === "number", key, value, "Allowed: a number.") ? value : undefined;
    }
    return p.check(typeof value === "string", key, value, "Allowed: a string.") ? value : undefined;
}

/**
 * A component's problem as the stack config names it: a setting the entry holds, or the repository and project
 * names (derived per image), as `images.<name>.<key>`; any other key (a flat default or a stack-wide key) stays
 * flat, so that it is reported once however many images share it ({@link dedupe}).
 */
export function imageProblem(image: ImageArgs, problem: ConfigProblem): ConfigProblem {
    const root = problem.key.split(".")[0];
    const perImage = image.own.has(root) || (SINGLE_IMAGE_KEYS as readonly string[]).includes(root);
    return perImage ? { ...problem, key: imageKey(image.name, problem.key) } : problem;
}

/** The problems without repeats (a flat value refused for each image that inherits it is one problem). */
export function dedupe(problems: readonly ConfigProblem[]): ConfigProblem[] {
    const seen = new Set<string>();
    return problems.filter((q) => {
        const id = JSON.stringify([q.key, typeof q.value === "symbol" ? "symbol" : q.value, q.allowed]);
        if (seen.has(id)) {
            return false;
        }
        seen.add(id);
        return true;
    });
}

/**
 * Two images that would share a repository, or a project (and so its role and log group): the second of each pair
 * is a problem under `images.<name>.repositoryName` / `.projectName`. `names` are each image's resolved names.
 */
export function clashes(
    names: readonly { readonly image: string; readonly repositoryName: string; readonly projectName: string }[],
): ConfigProblem[] {
    const p = new Problems();
    for (const [key, fold] of [
        ["repositoryName", (s: string) => s],
        // Project names name IAM roles, which ignore case.
        ["projectName", (s: string) => s.toLowerCase()],
    ] as const) {
        const first = new Map<string, string>();
        for (const n of names) {
            const id = fold(n[key]);
            const owner = first.get(id);
            if (owner === undefined) {
                first.set(id, n.image);
                continue;
            }
            p.check(
                false,
                imageKey(n.image, key),
                n[key],
                `Allowed: a ${key} no other image has (images.${owner} has ${key === "projectName" ? "it, or one differing in case alone, which names the same IAM role" : "it"}).`,
            );
        }
    }
    return p.list;
}
