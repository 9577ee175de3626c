/**
 * `CachedDockerBuild`: a CodeBuild project that builds a Docker image with its layer cache kept in ECR.
 *
 * The constructor only wires the pieces together; each concern lives in its own file:
 * `args.ts` (defaults and validation), `ecr.ts` + `lifecycle.ts` (repository and lifecycle rules),
 * `iam.ts` + `policies.ts` (role and least-privilege documents), `codebuild.ts` (project, log group,
 * source credential) and `buildspec.ts` (the inline buildspec).
 */
import * as pulumi from "@pulumi/pulumi";
import { CachedDockerBuildArgs, resolveArgs, ResolvedArgs } from "./args";
import { buildspecOptions, buildspecYaml, cacheRefs } from "./buildspec";
import { createLogGroup, createProject } from "./codebuild";
import { createRepository } from "./ecr";
import { createRole } from "./iam";
import { arnParts } from "./policies";

export const TYPE_TOKEN = "ecr-layer-cache:codebuild:CachedDockerBuild";

export class CachedDockerBuild extends pulumi.ComponentResource {
    /** The validated arguments, defaults applied. */
    public readonly settings: ResolvedArgs;
    /** `<account>.dkr.ecr.<region>.amazonaws.com/<name>` */
    public readonly repositoryUrl: pulumi.Output<string>;
    public readonly repositoryArn: pulumi.Output<string>;
    public readonly repositoryName: pulumi.Output<string>;
    /** The image that trusted builds push: `<repositoryUrl>:<imageTag>`. */
    public readonly imageUri: pulumi.Output<string>;
    /** Where the layer cache lives: the cache tag for `registry`, the image itself for `inline` and `pull`. */
    public readonly cacheRef: pulumi.Output<string>;
    public readonly projectName: pulumi.Output<string>;
    public readonly projectArn: pulumi.Output<string>;
    /** The service role's ARN, resolved once its policy is attached. */
    public readonly roleArn: pulumi.Output<string>;
    public readonly logGroupName: pulumi.Output<string>;
    /** The inline buildspec, as YAML. */
    public readonly buildspec: pulumi.Output<string>;

    constructor(name: string, args: CachedDockerBuildArgs = {}, opts: pulumi.ComponentResourceOptions = {}) {
        // Validated before super(), so a bad value fails before anything, even this component, is registered.
        const a = resolveArgs(name, pulumi.getStack(), args);
        super(TYPE_TOKEN, name, {}, opts);
        this.settings = a;
        const childOpts: pulumi.ResourceOptions = { parent: this, protect: a.protect };

        const { repository } = createRepository(name, a, args.tags, childOpts);
        const logGroup = createLogGroup(name, a, args.tags, childOpts);
        const role = createRole(name, a.projectName, repository.arn, logGroup.arn, args.tags, childOpts);

        const buildspec = pulumi
            .all([repository.repositoryUrl, repository.arn])
            .apply(([url, arn]) => buildspecYaml(buildspecOptions(a, url, arnParts(arn).region)));
        const { project } = createProject(
            name,
            a,
            {
                buildspec,
                serviceRoleArn: role.roleArn,
                logGroupName: logGroup.name,
                githubToken: args.githubToken,
                tags: args.tags,
            },
            childOpts,
        );

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
        });
    }
}
