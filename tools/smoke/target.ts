/**
 * Which CodeBuild project a smoke build runs on, and in which region: from `--project` directly, or from a stack's
 * outputs (index.ts exports `projectName` and `projectArn`; with several images, `images.<name>.projectName`).
 * The outputs are read with the Pulumi CLI, `pulumi stack output --json --stack <name>`, which needs the CLI and the
 * stack's backend login; `--project` needs neither.
 */
import { execFile } from "child_process";
import { FlagError } from "../../localBuild/flags";

export interface Target {
    readonly projectName: string;
    /** The project's region, when the outputs tell it (from `projectArn` or a repository URL); else the SDK's own. */
    readonly region?: string;
    /** Where the name came from, said in the output. */
    readonly from: string;
}

/** Reads a stack's outputs as JSON (the Pulumi CLI in the real tool, a stub in tests). */
export type ReadOutputs = (stack: string) => Promise<Record<string, unknown>>;

/**
 * `pulumi stack output --json --stack <stack>`, run in `cwd` (the Pulumi project); `bin` is the CLI (a path in tests).
 * A missing CLI or a failing command is a {@link FlagError}; secrets stay `[secret]` (no `--show-secrets`).
 */
export function pulumiOutputs(cwd: string, bin = "pulumi"): ReadOutputs {
    return (stack) =>
        new Promise((resolve, reject) => {
            execFile(
                bin,
                ["stack", "output", "--json", "--stack", stack],
                { cwd, maxBuffer: 16 * 1024 * 1024 },
                (err, stdout, stderr) => {
                    if (err !== null) {
                        const notFound = (err as NodeJS.ErrnoException).code === "ENOENT";
                        reject(
                            new FlagError(
                                notFound
                                    ? `The Pulumi CLI was not found on PATH; it reads stack ${JSON.stringify(stack)}'s outputs. Install it, or pass --project NAME (the stack output projectName).`
                                    : `\`pulumi stack output --json --stack ${stack}\` failed: ${stderr.trim() || err.message}. Pass --project NAME to skip the Pulumi CLI.`,
                            ),
                        );
                        return;
                    }
                    try {
                        resolve(JSON.parse(stdout) as Record<string, unknown>);
                    } catch {
                        reject(new Error(`\`pulumi stack output --json\` printed no JSON: ${stdout.slice(0, 200)}`));
                    }
                },
            );
        });
}

/** The region of a CodeBuild project ARN (`arn:aws:codebuild:<region>:<account>:project/<name>`). */
export function regionOfArn(arn: unknown): string | undefined {
    return typeof arn === "string" ? /^arn:[^:]+:codebuild:([^:]+):/.exec(arn)?.[1] : undefined;
}

/** The region of an ECR repository URL (`<account>.dkr.ecr.<region>.amazonaws.com/<name>`). */
export function regionOfRepositoryUrl(url: unknown): string | undefined {
    return typeof url === "string" ? /^\d+\.dkr\.ecr\.([^.]+)\.amazonaws\.com(?:\.cn)?\//.exec(url)?.[1] : undefined;
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** The project of a stack's outputs; `image` picks one of `images`. Throws a {@link FlagError} naming what is there. */
export function targetFromOutputs(stack: string, outputs: Record<string, unknown>, image?: string): Target {
    const from = `stack ${stack}'s outputs`;
    const images = isRecord(outputs.images) ? outputs.images : undefined;
    if (image !== undefined) {
        const entry = images?.[image];
        if (!isRecord(entry) || typeof entry.projectName !== "string") {
            const names =
                images === undefined ? "none (the stack has no `images` output)" : Object.keys(images).join(", ");
            throw new FlagError(`Invalid value for '--image': ${JSON.stringify(image)}. Allowed: ${names}.`);
        }
        return {
            projectName: entry.projectName,
            region: regionOfRepositoryUrl(entry.repositoryUrl),
            from: `${from}, image ${image}`,
        };
    }
    if (typeof outputs.projectName === "string" && outputs.projectName !== "") {
        return {
            projectName: outputs.projectName,
            region: regionOfArn(outputs.projectArn) ?? regionOfRepositoryUrl(outputs.repositoryUrl),
            from,
        };
    }
    if (images !== undefined) {
        throw new FlagError(
            `Stack ${stack} builds several images; pick one with --image NAME. Allowed: ${Object.keys(images).join(", ")}.`,
        );
    }
    throw new FlagError(
        `Stack ${stack} has no output projectName: is it deployed (pulumi up)? Outputs found: ${Object.keys(outputs).join(", ") || "none"}.`,
    );
}
