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
    CachedDockerBuildArgs,
    ConfigError,
    ConfigProblem,
    hostFactProblems,
    hostsOf,
    resolveArgs,
    unknownConfigKeys,
} from "./components";
import { type ConfigSource, IMAGES_KEY } from "./components/config";
import { type ImageArgs, imagesFromConfig } from "./components/images";
import { severalImages, SeveralImagesOutputs, severalImagesProblems } from "./severalImages";

/** The component's name, which also names its children and the default repository and project names. */
export const COMPONENT_NAME = "docker-cache";

/**
 * Said on every preview and update of a stack that doesn't set cacheStrategy, since the default changed in 0.2.0:
 * such a stack moves from inline to registry unless it sets the strategy it wants.
 */
export const DEFAULT_STRATEGY_NOTICE =
    "cacheStrategy is not set, so this stack uses the default, registry (since 0.2.0; it was inline before). " +
    "To keep inline: pulumi config set cacheStrategy inline. To make this notice go: pulumi config set cacheStrategy registry.";

/** The flat camelCase stack outputs of a single-image stack, for `pulumi stack output` and StackReferences. */
export type SingleImageOutputs = Pick<
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
    | "pullRequestProjectName"
    | "pullRequestWebhookPayloadUrl"
    | "pullRequestWebhookSecret"
> & { readonly cacheStrategy: CacheStrategy };

/**
 * The stack outputs: a single-image stack's flat outputs; or, with `images`, the `images` map and the shared
 * `alarmTopicArn` and `upstreamCacheUrls`, every other flat output undefined (so not exported).
 */
export type StackOutputs = { readonly [K in keyof SingleImageOutputs]: MaybeUndefined<SingleImageOutputs[K]> } & {
    readonly images?: SeveralImagesOutputs["images"];
};
type MaybeUndefined<O> = O extends pulumi.Output<infer T> ? pulumi.Output<T | undefined> : O | undefined;

/**
 * The host facts of `args` in `region` (components/hostFacts.ts); none when the region isn't set in the stack's
 * config. Called only on arguments that passed every other check.
 */
export function regionProblems(
    name: string,
    stack: string,
    args: CachedDockerBuildArgs,
    region: string | undefined,
): ConfigProblem[] {
    const a = resolveArgs(name, stack, args);
    return hostFactProblems({ hosts: hostsOf(a), computeType: a.computeType }, region);
}

/** A stack's checked arguments: the flat ones, and with `images` one set per image (`images` undefined without). */
export interface StackArgs {
    readonly args: CachedDockerBuildArgs;
    readonly images?: readonly ImageArgs[];
}

/**
 * A stack's config as `pulumi up` reads it, checked before any resource is registered: the component's arguments
 * (`argsFromConfig`), the map of images, the keys of the project's namespace that nothing reads, each component's
 * arguments (`resolveArgs`, through `argProblems` or `severalImagesProblems`) and, where the stack sets
 * `aws:region`, the host facts of that region. Throws one {@link ConfigError} that lists every problem.
 *
 * `cfg` reads the project's namespace, `allConfig` is every `<namespace>:<key>` the CLI passed, `region` is
 * `aws:region` (undefined when the stack doesn't set it). The program calls it with the CLI's config; the docs'
 * stack table (tools/docs/stacks.ts) with each checked-in stack file's.
 */
export function stackArgs(
    cfg: ConfigSource,
    project: string,
    stack: string,
    allConfig: Record<string, string>,
    region: string | undefined,
): StackArgs {
    const { args, problems } = argsFromConfig(cfg);
    // ---- Several images (severalImages.ts): `images` set means one component per entry. ----
    const several = imagesFromConfig(cfg.get(IMAGES_KEY), args);
    const all = [
        ...unknownConfigKeys(project, allConfig),
        ...problems,
        ...several.problems,
        ...(several.images === undefined
            ? argProblems(COMPONENT_NAME, stack, args)
            : severalImagesProblems(COMPONENT_NAME, stack, args, several.images)),
    ];
    // Facts per host type and region (components/hostFacts.ts), where the stack sets aws:region: checked here, before
    // anything is registered. Without aws:region (AWS_REGION or the profile), the component checks them once the
    // region is known. With `images`, each component checks its own.
    if (all.length === 0 && several.images === undefined) {
        all.push(...regionProblems(COMPONENT_NAME, stack, args, region));
    }
    if (all.length > 0) {
        throw new ConfigError(all);
    }
    return several.images === undefined ? { args } : { args, images: several.images };
}

export function program(): StackOutputs {
    const { args, images } = stackArgs(
        new pulumi.Config(),
        pulumi.getProject(),
        pulumi.getStack(),
        pulumi.runtime.allConfig(),
        new pulumi.Config("aws").get("region"),
    );
    if (
        images === undefined ? args.cacheStrategy === undefined : images.some((i) => i.args.cacheStrategy === undefined)
    ) {
        void pulumi.log.warn(DEFAULT_STRATEGY_NOTICE);
    }
    if (images !== undefined) {
        return withoutFlatOutputs(severalImages(COMPONENT_NAME, pulumi.getStack(), args, images));
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
        pullRequestProjectName: build.pullRequestProjectName,
        pullRequestWebhookPayloadUrl: build.pullRequestWebhookPayloadUrl,
        pullRequestWebhookSecret: build.pullRequestWebhookSecret,
    };
}

/** A stack with `images`: its outputs, and every flat output of one image undefined. */
function withoutFlatOutputs(o: SeveralImagesOutputs): StackOutputs {
    const none = pulumi.output(undefined);
    return {
        projectName: none,
        projectArn: none,
        repositoryUrl: none,
        repositoryArn: none,
        repositoryName: none,
        imageUri: none,
        cacheRef: none,
        cacheStrategy: undefined,
        roleArn: none,
        logGroupName: none,
        dashboardName: none,
        connectionArn: none,
        connectionStatus: none,
        connectionHandshakeUrl: none,
        webhookPayloadUrl: none,
        webhookSecret: none,
        scheduleName: none,
        pullRequestProjectName: none,
        pullRequestWebhookPayloadUrl: none,
        pullRequestWebhookSecret: none,
        upstreamCacheUrls: o.upstreamCacheUrls,
        alarmTopicArn: o.alarmTopicArn,
        images: o.images,
    };
}
