/**
 * A small mock-runtime harness for the security tests: it runs the real program (the component, or
 * `index.ts` through config) under `pulumi.runtime.setMocks` and records every registration twice:
 *
 * - `inputs`: what the mocks' `newResource` sees, i.e. the inputs fully resolved, secrets unwrapped;
 * - `wire`: the RegisterResource request's object exactly as the SDK serialized it for the engine,
 *   where a secret is still wrapped as `{"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value}`.
 *   The mocks API deliberately unwraps secrets (`deserializeProperties` without `keepSecrets`), so the
 *   wire form is the only reliable way to see whether an input reaches the engine (and its state) as a secret.
 *
 * `call` throws: the program makes no invokes, and an unexpected one must fail the test rather than
 * be answered with its own inputs.
 */
import * as pulumi from "@pulumi/pulumi";

export const ACCOUNT = "123456789012";
export const REGION = "eu-west-1";
/** The signature key the Pulumi wire protocol uses to mark special values, and the value that marks a secret. */
export const SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export interface Registration {
    readonly type: string;
    readonly name: string;
    /** Resolved inputs, as `newResource` sees them (secrets unwrapped). */
    readonly inputs: Record<string, any>;
    /** The serialized inputs as sent to the engine (secrets still wrapped). */
    wire?: Record<string, any>;
}

const registrations: Registration[] = [];

function stateFor(type: string, name: string, inputs: Record<string, any>): Record<string, any> {
    const n = inputs.name ?? name;
    switch (type) {
        case "aws:ecr/repository:Repository":
            return {
                ...inputs,
                arn: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/${n}`,
                repositoryUrl: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${n}`,
            };
        case "aws:cloudwatch/logGroup:LogGroup":
            return { ...inputs, arn: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${n}` };
        case "aws:iam/role:Role":
            return { ...inputs, arn: `arn:aws:iam::${ACCOUNT}:role/${n}` };
        case "aws:iam/policy:Policy":
            return { ...inputs, arn: `arn:aws:iam::${ACCOUNT}:policy/${n}` };
        case "aws:codebuild/project:Project":
            return { ...inputs, arn: `arn:aws:codebuild:${REGION}:${ACCOUNT}:project/${n}` };
        default:
            return { ...inputs };
    }
}

let installed = false;

/**
 * Installs the mocks (once per process; later calls only switch project/stack) and wraps the mock
 * monitor's `registerResource` so that the serialized request is recorded too.
 */
export async function installMocks(project = "ecr-layer-cache", stack = "dev"): Promise<void> {
    await pulumi.runtime.setMocks(
        {
            newResource(args: pulumi.runtime.MockResourceArgs) {
                registrations.push({ type: args.type, name: args.name, inputs: args.inputs });
                return { id: `${args.name}-id`, state: stateFor(args.type, args.name, args.inputs) };
            },
            call(args: pulumi.runtime.MockCallArgs) {
                throw new Error(`unexpected invoke ${args.token}`);
            },
        },
        project,
        stack,
        false,
    );
    installed = true;
    const monitor = pulumi.runtime.getMonitor() as any;
    const original = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: any) => {
        const wire = req.getObject()?.toJavaScript() ?? {};
        return original(req, (err: any, resp: any) => {
            // newResource has pushed the registration by now; attach the wire form to it.
            const r = [...registrations]
                .reverse()
                .find((x) => x.type === req.getType() && x.name === req.getName() && x.wire === undefined);
            if (r) {
                r.wire = wire;
            }
            callback(err, resp);
        });
    };
}

export function mocksInstalled(): boolean {
    return installed;
}

/** Forgets the registrations recorded so far. */
export function resetRegistrations(): void {
    registrations.length = 0;
}

export function allRegistrations(): readonly Registration[] {
    return registrations;
}

export function findResource(type: string, name?: string): Registration {
    const found = registrations.filter((r) => r.type === type && (name === undefined || r.name === name));
    if (found.length !== 1) {
        throw new Error(`expected exactly one ${type}${name ? ` named ${name}` : ""}, found ${found.length}`);
    }
    return found[0];
}

/** The plain value of an output (under mocks every value is known). */
export function valueOf<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => o.apply((v) => resolve(v)));
}

/** Waits until every listed output has resolved, which means every registration they depend on has happened. */
export async function settle(...outputs: pulumi.Output<unknown>[]): Promise<void> {
    await valueOf(pulumi.all(outputs));
}

/** True if `v` is a wire-protocol secret wrapper. */
export function isWireSecret(v: unknown): boolean {
    return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}
