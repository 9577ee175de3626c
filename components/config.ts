/**
 * Maps stack config to {@link CachedDockerBuildArgs}. Only `program.ts` calls it, with the stack's
 * `pulumi.Config`; keeping the mapping here lets tests check it per stack without the CLI.
 *
 * Config keys have the same names as the component's arguments, so a problem that names an argument names
 * the config key too. An empty string means "unset": use the component's default. Nothing here throws:
 * problems are returned, so that the program can report them together with the component's own.
 */
import * as pulumi from "@pulumi/pulumi";
import { distance } from "fastest-levenshtein";
import type { CachedDockerBuildArgs } from "./args";
import { type ConfigProblem, Problems } from "./problems";
import type { Upstream } from "./pullThrough";
import type { Platform } from "./platforms";
import type { PullRequestApproverRole } from "./triggers";

/** Arguments that config doesn't set: `buildNetwork` (for the local stand-in) and `tags` (for programs that embed the component). */
type NotInConfig = "buildNetwork" | "tags";
/** The config keys: every argument of the component but {@link NotInConfig}. */
export type ConfigKey = Exclude<keyof CachedDockerBuildArgs, NotInConfig>;

/**
 * What the readers use of a stack's config: a `pulumi.Config` in the program; the same values from a plain map in
 * the docs' stack table (`tools/docs/stacks.ts`), which resolves the checked-in stacks without the Pulumi runtime.
 */
export interface ConfigSource {
    get(key: string): string | undefined;
    requireSecret(key: string): pulumi.Output<string>;
}

/** Reads one key; records a problem (and returns undefined) when the text doesn't parse. */
type Reader<T> = (cfg: ConfigSource, key: string, p: Problems) => T | undefined;

/** The raw text, with "" meaning unset. */
function raw(cfg: ConfigSource, key: string): string | undefined {
    const v = cfg.get(key);
    return v === "" ? undefined : v;
}

/** Text, checked by `resolveArgs` (for enumerations too, whose type is only narrowed here). */
function text<T extends string = string>(): Reader<T> {
    return (cfg, key) => raw(cfg, key) as T | undefined;
}

const number: Reader<number> = (cfg, key, p) => {
    const v = raw(cfg, key);
    if (v === undefined) {
        return undefined;
    }
    const n = Number(v);
    return p.check(v.trim() !== "" && Number.isFinite(n), key, v, "Allowed: a number.") ? n : undefined;
};

const boolean: Reader<boolean> = (cfg, key, p) => {
    const v = raw(cfg, key);
    if (v === undefined) {
        return undefined;
    }
    return p.check(v === "true" || v === "false", key, v, "Allowed: true or false.") ? v === "true" : undefined;
};

/** A JSON list of strings; an empty list means unset. */
const stringList: Reader<string[]> = (cfg, key, p) => {
    const v = raw(cfg, key);
    if (v === undefined) {
        return undefined;
    }
    let list: unknown;
    try {
        list = JSON.parse(v);
    } catch {
        list = v;
    }
    if (!p.check(isStringList(list), key, list, "Allowed: a list of strings.")) {
        return undefined;
    }
    return (list as string[]).length === 0 ? undefined : (list as string[]);
};

function isStringList(v: unknown): v is string[] {
    return Array.isArray(v) && v.every((x) => typeof x === "string");
}

/** `["NAME=value", ...]` to `{NAME: "value"}`; each entry without `NAME=` is a problem. */
const buildArgs: Reader<Record<string, string>> = (cfg, key, p) => {
    const list = stringList(cfg, key, p);
    if (list === undefined) {
        return undefined;
    }
    const out: Record<string, string> = {};
    for (const item of list) {
        const eq = item.indexOf("=");
        if (p.check(eq > 0, key, item, "Allowed: entries of the form NAME=value.")) {
            out[item.slice(0, eq)] = item.slice(eq + 1);
        }
    }
    return out;
};

/** Read as a secret whether or not it was set with `--secret`. */
const secret: Reader<pulumi.Output<string>> = (cfg, key) =>
    raw(cfg, key) === undefined ? undefined : cfg.requireSecret(key);

