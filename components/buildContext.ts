/**
 * What is built: the Dockerfile's folder and name, the build context and target stage, the `--build-arg` values, and
 * the network of RUN steps. Their defaults and checks (called by `resolveArgs`); the buildspec (`buildspec/`) puts
 * them on the `docker buildx build` line, so every value is checked to be safe as one shell word and a YAML scalar.
 */
import { BUILD_NETWORKS, type CachedDockerBuildArgs, type ResolvedArgs } from "./args";
import { oneOf, type Problems } from "./problems";

/** Defaults of the build-context arguments. */
export const BUILD_CONTEXT_DEFAULTS = {
    dockerfileDir: "al/x86_64/standard/5.0",
    dockerfileName: "Dockerfile",
    buildArgs: {},
} as const satisfies Partial<ResolvedArgs>;

const BUILD_ARG_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Printable, no control characters: for values that end up inside a single shell word and a YAML scalar.
// C1 controls (U+0080-U+009F, with NEL), U+2028/U+2029 and the BOM are refused too: the YAML library
// writes them raw, and a YAML 1.1 reader (SnakeYAML, PyYAML) takes NEL/U+2028/U+2029 as line breaks,
// which can end a block scalar early and turn the rest of the value into buildspec structure.
const NO_CONTROL = /^[^\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]*$/;
/** What a build-arg value can't hold: NUL (no argv can), and what NO_CONTROL refuses for YAML 1.1's sake, bar C0 (escaped). */
const BUILD_ARG_VALUE_FORBIDDEN = /[\x00\x7f-\x9f\u2028\u2029\ufeff]/;

/**
 * Checks the Dockerfile folder (relative, inside the source, not read as an option, printable) and returns it
 * normalized: empty and `.` segments dropped, `.` for the source root, and a leading `./` kept where the path
 * would otherwise start with `-`. Returns the value unchanged when it is refused.
 */
function normalizeDockerfileDir(p: Problems, value: string, key = "dockerfileDir"): string {
    const ok =
        p.check(
            value.length > 0 && value.length <= 1024,
            key,
            value,
            "Allowed: a non-empty relative path of at most 1024 characters.",
        ) &&
        p.check(
            !value.startsWith("/"),
            key,
            value,
            "Allowed: a path relative to the source root; absolute paths are not.",
        ) &&
        p.check(
            !value.split("/").includes(".."),
            key,
            value,
            "Allowed: a path inside the source; '..' segments are not.",
        ) &&
        p.check(
            !value.startsWith("-"),
            key,
            value,
            "Allowed: a path not starting with '-', which docker would read as an option; write './-…' instead.",
        ) &&
        p.check(
            NO_CONTROL.test(value),
            key,
            value,
            "Allowed: printable characters; control characters and newlines are not.",
        );
    if (!ok) {
        return value;
    }
    const segments = value.split("/").filter((s) => s !== "" && s !== ".");
    if (segments.length === 0) {
        return ".";
    }
    const path = segments.join("/");
    return path.startsWith("-") ? `./${path}` : path;
}

// BuildKit's rule for a stage name (frontend/dockerfile/instructions/parse.go, validStageName), which it applies
// after lowercasing `FROM … AS <name>`; `scratch` and `context` are reserved (build check ReservedStageName).
const STAGE_NAME = /^[a-z][a-z0-9_.-]*$/;
const RESERVED_STAGE_NAMES = ["scratch", "context"];

/** The build-context arguments, resolved. */
export type BuildContextArgs = Pick<
    ResolvedArgs,
    "dockerfileDir" | "dockerfileName" | "buildArgs" | "contextDir" | "target" | "buildNetwork"
>;

/**
 * Defaults and checks of the build-context arguments: the Dockerfile's folder and name, the build args, the build
 * context (default: the Dockerfile's folder, checked and normalized like it), the target stage and the network.
 */
export function resolveBuildContext(p: Problems, args: CachedDockerBuildArgs): BuildContextArgs {
    const dockerfileDir = normalizeDockerfileDir(p, args.dockerfileDir ?? BUILD_CONTEXT_DEFAULTS.dockerfileDir);
    const dockerfileName = args.dockerfileName ?? BUILD_CONTEXT_DEFAULTS.dockerfileName;
    p.check(
        dockerfileName.length > 0 &&
            !dockerfileName.includes("/") &&
            dockerfileName !== "." &&
            dockerfileName !== ".." &&
            NO_CONTROL.test(dockerfileName),
        "dockerfileName",
        dockerfileName,
        "Allowed: a file name without '/', control characters, '.' or '..'.",
    );

    const buildArgs = args.buildArgs ?? BUILD_CONTEXT_DEFAULTS.buildArgs;
    for (const [argName, argValue] of Object.entries(buildArgs)) {
        const key = `buildArgs.${argName}`;
        if (
            p.check(
                BUILD_ARG_NAME.test(argName),
                key,
                argName,
                "Allowed names: letters, digits and '_', not starting with a digit.",
            )
        ) {
            p.check(
                typeof argValue === "string" && !BUILD_ARG_VALUE_FORBIDDEN.test(argValue),
                key,
                argValue,
                "Allowed: a string without NUL, DEL, C1 control characters, U+2028/U+2029 or a byte-order mark.",
            );
        }
    }

    const contextDir =
        args.contextDir === undefined ? dockerfileDir : normalizeDockerfileDir(p, args.contextDir, "contextDir");
    const target = args.target;
    if (target !== undefined) {
        p.check(
            typeof target === "string" && STAGE_NAME.test(target) && !RESERVED_STAGE_NAMES.includes(target),
            "target",
            target,
            "Allowed: a Dockerfile stage name as BuildKit stores it: a lowercase letter, then lowercase letters, digits, '-', '_' and '.'; not scratch or context (reserved).",
        );
    }
    const buildNetwork = args.buildNetwork;
    if (buildNetwork !== undefined) {
        oneOf(p, "buildNetwork", buildNetwork, BUILD_NETWORKS);
    }
    return { dockerfileDir, dockerfileName, buildArgs, contextDir, target, buildNetwork };
}
