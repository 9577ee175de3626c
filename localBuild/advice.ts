// Cache advice on a user's Dockerfile (`npm run local-build -- --context DIR`), from kept tools:
//
// 1. BuildKit's own build checks (`docker buildx build --call=check,format=json`, the JSON form of `--check`):
//    run on a build host by userBuild.ts, parsed here (`parseBuildkitChecks`) and shown as they are.
// 2. Four cache-specific findings that none of BuildKit's check rules covers (its rules are about casing,
//    syntax, undefined variables, secrets in ARG/ENV, JSON form of CMD…, see docs.docker.com/go/dockerfile/rule/),
//    found on the parse of `dockerfile-ast` (`cacheFindings`), each naming the steps it puts at risk, so that
//    userBuild.ts can give it its measured cost from the cold build (`findingCost`):
//    - `broad-copy`: a COPY/ADD of the whole context (`.`, `*`) before a dependency install in the same stage:
//      a change to any file reruns the install;
//    - `apt-get-update-split`: `apt-get update` in a RUN of its own, with the install in a later RUN: the update's
//      layer stays cached while the install line changes, so the install reads a stale package index;
//    - `from-without-digest`: a FROM naming a tag (or nothing: `latest`), not a digest: when the tag moves, every
//      step of the stage rebuilds, and until then the cache keeps the old base;
//    - `early-varying-arg`: an ARG whose name says it changes every build (a date, a commit, a build number, a
//      cache-bust), declared in a stage before RUN steps: every RUN after an ARG gets it as an environment
//      variable, so each new value reruns all of them.
import { DockerfileParser, type Dockerfile, type Instruction } from "dockerfile-ast";
import type { DockerfileStep } from "../standIn/report";

export type { Dockerfile };

/** The one Dockerfile parser of localBuild/: dockerfile-ast's. It never throws; see dockerfileParseErrors (userContext.ts). */
export function parseDockerfile(text: string): Dockerfile {
    return DockerfileParser.parse(text);
}

export const FINDING_RULES = [
    "broad-copy",
    "apt-get-update-split",
    "from-without-digest",
    "early-varying-arg",
] as const;
export type FindingRule = (typeof FINDING_RULES)[number];

export interface Finding {
    rule: FindingRule;
    /** 1-based line of the instruction at fault. */
    line: number;
    /** What is wrong and what it costs the cache, in one sentence. */
    message: string;
    /** What to do instead. */
    fix: string;
    /** 1-based lines of the steps that rebuild because of it (the measured cost is theirs), in order. */
    atRisk: number[];
}

/** A dependency install: the step a broad COPY before it reruns on every change. */
export const DEPENDENCY_INSTALL =
    /\b(?:npm (?:ci|install|i)\b|yarn(?: install)?(?:\s|$|&|;)|pnpm (?:install|i)\b|pip3? install\b|python3? -m pip install\b|poetry install\b|pipenv (?:install|sync)\b|uv (?:sync|pip install)\b|bundle install\b|go mod download\b|composer install\b|mvn\b[^&;|]*\b(?:dependency:|install\b|package\b)|gradle\w*\b[^&;|]*\b(?:dependencies|build|assemble)\b|cargo (?:fetch|build)\b|dotnet restore\b|mix deps\.get\b)/;
/** A name that says the value changes every build. */
export const VARYING_ARG =
    /(?:^|_)(?:DATE|TIME|TIMESTAMP|SHA|COMMIT|REVISION|REV|BUILD_ID|BUILD_NUMBER|BUILD_NUM|BUILD_DATE|BUILDTIME|CACHEBUST|CACHE_BUST|NONCE|RANDOM|RUN_ID|PIPELINE_ID)(?:$|_)/i;
const APT_UPDATE = /\bapt(?:-get)? +(?:-\S+ +)*update\b/;
const APT_INSTALL = /\bapt(?:-get)? +(?:-\S+ +)*install\b/;
/** Instructions that are steps in BuildKit's progress (`[k/M] …`); the others only set metadata. */
const STEP_KEYWORDS = ["FROM", "RUN", "COPY", "ADD", "WORKDIR"];

interface Stage {
    from: Instruction;
    name?: string;
    body: Instruction[];
}

const lineOf = (i: Instruction) => i.getRange().start.line + 1;
const argsText = (i: Instruction) => i.getArgumentsContent() ?? "";

