/**
 * The one buildspec limit that remains: CodeBuild's cap on the project's `source.buildspec` field.
 *
 * The buildspec itself is an S3 object (`../buildspecObject.ts`), and that field holds only its ARN
 * (`arn:<partition>:s3:::<bucket>/<key>`, about 120 characters), so the cap no longer bounds the shell. No size limit
 * is documented for a buildspec read from S3 (build-spec-ref.html, "Buildspec file name and storage location"; the
 * CodeBuild quotas page names none). See docs/decisions/buildspecDelivery.md.
 */

/**
 * CodeBuild refuses a longer `source.buildspec` value: UpdateProject's "Max buildspec length is 25600"
 * (aws/aws-cdk#30326; aws/aws-cdk#14974 moved CDK pipelines' buildspec to an asset for this reason).
 */
export const INLINE_BUILDSPEC_MAX = 25_600;

/**
 * The project's `source.buildspec` value, checked against {@link INLINE_BUILDSPEC_MAX}: returned as it is when it
 * fits, else an error naming its length and the cap (a bug of this package, not a setting: the value is an ARN).
 */
export function checkedProjectBuildspec(value: string): string {
    if (value.length > INLINE_BUILDSPEC_MAX) {
        throw new Error(
            `The CodeBuild project's source.buildspec is ${value.length.toLocaleString("en-US")} characters; CodeBuild takes at most ` +
                `${INLINE_BUILDSPEC_MAX.toLocaleString("en-US")} (report it: it should be the buildspec object's ARN, ${JSON.stringify(value.slice(0, 60))}…)`,
        );
    }
    return value;
}
