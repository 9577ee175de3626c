/**
 * `CachedDockerBuild`: a CodeBuild project that builds a Docker image with its layer cache kept in ECR.
 *
 * The constructor only wires the pieces together; each concern lives in its own file:
 * `args.ts` (defaults and validation), `ecr.ts` + `lifecycle.ts` (repository and lifecycle rules),
 * `iam.ts` + `policies.ts` (role and least-privilege documents), `upstreamCache.ts` + `pullThrough.ts`
 * (ECR pull-through cache rules, their repository creation templates, the builder image and BuildKit
 * configuration that use them), `codebuild.ts` (project, log group, source credential), `buildspec/`
 * (the buildspec: `index.ts` and one bash file per command; `buildspecObject.ts` ships it to S3) and `monitoring.ts` + `buildEvent.ts` (metric
 * filters on the build's JSON line, alarms, their SNS topic, the dashboard), `source.ts` (the sign-in to the
 * source: a CodeConnections connection or the token's secret), `triggers.ts` (the webhook) and `schedule.ts`
 * (scheduled builds).
 */
import * as pulumi from "@pulumi/pulumi";
import { CachedDockerBuildArgs, resolveArgs, ResolvedArgs } from "./args";
import { buildspecOptions, buildspecYaml, cacheRefs, registryOf } from "./buildspec";
import { createLogGroup, createProject } from "./codebuild";
import { createRepository } from "./ecr";
import { createRole } from "./iam";
import { createBuildspecObject } from "./buildspecObject";
import { checkedProjectBuildspec } from "./buildspec/limit";
import { createMonitoring } from "./monitoring";
import { createBatchRole } from "./batchRole";
import { isNative } from "./platforms";
import { arnParts } from "./policies";
import { PACKAGE_NAME } from "./packageName";
import { builderSettings, upstreamCacheUrls } from "./pullThrough";
import { createUpstreamCaches } from "./upstreamCache";
import { createSchedule } from "./schedule";
import { connectionConsoleUrl, createSourceAuth } from "./source";
import { createWebhook } from "./triggers";

/**
 * The component's type token, `<package>:index:<class>`: the package is `ecr-layer-cache` ({@link PACKAGE_NAME}),
 * and a source-based component package serves its components from the `index` module only.
 */
export const TYPE_TOKEN = `${PACKAGE_NAME}:index:CachedDockerBuild`;

/**
 * The type token before the component became a package (up to 0.1.0). Stacks created then know the component and
 * its children by it; the alias moves them to {@link TYPE_TOKEN} without replacing anything.
 */
export const LEGACY_TYPE_TOKEN = `${PACKAGE_NAME}:codebuild:CachedDockerBuild`;

/** The validated arguments of each component, defaults applied; kept off the class, whose fields are its outputs. */
const SETTINGS = new WeakMap<CachedDockerBuild, ResolvedArgs>();

/**
 * A CodeBuild project that builds a Docker image with its layer cache kept in ECR: the ECR repository and its
 * lifecycle rules, the project's IAM role, its log group, the project with its buildspec (an S3 object) and, when asked
 * for, ECR pull-through caches for the builder image and the base images.
 */
