/**
 * Entry point: reads this stack's config and creates the component. The only place that reads config.
 *
 *     pulumi up --stack dev
 */
import * as pulumi from "@pulumi/pulumi";
import { argsFromConfig, CachedDockerBuild, checkConfigKeys } from "./components";

const cfg = new pulumi.Config();
checkConfigKeys(pulumi.getProject(), pulumi.runtime.allConfig());
const build = new CachedDockerBuild("docker-cache", argsFromConfig(cfg));

// Flat camelCase outputs, for `pulumi stack output` and for other projects' StackReferences.
export const projectName = build.projectName;
export const projectArn = build.projectArn;
export const repositoryUrl = build.repositoryUrl;
export const repositoryArn = build.repositoryArn;
export const repositoryName = build.repositoryName;
export const imageUri = build.imageUri;
export const cacheRef = build.cacheRef;
export const cacheStrategy = build.settings.cacheStrategy;
export const roleArn = build.roleArn;
export const logGroupName = build.logGroupName;
