/**
 * The one mock runtime of this repository: every test that runs the program, the component or the consumer
 * example under `pulumi.runtime.setMocks` uses it, and so do two tools: `npm run synth` (scripts/synth.ts), the
 * offline review, and `standIn/componentBuildspec.ts`, which renders the component's buildspec for the local
 * stand-in. It lives here, beside the tools, so that no tool imports the tests; the tests import it from here.
 *
 * - `installMocks()` installs mocks whose `newResource` records every registration and returns realistic
 *   state for each resource type this project creates (ARNs, URLs and names built from the mocked account
 *   and region), and whose `call` throws on every invoke: nothing here needs one (account and region come
 *   from the repository ARN), so an invoke is a bug, not something to answer with its own inputs. The one
 *   read the program makes, of its source connection's live status, answers `liveConnectionStatus`.
 * - Each registration holds two views of its inputs: `inputs`, resolved as `newResource` sees them (secrets
 *   unwrapped), and `wire`, the request's object as the SDK serialized it for the engine, where a secret is
 *   still wrapped (`isWireSecret`). The second is the only way to see that an input reaches the engine, and
 *   its state, as a secret. The wire level also gives what `MockResourceArgs` lacks: the parent's URN,
 *   `protect`, `retainOnDelete` and dependencies.
 * - `readStackConfig(stack)` (scripts/stackConfig.ts, re-exported here) does what the CLI would: applies
 *   `Pulumi.yaml` defaults, then `Pulumi.<stack>.yaml`, encoded the way the CLI passes values to the language host.
 * - `runProgram(stack)` installs the mocks and the stack's config and calls the program function
 *   (`program.ts`), then waits until every registration has reached the mocks. Process-wide state lives in
 *   `@pulumi/pulumi`'s store only, and both parts of it are reset per run: `setMocks` replaces the monitor,
 *   project and stack, and `setAllConfig` overwrites the whole config map.
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { program, StackOutputs } from "../program";
import { readStackConfig } from "./stackConfig";

export const ACCOUNT = "123456789012";
export const DEFAULT_REGION = "eu-west-1";
export const ROOT = path.resolve(__dirname, "..");
/** The signature key the Pulumi wire protocol uses to mark special values, and the value that marks a secret. */
export const SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/**
 * A resource's inputs or state, of any resource type: loosely typed on purpose, so that a test or a tool reads the
 * properties it knows for the type it looked up (`r.inputs.source.buildspec`).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Props = Record<string, any>;

export interface Registration {
    readonly type: string;
    readonly name: string;
    /** Resolved inputs, as `newResource` sees them (secrets unwrapped). */
    readonly inputs: Props;
    /** The inputs as serialized for the engine: secrets are still wrapped (see {@link isWireSecret}). */
    readonly wire: Props;
    readonly custom: boolean;
    /** Set for reads (`StackReference`, `.get`), which also reach `newResource`. */
    readonly id?: string;
    /** This resource's URN, known once the registration has been answered. */
    readonly urn: string;
    /** URN of the parent resource, "" for none. */
    readonly parent: string;
    readonly protect: boolean | undefined;
    readonly retainOnDelete: boolean | undefined;
    readonly dependencies: readonly string[];
    /** The state the mocks answered (ARNs, names, URLs built from the inputs); `{}` for a component or a read. */
    readonly state: Props;
}

/** Every registration since the last `installMocks`, in order. */
export const registrations: Registration[] = [];

// ---------------------------------------------------------------------------------------------------
// The wire level: the mock monitor's requests, read just before the mocks see them.

/** The parts of a RegisterResource / ReadResource request read here. */
interface ResourceRequest {
    getType(): string;
    getName(): string;
    getParent(): string;
    getDependenciesList(): string[];
    getObject?(): { toJavaScript(): Record<string, unknown> } | undefined;
    getProperties?(): { toJavaScript(): Record<string, unknown> } | undefined;
    getProtect?(): boolean | undefined;
    hasProtect?(): boolean;
    getRetainondelete?(): boolean | undefined;
    hasRetainondelete?(): boolean;
}
type Callback = (err: unknown, res: unknown) => void;
type MonitorMethod = (this: unknown, req: ResourceRequest, cb: Callback) => Promise<void>;

