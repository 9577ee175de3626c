/**
 * `npm run synth -- --stack <name> [--out <dir>]`: an offline review of what a stack would deploy.
 *
 * It runs the program (`program.ts`) for the stack under the one mock runtime (scripts/mockRuntime.ts), with the
 * stack's config as the CLI would pass it (`Pulumi.yaml` defaults, then `Pulumi.<stack>.yaml`), with no Pulumi CLI,
 * no plugins and no credentials. It prints a summary computed from the registered resources (scripts/synthSummary.ts:
 * resource types and counts, each project's triggers in words, each role's trust and permissions), where the files
 * are, and the policy pack's verdict; and writes into `<dir>` (default `synth/<stack>`, emptied first):
 *
 * - `summary.txt`: the summary;
 * - `resources/<name>.<Type>.json`: every resource (sorted, so the folder diffs cleanly), with its type, parent, options
 *   (`protect`, `retainOnDelete`, dependencies) and inputs; a secret input is written as `"[secret]"`;
 * - readable copies of what a reviewer reads in a change: `buildspec.yaml` (what CodeBuild runs: the content of the S3
 *   object the project's `source.buildspec` names; with several images, `buildspec.<resource>.yaml` each, and so for
 *   the dashboard and lifecycle policy), `iam/<name>.json` (each role's trust policy and each policy document, inline
 *   ones too), `lifecycle-policy.json` (and the pull-through templates'),
 *   `dashboard.json` (the dashboard body), `alarms.md` (the alarms as a table);
 * - `policy-violations.txt`: what the policy pack (policy/rules.ts) reports over these resources, also printed.
 *   The command exits 1 when there is any, so a pull request's check can fail on it.
 *
 * Limits: names, IDs, ARNs and URLs are the mock runtime's placeholders (account 123456789012; resource IDs
 * `<name>-id`), not what AWS will assign; values AWS computes are absent; there is no diff against the deployed
 * state (run `pulumi preview` with credentials for that); and an encrypted (`secure:`) value in the stack file can't
 * be read without the CLI: the command stops and says so.
 */
import * as fs from "fs";
import * as path from "path";
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { policies } from "../policy/rules";
import { isWireSecret, projectBuildspec, Registration, registrations, ROOT, runProgram } from "./mockRuntime";
import { runPolicy, Violation } from "./policyRunner";
import { summaryText } from "./synthSummary";

const USAGE = "usage: npm run synth -- --stack <name> [--out <dir>]   (a stack with a Pulumi.<name>.yaml)";

export interface SynthOptions {
    readonly stack: string;
    readonly out: string;
    /** Config on top of the stack's (tests); `secretKeys` marks some of them secret. */
    readonly overrides?: Record<string, unknown>;
    readonly secretKeys?: readonly string[];
    /** The policies to run (tests); the policy pack's by default. */
    readonly policies?: readonly (ResourceValidationPolicy | StackValidationPolicy)[];
}

export function parseArgs(argv: readonly string[]): SynthOptions | "help" {
    let stack: string | undefined;
    let out: string | undefined;
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const value = () => {
            const v = argv[++i];
            if (v === undefined || v.startsWith("--")) {
                throw new Error(`${a} needs a value. ${USAGE}`);
            }
            return v;
        };
        if (a === "--help" || a === "-h") {
            return "help";
        } else if (a === "--stack") {
            stack = value();
        } else if (a === "--out") {
            out = value();
        } else {
            throw new Error(`Unknown argument ${JSON.stringify(a)}. ${USAGE}`);
        }
    }
    if (stack === undefined) {
        throw new Error(`--stack is required. ${USAGE}`);
    }
    if (!/^[A-Za-z0-9_.-]+$/.test(stack) || !fs.existsSync(path.join(ROOT, `Pulumi.${stack}.yaml`))) {
        const known = fs
            .readdirSync(ROOT)
            .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
            .filter((s): s is string => s !== undefined);
        throw new Error(
            `No stack ${JSON.stringify(stack)}: no Pulumi.${stack}.yaml. Stacks here: ${known.join(", ")}.`,
        );
    }
    return { stack, out: out ?? path.join(ROOT, "synth", stack) };
}

/** The inputs as the engine gets them, with each secret replaced by "[secret]". */
function redacted(v: unknown): unknown {
    if (isWireSecret(v)) {
        return "[secret]";
    }
    if (Array.isArray(v)) {
        return v.map(redacted);
    }
    if (v !== null && typeof v === "object") {
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redacted(x)]));
    }
    return v;
}

const pretty = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
/** A JSON document given as a string, pretty-printed. */
const prettyDoc = (s: unknown) => (typeof s === "string" ? pretty(JSON.parse(s)) : pretty(s));

export interface SynthResult {
    readonly files: string[];
    readonly violations: Violation[];
    readonly resources: number;
    /** What the stack would deploy, in words (scripts/synthSummary.ts); also written as `summary.txt`. */
    readonly summary: string;
}