function stagesOf(parsed: Dockerfile): { globalArgs: Instruction[]; stages: Stage[] } {
    const globalArgs: Instruction[] = [];
    const stages: Stage[] = [];
    for (const i of parsed.getInstructions()) {
        if (i.getKeyword() === "FROM") {
            const m = /\sAS\s+(\S+)\s*$/i.exec(argsText(i));
            stages.push({ from: i, name: m?.[1]?.toLowerCase(), body: [] });
        } else if (stages.length) stages[stages.length - 1].body.push(i);
        else if (i.getKeyword() === "ARG") globalArgs.push(i);
    }
    return { globalArgs, stages };
}

/** `NAME` and its default of an ARG instruction (`ARG NAME=default` or `ARG NAME`). */
function argOf(i: Instruction): { name: string; value?: string } {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?\s*$/.exec(argsText(i));
    if (!m) return { name: argsText(i).trim() };
    const v = m[2]
        ?.trim()
        .replace(/^"(.*)"$/, "$1")
        .replace(/^'(.*)'$/, "$1");
    return { name: m[1], value: v };
}

/** The sources of a COPY/ADD from the build context (none for `--from`, heredocs or the JSON form's brackets kept). */
function contextSources(i: Instruction): string[] {
    const flags = (i as unknown as { getFlags?: () => Array<{ getName(): string }> }).getFlags?.() ?? [];
    if (flags.some((f) => f.getName() === "from")) return [];
    const args = i.getArguments().map((a) => a.getValue());
    if (args.some((a) => a.startsWith("<<"))) return [];
    let list = args.slice(0, -1);
    if (argsText(i).trim().startsWith("[")) {
        try {
            const json = JSON.parse(argsText(i).trim()) as unknown;
            if (Array.isArray(json)) list = (json as string[]).slice(0, -1);
        } catch {
            /* not JSON after all */
        }
    }
    return list;
}

/** An instruction's flags as written (`--from=builder`, `--link`), which dockerfile-ast keeps apart from its arguments. */
function flagsText(i: Instruction): string[] {
    const flags =
        (i as unknown as { getFlags?: () => Array<{ getName(): string; getValue(): string | null }> }).getFlags?.() ??
        [];
    return flags.map((f) => (f.getValue() === null ? `--${f.getName()}` : `--${f.getName()}=${f.getValue()}`));
}

const isBroad = (src: string) => /^(?:\.\/?|\*|\.\/\*|\/)$/.test(src.trim());

/**
 * The cache findings on a parsed Dockerfile. `buildArgs` are the values the build passes (the component's
 * `buildArgs`): they resolve `FROM ${NAME}`, as BuildKit does.
 */
