/**
 * Entry point: runs the program (`program.ts`) for this stack and exports its outputs.
 *
 *     pulumi up --stack dev
 */
import { program } from "./program";

const outputs = program();

// Flat camelCase outputs, for `pulumi stack output` and for other projects' StackReferences.
export const projectName = outputs.projectName;
export const projectArn = outputs.projectArn;
export const repositoryUrl = outputs.repositoryUrl;
export const repositoryArn = outputs.repositoryArn;
export const repositoryName = outputs.repositoryName;
export const imageUri = outputs.imageUri;
export const cacheRef = outputs.cacheRef;
// The cache strategy the builds use: `cacheStrategy`, or its default `registry` when the stack doesn't set it.
export const cacheStrategy = outputs.cacheStrategy;
export const roleArn = outputs.roleArn;
export const logGroupName = outputs.logGroupName;
// Where each upstream registry cached through ECR is reached, e.g. {"ecr-public": "<registry>/ecr-public"}; {} when off.
export const upstreamCacheUrls = outputs.upstreamCacheUrls;
// The SNS topic the alarms notify and the CloudWatch dashboard's name; undefined when monitoring is off.
export const alarmTopicArn = outputs.alarmTopicArn;
export const dashboardName = outputs.dashboardName;
// With `images` (several images): image name → {repositoryUrl, repositoryArn, imageUri, cacheRef, projectName, and
// pullRequestProjectName with webhookPullRequests}; the flat outputs above of one image are then undefined (not
// exported). Undefined without `images`.
export const images = outputs.images;
// The source's connection: its ARN, its live status (PENDING until the console handshake; connectionHandshakeUrl is
// set while it isn't AVAILABLE, and the webhook waits for it);
// the webhook's payload URL and secret (manual creation only); the schedule's name. Undefined when not in use.
export const connectionArn = outputs.connectionArn;
export const connectionStatus = outputs.connectionStatus;
export const connectionHandshakeUrl = outputs.connectionHandshakeUrl;
export const webhookPayloadUrl = outputs.webhookPayloadUrl;
export const webhookSecret = outputs.webhookSecret;
export const scheduleName = outputs.scheduleName;
// With webhookPullRequests, the read-only project that pull requests build in (<projectName>-pr), and its hook's
// payload URL and secret (with webhookManualCreation). Undefined otherwise.
export const pullRequestProjectName = outputs.pullRequestProjectName;
export const pullRequestWebhookPayloadUrl = outputs.pullRequestWebhookPayloadUrl;
export const pullRequestWebhookSecret = outputs.pullRequestWebhookSecret;
