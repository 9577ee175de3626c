export * from "./args";
export { CachedDockerBuild, TYPE_TOKEN } from "./cachedDockerBuild";
export { argsFromConfig, CONFIG_KEYS, type ConfigKey, unknownConfigKeys } from "./config";
export { buildspec, buildspecYaml, cacheRefs, shellWord } from "./buildspec";
export { lifecyclePolicy } from "./lifecycle";
export { buildPolicy, trustPolicy } from "./policies";