export function cacheFindings(parsed: Dockerfile, buildArgs: Readonly<Record<string, string>> = {}): Finding[] {
    const findings: Finding[] = [];
    const { globalArgs, stages } = stagesOf(parsed);
    const globals = new Map<string, string | undefined>();
    for (const a of globalArgs) {
        const { name, value } = argOf(a);
        globals.set(name, buildArgs[name] ?? value);
    }
    const stageNames = new Set<string>();
    stages.forEach((stage, n) => {
        const steps = stage.body.filter((i) => STEP_KEYWORDS.includes(i.getKeyword()));
        const after = (line: number, keywords = STEP_KEYWORDS) =>
            stage.body.filter((i) => lineOf(i) >= line && keywords.includes(i.getKeyword())).map(lineOf);

        // FROM without a digest.
        const image = (
            stage.from
                .getArguments()
                .filter((a) => !a.getValue().startsWith("--"))[0]
                ?.getValue() ?? ""
        ).trim();
        let unresolved = false;
        const resolved = image.replace(
            /\$\{?([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}?/g,
            (_m, v: string, dflt?: string) => {
                const val = globals.get(v) ?? dflt;
                if (val === undefined || val === "") unresolved = true;
                return val ?? "";
            },
        );
        const base = resolved.toLowerCase();
        if (
            !unresolved &&
            base !== "scratch" &&
            !stageNames.has(base) &&
            !/^\d+$/.test(base) &&
            !resolved.includes("@sha256:")
        ) {
            const shown = resolved === image ? image : `${image} (= ${resolved})`;
            const tag = /:[^/]+$/.test(resolved) ? "a tag" : "no tag (so `latest`)";
            findings.push({
                rule: "from-without-digest",
                line: lineOf(stage.from),
                message: `FROM ${shown} names ${tag}, not a digest: when the tag moves, all ${steps.length} steps of stage ${stage.name ?? n + 1} rebuild, and until then the cache keeps serving the old base`,
                fix: "pin it: FROM <image>:<tag>@sha256:<digest>, and move the digest on purpose (e.g. with Renovate or Dependabot)",
                atRisk: steps.map(lineOf),
            });
        }
        if (stage.name) stageNames.add(stage.name);

        // A broad COPY before a dependency install.
        const broad = stage.body.find(
            (i) => ["COPY", "ADD"].includes(i.getKeyword()) && contextSources(i).some(isBroad),
        );
        if (broad) {
            const install = stage.body.find(
                (i) => i.getKeyword() === "RUN" && lineOf(i) > lineOf(broad) && DEPENDENCY_INSTALL.test(argsText(i)),
            );
            if (install) {
                findings.push({
                    rule: "broad-copy",
                    line: lineOf(broad),
                    message: `${broad.getKeyword()} ${argsText(broad).trim()} (line ${lineOf(broad)}) copies the whole context before the dependency install \`${argsText(install).trim().slice(0, 60)}\` (line ${lineOf(install)}): a change to any file reruns the install and every step after it`,
                    fix: "copy only the dependency manifests (package.json and its lock file, requirements.txt, go.mod/go.sum, …), install, then copy the rest",
                    atRisk: after(lineOf(broad)),
                });
            }
        }

        // apt-get update in a RUN of its own.
        for (const i of stage.body) {
            if (i.getKeyword() !== "RUN") continue;
            const text = argsText(i);
            if (!APT_UPDATE.test(text) || APT_INSTALL.test(text)) continue;
            const install = stage.body.find(
                (j) => j.getKeyword() === "RUN" && lineOf(j) > lineOf(i) && APT_INSTALL.test(argsText(j)),
            );
            if (!install) continue;
            findings.push({
                rule: "apt-get-update-split",
                line: lineOf(i),
                message: `\`apt-get update\` (line ${lineOf(i)}) runs in its own RUN, apart from its install (line ${lineOf(install)}): its layer stays cached, so a changed install line reads a stale package index (versions gone from the mirror: the build fails)`,
                fix: "update and install in one RUN: RUN apt-get update && apt-get install -y --no-install-recommends … && rm -rf /var/lib/apt/lists/*",
                atRisk: [lineOf(install)],
            });
        }

        // An early ARG that varies.
        for (const i of stage.body) {
            if (i.getKeyword() !== "ARG") continue;
            const { name } = argOf(i);
            if (!VARYING_ARG.test(name)) continue;
            const runs = after(lineOf(i), ["RUN"]);
            if (runs.length === 0) continue;
            findings.push({
                rule: "early-varying-arg",
                line: lineOf(i),
                message: `ARG ${name} (line ${lineOf(i)}) looks like a value that changes every build, and ${runs.length} RUN step${runs.length === 1 ? "" : "s"} follow it in its stage: BuildKit gives every RUN after an ARG its value, so each new value reruns them all`,
                fix: `declare ARG ${name} just before the one step that needs it, as late as possible (or set it as a LABEL in the last stage)`,
                atRisk: runs,
            });
        }
    });
    return findings.sort((a, b) => a.line - b.line);
}

/** Whitespace-normalized instruction text, as BuildKit prints a step (`RUN a &&     b` → `RUN a && b`). */
export function normalizeStepText(s: string): string {
    return s
        .replace(/\\\r?\n/g, " ")
        .replace(/\s+/g, " ")
        .trim();
}

/**
 * A Dockerfile step as BuildKit numbers it in its progress, `[<stage> k/M] INSTR …` (moby/buildkit,
 * frontend/dockerfile/dockerfile2llb/convert.go, `prefixCommand` and the count `cmdTotal`):
 * - the stage label is the stage's name (`AS name`, lower-cased), else `stage-<i>` with i its 0-based position;
 *   a Dockerfile of one stage has no label;
 * - each stage numbers its own steps from 1: its FROM (unless `scratch` or an earlier stage), then every RUN, COPY,
 *   ADD and WORKDIR, in order; M is that count.
 * So a step is known by its stage and index, never by its index alone: two stages both have a step 2.
 */
export interface PlannedStep {
    /** 0-based position of the stage in the Dockerfile. */
    stageIndex: number;
    /** BuildKit's label of the stage; "" in a one-stage Dockerfile. */
    stage: string;
    index: number;
    total: number;
    /** 1-based line of the instruction. */
    line: number;
    keyword: string;
    /** The instruction as BuildKit prints it, whitespace normalized. */
    text: string;
}

/** The names of the Dockerfile's stages (`FROM … AS name`), lower-cased, in order. */
export function stageNames(parsed: Dockerfile): string[] {
    return stagesOf(parsed)
        .stages.map((s) => s.name)
        .filter((n): n is string => n !== undefined);
}

/** The key of a step, by stage and index: `builder 3`, `stage-1 3`, ` 3` (one stage). */
export const stepKey = (s: { stage?: string; index: number }) => `${s.stage ?? ""} ${s.index}`;

/** Every step of every stage, in Dockerfile order, numbered as BuildKit numbers them (see {@link PlannedStep}). */
export function dockerfileSteps(parsed: Dockerfile): PlannedStep[] {
    const { stages } = stagesOf(parsed);
    const out: PlannedStep[] = [];
    const earlier = new Set<string>();
    stages.forEach((stage, i) => {
        const label = stages.length === 1 ? "" : (stage.name ?? `stage-${i}`);
        const base = (
            stage.from
                .getArguments()
                .map((a) => a.getValue())
                .find((a) => !a.startsWith("--")) ?? ""
        ).toLowerCase();
        const counted = [
            ...(base !== "scratch" && !earlier.has(base) ? [stage.from] : []),
            ...stage.body.filter((x) => ["RUN", "COPY", "ADD", "WORKDIR"].includes(x.getKeyword())),
        ];
        counted.forEach((x, k) =>
            out.push({
                stageIndex: i,
                stage: label,
                index: k + 1,
                total: counted.length,
                line: lineOf(x),
                keyword: x.getKeyword(),
                text: normalizeStepText(`${x.getKeyword()} ${[...flagsText(x), argsText(x)].join(" ")}`),
            }),
        );
        if (stage.name) earlier.add(stage.name);
    });
    return out;
}

/**
 * The steps of a build that are the Dockerfile's lines `lines`, matched by stage and index (see
 * {@link dockerfileSteps}), in the order of `lines`; lines that are no step of this build are left out.
 */
export function stepsOfLines(
    parsed: Dockerfile,
    steps: readonly DockerfileStep[],
    lines: readonly number[],
): DockerfileStep[] {
    const keyOfLine = new Map(dockerfileSteps(parsed).map((p) => [p.line, stepKey(p)]));
    const byKey = new Map(steps.map((s) => [stepKey(s), s]));
    return lines
        .map((l) => {
            const k = keyOfLine.get(l);
            return k === undefined ? undefined : byKey.get(k);
        })
        .filter((s): s is DockerfileStep => s !== undefined);
}

/** A finding's measured cost: the cold build's seconds of the steps it puts at risk. */
export function findingCost(
    parsed: Dockerfile,
    finding: Finding,
    coldSteps: readonly DockerfileStep[],
): { seconds: number; steps: number } | undefined {
    const steps = stepsOfLines(parsed, coldSteps, finding.atRisk);
    if (steps.length === 0) return undefined;
    return { seconds: steps.reduce((t, s) => t + (s.seconds ?? 0), 0), steps: steps.length };
}

/** One of BuildKit's own check findings. */
export interface BuildkitCheck {
    rule: string;
    detail: string;
    url?: string;
    /** 1-based line, if given. */
    line?: number;
}

/**
 * Parses `docker buildx build --call=check,format=json` output: its `warnings`, and a `buildError` (a FROM that
 * can't be resolved stops the checks early) as `BuildError`. Throws if the output isn't that JSON.
 */
export function parseBuildkitChecks(stdout: string): { checks: BuildkitCheck[]; buildError?: string } {
    const start = stdout.indexOf("{");
    if (start < 0) throw new Error(`no JSON in the output of the BuildKit checks: ${stdout.slice(0, 200)}`);
    const json = JSON.parse(stdout.slice(start)) as {
        warnings?: Array<{
            ruleName?: string;
            detail?: string;
            description?: string;
            url?: string;
            location?: { ranges?: Array<{ start?: { line?: number } }> };
        }>;
        buildError?: { message?: string };
    };
    const checks = (json.warnings ?? []).map((w) => ({
        rule: w.ruleName ?? "?",
        detail: w.detail ?? w.description ?? "",
        ...(w.url ? { url: w.url } : {}),
        ...(w.location?.ranges?.[0]?.start?.line ? { line: w.location.ranges[0].start.line } : {}),
    }));
    return { checks, ...(json.buildError?.message ? { buildError: json.buildError.message } : {}) };
}
