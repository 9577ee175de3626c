/**
 * Facts per host type and region that CodeBuild's API model doesn't carry: which compute types each environment type
 * takes, where, and what the Docker server takes. A request the model allows can still be refused by CodeBuild in
 * a region; these facts let `pulumi up` refuse it first, as a `ConfigError` naming the key, the value, what is
 * allowed and the page that says so. Pure: the tables and {@link hostFactProblems}; callers pass the region.
 *
 * Where the region is known:
 * - `resolveArgs` doesn't know it: the component takes no region argument, and the region comes from the AWS
 *   provider (the stack's `aws:region`, or `AWS_REGION`/the profile when that is unset; components/buildspec/limit.ts
 *   checks the buildspec against the longest region name for the same reason).
 * - The program (`program.ts`) reads the stack's `aws:region` and checks these facts with the other config
 *   problems, before anything is registered.
 * - The component checks them again once the region is known from the repository's ARN (`cachedDockerBuild.ts`):
 *   the project's compute type waits for that check, so an unsupported project is never created. That covers a
 *   region from the environment or a consumer's own provider; it fails the update rather than the preview when the
 *   repository is new (its ARN is unknown in that preview).
 *
 * What the docs say, and where they don't (looked up 2026; re-check before changing a table):
 * - On-demand `ARM_CONTAINER` takes `BUILD_GENERAL1_SMALL` to `_2XLARGE`; the China regions (Beijing `cn-north-1`,
 *   Ningxia `cn-northwest-1`) list only SMALL and LARGE (CodeBuild user guide, "Build environment compute modes and
 *   types", the on-demand tables per region: {@link COMPUTE_TYPES_DOC}). Checked.
 * - On-demand `LINUX_CONTAINER` takes the five. Checked only as the ComputeType list (`args.ts`, checked in `codebuild.ts`).
 * - Regions offering `ARM_CONTAINER` at all: NOT checked. The sources disagree: the API model's text for
 *   `ProjectEnvironment.type` lists eight regions (us-east-1, us-east-2, us-west-2, eu-west-1, ap-south-1,
 *   ap-northeast-1, ap-southeast-2, eu-central-1) and hasn't changed since the type came out; the model's text for
 *   fleets (`Fleet.environmentType`) lists ten; the user guide's per-region tables list ARM in the China regions,
 *   which neither list has. Refusing a region on the oldest list would refuse regions AWS serves, so CodeBuild is
 *   left to answer for regions outside the tables above.
 * - `LINUX_CONTAINER` with `BUILD_GENERAL1_2XLARGE`: NOT checked by region, for the same reason (the model's text
 *   lists 13 regions, an older user guide 20).
 * - The Docker server (`environment.dockerServer.computeType`): the API model's enum also lists BUILD_LAMBDA_*,
 *   ATTRIBUTE_BASED_COMPUTE and CUSTOM_INSTANCE_TYPE, but the DockerServer reference describes only the five
 *   BUILD_GENERAL1_* sizes ({@link DOCKER_SERVER_DOC}); those five are what `dockerServer.ts` accepts. Its regions:
 *   not documented (the sample page, {@link DOCKER_SERVER_SAMPLE_DOC}, names none); NOT checked. Whether a project
 *   on `ARM_CONTAINER` can have a Docker server: not documented; NOT checked.
 */
import type { ComputeType } from "./args";
import type { ConfigProblem } from "./problems";

/** CodeBuild user guide, "Build environment compute modes and types" (the on-demand tables per region). */
export const COMPUTE_TYPES_DOC =
    "https://docs.aws.amazon.com/codebuild/latest/userguide/build-env-ref-compute-types.html";
/** CodeBuild API reference, `DockerServer` (its compute types). */
export const DOCKER_SERVER_DOC = "https://docs.aws.amazon.com/codebuild/latest/APIReference/API_DockerServer.html";
/** CodeBuild user guide, "Docker image build server sample". */
export const DOCKER_SERVER_SAMPLE_DOC =
    "https://docs.aws.amazon.com/codebuild/latest/userguide/sample-docker-server.html";

/** The on-demand host types this component uses. */
export type HostType = "LINUX_CONTAINER" | "ARM_CONTAINER";

/**
 * Compute types an `ARM_CONTAINER` takes in the regions whose table in {@link COMPUTE_TYPES_DOC} lists fewer than
 * all five. A region not listed here: the five (or CodeBuild answers, see the module's notes).
 */
export const ARM_COMPUTE_TYPES_BY_REGION: Readonly<Record<string, readonly ComputeType[]>> = {
    "cn-north-1": ["BUILD_GENERAL1_SMALL", "BUILD_GENERAL1_LARGE"],
    "cn-northwest-1": ["BUILD_GENERAL1_SMALL", "BUILD_GENERAL1_LARGE"],
};

/** What a project runs on: its host types (one per platform built natively) and its compute type. */
export interface HostUse {
    readonly hosts: readonly HostType[];
    readonly computeType: string;
}

/** The host types of the resolved platforms: arm64 on ARM_CONTAINER unless emulated on the amd64 host. */
export function hostsOf(a: { readonly platforms: readonly string[]; readonly platformMode: string }): HostType[] {
    const two = a.platforms.length > 1;
    const hosts: HostType[] = [];
    if (a.platforms.includes("linux/amd64") || (two && a.platformMode === "emulated")) {
        hosts.push("LINUX_CONTAINER");
    }
    if (a.platforms.includes("linux/arm64") && !(two && a.platformMode === "emulated")) {
        hosts.push("ARM_CONTAINER");
    }
    return hosts;
}

/**
 * The combinations of host type, compute type and `region` that the docs say CodeBuild refuses (pure). `region`
 * undefined (not known yet): nothing is checked.
 */
export function hostFactProblems(use: HostUse, region: string | undefined): ConfigProblem[] {
    if (region === undefined) {
        return [];
    }
    const problems: ConfigProblem[] = [];
    const arm = ARM_COMPUTE_TYPES_BY_REGION[region];
    if (
        use.hosts.includes("ARM_CONTAINER") &&
        arm !== undefined &&
        !(arm as readonly string[]).includes(use.computeType)
    ) {
        problems.push({
            key: "computeType",
            value: use.computeType,
            allowed: `Allowed on an arm64 host (ARM_CONTAINER) in ${region}: ${arm.join(", ")} (CodeBuild user guide, "Build environment compute modes and types", ${COMPUTE_TYPES_DOC}).`,
        });
    }
    return problems;
}
