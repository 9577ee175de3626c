/**
 * Scheduled builds: an EventBridge Scheduler schedule that starts this project's build at a cadence set per stack,
 * to pick up base images that moved under their tags and to keep the cache warm. Off by default.
 *
 * A scheduled build builds the project's own source version, which is trusted, so it writes the cache.
 *
 * Pure parts: {@link resolveSchedule} (defaults and validation, called by `resolveArgs`), the role's trust policy
 * and permissions, the target. Resources: {@link createSchedule}: a schedule group of its own, the schedule, and
 * a role that may only `codebuild:StartBuild` this project and that only EventBridge Scheduler may assume, for
 * schedules of that group in this account.
 *
 * Sources: EventBridge Scheduler user guide, "Using universal targets" (`arn:aws:scheduler:::aws-sdk:<service>:
 * <apiAction>`, the input being the API's request), "Schedule types" (`rate(value unit)`, `cron(minutes hours
 * day-of-month month day-of-week year)`, one of the two day fields `?`) and "Confused deputy prevention"
 * (`aws:SourceArn` must be the schedule group's ARN, not a schedule's).
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import type { CachedDockerBuildArgs } from "./args";
import type { Problems } from "./problems";
import type { ArnParts } from "./policies";

/** The schedule arguments after defaults and validation; both unset when there is no schedule. */
export interface ResolvedSchedule {
    readonly scheduleExpression: string | undefined;
    readonly scheduleTimezone: string | undefined;
}

const RATE = /^rate\(([1-9][0-9]*) (minute|minutes|hour|hours|day|days)\)$/;
const CRON_FIELD = /^[0-9A-Za-z*?,/#L W-]+$/;

/** Why `expr` is not a recurring schedule expression EventBridge Scheduler takes, or undefined. */
export function scheduleExpressionProblem(expr: string): string | undefined {
    const rate = RATE.exec(expr);
    if (rate) {
        const one = rate[1] === "1";
        const singular = !rate[2].endsWith("s");
        return one === singular
            ? undefined
            : `the unit is singular for 1 and plural otherwise (rate(1 hour), rate(6 hours))`;
    }
    const cron = /^cron\((.*)\)$/.exec(expr);
    if (cron) {
        const fields = cron[1].split(" ");
        if (fields.length !== 6 || !fields.every((f) => f.length > 0 && CRON_FIELD.test(f))) {
            return "a cron expression has 6 fields: minutes hours day-of-month month day-of-week year";
        }
        if ((fields[2] === "?") === (fields[4] === "?")) {
            return "exactly one of day-of-month and day-of-week must be '?'";
        }
        return undefined;
    }
    return "a recurring schedule is rate(<n> minutes|hours|days) or cron(<6 fields>)";
}

/** Defaults and checks of the schedule arguments: no schedule unless an expression is given. */
export function resolveSchedule(p: Problems, args: CachedDockerBuildArgs): ResolvedSchedule {
    const scheduleExpression = args.scheduleExpression;
    if (scheduleExpression !== undefined) {
        const problem =
            typeof scheduleExpression === "string" ? scheduleExpressionProblem(scheduleExpression) : "not a string";
        p.check(
            problem === undefined,
            "scheduleExpression",
            scheduleExpression,
            `Allowed: rate(<n> minutes|hours|days) or cron(minutes hours day-of-month month day-of-week year), e.g. rate(1 day) or cron(0 4 ? * MON-FRI *); ${problem}.`,
        );
    }
    const scheduleTimezone = args.scheduleTimezone;
    if (scheduleTimezone !== undefined) {
        const withSchedule = p.check(
            scheduleExpression !== undefined,
            "scheduleTimezone",
            scheduleTimezone,
            "Allowed only with scheduleExpression.",
        );
        if (withSchedule) {
            p.check(
                scheduleTimezone === "UTC" || Intl.supportedValuesOf("timeZone").includes(scheduleTimezone),
                "scheduleTimezone",
                scheduleTimezone,
                "Allowed: an IANA time zone name such as Europe/Berlin, or UTC.",
            );
        }
    }
    return { scheduleExpression, scheduleTimezone };
}

/**
 * The universal target that starts a build: CodeBuild's StartBuild, or StartBuildBatch for a project that runs batch
 * builds (two platforms built natively: a plain build of such a project fails at its first command).
 */
export function startBuildTarget(partition: string, batch = false): string {
    return `arn:${partition}:scheduler:::aws-sdk:codebuild:${batch ? "startBuildBatch" : "startBuild"}`;
}

/** The StartBuild request the schedule sends: this project, its own source version. */
export function startBuildInput(projectName: string): string {
    return JSON.stringify({ ProjectName: projectName });
}

/** The ARN of a schedule group. */
export function scheduleGroupArn(p: ArnParts, group: string): string {
    return `arn:${p.partition}:scheduler:${p.region}:${p.accountId}:schedule-group/${group}`;
}

/**
 * Trust policy of the schedule's role (pure): only EventBridge Scheduler, for schedules of this group in this
 * account (confused-deputy protection with `aws:SourceAccount` and `aws:SourceArn`).
 */
export function schedulerTrustPolicy(accountId: string, groupArn: string): aws.iam.PolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "SchedulerAssumesRoleForThisScheduleGroupOnly",
                Effect: "Allow",
                Principal: { Service: "scheduler.amazonaws.com" },
                Action: "sts:AssumeRole",
                Condition: {
                    StringEquals: { "aws:SourceAccount": accountId },
                    ArnEquals: { "aws:SourceArn": groupArn },
                },
            },
        ],
    };
}