export class CachedDockerBuild extends pulumi.ComponentResource {
    /** URL of the ECR repository: `<account>.dkr.ecr.<region>.amazonaws.com/<name>`. */
    public readonly repositoryUrl: pulumi.Output<string>;
    /** ARN of the ECR repository, e.g. to grant a deploy role pull on it. */
    public readonly repositoryArn: pulumi.Output<string>;
    /** Name of the ECR repository. */
    public readonly repositoryName: pulumi.Output<string>;
    /**
     * The image that trusted builds push: `<repositoryUrl>:<imageTag>`; with two platforms, a manifest list of both
     * (built natively, each platform's own image is also at `<imageUri>-<arch>`).
     */
    public readonly imageUri: pulumi.Output<string>;
    /**
     * Where the layer cache lives: the cache tag for `registry`, the image itself for `inline` and `pull`. With two
     * platforms built natively, each platform keeps its own: `<cacheRef>-<arch>` (`…:buildcache-arm64`).
     */
    public readonly cacheRef: pulumi.Output<string>;
    /** Name of the CodeBuild project: `aws codebuild start-build --project-name <projectName>`. */
    public readonly projectName: pulumi.Output<string>;
    /** ARN of the CodeBuild project. */
    public readonly projectArn: pulumi.Output<string>;
    /** The service role's ARN, resolved once its policy is attached. */
    public readonly roleArn: pulumi.Output<string>;
    /** Name of the build log group: `/aws/codebuild/<projectName>`. */
    public readonly logGroupName: pulumi.Output<string>;
    /** The buildspec, as YAML: the text of the S3 object that the project's `source.buildspec` names by its ARN. */
    public readonly buildspec: pulumi.Output<string>;
    /**
     * The image of the `docker-container` builder as the build pulls it: the `builderImage` argument, or its
     * reference through the ECR Public pull-through cache when that cache is on.
     */
    public readonly builderImage: pulumi.Output<string>;
    /**
     * The `buildkitd.toml` that makes the builder pull each cached upstream (base images included) through its
     * cache in the account's ECR: one `[registry."<host>"] mirrors = ["<registry>/<prefix>"]` per upstream;
     * "" when `pullThroughCache` is `off`.
     */
    public readonly buildkitdConfig: pulumi.Output<string>;
    /**
     * Where each cached upstream is reached in the account's registry, e.g.
     * `{"ecr-public": "<account>.dkr.ecr.<region>.amazonaws.com/ecr-public"}`; `{}` when `pullThroughCache` is `off`.
     */
    public readonly upstreamCacheUrls: pulumi.Output<Record<string, string>>;
    /** The SNS topic the alarms notify (created, or `alarmTopicArn`); undefined when `monitoring` is off. */
    public readonly alarmTopicArn: pulumi.Output<string | undefined>;
    /** The CloudWatch dashboard's name (the project's); undefined when `monitoring` is off. */
    public readonly dashboardName: pulumi.Output<string | undefined>;
    /** The CodeConnections connection the project signs in with (`connectionArn`, or the one created); undefined without. */
    public readonly connectionArn: pulumi.Output<string | undefined>;
    /**
     * The created connection's status: `PENDING` until its one-time handshake is done in the console
     * (`connectionHandshakeUrl`), then `AVAILABLE`; undefined unless `createConnection`.
     */
    public readonly connectionStatus: pulumi.Output<string | undefined>;
    /** Where the created connection's handshake is done (the console's Connections page); undefined unless `createConnection`. */
    public readonly connectionHandshakeUrl: pulumi.Output<string | undefined>;
    /** With `webhookManualCreation`: the URL the repository's hook must call; undefined otherwise. */
    public readonly webhookPayloadUrl: pulumi.Output<string | undefined>;
    /** With `webhookManualCreation`: the hook's secret, a Pulumi secret; undefined otherwise. */
    public readonly webhookSecret: pulumi.Output<string | undefined>;
    /** The EventBridge Scheduler schedule that starts builds (in the group of the same name); undefined without `scheduleExpression`. */
    public readonly scheduleName: pulumi.Output<string | undefined>;

    /**
     * The validated arguments, defaults applied. A getter, not a field: the package schema takes every field of
     * the class for an output.
     */
    get settings(): ResolvedArgs {
        return SETTINGS.get(this)!;
    }

