/**
 * The batch service role of a project that builds two platforms natively (components/platforms.ts): CodeBuild
 * assumes it to start, stop and retry the builds of a batch. Apart from the build's own role, as AWS advises, so a
 * build can't start more builds or get around the batch's restrictions; scoped to this project.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { arnParts, codebuildProjectArn, trustPolicy } from "./policies";
import { batchPolicy } from "./platforms";

/** The role (trust: CodeBuild, for this project only) with its inline policy; its ARN once the policy is in place. */
export function createBatchRole(
    name: string,
    projectName: string,
    repositoryArn: pulumi.Output<string>,
    tags: pulumi.Input<Record<string, pulumi.Input<string>>> | undefined,
    opts: pulumi.ResourceOptions,
): { role: aws.iam.Role; policy: aws.iam.RolePolicy; roleArn: pulumi.Output<string> } {
    const projectArn = repositoryArn.apply((arn) => codebuildProjectArn(arnParts(arn), projectName));
    const role = new aws.iam.Role(
        `${name}-batch-role`,
        {
            name: `${projectName}-batch`,
            description: `CodeBuild batch service role of ${projectName}: start, stop and retry its builds`,
            assumeRolePolicy: pulumi
                .all([repositoryArn, projectArn])
                .apply(([arn, project]) => JSON.stringify(trustPolicy(arnParts(arn).accountId, project))),
            tags,
        },
        opts,
    );
    const policy = new aws.iam.RolePolicy(
        `${name}-batch-policy`,
        { role: role.name, policy: projectArn.apply((arn) => JSON.stringify(batchPolicy(arn))) },
        opts,
    );
    return { role, policy, roleArn: pulumi.all([role.arn, policy.id]).apply(([arn]) => arn) };
}
