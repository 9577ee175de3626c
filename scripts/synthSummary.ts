/**
 * The summary `npm run synth` prints (and writes as `summary.txt`): what a stack would deploy, in a few lines a
 * reviewer reads before the files. Pure: it is computed from the registrations the program made under the mock
 * runtime (their inputs, and the state the mocks answered), never from the config, so it says what the resources
 * say:
 *
 * - the resource types, with how many of each;
 * - per CodeBuild project, what starts a build, in words: the webhook's filter groups and pull-request build policy,
 *   the schedules that target the project, and a start by hand;
 * - per IAM role, who may assume it (the trust policy's principals and conditions), what uses it, and what it may do:
 *   each statement of its inline and attached policies as actions on resources.
 */
import { projectBuildspec, type Props, type Registration } from "./mockRuntime";

const T = {
    project: "aws:codebuild/project:Project",
    webhook: "aws:codebuild/webhook:Webhook",
    schedule: "aws:scheduler/schedule:Schedule",
    role: "aws:iam/role:Role",
    policy: "aws:iam/policy:Policy",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy",
    attachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
} as const;

/** A type token as the README writes it: `aws:ecr/repository:Repository` → `aws.ecr.Repository`; others unchanged. */
export function typeName(token: string): string {
    const m = /^([^:]+):([^/:]+)(?:\/[^:]*)?:([^:]+)$/.exec(token);
    return m && m[2] !== "index" ? `${m[1]}.${m[2]}.${m[3]}` : token;
}

/** The resource types and their counts, most first, then by name; a component (no AWS resource) is marked. */
export function resourceCounts(regs: readonly Registration[]): string[] {
    const counts = new Map<string, { n: number; custom: boolean }>();
    for (const r of regs) {
        const c = counts.get(r.type) ?? { n: 0, custom: r.custom };
        c.n++;
        counts.set(r.type, c);
    }
    return [...counts.entries()]
        .map(([type, c]) => ({ name: typeName(type), ...c }))
        .sort((a, b) => b.n - a.n || a.name.localeCompare(b.name))
        .map((c) => `${String(c.n).padStart(3)}  ${c.name}${c.custom ? "" : " (component: nothing in AWS)"}`);
}

/** The inputs read here of a CodeBuild project and of a schedule (the provider's names). */
interface ProjectInputs {
    readonly name?: string;
    readonly serviceRole?: string;
    readonly buildBatchConfig?: { readonly serviceRole?: string };
    readonly source?: { readonly location?: string };
    readonly sourceVersion?: string;
}
interface ScheduleInputs {
    readonly scheduleExpression?: string;
    readonly scheduleExpressionTimezone?: string;
    readonly target?: { readonly arn?: string; readonly input?: string; readonly roleArn?: string };
}
const project = (r: Registration) => r.inputs as ProjectInputs;
const schedule = (r: Registration) => r.inputs as ScheduleInputs;

// ---- Triggers ----

/** The literal alternatives of `^(?:a|b)$`-style patterns (each `\`-escaped), or undefined if any part is a regex. */
function literals(alternation: string): string[] | undefined {
    const parts: string[] = [];
    let cur = "";
    for (let i = 0; i < alternation.length; i++) {
        const ch = alternation[i];
        if (ch === "\\" && i + 1 < alternation.length) {
            cur += alternation[++i];
        } else if (ch === "|") {
            parts.push(cur);
            cur = "";
        } else if ("^$.*+?()[]{}".includes(ch)) {
            return undefined;
        } else {
            cur += ch;
        }
    }
    parts.push(cur);
    return parts;
}

const or = (xs: readonly string[]) => (xs.length <= 1 ? xs.join("") : `${xs.slice(0, -1).join(", ")} or ${xs.at(-1)}`);

/** A ref filter in words: `to refs/heads/main`, `of tags matching v.*`, or the pattern itself. */
function refWords(pattern: string, preposition: string): string {
    const exact = /^\^\(\?:(.*)\)\$$/.exec(pattern);
    const names = exact ? literals(exact[1]) : undefined;
    if (names) {
        return `${preposition} ${or(names)}`;
    }
    const tags = /^\^refs\/tags\/\(\?:(.*)\)\$$/.exec(pattern);
    if (tags) {
        return `of tags matching ${tags[1]}`;
    }
    return `${preposition} a ref matching ${pattern}`;
}

