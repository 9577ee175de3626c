/**
 * Maps stack config to {@link CachedDockerBuildArgs}. Only `index.ts` calls it, with the stack's
 * `pulumi.Config`; keeping the mapping here lets tests check it per stack without the CLI.
 *
 * Config keys have the same names as the component's arguments, so a validation error that names an
 * argument names the config key too. An empty string means "unset": use the component's default.
 */
import * as pulumi from "@pulumi/pulumi";
import { CachedDockerBuildArgs, ConfigError } from "./args";

/** Every config key this program reads, in its own namespace. `githubToken` is read as a secret. */
export const CONFIG_KEYS = [
    "repositoryName",
    "projectName",
    "imageTag",
    "cacheTag",
    "cacheStrategy",
    "registryBuilder",
    "builderImage",
    "untaggedExpiryDays",
    "maxTaggedImages",
    "encryptionType",
    "kmsKeyArn",
    "imageTagMutability",
    "forceDelete",
    "protect",
    "sourceUrl",
    "sourceVersion",
    "dockerfileDir",
    "dockerfileName",
    "buildArgs",
    "trustedRefs",
    "buildImage",
    "computeType",
    "buildTimeoutMinutes",
    "localCache",
    "logRetentionDays",
    "githubToken",
] as const;

function optionalString(cfg: pulumi.Config, key: string): string | undefined {
    const v = cfg.get(key);
    return v === undefined || v === "" ? undefined : v;
}

function stringList(cfg: pulumi.Config, key: string): string[] | undefined {
    const v = cfg.getObject<unknown>(key);
    if (v === undefined || (Array.isArray(v) && v.length === 0)) {
        return undefined;
    }
    if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) {
        throw new ConfigError(key, v, "Allowed: a list of strings.");
    }
    return v;
}

/** `["NAME=value", ...]` to `{NAME: "value"}`. */
function buildArgsOf(list: string[] | undefined): Record<string, string> | undefined {
    if (list === undefined) {
        return undefined;
    }
    const out: Record<string, string> = {};
    for (const item of list) {
        const eq = item.indexOf("=");
        if (eq <= 0) {
            throw new ConfigError("buildArgs", item, "Allowed: entries of the form NAME=value.");
        }
        out[item.slice(0, eq)] = item.slice(eq + 1);
    }
    return out;
}

/**
 * Rejects keys of this project's namespace that the program doesn't read: a misspelt key would
 * otherwise be ignored without a word, and its default used instead.
 */
export function checkConfigKeys(project: string, allConfig: Record<string, string>): void {
    const known = new Set<string>(CONFIG_KEYS);
    for (const fullKey of Object.keys(allConfig)) {
        const [namespace, key] = fullKey.split(":", 2);
        if (namespace === project && key !== undefined && !known.has(key)) {
            throw new ConfigError(
                fullKey,
                allConfig[fullKey],
                `Unknown config key. Allowed keys: ${CONFIG_KEYS.join(", ")}.`,
            );
        }
    }
}

export function argsFromConfig(cfg: pulumi.Config): CachedDockerBuildArgs {
    const strategy = optionalString(cfg, "cacheStrategy");
    return {
        repositoryName: optionalString(cfg, "repositoryName"),
        projectName: optionalString(cfg, "projectName"),
        imageTag: optionalString(cfg, "imageTag"),
        cacheTag: optionalString(cfg, "cacheTag"),
        cacheStrategy: strategy as CachedDockerBuildArgs["cacheStrategy"],
        registryBuilder: optionalString(cfg, "registryBuilder") as CachedDockerBuildArgs["registryBuilder"],
        builderImage: optionalString(cfg, "builderImage"),
        untaggedExpiryDays: cfg.getNumber("untaggedExpiryDays"),
        maxTaggedImages: cfg.getNumber("maxTaggedImages"),
        encryptionType: optionalString(cfg, "encryptionType") as CachedDockerBuildArgs["encryptionType"],
        kmsKeyArn: optionalString(cfg, "kmsKeyArn"),
        imageTagMutability: optionalString(cfg, "imageTagMutability") as CachedDockerBuildArgs["imageTagMutability"],
        forceDelete: cfg.getBoolean("forceDelete"),
        protect: cfg.getBoolean("protect"),
        sourceUrl: optionalString(cfg, "sourceUrl"),
        sourceVersion: optionalString(cfg, "sourceVersion"),
        dockerfileDir: optionalString(cfg, "dockerfileDir"),
        dockerfileName: optionalString(cfg, "dockerfileName"),
        buildArgs: buildArgsOf(stringList(cfg, "buildArgs")),
        trustedRefs: stringList(cfg, "trustedRefs"),
        buildImage: optionalString(cfg, "buildImage"),
        computeType: optionalString(cfg, "computeType") as CachedDockerBuildArgs["computeType"],
        buildTimeoutMinutes: cfg.getNumber("buildTimeoutMinutes"),
        localCache: cfg.getBoolean("localCache"),
        logRetentionDays: cfg.getNumber("logRetentionDays"),
        githubToken: cfg.get("githubToken") === undefined ? undefined : cfg.requireSecret("githubToken"),
    };
}
