/**
 * The program as a function: reads this stack's config, creates the component and returns the stack
 * outputs. `index.ts` calls it once and exports what it returns; tests call it once per stack under mocks.
 *
 * Every config problem (an unknown key, a value that doesn't parse, a value the component refuses) is
 * reported in one {@link ConfigError} before any resource is registered. It is a `pulumi.RunError`, so the
 * CLI prints the message alone, without a stack trace.
 */
import * as pulumi from "@pulumi/pulumi";
import {
    argProblems,
    argsFromConfig,
    CachedDockerBuild,
    CacheStrategy,
    ConfigError,
    unknownConfigKeys,
} from "./components";

/** The component's name, which also names its children and the default repository and project names. */
export const COMPONENT_NAME = "docker-cache";

/**
 * Said on every preview and update of a stack that doesn't set cacheStrategy, since the default changed in 0.2.0:
 * such a stack moves from inline to registry unless it sets the strategy it wants.
 */
export const DEFAULT_STRATEGY_NOTICE =
    "cacheStrategy is not set, so this stack uses the default, registry (since 0.2.0; it was inline before). " +
    "To keep inline: pulumi config set cacheStrategy inline. To make this notice go: pulumi config set cacheStrategy registry.";

/** The flat camelCase stack outputs, for `pulumi stack output` and for other projects' StackReferences. */
export type StackOutputs = Pick<
    CachedDockerBuild,
    | "projectName"
    | "projectArn"
    | "repositoryUrl"
    | "repositoryArn"
    | "repositoryName"
    | "imageUri"
    | "cacheRef"
    | "roleArn"
    | "logGroupName"
    | "upstreamCacheUrls"
    | "alarmTopicArn"
    | "dashboardName"
    | "connectionArn"
    | "connectionStatus"
    | "connectionHandshakeUrl"
    | "webhookPayloadUrl"
    | "webhookSecret"
    | "scheduleName"
> & { readonly cacheStrategy: CacheStrategy };

export function program(): StackOutputs {
    const { args, problems } = argsFromConfig(new pulumi.Config());
    const all = [
        ...unknownConfigKeys(pulumi.getProject(), pulumi.runtime.allConfig()),
        ...problems,
        ...argProblems(COMPONENT_NAME, pulumi.getStack(), args),
    ];
    if (all.length > 0) {
        throw new ConfigError(all);
    }
    if (args.cacheStrategy === undefined) {
        void pulumi.log.warn(DEFAULT_STRATEGY_NOTICE);
    }
    const build = new CachedDockerBuild(COMPONENT_NAME, args);
    return {
        projectName: build.projectName,
        projectArn: build.projectArn,
        repositoryUrl: build.repositoryUrl,
        repositoryArn: build.repositoryArn,
        repositoryName: build.repositoryName,
        imageUri: build.imageUri,
        cacheRef: build.cacheRef,
        cacheStrategy: build.settings.cacheStrategy,
        roleArn: build.roleArn,
        logGroupName: build.logGroupName,
        upstreamCacheUrls: build.upstreamCacheUrls,
        alarmTopicArn: build.alarmTopicArn,
        dashboardName: build.dashboardName,
        connectionArn: build.connectionArn,
        connectionStatus: build.connectionStatus,
        connectionHandshakeUrl: build.connectionHandshakeUrl,
        webhookPayloadUrl: build.webhookPayloadUrl,
        webhookSecret: build.webhookSecret,
        scheduleName: build.scheduleName,
    };
}
