/**
 * A reusable harness for running the program (or one component) under Pulumi's mock runtime.
 *
 * - `installMocks()` calls `pulumi.runtime.setMocks` with a `newResource` that records every registration
 *   and returns realistic state for the resource types this project creates, and a `call` that throws on
 *   every invoke: the program needs none (it derives account and region from the repository ARN).
 * - The mock monitor is also wrapped at the wire level, so each registration carries what the SDK sent the
 *   engine besides the inputs: parent URN, `protect`, `retainOnDelete`, dependencies. `MockResourceArgs`
 *   alone has none of these.
 * - `loadStackConfig(stack)` does what the CLI would: applies `Pulumi.yaml` defaults, then `Pulumi.<stack>.yaml`,
 *   encoded the way the CLI passes values to the language host.
 * - `runProgram(stack)` builds the whole program (`index.ts`) for one stack in this process, by clearing
 *   `index.ts` and `components/` from the require cache and requiring `index.ts` again. This is reliable
 *   because the only process-wide state involved lives in `@pulumi/pulumi`'s store, and both parts of it
 *   are reset here: `setMocks` replaces the monitor, project and stack, and `setAllConfig` overwrites the
 *   whole config map (it doesn't merge). `@pulumi/aws` stays loaded, so each extra stack costs milliseconds.
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";

export const ACCOUNT = "123456789012";
export const ROOT = path.resolve(__dirname, "..", "..");

export interface Registration {
    readonly type: string;
    readonly name: string;
    readonly inputs: Record<string, unknown>;
    readonly custom: boolean;
    /** Set for reads (`StackReference`, `.get`), which also reach `newResource`. */
    readonly id?: string;
    readonly urn: string;
    /** URN of the parent resource, "" for none. */
    readonly parent: string;
    readonly protect: boolean | undefined;
    readonly retainOnDelete: boolean | undefined;
    readonly dependencies: readonly string[];
}

/** Every registration since the last `installMocks`, in order. */
export const registrations: Registration[] = [];

/** Wire-level details of registrations, keyed by `type::name`, captured from the monitor's requests. */
const wire = new Map<
    string,
    { urn: string; parent: string; protect?: boolean; retainOnDelete?: boolean; dependencies: string[] }
>();

interface RegisterRequest {
    getType(): string;
    getName(): string;
    getParent(): string;
    getProtect(): boolean;
    hasProtect?(): boolean;
    getRetainondelete(): boolean;
    hasRetainondelete?(): boolean;
    getDependenciesList(): string[];
}

let monitorPatched = false;
function patchMonitor(): void {
    if (monitorPatched) {
        return;
    }
    monitorPatched = true;
    // The same module instance that `pulumi.runtime.setMocks` uses.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mocksModule = require("@pulumi/pulumi/runtime/mocks") as {
        MockMonitor: {
            prototype: {
                registerResource: (
                    this: unknown,
                    req: RegisterRequest,
                    cb: (err: unknown, res: unknown) => void,
                ) => Promise<void>;
            };
        };
    };
    const proto = mocksModule.MockMonitor.prototype;
    const original = proto.registerResource;
    proto.registerResource = function (req: RegisterRequest, cb: (err: unknown, res: unknown) => void) {
        const key = `${req.getType()}::${req.getName()}`;
        wire.set(key, {
            urn: "",
            parent: req.getParent(),
            protect: req.hasProtect && !req.hasProtect() ? undefined : req.getProtect(),
            retainOnDelete: req.hasRetainondelete && !req.hasRetainondelete() ? undefined : req.getRetainondelete(),
            dependencies: req.getDependenciesList(),
        });
        return original.call(this, req, (err: unknown, res: unknown) => {
            const w = wire.get(key);
            if (w && res && typeof (res as { getUrn?: () => string }).getUrn === "function") {
                w.urn = (res as { getUrn: () => string }).getUrn();
            }
            cb(err, res);
        });
    };
}

export interface MockOptions {
    readonly project?: string;
    readonly stack?: string;
    readonly region?: string;
    readonly organization?: string;
    /** Outputs of other stacks, by fully qualified stack name, for `pulumi.StackReference`. */
    readonly stackOutputs?: Readonly<Record<string, Record<string, unknown>>>;
}

