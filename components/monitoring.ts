/**
 * Monitoring of the cache: log metric filters on the project's log group that turn each build's JSON line into
 * metrics, the alarms, the SNS topic they notify (created, or given), its email subscriptions, and the dashboard.
 *
 * What each filter matches and publishes, the metric names, the namespace and the dashboard body are pure data in
 * `buildEvent.ts`; this file only creates resources from them. No permission is added anywhere: CodeBuild already
 * writes the logs the filters read, and CloudWatch publishes to a topic of the same account under its default policy.
 *
 * | alarm | metric | fires when |
 * |---|---|---|
 * | `<project>-low-hit-ratio` | `EcrLayerCache/CacheHitRatio` (Project), Maximum per hour | below `hitRatioThreshold` in `hitRatioBuilds` consecutive hourly datapoints (an hour without a trusted build: missing data, state kept) |
 * | `<project>-failed-builds` | `AWS/CodeBuild/FailedBuilds` (ProjectName), Sum per 5 min | at least `failedBuildsThreshold` |
 * | `<project>-slow-builds` | `AWS/CodeBuild/Duration` (ProjectName), Maximum per 5 min | above `durationAlarmMinutes` (only when set) |
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import type { CachedDockerBuildArgs, ResolvedArgs } from "./args";
import { integerIn, type Problems } from "./problems";
import {
    CODEBUILD_NAMESPACE,
    dashboardBody,
    METRIC_FILTERS,
    METRIC_NAMESPACE,
    metricFilter,
    PROJECT_DIMENSION,
} from "./buildEvent";

// ---- The monitoring arguments: defaults and checks (called by `resolveArgs`) ----

/** Defaults of the monitoring arguments (not in the package schema's defaults: `resolveArgs.ts`'s `DEFAULTS`). */
export const MONITORING_DEFAULTS = {
    monitoring: true,
    alarmEmails: [],
    hitRatioThreshold: 0.5,
    hitRatioBuilds: 3,
    failedBuildsThreshold: 1,
} as const satisfies Partial<ResolvedArgs>;