interface WireDetails {
    readonly wire: Props;
    readonly parent: string;
    readonly protect: boolean | undefined;
    readonly retainOnDelete: boolean | undefined;
    readonly dependencies: string[];
    /** Set by `newResource`, which the monitor calls synchronously, before its first await. */
    registration?: { urn: string };
}

/** The request being handed to the mocks right now. */
let current: WireDetails | undefined;

function optionalFlag(has: (() => boolean) | undefined, get: (() => boolean | undefined) | undefined) {
    if (get === undefined || (has !== undefined && !has())) {
        return undefined;
    }
    return get() ?? undefined;
}

let monitorPatched = false;
function patchMonitor(): void {
    if (monitorPatched) {
        return;
    }
    monitorPatched = true;
    // The same module instance that `pulumi.runtime.setMocks` uses.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { MockMonitor } = require("@pulumi/pulumi/runtime/mocks") as {
        MockMonitor: { prototype: Record<"registerResource" | "readResource", MonitorMethod> };
    };
    for (const method of ["registerResource", "readResource"] as const) {
        const original = MockMonitor.prototype[method];
        MockMonitor.prototype[method] = function (req, cb) {
            const details: WireDetails = {
                wire: (req.getObject ?? req.getProperties)?.call(req)?.toJavaScript() ?? {},
                parent: req.getParent(),
                protect: optionalFlag(req.hasProtect?.bind(req), req.getProtect?.bind(req)),
                retainOnDelete: optionalFlag(req.hasRetainondelete?.bind(req), req.getRetainondelete?.bind(req)),
                dependencies: req.getDependenciesList(),
            };
            current = details;
            try {
                return original.call(this, req, (err, res) => {
                    const urn = (res as { getUrn?: () => string } | undefined)?.getUrn?.();
                    if (details.registration && urn) {
                        details.registration.urn = urn;
                    }
                    cb(err, res);
                });
            } finally {
                current = undefined;
            }
        };
    }
}

// ---------------------------------------------------------------------------------------------------
// The mocks.

export interface MockOptions {
    readonly project?: string;
    readonly stack?: string;
    readonly region?: string;
    readonly organization?: string;
    /** Host of repository URLs; ECR's `<account>.dkr.ecr.<region>.amazonaws.com` unless set (the local stand-in sets its registry). */
    readonly registryHost?: string;
    /** Outputs of other stacks, by fully qualified stack name, for `pulumi.StackReference`. */
    readonly stackOutputs?: Readonly<Record<string, Record<string, unknown>>>;
    /**
     * What a read of a CodeConnections connection (`Connection.get`, `source.ts`'s `readConnectionStatus`) finds as
     * its live status: `AVAILABLE` unless set (a stack whose handshake is done); `PENDING` models the first
     * `pulumi up` of a new connection, or one whose handshake is still to do.
     */
    readonly liveConnectionStatus?: "PENDING" | "AVAILABLE" | "ERROR";
}

/** The resource types whose reads answer with {@link MockOptions.liveConnectionStatus}. */
const CONNECTION_TYPES = ["aws:codeconnections/connection:Connection", "aws:codestarconnections/connection:Connection"];