/** A webhook filter in words, or undefined for an `EVENT` filter (said by the group). */
function filterWords(f: { type: string; pattern: string; excludeMatchedPattern?: boolean }): string | undefined {
    let words: string;
    switch (f.type) {
        case "EVENT":
            return undefined;
        case "HEAD_REF":
            words = refWords(f.pattern, "to");
            break;
        case "BASE_REF":
            words = refWords(f.pattern, "into").replace(/^of tags/, "into tags");
            break;
        case "FILE_PATH": {
            const prefix = /^\^\(\?:(.*)\)$/.exec(f.pattern);
            const paths = prefix ? literals(prefix[1]) : undefined;
            words = paths ? `changing files under ${or(paths)}` : `changing files matching ${f.pattern}`;
            break;
        }
        default:
            words = `${f.type} matching ${f.pattern}`;
    }
    return f.excludeMatchedPattern ? `not ${words}` : words;
}

/** The events of a group in words: `pushes`, `pull requests (created, updated, reopened)`. */
function eventWords(pattern: string): string {
    const events = pattern.split(",").map((e) => e.trim());
    const pr = events.filter((e) => e.startsWith("PULL_REQUEST_")).map((e) => e.slice(13).toLowerCase());
    const other = events.filter((e) => !e.startsWith("PULL_REQUEST_")).map((e) => (e === "PUSH" ? "pushes" : e));
    return or([...other, ...(pr.length > 0 ? [`pull requests (${pr.join(", ")})`] : [])]);
}

/** What a webhook starts a build on, one phrase per filter group, then who must approve pull requests. */
export function webhookWords(inputs: Props): string[] {
    const groups = (inputs.filterGroups ?? []) as { filters: { type: string; pattern: string }[] }[];
    const out = groups.map((g) => {
        const event = g.filters.find((f) => f.type === "EVENT");
        const rest = g.filters.map(filterWords).filter((w): w is string => w !== undefined);
        return ["builds", event ? eventWords(event.pattern) : "any event", ...rest].join(" ");
    });
    const policy = inputs.pullRequestBuildPolicy as { requiresCommentApproval: string; approverRoles?: string[] };
    if (policy !== undefined) {
        const by = policy.approverRoles?.length ? ` by ${or(policy.approverRoles)}` : "";
        switch (policy.requiresCommentApproval) {
            case "FORK_PULL_REQUESTS":
                out.push(`pull requests from forks wait for an approving comment${by}`);
                break;
            case "ALL_PULL_REQUESTS":
                out.push(`every pull request waits for an approving comment${by}`);
                break;
            case "DISABLED":
                out.push("pull requests build without approval, forks too");
                break;
            default:
                out.push(`pull-request approval: ${policy.requiresCommentApproval}${by}`);
        }
    }
    if (inputs.manualCreation === true) {
        out.push("the webhook is added by hand in the source provider (manualCreation)");
    }
    if (inputs.buildType === "BUILD_BATCH") {
        out.push("each event starts a batch build");
    }
    return out;
}

/** Per project: what starts its builds, in words. */
export function triggers(regs: readonly Registration[]): { project: string; lines: string[] }[] {
    return regs
        .filter((r) => r.type === T.project)
        .map((r) => {
            const p = project(r);
            const name = p.name ?? r.name;
            const lines: string[] = [];
            for (const w of regs.filter((r) => r.type === T.webhook && r.inputs.projectName === name)) {
                lines.push(...webhookWords(w.inputs).map((l) => `webhook: ${l}`));
            }
            for (const s of regs.filter((x) => x.type === T.schedule).map(schedule)) {
                if (scheduleProject(s) !== name) {
                    continue;
                }
                const batch = s.target?.arn?.endsWith(":startBuildBatch") ? ", a batch build" : "";
                const zone = s.scheduleExpressionTimezone ?? "UTC";
                lines.push(`schedule: builds at ${String(s.scheduleExpression)} (${zone})${batch}`);
            }
            // The buildspec the project runs (inline, or the S3 object it names).
            const text = projectBuildspec(r, regs);
            const trusted = /^\s*TRUSTED_REFS=\((.*)\)$/m.exec(text);
            // The pull-request project's read-only buildspec (components/pullRequestProject.ts): no build is trusted.
            const readOnly = /^\s*READ_ONLY=1$/m.test(text);
            const version = p.sourceVersion === undefined ? "" : ` ${p.sourceVersion} of`;
            lines.push(
                `by hand: aws codebuild start-build --project-name ${name} builds${version} ${String(p.source?.location)}`,
            );
            if (readOnly) {
                lines.push(
                    "trusted: none: a read-only project (READ_ONLY=1), whose builds push nothing and write no cache",
                );
            } else if (trusted) {
                const refs = or(trusted[1].split(" "));
                lines.push(
                    `trusted: only builds of ${refs} push the image and write the cache (the buildspec's TRUSTED_REFS)`,
                );
            }
            return { project: name, lines };
        });
}