/** Runs the program for the stack under mocks and writes the review folder. */
export async function synth(o: SynthOptions): Promise<SynthResult> {
    await runProgram(o.stack, o.overrides, o.secretKeys);
    // Sorted by name and type: registration order depends on when outputs resolve, and a review diff must not.
    const key = (r: Registration) => `${r.name}.${r.type.split(":").pop()}`;
    const regs: Registration[] = [...registrations].sort((a, b) => key(a).localeCompare(key(b)));
    fs.rmSync(o.out, { recursive: true, force: true });
    const files: string[] = [];
    const write = (rel: string, text: string) => {
        const file = path.join(o.out, rel);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, text);
        files.push(rel);
    };

    regs.forEach((r) => {
        write(
            `resources/${key(r)}.json`,
            pretty({
                type: r.type,
                name: r.name,
                custom: r.custom,
                parent: r.parent || undefined,
                protect: r.protect,
                retainOnDelete: r.retainOnDelete,
                dependencies: [...r.dependencies].sort(),
                inputs: redacted(r.wire),
            }),
        );
    });

    // One buildspec, lifecycle policy and dashboard per image: a stack with several gets one file each, named by
    // the resource (`buildspec.docker-cache-api-project.yaml`), where a stack with one keeps the plain name.
    const several = (type: string) => regs.filter((r) => r.type === type).length > 1;
    const perImage = (r: Registration, base: string, ext: string) =>
        several(r.type) ? `${base}.${r.name}.${ext}` : `${base}.${ext}`;
    for (const r of regs) {
        switch (r.type) {
            case "aws:codebuild/project:Project":
                // What CodeBuild runs: the S3 object that source.buildspec names (written next to the object's own JSON).
                write(perImage(r, "buildspec", "yaml"), projectBuildspec(r, regs));
                break;
            case "aws:iam/role:Role":
                write(`iam/${r.name}.trust.json`, prettyDoc(r.inputs.assumeRolePolicy));
                break;
            case "aws:iam/policy:Policy":
            case "aws:iam/rolePolicy:RolePolicy":
                write(`iam/${r.name}.json`, prettyDoc(r.inputs.policy));
                break;
            case "aws:ecr/lifecyclePolicy:LifecyclePolicy":
                write(perImage(r, "lifecycle-policy", "json"), prettyDoc(r.inputs.policy));
                break;
            case "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate":
                write(`lifecycle-policy.${r.name}.json`, prettyDoc(r.inputs.lifecyclePolicy));
                break;
            case "aws:cloudwatch/dashboard:Dashboard":
                write(perImage(r, "dashboard", "json"), prettyDoc(r.inputs.dashboardBody));
                break;
        }
    }
    const alarms = regs.filter((r) => r.type === "aws:cloudwatch/metricAlarm:MetricAlarm");
    if (alarms.length > 0) {
        const row = (a: Registration) => {
            const i = a.inputs as {
                name: string;
                namespace: string;
                metricName: string;
                dimensions?: Record<string, string>;
                statistic: string;
                period: number;
                comparisonOperator: string;
                threshold: number;
                evaluationPeriods: number;
                alarmActions?: string[];
            };
            const dims = Object.entries(i.dimensions ?? {})
                .map(([k, v]) => `${k}=${String(v)}`)
                .join(", ");
            return `| ${i.name} | ${i.namespace} ${i.metricName} (${dims}) | ${i.statistic} per ${i.period} s | ${i.comparisonOperator} ${i.threshold} | ${i.evaluationPeriods} | ${(i.alarmActions ?? []).join(", ")} |`;
        };
        write(
            "alarms.md",
            [
                "| alarm | metric | statistic | fires when | periods | notifies |",
                "|---|---|---|---|---|---|",
                ...alarms.map(row),
                "",
            ].join("\n"),
        );
    }

    const summary = summaryText(o.stack, regs);
    write("summary.txt", summary);

    const violations: Violation[] = [];
    for (const p of o.policies ?? policies) {
        violations.push(...(await runPolicy(p, regs)).violations);
    }
    write(
        "policy-violations.txt",
        violations.length === 0
            ? "none\n"
            : violations.map((v) => `${v.policy}: ${v.message} (${v.urn ?? "stack"})\n`).join(""),
    );
    write(
        "README.md",
        [
            `# Offline review of stack \`${o.stack}\``,
            "",
            "Written by `npm run synth` (scripts/synth.ts): the program run under the mock runtime, without the Pulumi CLI",
            "or credentials. Names, IDs, ARNs and URLs are placeholders (account 123456789012); values AWS computes are",
            "absent; nothing here is compared with the deployed state (that is `pulumi preview`).",
            "",
            ...files
                .filter((f) => !f.startsWith("resources/"))
                .sort()
                .map((f) => `- \`${f}\``),
            `- \`resources/\`: ${regs.length} resources with their inputs (secrets as "[secret]")`,
            "",
        ].join("\n"),
    );
    return { files, violations, resources: regs.length, summary };
}

/**
 * What `npm run synth` prints: the summary, where the files are (`dir` as the user should read it), and the policy
 * pack's verdict.
 */
export function report(r: SynthResult, dir: string): string {
    const readable = r.files.filter((f) => !f.startsWith("resources/")).sort();
    const lines = [
        r.summary,
        `files in ${dir}/: ${readable.join(", ")}; resources/ (${r.resources} files, one per resource, with its inputs)`,
    ];
    if (r.violations.length === 0) {
        lines.push("policy pack: no violations");
    } else {
        lines.push(`policy pack: ${r.violations.length} violation(s):`);
        lines.push(...r.violations.map((v) => `  ${v.policy}: ${v.message}`));
    }
    return `${lines.join("\n")}\n`;
}

async function main(): Promise<number> {
    let o: SynthOptions | "help";
    try {
        o = parseArgs(process.argv.slice(2));
    } catch (e) {
        console.error((e as Error).message);
        return 2;
    }
    if (o === "help") {
        console.log(USAGE);
        return 0;
    }
    const r = await synth(o);
    process.stdout.write(report(r, path.relative(process.cwd(), o.out) || "."));
    return r.violations.length === 0 ? 0 : 1;
}

if (require.main === module) {
    main().then(
        (code) => process.exit(code),
        (e: unknown) => {
            console.error(e instanceof Error ? e.message : e);
            process.exit(1);
        },
    );
}
