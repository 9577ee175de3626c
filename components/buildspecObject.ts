/**
 * The buildspec as an S3 object the stack owns, which the project names by its ARN in `source.buildspec`.
 *
 * CodeBuild reads a buildspec from S3 when `source.buildspec` is the object's ARN (`arn:aws:s3:::<bucket>/<key>`);
 * the bucket must be in the project's region (build-spec-ref.html, "Buildspec file name and storage location"). It is
 * how CDK's `BuildSpec.fromAsset` ships a buildspec (the asset's `arnForObjects(key)`, with read granted to the
 * project). An inline buildspec is capped at 25,600 characters (`buildspec/limit.ts`); the object is not, so the
 * fragments reach CodeBuild as written. Why this design: docs/decisions/buildspecDelivery.md.
 *
 * - One private bucket per component, in the repository's account and region: all four public-access blocks,
 *   default encryption (SSE-S3), a bucket policy that refuses any request without TLS; ACLs stay disabled (S3's
 *   default object ownership, BucketOwnerEnforced).
 * - The key is content-addressed (`buildspec/<sha256 of the YAML>.yml`): a changed buildspec is a new object, which
 *   exists before the project names it; the old one is deleted once the project names the new one.
 * - The build role may `s3:GetObject` that one key only (`policies.ts`, `buildPolicy`).
 */
import { createHash } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";

/** Where the buildspec objects live in their bucket. */
export const BUILDSPEC_KEY_PREFIX = "buildspec/";

/** The content-addressed key of a buildspec: `buildspec/<sha256 hex of the YAML>.yml`. */
export function buildspecKey(yaml: string): string {
    return `${BUILDSPEC_KEY_PREFIX}${createHash("sha256").update(yaml, "utf8").digest("hex")}.yml`;
}

/** S3's bound on a bucket name (bucketnamingrules.html: 3 to 63 characters). */
export const BUCKET_NAME_MAX = 63;

/**
 * The bucket's name: `<project>-buildspec-<account>-<region>`, lowercase (S3 takes only lowercase letters, digits,
 * `.` and `-`), unique per account and region as the project name is. A project name that is not already a valid
 * lowercase word, or too long for 63 characters, is shortened and followed by 7 hex digits of its SHA-256, so two
 * project names never share a bucket.
 */
export function buildspecBucketName(projectName: string, accountId: string, region: string): string {
    const suffix = `-buildspec-${accountId}-${region}`;
    const slug = projectName.toLowerCase().replace(/[^a-z0-9-]/g, "-");
    if (slug === projectName && slug.length + suffix.length <= BUCKET_NAME_MAX) {
        return `${slug}${suffix}`;
    }
    const hash = createHash("sha256").update(projectName, "utf8").digest("hex").slice(0, 7);
    const room = BUCKET_NAME_MAX - suffix.length - hash.length - 1;
    const head = slug.slice(0, room).replace(/-+$/, "");
    return `${head}-${hash}${suffix}`;
}

/** The ARN of an object: `arn:<partition>:s3:::<bucket>/<key>`, from the bucket's ARN. */
export function objectArn(bucketArn: string, key: string): string {
    return `${bucketArn}/${key}`;
}

/** The bucket's policy: every request without TLS is refused, whoever makes it (aws:SecureTransport). */
export function tlsOnlyPolicy(bucketArn: string): aws.iam.PolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "RefuseRequestsWithoutTls",
                Effect: "Deny",
                Principal: "*",
                Action: "s3:*",
                Resource: [bucketArn, `${bucketArn}/*`],
                Condition: { Bool: { "aws:SecureTransport": "false" } },
            },
        ],
    };
}

export interface BuildspecObjectResources {
    readonly bucket: aws.s3.Bucket;
    readonly object: aws.s3.BucketObjectv2;
    /** The object's ARN, known once the object exists: what `source.buildspec` names and the role may read. */
    readonly arn: pulumi.Output<string>;
}

/** The bucket, its locks, and the buildspec object. `where` gives the account and region (the repository's). */
export function createBuildspecObject(
    name: string,
    projectName: string,
    yaml: pulumi.Output<string>,
    where: pulumi.Output<{ accountId: string; region: string }>,
    tags: pulumi.Input<Record<string, pulumi.Input<string>>> | undefined,
    opts: pulumi.ResourceOptions,
): BuildspecObjectResources {
    const bucket = new aws.s3.Bucket(
        `${name}-buildspec-bucket`,
        {
            bucket: where.apply((w) => buildspecBucketName(projectName, w.accountId, w.region)),
            // It holds only this component's buildspecs, which the stack writes again on every update.
            forceDestroy: true,
            tags,
        },
        opts,
    );
    const locks = [
        new aws.s3.BucketPublicAccessBlock(
            `${name}-buildspec-public-access`,
            {
                bucket: bucket.id,
                blockPublicAcls: true,
                blockPublicPolicy: true,
                ignorePublicAcls: true,
                restrictPublicBuckets: true,
            },
            opts,
        ),
        new aws.s3.BucketServerSideEncryptionConfiguration(
            `${name}-buildspec-encryption`,
            { bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] },
            opts,
        ),
        new aws.s3.BucketPolicy(
            `${name}-buildspec-tls-only`,
            { bucket: bucket.id, policy: bucket.arn.apply((arn) => JSON.stringify(tlsOnlyPolicy(arn))) },
            opts,
        ),
    ];
    // Written once the bucket is locked down. Never protected: a changed buildspec replaces it (a new key), which
    // `protect` would refuse. Not tagged: an S3 object takes at most 10 tags, the stack's tags may be more.
    const object = new aws.s3.BucketObjectv2(
        `${name}-buildspec`,
        {
            bucket: bucket.id,
            key: yaml.apply(buildspecKey),
            content: yaml,
            contentType: "text/yaml; charset=utf-8",
        },
        { ...opts, protect: false, dependsOn: locks },
    );
    const arn = pulumi.all([bucket.arn, object.key, object.id]).apply(([bucketArn, key]) => objectArn(bucketArn, key));
    return { bucket, object, arn };
}
