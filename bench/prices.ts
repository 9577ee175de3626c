/**
 * Prices that turn the bench's seconds and bytes into dollars (docs/performance.md, "Cost per build"). Each price has
 * its date and source. AWS's own pricing pages (aws.amazon.com/codebuild/pricing, aws.amazon.com/ecr/pricing) are not
 * among the stored pages this project could read; the figures below are those pages' numbers as quoted by the
 * secondary sources named, which agree with each other. Check them against the live pages before relying on them.
 */

export interface Price {
    /** US dollars per unit. */
    readonly usd: number;
    readonly unit: string;
    /** When the source gave this price. */
    readonly asOf: string;
    readonly source: string;
}

/** CodeBuild on-demand Linux (EC2 compute), us-east-1, per build minute, by compute type. */
export const CODEBUILD_PER_MINUTE = {
    BUILD_GENERAL1_SMALL: {
        usd: 0.005,
        unit: "build minute (2 vCPU, 3 GB)",
        asOf: "2026-05",
        source: "hivebook.wiki 'AWS CodeBuild' (us-east-1, May 2026) and c3x.dev aws_codebuild_project, quoting aws.amazon.com/codebuild/pricing",
    },
    BUILD_GENERAL1_MEDIUM: {
        usd: 0.01,
        unit: "build minute (4 vCPU, 7 GB)",
        asOf: "2026-05",
        source: "c3x.dev aws_codebuild_project and kindatechnical.com 'Understanding CodeBuild Pricing', quoting aws.amazon.com/codebuild/pricing",
    },
    BUILD_GENERAL1_LARGE: {
        usd: 0.02,
        unit: "build minute (8 vCPU, 15 GB)",
        asOf: "2026-05",
        source: "c3x.dev aws_codebuild_project and kindatechnical.com 'Understanding CodeBuild Pricing', quoting aws.amazon.com/codebuild/pricing",
    },
} as const satisfies Record<string, Price>;

export type ComputeType = keyof typeof CODEBUILD_PER_MINUTE;

/** ECR private repository storage, per GB-month (us-east-1). Pulls to CodeBuild in the same region cost nothing. */
export const ECR_STORAGE_PER_GB_MONTH: Price = {
    usd: 0.1,
    unit: "GB-month of private repository storage",
    asOf: "2026-03",
    source: "cloudburn.io 'Amazon ECR pricing' (US East rates from the ECR pricing page as of March 2026); same-region data transfer $0.00",
};

/** NAT gateway data processing, per GB: paid by a build that reaches ECR through a NAT gateway (no VPC endpoint). */
export const NAT_PROCESSING_PER_GB: Price = {
    usd: 0.045,
    unit: "GB processed by a NAT gateway",
    asOf: "2026-03",
    source: "cloudburn.io 'Amazon ECR pricing' (March 2026): 'NAT Gateway data processing $0.045/GB, only if pulling via NAT, not via VPC endpoints'",
};

/**
 * How CodeBuild rounds a build's time: not found in the stored sources. The tables charge the exact seconds
 * (seconds / 60 × the per-minute price), an assumption that flatters short builds if CodeBuild rounds up.
 */
export const BILLING_ROUNDING = "exact seconds (assumption: rounding not found in the stored sources)";

/** Dollars for `seconds` of build time on `type`. */
export function buildDollars(seconds: number, type: ComputeType): number {
    return (seconds / 60) * CODEBUILD_PER_MINUTE[type].usd;
}
