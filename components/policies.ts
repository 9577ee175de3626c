/**
 * IAM documents for the CodeBuild service role, as pure functions of resolved ARNs.
 *
 * The split follows CDK's `RepositoryBase.grantPull`/`grantPush`: repository actions are scoped to the
 * repository's ARN; only `ecr:GetAuthorizationToken`, which has no resource-level permissions, is on `*`.
 */
import * as aws from "@pulumi/aws";
import { SourceAuthArns, sourceAuthStatements } from "./source";

/** Pull a layer or manifest from the repository (also what BuildKit's cache import needs). */
export const ECR_PULL_ACTIONS = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchGetImage",
] as const;
/** Push layers and manifests (images and cache manifests) to the repository. */
export const ECR_PUSH_ACTIONS = [
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:PutImage",
] as const;
/**
 * Pull through an ECR pull-through cache: the pull actions, plus importing the image from upstream and creating
 * its repository on the first pull (ECR user guide, "IAM permissions required to sync an upstream registry").
 */
export const PULL_THROUGH_ACTIONS = [
    ...ECR_PULL_ACTIONS,
    "ecr:BatchImportUpstreamImage",
    "ecr:CreateRepository",
] as const;
/** Write build logs to the project's own log group. */
export const LOGS_ACTIONS = ["logs:CreateLogStream", "logs:PutLogEvents"] as const;

export interface ArnParts {
    readonly partition: string;
    readonly region: string;
    readonly accountId: string;
}

/** Splits any ARN into partition, region and account. Used on the repository ARN, so no invoke is needed. */
export function arnParts(arn: string): ArnParts {
    const parts = arn.split(":");
    if (parts.length < 6 || parts[0] !== "arn" || !/^\d{12}$/.test(parts[4])) {
        throw new Error(`Not an ARN with an account: ${JSON.stringify(arn)}`);
    }
    return { partition: parts[1], region: parts[3], accountId: parts[4] };
}

/** The ARN of a CodeBuild project, known before the project exists (no dependency cycle with the role). */
export function codebuildProjectArn(p: ArnParts, projectName: string): string {
    return `arn:${p.partition}:codebuild:${p.region}:${p.accountId}:project/${projectName}`;
}

/**
 * Trust policy: only CodeBuild may assume the role, and only on behalf of this account's project
 * (confused-deputy protection with `aws:SourceAccount` and `aws:SourceArn`).
 */
export function trustPolicy(accountId: string, projectArn: string): aws.iam.PolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "CodeBuildAssumesRoleForThisProjectOnly",
                Effect: "Allow",
                Principal: { Service: "codebuild.amazonaws.com" },
                Action: "sts:AssumeRole",
                Condition: {
                    StringEquals: { "aws:SourceAccount": accountId },
                    ArnLike: { "aws:SourceArn": projectArn },
                },
            },
        ],
    };
}

export interface BuildPolicyInputs {
    readonly repositoryArn: string;
    readonly logGroupArn: string;
    /** Repository prefixes of the pull-through cache rules the build pulls through; none by default. */
    readonly pullThroughPrefixes?: readonly string[];
    /** The connection or token secret that signs in to the source (`source.ts`); none for a public source. */
    readonly sourceAuth?: SourceAuthArns;
    /** The ARN of the buildspec's S3 object (`buildspecObject.ts`), which CodeBuild reads as the role; none: no statement. */
    readonly buildspecObjectArn?: string;
}

/** The ARNs of the repositories that a pull-through cache rule creates under `prefix`. */
export function cachedRepositoriesArn(p: ArnParts, prefix: string): string {
    return `arn:${p.partition}:ecr:${p.region}:${p.accountId}:repository/${prefix}/*`;
}

/**
 * The role's permissions: ECR login on `*`, pull and push on the repository, logs on the project's log group,
 * and, with pull-through caches, pulling through them (only the repositories under their prefixes); with a
 * private source, reading its connection or token secret only (`sourceAuthStatements` in `source.ts`); reading the
 * buildspec's one S3 object.
 */
export function buildPolicy(inputs: BuildPolicyInputs): aws.iam.PolicyDocument {
    // The provider's LogGroup.arn has no trailing ":*"; log streams are "<group arn>:log-stream:<name>".
    const logGroupArn = inputs.logGroupArn.replace(/:\*$/, "");
    const prefixes = inputs.pullThroughPrefixes ?? [];
    const parts = arnParts(inputs.repositoryArn);
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "EcrLoginHasNoResourceLevelPermissions",
                Effect: "Allow",
                Action: ["ecr:GetAuthorizationToken"],
                Resource: "*",
            },
            {
                Sid: "PullAndPushThisRepositoryOnly",
                Effect: "Allow",
                Action: [...ECR_PULL_ACTIONS, ...ECR_PUSH_ACTIONS],
                Resource: [inputs.repositoryArn],
            },
            {
                Sid: "WriteThisProjectsLogsOnly",
                Effect: "Allow",
                Action: [...LOGS_ACTIONS],
                Resource: [logGroupArn, `${logGroupArn}:log-stream:*`],
            },
            ...(prefixes.length === 0
                ? []
                : [
                      {
                          Sid: "PullThroughTheUpstreamCachesOnly",
                          Effect: "Allow" as const,
                          Action: [...PULL_THROUGH_ACTIONS],
                          Resource: prefixes.map((prefix) => cachedRepositoriesArn(parts, prefix)),
                      },
                  ]),
            ...sourceAuthStatements(inputs.sourceAuth ?? {}),
            ...(inputs.buildspecObjectArn === undefined
                ? []
                : [
                      {
                          // CodeBuild reads the project's buildspec from S3 as the service role (CDK's
                          // BuildSpec.fromAsset grants the project read on its asset): this one key only, and only
                          // in a bucket of this account (s3:ResourceAccount), so a bucket of the same name that
                          // someone else created after ours was gone could never hand this build its commands.
                          Sid: "ReadThisProjectsBuildspecOnly",
                          Effect: "Allow" as const,
                          Action: ["s3:GetObject"],
                          Resource: [inputs.buildspecObjectArn],
                          Condition: { StringEquals: { "s3:ResourceAccount": parts.accountId } },
                      },
                  ]),
        ],
    };
}