const SNS_TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/;
const EMAIL = /^[^\s@"'<>,;]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;
const ONLY_WITH_MONITORING = "Allowed only when monitoring is true (it creates the alarms this notifies about).";

export type MonitoringArgs = Pick<
    ResolvedArgs,
    | "monitoring"
    | "alarmTopicArn"
    | "alarmEmails"
    | "hitRatioThreshold"
    | "hitRatioBuilds"
    | "failedBuildsThreshold"
    | "durationAlarmMinutes"
>;

/** Defaults and checks of the monitoring arguments. */
export function resolveMonitoring(
    p: Problems,
    args: CachedDockerBuildArgs,
    buildTimeoutMinutes: number,
): MonitoringArgs {
    const monitoring = args.monitoring ?? MONITORING_DEFAULTS.monitoring;
    const alarmTopicArn = args.alarmTopicArn;
    const topicOk =
        alarmTopicArn === undefined || p.check(monitoring, "alarmTopicArn", alarmTopicArn, ONLY_WITH_MONITORING);
    // An Output (a topic made in the same program) can't be checked here; SNS checks it at deployment.
    if (topicOk && typeof alarmTopicArn === "string") {
        p.check(
            SNS_TOPIC_ARN.test(alarmTopicArn),
            "alarmTopicArn",
            alarmTopicArn,
            "Allowed: an SNS topic ARN, arn:aws:sns:<region>:<account>:<name>.",
        );
    }
    const alarmEmails = args.alarmEmails ?? MONITORING_DEFAULTS.alarmEmails;
    if (p.check(Array.isArray(alarmEmails), "alarmEmails", alarmEmails, "Allowed: a list of email addresses.")) {
        if (alarmEmails.length > 0) {
            p.check(monitoring, "alarmEmails", alarmEmails, ONLY_WITH_MONITORING);
        }
        alarmEmails.forEach((e, i) => {
            p.check(
                typeof e === "string" && EMAIL.test(e) && alarmEmails.indexOf(e) === i,
                "alarmEmails",
                e,
                "Allowed: email addresses (name@example.com), each once.",
            );
        });
    }
    const hitRatioThreshold = args.hitRatioThreshold ?? MONITORING_DEFAULTS.hitRatioThreshold;
    p.check(
        typeof hitRatioThreshold === "number" && hitRatioThreshold > 0 && hitRatioThreshold <= 1,
        "hitRatioThreshold",
        hitRatioThreshold,
        "Allowed: a number more than 0 and at most 1 (the share of steps taken from the cache).",
    );
    const hitRatioBuilds = args.hitRatioBuilds ?? MONITORING_DEFAULTS.hitRatioBuilds;
    integerIn(p, "hitRatioBuilds", hitRatioBuilds, 1, 24);
    const failedBuildsThreshold = args.failedBuildsThreshold ?? MONITORING_DEFAULTS.failedBuildsThreshold;
    integerIn(p, "failedBuildsThreshold", failedBuildsThreshold, 1, 1000);
    const durationAlarmMinutes = args.durationAlarmMinutes;
    if (durationAlarmMinutes !== undefined) {
        integerIn(p, "durationAlarmMinutes", durationAlarmMinutes, 1, Math.max(1, buildTimeoutMinutes));
    }
    return {
        monitoring,
        alarmTopicArn,
        alarmEmails,
        hitRatioThreshold,
        hitRatioBuilds,
        failedBuildsThreshold,
        durationAlarmMinutes,
    };
}

// ---- The monitoring's resources ----

/** The alarms' periods, in seconds. */
export const HIT_RATIO_PERIOD = 3600;
export const BUILD_ALARM_PERIOD = 300;

export interface MonitoringResources {
    readonly filters: aws.cloudwatch.LogMetricFilter[];
    /** The topic the stack created; undefined when `alarmTopicArn` was given. */
    readonly topic?: aws.sns.Topic;
    readonly topicArn: pulumi.Output<string>;
    readonly subscriptions: aws.sns.TopicSubscription[];
    readonly alarms: aws.cloudwatch.MetricAlarm[];
    readonly dashboard: aws.cloudwatch.Dashboard;
}

export interface MonitoringInputs {
    readonly logGroupName: pulumi.Input<string>;
    /** The region of the project (the dashboard's widgets need it). */
    readonly region: pulumi.Input<string>;
    readonly tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** Creates the monitoring of one component; call it only with `a.monitoring` on. */
export function createMonitoring(
    name: string,
    a: ResolvedArgs,
    inputs: MonitoringInputs,
    opts: pulumi.ResourceOptions,
): MonitoringResources {
    const filters = METRIC_FILTERS.map(
        (f) =>
            new aws.cloudwatch.LogMetricFilter(
                `${name}-metric-${f.id}`,
                {
                    name: `${a.projectName}-${f.id}`,
                    logGroupName: inputs.logGroupName,
                    pattern: f.pattern,
                    metricTransformation: {
                        name: f.metricName,
                        namespace: METRIC_NAMESPACE,
                        value: f.value,
                        unit: f.unit,
                        dimensions: { [PROJECT_DIMENSION]: "$.project" },
                    },
                },
                opts,
            ),
    );

    const topic =
        a.alarmTopicArn === undefined
            ? new aws.sns.Topic(`${name}-alarms`, { name: `${a.projectName}-alarms`, tags: inputs.tags }, opts)
            : undefined;
    const topicArn = topic ? topic.arn : pulumi.output(a.alarmTopicArn!);
    const subscriptions = a.alarmEmails.map(
        (email, i) =>
            new aws.sns.TopicSubscription(
                `${name}-alarm-email-${i}`,
                { topic: topicArn, protocol: "email", endpoint: email },
                opts,
            ),
    );

    const actions = { alarmActions: [topicArn], okActions: [topicArn] };
    const ours = { namespace: METRIC_NAMESPACE, dimensions: { [PROJECT_DIMENSION]: a.projectName } };
    const codebuild = { namespace: CODEBUILD_NAMESPACE, dimensions: { ProjectName: a.projectName } };
    const alarms = [
        new aws.cloudwatch.MetricAlarm(
            `${name}-low-hit-ratio`,
            {
                name: `${a.projectName}-low-hit-ratio`,
                alarmDescription: `The layer cache of ${a.projectName} is hardly used: trusted builds took less than ${a.hitRatioThreshold * 100}% of their steps from it in ${a.hitRatioBuilds} hour(s) with builds. A lifecycle rule, a permission, a builder upgrade or a changed base image may have made every build cold.`,
                ...ours,
                metricName: metricFilter("CacheHitRatio").metricName,
                statistic: "Maximum",
                period: HIT_RATIO_PERIOD,
                evaluationPeriods: a.hitRatioBuilds,
                datapointsToAlarm: a.hitRatioBuilds,
                threshold: a.hitRatioThreshold,
                comparisonOperator: "LessThanThreshold",
                treatMissingData: "ignore",
                ...actions,
                tags: inputs.tags,
            },
            opts,
        ),
        new aws.cloudwatch.MetricAlarm(
            `${name}-failed-builds`,
            {
                name: `${a.projectName}-failed-builds`,
                alarmDescription: `At least ${a.failedBuildsThreshold} build(s) of ${a.projectName} failed within 5 minutes.`,
                ...codebuild,
                metricName: "FailedBuilds",
                statistic: "Sum",
                period: BUILD_ALARM_PERIOD,
                evaluationPeriods: 1,
                threshold: a.failedBuildsThreshold,
                comparisonOperator: "GreaterThanOrEqualToThreshold",
                treatMissingData: "notBreaching",
                ...actions,
                tags: inputs.tags,
            },
            opts,
        ),
        ...(a.durationAlarmMinutes === undefined
            ? []
            : [
                  new aws.cloudwatch.MetricAlarm(
                      `${name}-slow-builds`,
                      {
                          name: `${a.projectName}-slow-builds`,
                          alarmDescription: `A build of ${a.projectName} took longer than ${a.durationAlarmMinutes} minutes.`,
                          ...codebuild,
                          metricName: "Duration",
                          statistic: "Maximum",
                          period: BUILD_ALARM_PERIOD,
                          evaluationPeriods: 1,
                          threshold: a.durationAlarmMinutes * 60,
                          comparisonOperator: "GreaterThanThreshold",
                          treatMissingData: "notBreaching",
                          ...actions,
                          tags: inputs.tags,
                      },
                      opts,
                  ),
              ]),
    ];

    const dashboard = new aws.cloudwatch.Dashboard(
        `${name}-dashboard`,
        {
            dashboardName: a.projectName,
            dashboardBody: pulumi
                .all([pulumi.output(inputs.region), ...alarms.map((al) => al.arn)])
                .apply(([region, ...alarmArns]) =>
                    JSON.stringify(
                        dashboardBody({
                            projectName: a.projectName,
                            region,
                            hitRatioThreshold: a.hitRatioThreshold,
                            durationAlarmSeconds:
                                a.durationAlarmMinutes === undefined ? undefined : a.durationAlarmMinutes * 60,
                            alarmArns,
                        }),
                    ),
                ),
        },
        opts,
    );
    return { filters, topic, topicArn, subscriptions, alarms, dashboard };
}