function stateFor(
    type: string,
    name: string,
    inputs: Record<string, unknown>,
    region: string,
): Record<string, unknown> {
    const n = typeof inputs.name === "string" ? inputs.name : name;
    switch (type) {
        case "aws:ecr/repository:Repository":
            return {
                ...inputs,
                name: n,
                arn: `arn:aws:ecr:${region}:${ACCOUNT}:repository/${n}`,
                registryId: ACCOUNT,
                repositoryUrl: `${ACCOUNT}.dkr.ecr.${region}.amazonaws.com/${n}`,
            };
        case "aws:ecr/lifecyclePolicy:LifecyclePolicy":
            return { ...inputs, registryId: ACCOUNT };
        case "aws:cloudwatch/logGroup:LogGroup":
            // The provider's LogGroup.arn has no ":*" suffix.
            return { ...inputs, name: n, arn: `arn:aws:logs:${region}:${ACCOUNT}:log-group:${n}` };
        case "aws:iam/role:Role":
            return {
                ...inputs,
                name: n,
                arn: `arn:aws:iam::${ACCOUNT}:role/${n}`,
                uniqueId: `AROA${name.toUpperCase().replace(/[^A-Z0-9]/g, "")}`,
            };
        case "aws:iam/policy:Policy":
            return { ...inputs, name: n, arn: `arn:aws:iam::${ACCOUNT}:policy/${n}`, policyId: `ANPA${name.length}` };
        case "aws:codebuild/project:Project":
            return { ...inputs, name: n, arn: `arn:aws:codebuild:${region}:${ACCOUNT}:project/${n}` };
        case "aws:ecs/taskDefinition:TaskDefinition":
            return {
                ...inputs,
                arn: `arn:aws:ecs:${region}:${ACCOUNT}:task-definition/${String(inputs.family)}:1`,
                revision: 1,
            };
        case "aws:codebuild/sourceCredential:SourceCredential":
            return { ...inputs, arn: `arn:aws:codebuild:${region}:${ACCOUNT}:token/github` };
        default:
            return { ...inputs };
    }
}

/**
 * Installs the mocks for one project and stack and forgets earlier registrations.
 * Returns the list that records this run's registrations (the same array as {@link registrations}).
 */
export function installMocks(opts: MockOptions = {}): Registration[] {
    patchMonitor();
    registrations.length = 0;
    wire.clear();
    const region = opts.region ?? "eu-west-1";
    const stackOutputs = opts.stackOutputs ?? {};
    void pulumi.runtime.setMocks(
        {
            newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
                const inputs = (args.inputs ?? {}) as Record<string, unknown>;
                const w = wire.get(`${args.type}::${args.name}`);
                registrations.push({
                    type: args.type,
                    name: args.name,
                    inputs,
                    custom: args.custom ?? false,
                    id: args.id || undefined,
                    get urn() {
                        return wire.get(`${args.type}::${args.name}`)?.urn ?? "";
                    },
                    parent: w?.parent ?? "",
                    protect: w?.protect,
                    retainOnDelete: w?.retainOnDelete,
                    dependencies: w?.dependencies ?? [],
                });
                if (args.type === "pulumi:pulumi:StackReference") {
                    const ref = typeof inputs.name === "string" ? inputs.name : String(args.id);
                    const outputs = stackOutputs[ref];
                    if (outputs === undefined) {
                        throw new Error(
                            `mocks: no outputs for StackReference ${JSON.stringify(ref)}; known: ${Object.keys(stackOutputs).join(", ") || "none"}`,
                        );
                    }
                    return { id: ref, state: { name: ref, outputs, secretOutputNames: [] } };
                }
                if (!args.custom) {
                    return { id: undefined, state: {} };
                }
                return { id: `${args.name}-id`, state: stateFor(args.type, args.name, inputs, region) };
            },
            call(args: pulumi.runtime.MockCallArgs): pulumi.runtime.MockCallResult {
                throw new Error(
                    `mocks: unexpected invoke ${args.token}(${JSON.stringify(args.inputs)}); this program needs no invokes`,
                );
            },
        },
        opts.project ?? "ecr-layer-cache",
        opts.stack ?? "test",
        false,
        opts.organization ?? "organization",
    );
    return registrations;
}

/** Waits until every outstanding registration has reached the mocks. */
export async function settle(): Promise<void> {
    const runtime = pulumi.runtime as unknown as { waitForRPCs(): Promise<void> };
    await runtime.waitForRPCs();
}

/** The registrations of one type (token such as `aws:ecr/repository:Repository`), optionally with one name. */
export function findResources(type: string, name?: string): Registration[] {
    return registrations.filter((r) => r.type === type && (name === undefined || r.name === name));
}

