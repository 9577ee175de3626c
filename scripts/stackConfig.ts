/**
 * Stack config, the way the Pulumi CLI would pass it to the program: `Pulumi.yaml`'s typed declarations and their
 * defaults, then `Pulumi.<stack>.yaml` on top, each value encoded as the CLI encodes it for the language host. No
 * Pulumi runtime, no mocks: the mock runtime (`mockRuntime.ts`) feeds it to the program under mocks, and the docs'
 * stack table (`tools/docs/stacks.ts`) resolves each checked-in stack with it.
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";

const ROOT = path.resolve(__dirname, "..");

type ConfigDecl = { type?: string; default?: unknown; value?: unknown; secret?: boolean; items?: unknown };

/** How the CLI passes a config value to the program: strings as they are, everything else JSON-encoded. */
export function encodeConfigValue(v: unknown): string {
    return typeof v === "string" ? v : JSON.stringify(v);
}

function typeMatches(type: string | undefined, v: unknown): boolean {
    switch (type) {
        case undefined:
            return true;
        case "string":
            return typeof v === "string";
        case "integer":
            return typeof v === "number" && Number.isInteger(v);
        case "boolean":
            return typeof v === "boolean";
        case "array":
            return Array.isArray(v);
        default:
            return true;
    }
}

export interface StackConfig {
    readonly project: string;
    readonly config: Record<string, string>;
    readonly secretKeys: string[];
    /** The full keys (`<namespace>:<key>`) the stack file or the overrides set: the others are Pulumi.yaml's defaults. */
    readonly stackKeys: string[];
}

/** `Pulumi.yaml`: the project's name and its typed config declarations. */
export function readProjectFile(root: string = ROOT): { name: string; config: Record<string, ConfigDecl> } {
    const file = YAML.parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as {
        name: string;
        config?: Record<string, unknown>;
    };
    const config: Record<string, ConfigDecl> = {};
    for (const [k, raw] of Object.entries(file.config ?? {})) {
        config[k] = raw !== null && typeof raw === "object" && !Array.isArray(raw) ? raw : { value: raw };
    }
    return { name: file.name, config };
}

/**
 * Reads `Pulumi.yaml` (project name, typed config with defaults) and `Pulumi.<stack>.yaml` (none if `stack`
 * is undefined) and returns the `<namespace>:<key>` map the CLI would give the program. Like the CLI, it
 * refuses a stack value whose type differs from the declared one. `overrides` (short or full keys) are
 * applied last, for tests of other config; `secretKeys` (short or full) are marked secret.
 */
export function readStackConfig(
    stack: string | undefined,
    overrides: Record<string, unknown> = {},
    secretKeys: readonly string[] = [],
    root: string = ROOT,
): StackConfig {
    const projectFile = readProjectFile(root);
    const project = projectFile.name;
    const fullKey = (k: string) => (k.includes(":") ? k : `${project}:${k}`);
    const decls = new Map<string, ConfigDecl>();
    const values = new Map<string, unknown>();
    const secrets = new Set(secretKeys.map(fullKey));

    for (const [k, decl] of Object.entries(projectFile.config)) {
        const key = fullKey(k);
        decls.set(key, decl);
        const v = decl.value ?? decl.default;
        if (v !== undefined) {
            values.set(key, v);
        }
        if (decl.secret) {
            secrets.add(key);
        }
    }

    const stackPath = stack === undefined ? "overrides" : path.join(root, `Pulumi.${stack}.yaml`);
    const stackFile =
        stack === undefined
            ? {}
            : ((YAML.parse(fs.readFileSync(stackPath, "utf8")) ?? {}) as { config?: Record<string, unknown> });
    const given = { ...(stackFile.config ?? {}), ...overrides };
    for (const [k, v] of Object.entries(given)) {
        const key = fullKey(k);
        if (v !== null && typeof v === "object" && !Array.isArray(v) && "secure" in v) {
            throw new Error(
                `${stackPath}: ${key} is encrypted; secrets can't be decrypted without the CLI, pass a plain override instead`,
            );
        }
        const declaredType = decls.get(key)?.type;
        if (!typeMatches(declaredType, v)) {
            throw new Error(
                `${stackPath}: ${key} is ${JSON.stringify(v)}, but Pulumi.yaml declares type ${declaredType}`,
            );
        }
        values.set(key, v);
    }

    const config: Record<string, string> = {};
    for (const [k, v] of values) {
        config[k] = encodeConfigValue(v);
    }
    return { project, config, secretKeys: [...secrets], stackKeys: Object.keys(given).map(fullKey) };
}
