/**
 * The program's part for a stack with `images` (several images): the checks across images, the resources shared by
 * every image (created once), one `CachedDockerBuild` per image, and the `images` stack output.
 *
 * Shared, created once at the top of the stack:
 * - the alarms' SNS topic (`<component>-alarms`, named `<component>-<stack>-alarms`) and its email subscriptions,
 *   unless `alarmTopicArn` names a topic; every image's alarms notify it (each image keeps its own filters, alarms
 *   and dashboard, which belong to its project);
 * - with `pullThroughCache: create`, the pull-through cache rules, their templates and the Docker Hub secret: they
 *   are registry-wide, so one set serves every image, and each image uses them as `existing`.
 * Each image gets its own repository, lifecycle rules, role, log group and project, as one component does.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import {
    argProblems,
    CachedDockerBuild,
    CachedDockerBuildArgs,
    ConfigError,
    ConfigProblem,
    resolveArgs,
    ResolvedArgs,
} from "./components";
import { clashes, dedupe, ImageArgs, imageProblem } from "./components/images";
import { pullRequestProjectClashes } from "./components/pullRequestProject";
import { createUpstreamCaches } from "./components/upstreamCache";

/** What the `images` output holds per image; read it with `stackRef.getOutput("images")`. */
export interface ImageOutputs {
    /** `<account>.dkr.ecr.<region>.amazonaws.com/<repositoryName>` */
    readonly repositoryUrl: string;
    /** The repository's ARN, e.g. to grant a deploy role pull on it. */
    readonly repositoryArn: string;
    /** The image trusted builds push: `<repositoryUrl>:<imageTag>`. */
    readonly imageUri: string;
    /** Where the image's layer cache lives (the cache tag for `registry`, the image for `inline` and `pull`). */
    readonly cacheRef: string;
    /** The image's CodeBuild project: `aws codebuild start-build --project-name <projectName>`. */
    readonly projectName: string;
    /** With `webhookPullRequests`: the image's read-only project that pull requests build in, `<projectName>-pr`. */
    readonly pullRequestProjectName?: string;
}

/** The component of one image: `<component name>-<image name>` (its default names add the stack). */
export function imageComponentName(componentName: string, image: string): string {
    return `${componentName}-${image}`;
}

/**
 * Every problem of a stack with `images`: the flat arguments' (the stack-wide settings and the entries' defaults),
 * each image's (named `images.<name>.<key>` where the entry set it), and clashes between images.
 */
export function severalImagesProblems(
    componentName: string,
    stack: string,
    flat: CachedDockerBuildArgs,
    images: readonly ImageArgs[],
): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    const names: { image: string; repositoryName: string; projectName: string; pullRequests: boolean }[] = [];
    for (const image of images) {
        const name = imageComponentName(componentName, image.name);
        // resolveArgs's defaults, `<name>-<stack>` (lowercased for ECR), so that an image with another problem
        // is still compared.
        names.push({
            image: image.name,
            repositoryName: image.args.repositoryName ?? `${name}-${stack}`.toLowerCase(),
            projectName: image.args.projectName ?? `${name}-${stack}`,
            pullRequests: image.args.webhookPullRequests === true,
        });
        try {
            resolveArgs(name, stack, image.args);
        } catch (e) {
            if (!(e instanceof ConfigError)) {
                throw e;
            }
            problems.push(...e.problems.map((q) => imageProblem(image, q)));
        }
    }
    // A connection is account-wide and needs its own console handshake: one per image would mean one handshake each.
    if (flat.createConnection === true) {
        problems.push({
            key: "createConnection",
            value: true,
            allowed:
                "Allowed: false with images (each image's project would create its own connection, each with its own console handshake). Create one connection (once, in the console or in another stack) and set connectionArn: every image signs in with it.",
        });
    }
    return dedupe([
        ...argProblems(componentName, stack, flat),
        ...problems,
        ...clashes(names),
        ...pullRequestProjectClashes(names),
    ]);
}

