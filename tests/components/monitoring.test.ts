/**
 * Issue #11: the monitoring's wiring under the one mock runtime (scripts/mockRuntime.ts; what is mocked: the Pulumi
 * engine, with AWS state built from the inputs). A name, namespace or dimension that doesn't match fails silently in
 * AWS (an alarm on a metric nobody publishes stays INSUFFICIENT_DATA forever), so every reference is followed here:
 * filter → log group, alarm → filter or CodeBuild metric, widget → filter or CodeBuild metric, alarm → topic.
 */
import { strict as assert } from "node:assert";
import {
    CODEBUILD_NAMESPACE,
    dashboardBody,
    DashboardWidget,
    METRIC_FILTERS,
    METRIC_NAMESPACE,
    PROJECT_DIMENSION,
    WIDGET_TITLES,
} from "../../components/buildEvent";
import { ConfigError } from "../../components";
import { ACCOUNT, findResource, findResources, Registration, runProgram, valueOf } from "../../scripts/mockRuntime";

const T = {
    filter: "aws:cloudwatch/logMetricFilter:LogMetricFilter",
    alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
    dashboard: "aws:cloudwatch/dashboard:Dashboard",
    topic: "aws:sns/topic:Topic",
    subscription: "aws:sns/topicSubscription:TopicSubscription",
    logs: "aws:cloudwatch/logGroup:LogGroup",
    project: "aws:codebuild/project:Project",
};
/** CodeBuild's per-project metrics (namespace AWS/CodeBuild, dimension ProjectName). */
const CODEBUILD_METRICS = new Set(["Builds", "FailedBuilds", "SucceededBuilds", "Duration", "QueuedDuration"]);

/** The metrics the filters publish, as `namespace/name` → the filter registration. */
function published(): Map<string, Registration> {
    return new Map(
        findResources(T.filter).map((f) => [
            `${f.inputs.metricTransformation.namespace}/${f.inputs.metricTransformation.name}`,
            f,
        ]),
    );
}

/** Asserts that a metric reference (namespace, name, dimensions) is published for this project. */
function assertResolves(namespace: string, metricName: string, dimensions: Record<string, string>, where: string) {
    const project = findResource(T.project).inputs.name as string;
    if (namespace === CODEBUILD_NAMESPACE) {
        assert.ok(CODEBUILD_METRICS.has(metricName), `${where}: CodeBuild publishes no ${metricName}`);
        assert.deepEqual(dimensions, { ProjectName: project }, `${where}: CodeBuild's dimension`);
        return;
    }
    assert.equal(namespace, METRIC_NAMESPACE, where);
    const filter = published().get(`${namespace}/${metricName}`);
    assert.ok(filter, `${where}: no filter publishes ${namespace}/${metricName}`);
    const dims = filter.inputs.metricTransformation.dimensions as Record<string, string>;
    assert.deepEqual(Object.keys(dimensions), Object.keys(dims), `${where}: the filter's dimensions`);
    // The filter's dimension value is the line's `project`: the part of CODEBUILD_BUILD_ID before ':', the project name.
    assert.equal(dims[PROJECT_DIMENSION], "$.project");
    assert.equal(dimensions[PROJECT_DIMENSION], project, `${where}: the dimension value is the project's name`);
}

