export * from "./args";
export * from "./problems";
export * from "./resolveArgs";
export { CachedDockerBuild, TYPE_TOKEN } from "./cachedDockerBuild";
export { argsFromConfig, CONFIG_KEYS, type ConfigKey, unknownConfigKeys } from "./config";
export { cacheRefs, shellWord } from "./buildspec";
export { buildspec, buildspecYaml } from "./buildspec/render";
export { lifecyclePolicy, upstreamCacheLifecyclePolicy } from "./lifecycle";
export { builderImageSources, builderSettings, localBuilderImage } from "./builderImage";
export {
    buildkitdConfig,
    UPSTREAMS,
    type Upstream,
    type UpstreamCache,
    upstreamCacheUrls,
    viaPullThroughCache,
} from "./pullThrough";
export { dockerHubSecretName } from "./upstreamCache";
export { buildPolicy, trustPolicy } from "./policies";
export { hostFactProblems, hostsOf } from "./hostFacts";