/** The stack outputs of a stack with `images`. */
export interface SeveralImagesOutputs {
    /** Image name → its repository, image, cache and project: see {@link ImageOutputs}. */
    readonly images: pulumi.Output<Record<string, ImageOutputs>>;
    /** The one topic every image's alarms notify; undefined when monitoring is off. */
    readonly alarmTopicArn: pulumi.Output<string | undefined>;
    /** Where each upstream cached through ECR is reached (shared by every image); `{}` when off. */
    readonly upstreamCacheUrls: pulumi.Output<Record<string, string>>;
}

/**
 * Creates the shared resources and one component per image; call it only once {@link severalImagesProblems} found
 * nothing. `dockerHubAccessToken`, `githubToken` and `tags` are handed through as the single-image program does.
 */
export function severalImages(
    componentName: string,
    stack: string,
    flat: CachedDockerBuildArgs,
    images: readonly ImageArgs[],
): SeveralImagesOutputs {
    // The stack-wide settings, with the stack's default names (`<component>-<stack>`): the shared topic and caches.
    const shared = resolveArgs(componentName, stack, flat);
    const tags = flat.tags;
    const topicArn = createSharedTopic(componentName, shared, tags);
    const caches = createUpstreamCaches(
        componentName,
        shared,
        { dockerHubAccessToken: flat.dockerHubAccessToken, tags },
        { protect: shared.protect },
    );
    const perImage: Partial<CachedDockerBuildArgs> = {
        ...(topicArn === undefined ? {} : { alarmTopicArn: topicArn, alarmEmails: [] }),
        ...(shared.pullThroughCache === "create"
            ? {
                  pullThroughCache: "existing",
                  dockerHubCredentialArn: undefined,
                  dockerHubUsername: undefined,
                  dockerHubAccessToken: undefined,
              }
            : {}),
    };
    const builds = images.map(
        (image) =>
            [
                image.name,
                new CachedDockerBuild(
                    imageComponentName(componentName, image.name),
                    { ...image.args, ...perImage },
                    // The rules exist before the components (and so their projects) are registered as done.
                    { dependsOn: caches.rules },
                ),
            ] as const,
    );
    const first = builds[0][1];
    return {
        images: pulumi
            .all(
                builds.map(([name, b]) =>
                    pulumi
                        .all([
                            b.repositoryUrl,
                            b.repositoryArn,
                            b.imageUri,
                            b.cacheRef,
                            b.projectName,
                            b.pullRequestProjectName,
                        ])
                        .apply(
                            ([repositoryUrl, repositoryArn, imageUri, cacheRef, projectName, pullRequestProjectName]) =>
                                [
                                    name,
                                    {
                                        repositoryUrl,
                                        repositoryArn,
                                        imageUri,
                                        cacheRef,
                                        projectName,
                                        ...(pullRequestProjectName === undefined ? {} : { pullRequestProjectName }),
                                    },
                                ] as const,
                        ),
                ),
            )
            .apply((entries) => Object.fromEntries(entries)),
        alarmTopicArn: shared.monitoring ? first.alarmTopicArn : pulumi.output(undefined),
        upstreamCacheUrls: first.upstreamCacheUrls,
    };
}

/**
 * The topic every image's alarms notify, created once (as `monitoring.ts` creates one per component), with the
 * email subscriptions; the given `alarmTopicArn` (subscribed to once); or undefined when monitoring is off.
 */
function createSharedTopic(
    name: string,
    a: ResolvedArgs,
    tags: CachedDockerBuildArgs["tags"],
): pulumi.Input<string> | undefined {
    if (!a.monitoring) {
        return undefined;
    }
    const opts = { protect: a.protect };
    const topicArn =
        a.alarmTopicArn ?? new aws.sns.Topic(`${name}-alarms`, { name: `${a.projectName}-alarms`, tags }, opts).arn;
    a.alarmEmails.forEach(
        (email, i) =>
            new aws.sns.TopicSubscription(
                `${name}-alarm-email-${i}`,
                { topic: topicArn, protocol: "email", endpoint: email },
                opts,
            ),
    );
    return topicArn;
}