describe("monitoring under mocks (stack dev, defaults)", () => {
    let outputs: Awaited<ReturnType<typeof runProgram>>;
    before(async () => {
        outputs = await runProgram("dev");
    });

    it("one filter per metric on the project's own log group, each with the deployed pattern, value and Project dimension", () => {
        const group = findResource(T.logs).inputs.name as string;
        assert.equal(group, `/aws/codebuild/${findResource(T.project).inputs.name}`);
        const filters = findResources(T.filter);
        assert.equal(filters.length, METRIC_FILTERS.length);
        for (const spec of METRIC_FILTERS) {
            const f = findResource(T.filter, `docker-cache-metric-${spec.id}`);
            assert.equal(f.inputs.logGroupName, group);
            assert.equal(f.inputs.pattern, spec.pattern);
            assert.deepEqual(f.inputs.metricTransformation, {
                name: spec.metricName,
                namespace: METRIC_NAMESPACE,
                value: spec.value,
                unit: spec.unit,
                dimensions: { [PROJECT_DIMENSION]: "$.project" },
            });
        }
    });

    it("every alarm watches a metric that is published for this project, and notifies the stack's topic", async () => {
        const topic = findResource(T.topic);
        const topicArn = `arn:aws:sns:eu-west-1:${ACCOUNT}:docker-cache-dev-alarms`;
        assert.equal(topic.inputs.name, "docker-cache-dev-alarms");
        assert.equal(await valueOf(outputs.alarmTopicArn), topicArn);
        const alarms = findResources(T.alarm);
        assert.deepEqual(alarms.map((a) => a.inputs.name).sort(), [
            "docker-cache-dev-failed-builds",
            "docker-cache-dev-low-hit-ratio",
        ]);
        for (const a of alarms) {
            assertResolves(a.inputs.namespace, a.inputs.metricName, a.inputs.dimensions, a.name);
            assert.deepEqual(a.inputs.alarmActions, [topicArn], a.name);
            assert.deepEqual(a.inputs.okActions, [topicArn], a.name);
        }
        assert.equal(findResources(T.subscription).length, 0, "no email by default");
    });

    it("the alarms' thresholds, periods and statistics (defaults)", () => {
        const hit = findResource(T.alarm, "docker-cache-low-hit-ratio").inputs;
        assert.deepEqual(
            [hit.metricName, hit.statistic, hit.period, hit.evaluationPeriods, hit.datapointsToAlarm, hit.threshold],
            ["CacheHitRatio", "Maximum", 3600, 3, 3, 0.5],
        );
        assert.equal(hit.comparisonOperator, "LessThanThreshold");
        assert.equal(hit.treatMissingData, "ignore", "hours without a trusted build don't count");
        const failed = findResource(T.alarm, "docker-cache-failed-builds").inputs;
        assert.deepEqual(
            [failed.namespace, failed.metricName, failed.statistic, failed.period, failed.threshold],
            ["AWS/CodeBuild", "FailedBuilds", "Sum", 300, 1],
        );
        assert.equal(failed.comparisonOperator, "GreaterThanOrEqualToThreshold");
        assert.equal(failed.treatMissingData, "notBreaching");
    });

    it("the dashboard: every metric widget's metric is published for this project, in the stack's region; the alarm widget lists exactly the alarms", async () => {
        const d = findResource(T.dashboard);
        assert.equal(d.inputs.dashboardName, "docker-cache-dev");
        assert.equal(await valueOf(outputs.dashboardName), "docker-cache-dev");
        const body = JSON.parse(d.inputs.dashboardBody as string) as { widgets: DashboardWidget[] };
        assert.deepEqual(
            body.widgets.map((w) => w.properties.title),
            Object.values(WIDGET_TITLES),
        );
        for (const w of body.widgets.filter((x) => x.type === "metric")) {
            assert.equal(w.properties.region, "eu-west-1", w.properties.title);
            assert.ok(w.properties.metrics!.length > 0);
            for (const [ns, metric, dim, value] of w.properties.metrics!) {
                assertResolves(ns, metric, { [dim]: value }, w.properties.title);
            }
        }
        const alarmWidget = body.widgets.find((w) => w.type === "alarm")!;
        assert.deepEqual(
            [...(alarmWidget.properties.alarms as string[])].sort(),
            findResources(T.alarm)
                .map((a) => `arn:aws:cloudwatch:eu-west-1:${ACCOUNT}:alarm:${a.inputs.name}`)
                .sort(),
        );
        const hit = body.widgets.find((w) => w.properties.title === WIDGET_TITLES.hitRatio)!;
        assert.deepEqual(hit.properties.annotations, {
            horizontal: [{ label: "alarm threshold", value: 0.5 }],
        });
        // Widgets don't overlap on the 24-column grid.
        const cells = new Set<string>();
        for (const w of body.widgets) {
            assert.ok(w.x + w.width <= 24);
            for (let x = w.x; x < w.x + w.width; x++) {
                for (let y = w.y; y < w.y + w.height; y++) {
                    assert.ok(!cells.has(`${x},${y}`), `${w.properties.title} overlaps at ${x},${y}`);
                    cells.add(`${x},${y}`);
                }
            }
        }
    });

    it("every resource of the monitoring is the component's child (named after it)", () => {
        for (const r of [...findResources(T.filter), ...findResources(T.alarm), findResource(T.dashboard)]) {
            assert.ok(r.name.startsWith("docker-cache-"), r.name);
            assert.ok(r.parent.endsWith("::docker-cache"), r.parent);
        }
    });
});