/** The schedule's role may start this project's builds (batch builds, for a batch project) and do nothing else (pure). */
export function schedulerPolicy(projectArn: string, batch = false): aws.iam.PolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "StartThisProjectOnly",
                Effect: "Allow",
                Action: [batch ? "codebuild:StartBuildBatch" : "codebuild:StartBuild"],
                Resource: [projectArn],
            },
        ],
    };
}

export interface ScheduleResources {
    readonly group: aws.scheduler.ScheduleGroup;
    readonly role: aws.iam.Role;
    readonly policy: aws.iam.RolePolicy;
    readonly schedule: aws.scheduler.Schedule;
}

/**
 * The schedule group (named after the project), the role (`<projectName>-cron`) and the schedule
 * (`<projectName>`) that starts the project. `projectArn` is the project's (so the schedule follows it).
 */
export function createSchedule(
    name: string,
    a: ResolvedSchedule & { readonly projectName: string; readonly scheduleExpression: string },
    inputs: {
        readonly projectArn: pulumi.Output<string>;
        readonly arnParts: pulumi.Output<ArnParts>;
        readonly tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
        /** The project runs batch builds: the schedule starts a batch (StartBuildBatch). */
        readonly batch?: boolean;
        /**
         * Whether the schedule is on: false while the source's connection isn't AVAILABLE (a build couldn't fetch
         * the source, and each failure would raise the build alarms); unset for always on (Scheduler's default).
         */
        readonly enabled?: pulumi.Output<boolean>;
    },
    opts: pulumi.ResourceOptions,
): ScheduleResources {
    const group = new aws.scheduler.ScheduleGroup(
        `${name}-schedule-group`,
        { name: a.projectName, tags: inputs.tags },
        opts,
    );
    const role = new aws.iam.Role(
        `${name}-schedule-role`,
        {
            name: `${a.projectName}-cron`,
            description: `EventBridge Scheduler role of ${a.projectName}: start its builds, nothing else`,
            assumeRolePolicy: inputs.arnParts.apply((p) =>
                JSON.stringify(schedulerTrustPolicy(p.accountId, scheduleGroupArn(p, a.projectName))),
            ),
            tags: inputs.tags,
        },
        opts,
    );
    const policy = new aws.iam.RolePolicy(
        `${name}-schedule-policy`,
        {
            role: role.name,
            name: "start-this-project",
            policy: inputs.projectArn.apply((arn) => JSON.stringify(schedulerPolicy(arn, inputs.batch))),
        },
        opts,
    );
    // The schedule gets the role only once it may start the build.
    const roleArn = pulumi.all([role.arn, policy.id]).apply(([arn]) => arn);
    const schedule = new aws.scheduler.Schedule(
        `${name}-schedule`,
        {
            name: a.projectName,
            groupName: group.name,
            description: `Starts a build of ${a.projectName}: refreshes moved base images and keeps the layer cache warm`,
            scheduleExpression: a.scheduleExpression,
            scheduleExpressionTimezone: a.scheduleTimezone,
            flexibleTimeWindow: { mode: "OFF" },
            state: inputs.enabled?.apply((on) => (on ? "ENABLED" : "DISABLED")),
            target: {
                arn: inputs.arnParts.apply((p) => startBuildTarget(p.partition, inputs.batch)),
                roleArn,
                input: startBuildInput(a.projectName),
            },
        },
        opts,
    );
    return { group, role, policy, schedule };
}