/** The project a schedule starts: its target's StartBuild request names it. */
function scheduleProject(s: ScheduleInputs): string | undefined {
    try {
        return (JSON.parse(String(s.target?.input)) as { ProjectName?: string }).ProjectName;
    } catch {
        return undefined;
    }
}

// ---- Roles ----

interface Statement {
    Effect?: string;
    Principal?: string | Record<string, string | string[]>;
    Action?: string | string[];
    NotAction?: string | string[];
    Resource?: string | string[];
    NotResource?: string | string[];
    Condition?: Record<string, Record<string, string | string[]>>;
}

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function statements(doc: unknown): Statement[] {
    const d = (typeof doc === "string" ? JSON.parse(doc) : doc) as { Statement?: Statement | Statement[] };
    return d?.Statement === undefined ? [] : Array.isArray(d.Statement) ? d.Statement : [d.Statement];
}

/** An ARN without `arn:<partition>:<service>:<region>:<account>:`; anything else as it is. */
function shortArn(s: string): string {
    const m = /^arn:[^:]+:[^:]+:[^:]*:[^:]*:(.+)$/.exec(s);
    return m ? m[1] : s;
}

/** Actions grouped by service, in their order: `ecr: BatchGetImage, PutImage; logs: PutLogEvents`. */
function actionWords(actions: readonly string[]): string {
    const byService = new Map<string, string[]>();
    for (const a of actions) {
        const [service, name] = a.includes(":") ? [a.slice(0, a.indexOf(":")), a.slice(a.indexOf(":") + 1)] : [a, ""];
        byService.set(service, [...(byService.get(service) ?? []), name]);
    }
    return [...byService.entries()]
        .map(([service, names]) => (names.every((n) => n === "") ? service : `${service}: ${names.join(", ")}`))
        .join("; ");
}

const OPERATORS: Record<string, string> = {
    StringEquals: "is",
    ArnEquals: "is",
    StringLike: "is like",
    ArnLike: "is like",
    Bool: "is",
    StringNotEquals: "is not",
};

function conditionWords(c: Statement["Condition"]): string {
    const parts: string[] = [];
    for (const [op, keys] of Object.entries(c ?? {})) {
        for (const [key, value] of Object.entries(keys)) {
            parts.push(`${key} ${OPERATORS[op] ?? op} ${or(list(value).map(shortArn))}`);
        }
    }
    return parts.length === 0 ? "" : ` when ${parts.join(" and ")}`;
}

/** One permission statement: `ecr: BatchGetImage, PutImage on repository/x`, `denied: …`, with its conditions. */
function statementWords(s: Statement): string {
    const actions = s.NotAction ? `every action but ${actionWords(list(s.NotAction))}` : actionWords(list(s.Action));
    const resources = s.NotResource
        ? `every resource but ${list(s.NotResource).map(shortArn).join(", ")}`
        : list(s.Resource).map(shortArn).join(", ");
    return `${s.Effect === "Deny" ? "denied: " : ""}${actions} on ${resources}${conditionWords(s.Condition)}`;
}

/** Who may assume a role: each trust statement's principals and conditions. */
function trustWords(doc: unknown): string {
    return statements(doc)
        .map((s) => {
            const p = s.Principal;
            const who =
                typeof p === "string"
                    ? p
                    : Object.entries(p ?? {})
                          .map(([kind, v]) => or(list(v).map((x) => (kind === "Service" ? x : `${kind} ${x}`))))
                          .join(", ");
            return `${s.Effect === "Deny" ? "never by " : ""}${who}${conditionWords(s.Condition)}`;
        })
        .join("; ");
}

