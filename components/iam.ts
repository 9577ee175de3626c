/**
 * The CodeBuild service role, its least-privilege policy, and the policy attachment.
 * The documents come from the pure functions in `policies.ts`; this file only feeds them ARNs.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { arnParts, buildPolicy, codebuildProjectArn, trustPolicy } from "./policies";
import type { SourceAuthArns } from "./source";

export interface RoleResources {
    readonly role: aws.iam.Role;
    readonly policy: aws.iam.Policy;
    readonly attachment: aws.iam.RolePolicyAttachment;
    /** The role's ARN, resolved only once its policy is attached, so a consumer never gets a powerless role. */
    readonly roleArn: pulumi.Output<string>;
}

/**
 * The role and its policy. `pullThroughPrefixes` are the repository prefixes of the pull-through caches the build
 * pulls through (none when they are off): the role may pull, import and create repositories under them, and
 * nowhere else. `sourceAuth` is the connection or token secret the build signs in to its source with (none for a
 * public source): the role may use that one only. `buildspecObjectArn` is the buildspec's S3 object
 * (`buildspecObject.ts`): the role may read that one object.
 */
export function createRole(
    name: string,
    projectName: string,
    repositoryArn: pulumi.Output<string>,
    logGroupArn: pulumi.Output<string>,
    pullThroughPrefixes: readonly string[],
    tags: pulumi.Input<Record<string, pulumi.Input<string>>> | undefined,
    opts: pulumi.ResourceOptions,
    sourceAuth: pulumi.Input<SourceAuthArns> = {},
    buildspecObjectArn?: pulumi.Input<string>,
): RoleResources {
    const through =
        pullThroughPrefixes.length > 0 ? `, pull through the caches under ${pullThroughPrefixes.join(", ")}` : "";
    const role = new aws.iam.Role(
        `${name}-role`,
        {
            name: `${projectName}-role`,
            description: `CodeBuild service role of ${projectName}: pull and push its ECR repository${through}, write its logs`,
            assumeRolePolicy: repositoryArn.apply((arn) => {
                const parts = arnParts(arn);
                return JSON.stringify(trustPolicy(parts.accountId, codebuildProjectArn(parts, projectName)));
            }),
            tags,
        },
        opts,
    );
    const policy = new aws.iam.Policy(
        `${name}-policy`,
        {
            name: `${projectName}-policy`,
            // Not changed by the pull-through caches: a new description would replace the policy (ForceNew),
            // and its fixed name would collide with the old one during the replacement.
            description: `Least privilege for ${projectName}: ECR login, pull and push on one repository, logs in one log group`,
            policy: pulumi
                .all([repositoryArn, logGroupArn, sourceAuth, buildspecObjectArn])
                .apply(([repoArn, groupArn, auth, buildspecArn]) =>
                    JSON.stringify(
                        buildPolicy({
                            repositoryArn: repoArn,
                            logGroupArn: groupArn,
                            pullThroughPrefixes,
                            sourceAuth: auth,
                            buildspecObjectArn: buildspecArn,
                        }),
                    ),
                ),
            tags,
        },
        opts,
    );
    const attachment = new aws.iam.RolePolicyAttachment(
        `${name}-policy-attachment`,
        { role: role.name, policyArn: policy.arn },
        opts,
    );
    const roleArn = pulumi.all([role.arn, attachment.id]).apply(([arn]) => arn);
    return { role, policy, attachment, roleArn };
}