/** The state AWS would return for a resource of `type`: its inputs plus the computed names, ARNs and URLs. */
function stateFor(
    type: string,
    name: string,
    inputs: Props,
    region: string,
    registryHost: string,
): Record<string, unknown> {
    const n = typeof inputs.name === "string" ? inputs.name : name;
    switch (type) {
        case "aws:ecr/repository:Repository":
            return {
                ...inputs,
                name: n,
                arn: `arn:aws:ecr:${region}:${ACCOUNT}:repository/${n}`,
                registryId: ACCOUNT,
                repositoryUrl: `${registryHost}/${n}`,
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
        case "aws:s3/bucket:Bucket": {
            const bucket = typeof inputs.bucket === "string" ? inputs.bucket : name;
            return { ...inputs, bucket, arn: `arn:aws:s3:::${bucket}`, region };
        }
        case "aws:s3/bucketObjectv2:BucketObjectv2":
            return { ...inputs, arn: `arn:aws:s3:::${String(inputs.bucket)}/${String(inputs.key)}` };
        case "aws:codebuild/project:Project":
            return { ...inputs, name: n, arn: `arn:aws:codebuild:${region}:${ACCOUNT}:project/${n}` };
        case "aws:codebuild/sourceCredential:SourceCredential":
            return { ...inputs, arn: `arn:aws:codebuild:${region}:${ACCOUNT}:token/github` };
        case "aws:ecr/pullThroughCacheRule:PullThroughCacheRule":
            // upstreamRepositoryPrefix is computed: ROOT (every upstream repository) unless set.
            return {
                ...inputs,
                registryId: ACCOUNT,
                upstreamRepositoryPrefix: inputs.upstreamRepositoryPrefix ?? "ROOT",
            };
        case "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate":
            return {
                ...inputs,
                registryId: ACCOUNT,
                imageTagMutability: inputs.imageTagMutability ?? "MUTABLE",
                encryptionConfigurations: inputs.encryptionConfigurations ?? [{ encryptionType: "AES256", kmsKey: "" }],
            };
        case "aws:secretsmanager/secret:Secret": {
            // Secrets Manager appends '-' and six random characters to the name in the ARN; the ID is the ARN.
            const arn = `arn:aws:secretsmanager:${region}:${ACCOUNT}:secret:${n}-AbC123`;
            return { ...inputs, name: n, arn };
        }
        case "aws:secretsmanager/secretVersion:SecretVersion":
            return {
                ...inputs,
                arn: inputs.secretId,
                versionId: `${name}-version-1`,
                versionStages: ["AWSCURRENT"],
            };
        case "aws:sns/topic:Topic":
            return { ...inputs, name: n, arn: `arn:aws:sns:${region}:${ACCOUNT}:${n}` };
        case "aws:cloudwatch/metricAlarm:MetricAlarm":
            return { ...inputs, arn: `arn:aws:cloudwatch:${region}:${ACCOUNT}:alarm:${String(inputs.name)}` };
        case "aws:cloudwatch/dashboard:Dashboard":
            return {
                ...inputs,
                dashboardArn: `arn:aws:cloudwatch::${ACCOUNT}:dashboard/${String(inputs.dashboardName)}`,
            };
        case "aws:codeconnections/connection:Connection":
            // A new connection is PENDING until its handshake in the console.
            return {
                ...inputs,
                arn: `arn:aws:codeconnections:${region}:${ACCOUNT}:connection/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b`,
                connectionStatus: "PENDING",
            };
        case "aws:codebuild/webhook:Webhook":
            return {
                ...inputs,
                payloadUrl: `https://codebuild.${region}.amazonaws.com/webhooks?t=mocked&v=1`,
                secret: "mocked-webhook-secret",
                url: "https://github.com/hooks/mocked",
            };
        case "aws:scheduler/scheduleGroup:ScheduleGroup":
        case "aws:scheduler/schedule:Schedule":
            return { ...inputs, name: n, arn: `arn:aws:scheduler:${region}:${ACCOUNT}:mocked/${n}` };
        case "aws:ecs/taskDefinition:TaskDefinition":
            return {
                ...inputs,
                arn: `arn:aws:ecs:${region}:${ACCOUNT}:task-definition/${String(inputs.family)}:1`,
                revision: 1,
            };
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
    const region = opts.region ?? DEFAULT_REGION;
    const registryHost = opts.registryHost ?? `${ACCOUNT}.dkr.ecr.${region}.amazonaws.com`;
    const stackOutputs = opts.stackOutputs ?? {};
    void pulumi.runtime.setMocks(
        {
            newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
                const inputs = (args.inputs ?? {}) as Props;
                const w = current;
                if (w === undefined) {
                    throw new Error(`mocks: ${args.type} ${args.name} reached the mocks without a monitor request`);
                }
                const registration: Registration = {
                    type: args.type,
                    name: args.name,
                    inputs,
                    wire: w.wire,
                    custom: args.custom ?? false,
                    id: args.id || undefined,
                    urn: "",
                    parent: w.parent,
                    protect: w.protect,
                    retainOnDelete: w.retainOnDelete,
                    dependencies: w.dependencies,
                    state: {},
                };
                w.registration = registration;
                registrations.push(registration);
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
                if (args.id && CONNECTION_TYPES.includes(args.type)) {
                    // A read of an existing connection by its ARN (the ID): its live status.
                    return {
                        id: args.id,
                        state: { arn: args.id, connectionStatus: opts.liveConnectionStatus ?? "AVAILABLE" },
                    };
                }
                const state = stateFor(args.type, args.name, inputs, region, registryHost);
                (registration as { state: Props }).state = state;
                // A secret's ID is its ARN, a bucket's its name (as AWS's); other resources get a recognizable placeholder.
                const id =
                    args.type === "aws:secretsmanager/secret:Secret"
                        ? String(state.arn)
                        : args.type === "aws:s3/bucket:Bucket"
                          ? String(state.bucket)
                          : `${args.name}-id`;
                return { id, state };
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

/** `arn:<partition>:s3:::<bucket>/<key>`: what a project's `source.buildspec` holds when CodeBuild reads it from S3. */
const S3_OBJECT_ARN = /^arn:[a-z-]+:s3:::([^/]+)\/(.+)$/;

/**
 * The buildspec a registered CodeBuild project runs, as CodeBuild would get it: its `source.buildspec` if inline,
 * else the content of the registered S3 object (`aws:s3/bucketObjectv2`) that the ARN there names (bucket and key).
 * Throws when the project names an object that no registration holds.
 */
export function projectBuildspec(project: Registration, regs: readonly Registration[] = registrations): string {
    const spec = (project.inputs.source as { buildspec?: unknown } | undefined)?.buildspec;
    if (typeof spec !== "string") {
        throw new Error(`${project.name}: source.buildspec is not a string (${JSON.stringify(spec)})`);
    }
    const m = S3_OBJECT_ARN.exec(spec);
    if (m === null) {
        return spec;
    }
    const found = regs.filter(
        (r) => r.type === "aws:s3/bucketObjectv2:BucketObjectv2" && r.inputs.bucket === m[1] && r.inputs.key === m[2],
    );
    if (found.length !== 1 || typeof found[0].inputs.content !== "string") {
        throw new Error(
            `${project.name}: source.buildspec names ${spec}, which ${found.length} registered objects hold`,
        );
    }
    return found[0].inputs.content;
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
    isSecret: Promise<boolean>;
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
    return (value as unknown as OutputInternals<unknown>).isSecret;
}

/** True if `v` is a wire-protocol secret wrapper. */
export function isWireSecret(v: unknown): v is { value: unknown } {
    return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

// ---------------------------------------------------------------------------------------------------
// Stack config, the way the CLI would pass it: scripts/stackConfig.ts (the docs' stack table reads it too).

export { encodeConfigValue, readProjectFile, readStackConfig, type StackConfig } from "./stackConfig";

/**
 * Runs `fn` (a program function) under fresh mocks with exactly this config, and waits until every
 * registration has reached the mocks. A `ConfigError` or any other exception of `fn` rejects the promise.
 */
export async function runWithConfig<T>(
    fn: () => T,
    opts: MockOptions & { readonly config: Record<string, string>; readonly secretKeys?: readonly string[] },
): Promise<T> {
    installMocks(opts);
    pulumi.runtime.setAllConfig(opts.config, [...(opts.secretKeys ?? [])]);
    const outputs = fn();
    await settle();
    return outputs;
}

/**
 * Builds the whole program (`program.ts`) for one stack under mocks: the project and stack from the config
 * files, the region from the stack's `aws:region`, and the config the CLI would pass (see {@link readStackConfig}).
 */
export async function runProgram(
    stack: string,
    overrides: Record<string, unknown> = {},
    secretKeys: readonly string[] = [],
    mockOptions: Pick<MockOptions, "liveConnectionStatus"> = {},
): Promise<StackOutputs> {
    const sc = readStackConfig(stack, overrides, secretKeys);
    return runWithConfig(program, {
        ...mockOptions,
        project: sc.project,
        stack,
        region: sc.config["aws:region"] ?? DEFAULT_REGION,
        config: sc.config,
        secretKeys: sc.secretKeys,
    });
}