/** The only registration of `type` (and `name`); throws if there are none or several. */
export function findResource(type: string, name?: string): Registration {
    const found = findResources(type, name);
    if (found.length !== 1) {
        const seen = registrations.map((r) => `${r.type} ${r.name}`).join("\n  ");
        throw new Error(
            `expected exactly one ${type}${name ? ` named ${name}` : ""}, found ${found.length}. Registered:\n  ${seen}`,
        );
    }
    return found[0];
}

interface OutputInternals<T> {
    isKnown: Promise<boolean>;
    promise(withUnknowns?: boolean): Promise<T>;
}

/** The resolved value of an Output (or plain value). Fails, rather than hanging, if the value is unknown. */
export async function valueOf<T>(value: pulumi.Input<T>): Promise<T> {
    const out = pulumi.output(value) as unknown as OutputInternals<T>;
    if (!(await out.isKnown)) {
        throw new Error("valueOf: the output is unknown (is the mock returning this property?)");
    }
    return out.promise();
}

/** Whether an Output is marked secret. */
export async function isSecret(value: pulumi.Output<unknown>): Promise<boolean> {
    return (value as unknown as { isSecret: Promise<boolean> }).isSecret;
}

// ---------------------------------------------------------------------------------------------------
// Stack config, the way the CLI would pass it.

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
}

/**
 * Reads `Pulumi.yaml` (project name, typed config with defaults) and `Pulumi.<stack>.yaml` and returns the
 * `<namespace>:<key>` map the CLI would give the program. Like the CLI, it refuses a stack value whose type
 * differs from the declared one. `overrides` (full keys) are applied last, for tests of bad config.
 */
export function readStackConfig(
    stack: string,
    overrides: Record<string, unknown> = {},
    root: string = ROOT,
): StackConfig {
    const projectFile = YAML.parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as {
        name: string;
        config?: Record<string, unknown>;
    };
    const project = projectFile.name;
    const fullKey = (k: string) => (k.includes(":") ? k : `${project}:${k}`);
    const decls = new Map<string, ConfigDecl>();
    const values = new Map<string, unknown>();
    const secretKeys: string[] = [];

    for (const [k, raw] of Object.entries(projectFile.config ?? {})) {
        const key = fullKey(k);
        const decl: ConfigDecl = raw !== null && typeof raw === "object" && !Array.isArray(raw) ? raw : { value: raw };
        decls.set(key, decl);
        const v = decl.value ?? decl.default;
        if (v !== undefined) {
            values.set(key, v);
        }
        if (decl.secret) {
            secretKeys.push(key);
        }
    }

    const stackPath = path.join(root, `Pulumi.${stack}.yaml`);
    const stackFile = (YAML.parse(fs.readFileSync(stackPath, "utf8")) ?? {}) as { config?: Record<string, unknown> };
    for (const [k, v] of Object.entries({ ...(stackFile.config ?? {}), ...overrides })) {
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
    return { project, config, secretKeys };
}

/** Reads the stack's config (see {@link readStackConfig}) and applies it to the runtime with `setAllConfig`. */
export function loadStackConfig(stack: string, overrides: Record<string, unknown> = {}): StackConfig {
    const sc = readStackConfig(stack, overrides);
    pulumi.runtime.setAllConfig(sc.config, sc.secretKeys);
    return sc;
}

/** Forgets `index.ts` and `components/` (and anything else under `dir`) so the next require runs them again. */
export function clearModules(...dirs: string[]): void {
    const prefixes = dirs.length > 0 ? dirs : [path.join(ROOT, "index.ts"), path.join(ROOT, "components") + path.sep];
    for (const key of Object.keys(require.cache)) {
        if (prefixes.some((p) => key === p || key.startsWith(p))) {
            delete require.cache[key];
        }
    }
}

/** The flat outputs `index.ts` exports. */
export interface ProgramOutputs {
    readonly [name: string]: pulumi.Output<unknown>;
}

/**
 * Builds the whole program for one stack under mocks: installs the mocks (project and stack from the config
 * files, region from the stack's `aws:region`), applies the stack's config, requires `index.ts` afresh, and
 * waits until every registration has reached the mocks. Returns the program's exports.
 */
export async function runProgram(stack: string, overrides: Record<string, unknown> = {}): Promise<ProgramOutputs> {
    const sc = readStackConfig(stack, overrides);
    installMocks({ project: sc.project, stack, region: sc.config["aws:region"] ?? "eu-west-1" });
    pulumi.runtime.setAllConfig(sc.config, sc.secretKeys);
    clearModules();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const program = require(path.join(ROOT, "index.ts")) as ProgramOutputs;
    await settle();
    return program;
}
