/**
 * The one in-process runner of the policy pack (policy/rules.ts) over registrations recorded under the mock runtime:
 * their resolved inputs are what the engine hands a policy as `props`. Used by `npm run synth` (scripts/synth.ts) and
 * by tests/security/policy.test.ts.
 */
import type {
    PolicyResource,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationPolicy,
} from "@pulumi/policy";
import type { Props, Registration } from "./mockRuntime";

export class NotApplicable extends Error {}

function isTypeOf(type: string) {
    return (cls: unknown) => (cls as { __pulumiType?: string }).__pulumiType === type;
}

export function resourceArgs(r: Registration, props: Props): ResourceValidationArgs {
    return {
        type: r.type,
        props,
        urn: r.urn,
        name: r.name,
        opts: {
            protect: r.protect ?? false,
            ignoreChanges: [],
            aliases: [],
            additionalSecretOutputs: [],
            customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
        },
        stackTags: new Map(),
        isType: isTypeOf(r.type),
        asType: ((cls: unknown) => (isTypeOf(r.type)(cls) ? props : undefined)) as ResourceValidationArgs["asType"],
        getConfig: <T extends object>() => ({}) as T,
        notApplicable: (reason?: string): never => {
            throw new NotApplicable(reason);
        },
    };
}

export function policyResource(r: Registration, props: Props): PolicyResource {
    const a = resourceArgs(r, props);
    return { ...a, dependencies: [], propertyDependencies: {} };
}

/** One violation a policy reported. */
export interface Violation {
    readonly policy: string;
    readonly message: string;
    readonly urn?: string;
}

/**
 * Runs one policy over the registrations (each one's props: its inputs, passed through `props`); returns its
 * violations and how many resources it applied to (0 for a stack policy, which always applies).
 */
export async function runPolicy(
    policy: ResourceValidationPolicy | StackValidationPolicy,
    regs: readonly Registration[],
    props: (type: string, inputs: Props) => Props = (_t, p) => p,
): Promise<{ violations: Violation[]; applicable: number }> {
    const out: Violation[] = [];
    const report = (message: string, urn?: string) => void out.push({ policy: policy.name, message, urn });
    const withProps = regs.map((r) => ({ r, props: props(r.type, r.inputs) }));
    if ("validateStack" in policy) {
        await policy.validateStack(
            {
                resources: withProps.map(({ r, props: p }) => policyResource(r, p)),
                stackTags: new Map(),
                getConfig: <T extends object>() => ({}) as T,
                notApplicable: (reason?: string): never => {
                    throw new NotApplicable(reason);
                },
            },
            report,
        );
        return { violations: out, applicable: 0 };
    }
    let applicable = 0;
    for (const { r, props: p } of withProps) {
        const validators = Array.isArray(policy.validateResource)
            ? policy.validateResource
            : [policy.validateResource!];
        for (const validate of validators) {
            try {
                await validate(resourceArgs(r, p), (message, urn) => report(message, urn ?? r.urn));
                applicable++;
            } catch (e) {
                if (!(e instanceof NotApplicable)) {
                    throw e;
                }
            }
        }
    }
    return { violations: out, applicable };
}