describe("monitoring under mocks: config", () => {
    it("a given topic: no topic created, the alarms notify it; emails subscribe to it; a duration bound adds the slow-build alarm and its line", async () => {
        const given = `arn:aws:sns:eu-west-1:${ACCOUNT}:platform-alerts`;
        const outputs = await runProgram("dev", {
            alarmTopicArn: given,
            alarmEmails: ["oncall@example.com", "team@example.com"],
            durationAlarmMinutes: "30",
            hitRatioThreshold: "0.8",
            hitRatioBuilds: 5,
            failedBuildsThreshold: 2,
        });
        assert.equal(findResources(T.topic).length, 0);
        assert.equal(await valueOf(outputs.alarmTopicArn), given);
        assert.deepEqual(
            findResources(T.subscription).map((s) => [s.inputs.topic, s.inputs.protocol, s.inputs.endpoint]),
            [
                [given, "email", "oncall@example.com"],
                [given, "email", "team@example.com"],
            ],
        );
        const slow = findResource(T.alarm, "docker-cache-slow-builds").inputs;
        assertResolves(slow.namespace, slow.metricName, slow.dimensions, "slow-builds");
        assert.deepEqual(
            [slow.metricName, slow.statistic, slow.period, slow.threshold, slow.comparisonOperator],
            ["Duration", "Maximum", 300, 1800, "GreaterThanThreshold"],
        );
        for (const a of findResources(T.alarm)) {
            assert.deepEqual(a.inputs.alarmActions, [given]);
        }
        const hit = findResource(T.alarm, "docker-cache-low-hit-ratio").inputs;
        assert.deepEqual([hit.threshold, hit.evaluationPeriods], [0.8, 5]);
        assert.equal(findResource(T.alarm, "docker-cache-failed-builds").inputs.threshold, 2);
        const body = JSON.parse(findResource(T.dashboard).inputs.dashboardBody as string) as {
            widgets: DashboardWidget[];
        };
        const duration = body.widgets.find((w) => w.properties.title === WIDGET_TITLES.duration)!;
        assert.deepEqual(duration.properties.annotations, { horizontal: [{ label: "duration alarm", value: 1800 }] });
        assert.equal((body.widgets.find((w) => w.type === "alarm")!.properties.alarms as string[]).length, 3);
    });

    it("monitoring false: no filter, topic, subscription, alarm or dashboard; the outputs are undefined", async () => {
        const outputs = await runProgram("dev", { monitoring: false });
        for (const t of [T.filter, T.topic, T.subscription, T.alarm, T.dashboard]) {
            assert.equal(findResources(t).length, 0, t);
        }
        assert.equal(await valueOf(outputs.alarmTopicArn), undefined);
        assert.equal(await valueOf(outputs.dashboardName), undefined);
    });

    it("bad values are reported together, each naming the key, the value and what is allowed", async () => {
        await assert.rejects(
            () =>
                runProgram("dev", {
                    alarmTopicArn: "arn:aws:sqs:eu-west-1:123456789012:q",
                    alarmEmails: ["not-an-address", "a@example.com", "a@example.com"],
                    hitRatioThreshold: "1.5",
                    hitRatioBuilds: 0,
                    failedBuildsThreshold: 0,
                    durationAlarmMinutes: "61",
                }),
            (e: unknown) => {
                assert.ok(e instanceof ConfigError);
                assert.deepEqual(
                    e.problems.map((p) => `${p.key}=${JSON.stringify(p.value)}: ${p.allowed}`),
                    [
                        `alarmTopicArn="arn:aws:sqs:eu-west-1:123456789012:q": Allowed: an SNS topic ARN, arn:aws:sns:<region>:<account>:<name>.`,
                        `alarmEmails="not-an-address": Allowed: email addresses (name@example.com), each once.`,
                        `alarmEmails="a@example.com": Allowed: email addresses (name@example.com), each once.`,
                        `hitRatioThreshold=1.5: Allowed: a number more than 0 and at most 1 (the share of steps taken from the cache).`,
                        `hitRatioBuilds=0: Allowed: a whole number from 1 to 24.`,
                        `failedBuildsThreshold=0: Allowed: a whole number from 1 to 1000.`,
                        `durationAlarmMinutes=61: Allowed: a whole number from 1 to 60.`,
                    ],
                );
                return true;
            },
        );
    });

    it("a topic or emails without monitoring are refused", async () => {
        await assert.rejects(
            () =>
                runProgram("dev", {
                    monitoring: false,
                    alarmTopicArn: `arn:aws:sns:eu-west-1:${ACCOUNT}:t`,
                    alarmEmails: ["a@example.com"],
                }),
            (e: unknown) => {
                assert.ok(e instanceof ConfigError);
                assert.deepEqual(
                    e.problems.map((p) => p.key),
                    ["alarmTopicArn", "alarmEmails"],
                );
                assert.match(e.message, /Allowed only when monitoring is true/);
                return true;
            },
        );
    });
});

describe("dashboardBody (pure)", () => {
    it("names only metrics the filters publish; an unknown one is an error at render time", () => {
        const body = dashboardBody({ projectName: "p", region: "us-east-1", hitRatioThreshold: 0.4, alarmArns: [] });
        const ours = body.widgets.flatMap((w) => w.properties.metrics ?? []).filter((m) => m[0] === METRIC_NAMESPACE);
        const names = new Set(METRIC_FILTERS.map((f) => f.metricName));
        assert.ok(ours.length >= 4);
        for (const m of ours) {
            assert.ok(names.has(m[1]), m[1]);
        }
    });
});