export interface RoleSummary {
    readonly name: string;
    readonly assumedBy: string;
    /** What uses the role: projects (service or batch role) and schedules. */
    readonly usedBy: string[];
    /** Per policy: its name and its statements in words. */
    readonly policies: { readonly name: string; readonly statements: string[] }[];
}

/** Every IAM role, by name: who may assume it, what uses it, and what its inline and attached policies allow. */
export function roles(regs: readonly Registration[]): RoleSummary[] {
    const named = (r: Registration) => String(r.state.name ?? r.inputs.name ?? r.name);
    return regs
        .filter((r) => r.type === T.role)
        .map((role) => {
            const name = named(role);
            const arn = role.state.arn as string | undefined;
            const usedBy: string[] = [];
            for (const p of regs.filter((r) => r.type === T.project)) {
                if (project(p).serviceRole === arn) usedBy.push(`project ${named(p)} (service role)`);
                if (project(p).buildBatchConfig?.serviceRole === arn) usedBy.push(`project ${named(p)} (batch role)`);
            }
            for (const s of regs.filter((r) => r.type === T.schedule && schedule(r).target?.roleArn === arn)) {
                usedBy.push(`schedule ${named(s)}`);
            }
            const policies: RoleSummary["policies"][number][] = [];
            for (const inline of (role.inputs.inlinePolicies ?? []) as { name?: string; policy?: string }[]) {
                if (inline.policy) {
                    policies.push({
                        name: `inline policy ${inline.name ?? ""}`.trim(),
                        statements: words(inline.policy),
                    });
                }
            }
            for (const rp of regs.filter((r) => r.type === T.rolePolicy && r.inputs.role === name)) {
                policies.push({ name: `inline policy ${named(rp)}`, statements: words(rp.inputs.policy) });
            }
            const attached: string[] = [
                ...regs
                    .filter((r) => r.type === T.attachment && r.inputs.role === name)
                    .map((a) => String(a.inputs.policyArn)),
                ...((role.inputs.managedPolicyArns ?? []) as string[]),
            ];
            for (const policyArn of attached) {
                const policy = regs.find((r) => r.type === T.policy && r.state.arn === policyArn);
                policies.push(
                    policy
                        ? { name: `policy ${named(policy)}`, statements: words(policy.inputs.policy) }
                        : { name: `policy ${policyArn} (not in this stack)`, statements: [] },
                );
            }
            return { name, assumedBy: trustWords(role.inputs.assumeRolePolicy), usedBy, policies };
        })
        .sort((a, b) => a.name.localeCompare(b.name));
}

const words = (doc: unknown) => statements(doc).map(statementWords);

// ---- The text ----

/** The summary as printed and written to `summary.txt`: resources, triggers per project, roles. */
export function summaryText(stack: string, all: readonly Registration[]): string {
    // A read (`.get`: the source connection's live status) deploys nothing: it is listed apart, not counted.
    const regs = all.filter((r) => r.id === undefined);
    const reads = all.filter((r) => r.id !== undefined && r.custom);
    const lines = [`stack ${stack} would deploy ${regs.length} resources:`, ...resourceCounts(regs)];
    if (reads.length > 0) {
        lines.push(`read on every run, not deployed: ${reads.map((r) => `${typeName(r.type)} ${r.name}`).join(", ")}`);
    }
    const protectedCount = regs.filter((r) => r.protect === true).length;
    const retained = regs.filter((r) => r.retainOnDelete === true).map((r) => r.name);
    if (protectedCount > 0) {
        lines.push(`protected (pulumi destroy refuses until unprotected): ${protectedCount} of ${regs.length}`);
    }
    if (retained.length > 0) {
        lines.push(`kept in AWS when deleted from the stack (retainOnDelete): ${retained.join(", ")}`);
    }
    lines.push("");
    for (const t of triggers(regs)) {
        lines.push(`project ${t.project}:`, ...t.lines.map((l) => `  ${l}`), "");
    }
    for (const r of roles(regs)) {
        lines.push(`role ${r.name}${r.usedBy.length > 0 ? `, used by ${r.usedBy.join(", ")}` : ""}:`);
        lines.push(`  assumed by ${r.assumedBy}`);
        for (const p of r.policies) {
            lines.push(`  may (${p.name}):`, ...p.statements.map((s) => `    ${s}`));
        }
        lines.push("");
    }
    return lines.join("\n");
}
