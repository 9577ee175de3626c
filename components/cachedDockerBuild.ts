/**
 * `CachedDockerBuild`: a CodeBuild project that builds a Docker image with its layer cache kept in ECR.
 *
 * The constructor only wires the pieces together; each concern lives in its own file:
 * `args.ts` (the arguments' interface), `resolveArgs.ts` (defaults and validation, each feature's slice in its own
 * file, problems reported through `problems.ts`), `ecr.ts` + `lifecycle.ts` (repository and lifecycle rules),
 * `iam.ts` + `policies.ts` (role and least-privilege documents), `upstreamCache.ts` + `pullThrough.ts`
 * (ECR pull-through cache rules, their repository creation templates, the BuildKit configuration that uses them),
 * `builderImage.ts` (where the builder image comes from), `codebuild.ts` (project, log group, source credential), `buildspec/`
 * (the buildspec: `index.ts` and one bash file per command; `buildspecObject.ts` ships it to S3) and `monitoring.ts` + `buildEvent.ts` (metric
 * filters on the build's JSON line, alarms, their SNS topic, the dashboard), `source.ts` (the sign-in to the
 * source: a CodeConnections connection or the token's secret), `triggers.ts` (the webhook) and `schedule.ts`
 * (scheduled builds).
 */
import * as pulumi from "@pulumi/pulumi";
import { CachedDockerBuildArgs, ResolvedArgs } from "./args";
import { ConfigError } from "./problems";
import { resolveArgs } from "./resolveArgs";
import { hostFactProblems, hostsOf } from "./hostFacts";
import { buildspecOptions, cacheRefs, registryOf } from "./buildspec";
import { buildspecYaml } from "./buildspec/render";
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
import { upstreamCacheUrls } from "./pullThrough";
import { builderSettings, unpinnedBuilderImageWarning, usesBuilderImage } from "./builderImage";
import { createUpstreamCaches } from "./upstreamCache";
import { createSchedule } from "./schedule";
import { connectionReadiness, createSourceAuth } from "./source";
import { createWebhookWhenReady } from "./triggers";

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
     * platforms, built natively or emulated, each platform keeps its own: `<cacheRef>-<arch>` (`…:buildcache-arm64`).
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
     * The image of the `docker-container` builder as the build first tries to pull it: through the pull-through
     * cache when one covers its registry, else the `builderImage` argument (`builderImageSources` has the rest).
     */
    public readonly builderImage: pulumi.Output<string>;
    /**
     * Every reference the build may pull the builder image from, in order, the first that serves it winning: through
     * the pull-through caches, `builderImage`, then `builderImageMirrors` by its digest.
     */
    public readonly builderImageSources: pulumi.Output<string[]>;
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
     * The connection's live status, read on every preview and update (created or given): `PENDING` until its
     * one-time handshake is done in the console (`connectionHandshakeUrl`), then `AVAILABLE` (or `ERROR`); undefined
     * without a connection. The webhook exists and the schedule is enabled only while it is `AVAILABLE`.
     */
    public readonly connectionStatus: pulumi.Output<string | undefined>;
    /**
     * Where the connection's handshake is done (the console's Connections page), while the connection isn't
     * `AVAILABLE`: a set value means there is a step left to do. Undefined once it is, or without a connection.
     */
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
        // The builder image is pulled only by the docker-container builder; a reference without a digest is a risk there.
        const unpinned = usesBuilderImage(a) ? unpinnedBuilderImageWarning(a.builderImage) : undefined;
        if (unpinned !== undefined) {
            void pulumi.log.warn(unpinned, this);
        }
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
        const builder = registry.apply((r) =>
            builderSettings(r, a.builderImage, a.builderImageMirrors, a.upstreamCaches),
        );
        // The buildspec derives the builder image and the buildkitd.toml from the same caches (`builderSettings`);
        // it waits for the rules through `registry`.
        // It also waits for the region's host facts (hostFacts.ts): the region is known here, from the repository's ARN,
        // whatever set it; an unsupported host in that region fails here, and the project, which needs the buildspec,
        // is never created.
        const buildspec = pulumi.all([repository.repositoryUrl, repository.arn, registry]).apply(([url, arn]) => {
            const region = arnParts(arn).region;
            const problems = hostFactProblems({ hosts: hostsOf(a), computeType: a.computeType }, region);
            if (problems.length > 0) {
                throw new ConfigError(problems);
            }
            return buildspecYaml(buildspecOptions(a, url, region));
        });
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

        // With a connection, the webhook and the schedule wait until it is AVAILABLE (a new one is PENDING until its
        // console handshake): the first `pulumi up` succeeds and warns with the handshake URL, the next one after
        // the handshake creates the webhook (`createWebhookWhenReady` in triggers.ts explains the trade-off).
        const connection =
            a.sourceAuth === "connection"
                ? connectionReadiness(
                      sourceAuth.connectionStatus,
                      sourceAuth.connectionArn,
                      repository.arn.apply((arn) => arnParts(arn).region),
                      this,
                  )
                : undefined;
        const webhook = a.webhook.enabled
            ? // A batch project (two platforms built natively) is started by its webhook as a batch.
              createWebhookWhenReady(
                  name,
                  project.name,
                  a.webhook,
                  a.trustedRefs,
                  childOpts,
                  isNative(a) ? "BUILD_BATCH" : "BUILD",
                  connection?.ready,
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
                          enabled: connection?.ready,
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
        this.builderImage = builder.apply((b) => b.sources[0]);
        this.builderImageSources = builder.apply((b) => b.sources);
        this.buildkitdConfig = builder.apply((b) => b.buildkitdConfig);
        // A plain map for the schema (string keys): Partial<Record<Upstream, …>> has no index signature.
        this.upstreamCacheUrls = registry.apply((r): Record<string, string> => ({
            ...upstreamCacheUrls(r, a.upstreamCaches),
        }));
        this.alarmTopicArn = monitoring ? monitoring.topicArn : pulumi.output(undefined);
        this.dashboardName = monitoring ? monitoring.dashboard.dashboardName : pulumi.output(undefined);
        this.connectionArn = sourceAuth.connectionArn;
        this.connectionStatus = sourceAuth.connectionStatus;
        this.connectionHandshakeUrl = connection ? connection.handshakeUrl : pulumi.output(undefined);
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
            builderImageSources: this.builderImageSources,
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