    constructor(name: string, args: CachedDockerBuildArgs = {}, opts: pulumi.ComponentResourceOptions = {}) {
        // Validated before super(), so a bad value fails before anything, even this component, is registered.
        const a = resolveArgs(name, pulumi.getStack(), args);
        super(TYPE_TOKEN, name, {}, { ...opts, aliases: [...(opts.aliases ?? []), { type: LEGACY_TYPE_TOKEN }] });
        SETTINGS.set(this, a);
        const childOpts: pulumi.ResourceOptions = { parent: this, protect: a.protect };

        const { repository } = createRepository(name, a, args.tags, childOpts);
        const logGroup = createLogGroup(name, a, args.tags, childOpts);
        const sourceAuth = createSourceAuth(name, a, { githubToken: args.githubToken, tags: args.tags }, childOpts);
        const caches = createUpstreamCaches(
            name,
            a,
            { dockerHubAccessToken: args.dockerHubAccessToken, tags: args.tags },
            childOpts,
        );
        // Known only once the rules the stack creates exist, so neither the project nor a consumer of the
        // outputs uses a cache that isn't there yet.
        const registry = pulumi
            .all([repository.repositoryUrl, ...caches.rules.map((r) => r.id)])
            .apply(([url]) => registryOf(url));
        const builder = registry.apply((r) => builderSettings(r, a.builderImage, a.upstreamCaches));
        // The buildspec derives the builder image and the buildkitd.toml from the same caches (`builderSettings`);
        // it waits for the rules through `registry`.
        const buildspec = pulumi
            .all([repository.repositoryUrl, repository.arn, registry])
            .apply(([url, arn]) => buildspecYaml(buildspecOptions(a, url, arnParts(arn).region)));
        // CodeBuild reads it from an S3 object of this component, in the repository's account and region.
        const buildspecObject = createBuildspecObject(
            name,
            a.projectName,
            buildspec,
            repository.arn.apply(arnParts),
            args.tags,
            childOpts,
        );
        const role = createRole(
            name,
            a.projectName,
            repository.arn,
            logGroup.arn,
            a.upstreamCaches.map((c) => c.prefix),
            args.tags,
            childOpts,
            sourceAuth.arns,
            buildspecObject.arn,
        );
        // Two platforms built natively: a batch build, with its own service role.
        const batch = isNative(a)
            ? createBatchRole(name, a.projectName, repository.arn, args.tags, childOpts)
            : undefined;
        const { project } = createProject(
            name,
            a,
            {
                // The object's ARN once the role's policy lets the role read it (an update of the policy included).
                buildspec: pulumi
                    .all([buildspecObject.arn, role.policy.policy])
                    .apply(([arn]) => checkedProjectBuildspec(arn)),
                serviceRoleArn: role.roleArn,
                logGroupName: logGroup.name,
                sourceAuth: sourceAuth.auth,
                tags: args.tags,
                batchServiceRoleArn: batch?.roleArn,
            },
            childOpts,
        );

        const monitoring = a.monitoring
            ? createMonitoring(
                  name,
                  a,
                  {
                      logGroupName: logGroup.name,
                      region: repository.arn.apply((arn) => arnParts(arn).region),
                      tags: args.tags,
                  },
                  childOpts,
              )
            : undefined;

        const webhook = a.webhook.enabled
            ? // A batch project (two platforms built natively) is started by its webhook as a batch.
              createWebhook(
                  name,
                  project.name,
                  a.webhook,
                  a.trustedRefs,
                  childOpts,
                  isNative(a) ? "BUILD_BATCH" : "BUILD",
              )
            : undefined;
        const schedule =
            a.scheduleExpression !== undefined
                ? createSchedule(
                      name,
                      { ...a, scheduleExpression: a.scheduleExpression },
                      {
                          projectArn: project.arn,
                          arnParts: repository.arn.apply(arnParts),
                          tags: args.tags,
                          batch: isNative(a),
                      },
                      childOpts,
                  )
                : undefined;

        this.repositoryUrl = repository.repositoryUrl;
        this.repositoryArn = repository.arn;
        this.repositoryName = repository.name;
        this.imageUri = repository.repositoryUrl.apply((url) => cacheRefs({ ...a, repositoryUrl: url }).image);
        this.cacheRef = repository.repositoryUrl.apply((url) => cacheRefs({ ...a, repositoryUrl: url }).cache);
        this.projectName = project.name;
        this.projectArn = project.arn;
        this.roleArn = role.roleArn;
        this.logGroupName = logGroup.name;
        this.buildspec = buildspec;
        this.builderImage = builder.apply((b) => b.builderImage);
        this.buildkitdConfig = builder.apply((b) => b.buildkitdConfig);
        // A plain map for the schema (string keys): Partial<Record<Upstream, …>> has no index signature.
        this.upstreamCacheUrls = registry.apply((r): Record<string, string> => ({
            ...upstreamCacheUrls(r, a.upstreamCaches),
        }));
        this.alarmTopicArn = monitoring ? monitoring.topicArn : pulumi.output(undefined);
        this.dashboardName = monitoring ? monitoring.dashboard.dashboardName : pulumi.output(undefined);
        this.connectionArn = sourceAuth.connectionArn;
        this.connectionStatus = sourceAuth.connectionStatus;
        this.connectionHandshakeUrl = sourceAuth.connection
            ? repository.arn.apply((arn) => connectionConsoleUrl(arnParts(arn).region))
            : pulumi.output(undefined);
        this.webhookPayloadUrl = webhook ? webhook.payloadUrl : pulumi.output(undefined);
        this.webhookSecret = webhook ? webhook.secret : pulumi.output(undefined);
        this.scheduleName = schedule ? schedule.schedule.name : pulumi.output(undefined);

        this.registerOutputs({
            repositoryUrl: this.repositoryUrl,
            repositoryArn: this.repositoryArn,
            repositoryName: this.repositoryName,
            imageUri: this.imageUri,
            cacheRef: this.cacheRef,
            projectName: this.projectName,
            projectArn: this.projectArn,
            roleArn: this.roleArn,
            logGroupName: this.logGroupName,
            buildspec: this.buildspec,
            builderImage: this.builderImage,
            buildkitdConfig: this.buildkitdConfig,
            upstreamCacheUrls: this.upstreamCacheUrls,
            alarmTopicArn: this.alarmTopicArn,
            dashboardName: this.dashboardName,
            connectionArn: this.connectionArn,
            connectionStatus: this.connectionStatus,
            connectionHandshakeUrl: this.connectionHandshakeUrl,
            webhookPayloadUrl: this.webhookPayloadUrl,
            webhookSecret: this.webhookSecret,
            scheduleName: this.scheduleName,
        });
    }
}