/** How each config key is read. Typed by the arguments, so an argument added without a reader is a compile error. */
const READERS: { readonly [K in ConfigKey]-?: Reader<NonNullable<CachedDockerBuildArgs[K]>> } = {
    repositoryName: text(),
    projectName: text(),
    imageTag: text(),
    cacheTag: text(),
    cacheStrategy: text(),
    registryBuilder: text(),
    onCacheImportFailure: text(),
    layerCompression: text(),
    builderImage: text(),
    builderImageMirrors: stringList,
    pullThroughCache: text(),
    pullThroughUpstreams: stringList as Reader<Upstream[]>,
    ecrPublicCachePrefix: text(),
    dockerHubCachePrefix: text(),
    dockerHubCredentialArn: text(),
    dockerHubUsername: text(),
    dockerHubAccessToken: secret,
    untaggedExpiryDays: number,
    maxTaggedImages: number,
    encryptionType: text(),
    kmsKeyArn: text(),
    imageTagMutability: text(),
    forceDelete: boolean,
    protect: boolean,
    sourceUrl: text(),
    sourceVersion: text(),
    dockerfileDir: text(),
    dockerfileName: text(),
    buildArgs,
    trustedRefs: stringList,
    buildImage: text(),
    computeType: text(),
    buildTimeoutMinutes: number,
    localCache: boolean,
    logRetentionDays: number,
    githubToken: secret,
    monitoring: boolean,
    alarmTopicArn: text(),
    alarmEmails: stringList,
    hitRatioThreshold: number,
    hitRatioBuilds: number,
    // ---- Docker server ----
    dockerServerComputeType: text(),
    skipUnchanged: boolean,
    failedBuildsThreshold: number,
    durationAlarmMinutes: number,
    // ---- Sources, triggers and schedules ----
    sourceProvider: text(),
    connectionArn: text(),
    createConnection: boolean,
    connectionName: text(),
    webhookPushes: boolean,
    webhookPullRequests: boolean,
    webhookTags: stringList,
    webhookFilePaths: stringList,
    webhookManualCreation: boolean,
    pullRequestCommentApproval: text(),
    pullRequestApproverRoles: stringList as Reader<PullRequestApproverRole[]>,
    // ---- A cache per trusted branch ----
    branchCacheExpiryDays: number,
    scheduleExpression: text(),
    scheduleTimezone: text(),
    // ---- Several images (issue 10) ----
    contextDir: text(),
    target: text(),
    // ---- Platforms (components/platforms.ts) ----
    platforms: stringList as Reader<Platform[]>,
    platformMode: text(),
    armBuildImage: text(),
};

/** The config keys that are the component's arguments. */
const ARG_KEYS = Object.keys(READERS) as readonly ConfigKey[];

/** The config key of the map of images (`images.ts`): not an argument of the component, but of the program. */
export const IMAGES_KEY = "images";

/**
 * Every config key this program reads, in its own namespace: the component's arguments, then `images`.
 * `githubToken` and `dockerHubAccessToken` are read as secrets.
 */
export const CONFIG_KEYS: readonly (ConfigKey | typeof IMAGES_KEY)[] = [...ARG_KEYS, IMAGES_KEY];

/** Where a person finds every config key; named in each unknown key's problem instead of the whole list. */
export const WHERE_KEYS_ARE_LISTED = "The keys are listed in docs/configuration.md and declared in Pulumi.yaml.";

/**
 * The known keys nearest to `key` by edit distance (Levenshtein, letter case ignored), all of them when several are
 * equally near; none when the nearest is further than a third of the key's length (at least 2 edits), where a
 * suggestion would be a guess rather than a typo's fix.
 */
export function nearestKeys(key: string, known: readonly string[]): string[] {
    const limit = Math.max(2, Math.floor(key.length / 3));
    const scored = known.map((k) => ({ k, d: distance(key.toLowerCase(), k.toLowerCase()) }));
    const best = Math.min(...scored.map((s) => s.d));
    return best > limit ? [] : scored.filter((s) => s.d === best).map((s) => s.k);
}

/** What an unknown key's problem says: the nearest known keys, if any is near, and where every key is listed. */
export function unknownKeyAdvice(key: string, known: readonly string[], whereListed: string): string {
    const near = nearestKeys(key, known);
    const guess =
        near.length === 0 ? "No known key is near it." : `Did you mean ${near.map((k) => `'${k}'`).join(" or ")}?`;
    return `${guess} ${whereListed}`;
}

/**
 * The keys of this project's namespace that the program doesn't read: a misspelt key would otherwise be
 * ignored without a word, and its default used instead. Each problem suggests the nearest known key.
 */
export function unknownConfigKeys(project: string, allConfig: Record<string, string>): ConfigProblem[] {
    const known = new Set<string>(CONFIG_KEYS);
    const problems: ConfigProblem[] = [];
    for (const [fullKey, value] of Object.entries(allConfig)) {
        const [namespace, key] = fullKey.split(":", 2);
        if (namespace === project && key !== undefined && !known.has(key)) {
            problems.push({
                key: fullKey,
                value,
                allowed: unknownKeyAdvice(key, CONFIG_KEYS, WHERE_KEYS_ARE_LISTED),
                unknownKey: true,
            });
        }
    }
    return problems;
}

/** The component's arguments from config, and the values that don't parse (left unset in `args`). */
export function argsFromConfig(cfg: ConfigSource): { args: CachedDockerBuildArgs; problems: ConfigProblem[] } {
    const p = new Problems();
    const args: Record<string, unknown> = {};
    for (const key of ARG_KEYS) {
        const value = READERS[key](cfg, key, p);
        if (value !== undefined) {
            args[key] = value;
        }
    }
    return { args, problems: p.list };
}
