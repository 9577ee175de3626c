/**
 * The buildspec of two platforms built natively (components/platforms.ts): one buildspec that every job of the
 * build graph runs, plus its `batch` section.
 *
 * The commands are the single-platform buildspec's, in the same order, with `platform.sh` first and `manifest.sh`
 * last in build. Each job runs all of them, so each command says for whom it is, by testing
 * `CODEBUILD_BATCH_BUILD_IDENTIFIER` (set by CodeBuild in a batch build; `platform.sh` has checked it):
 * - `platform.sh`, `trust.sh`, `retry.sh`, `login.sh`: every job, as they are.
 * - `manifest.sh`: the manifest job only (`if [ … = manifest ]; then … fi`).
 * - every other command: the platform jobs only (`if [ … != manifest ]; then … fi`). Its prelude assigns the values
 *   all platforms share as usual, and the values that differ per platform (the refs with `-<arch>` tags and
 *   `--platform`) in a `case` on the identifier, one branch per job, each value still one quoted word or array
 *   ({@link shellWord}, through {@link prelude}).
 * So a job's commands see exactly the values a single-platform buildspec of its platform and tags would give them.
 */
import type { BuildspecOptions, Buildspec, FragmentName, PreludeValue } from "./index";
import {
    command,
    header,
    marker,
    phaseFragments,
    platformPreludeValues,
    prelude,
    preludeValues,
    fragment,
    shellWord,
} from "./index";
import { buildGraph, jobOf, MANIFEST_JOB, Platform, platformTag, PLATFORM_DEFAULTS } from "../platforms";

/** The fragments every job runs unchanged; `manifest` runs in the manifest job only, the rest in platform jobs only. */
const EVERY_JOB: readonly FragmentName[] = ["platform", "trust", "retry", "login"];

/** The variable a batch job's commands test: CodeBuild's identifier of the job in the build graph. */
export const JOB_VARIABLE = "CODEBUILD_BATCH_BUILD_IDENTIFIER";

/** The options of one platform's job: that platform alone, with its own image and cache tags. */
export function jobOptions(o: BuildspecOptions, platform: Platform): BuildspecOptions {
    return {
        ...o,
        imageTag: platformTag(o.imageTag, platform),
        // inline and pull read their cache from the image, which already has its own tag; registry has its own cache tag.
        cacheTag: o.cacheStrategy === "registry" ? platformTag(o.cacheTag, platform) : o.cacheTag,
        platforms: [platform],
        platformMode: "native",
    };
}

/** The prelude values of one platform's job: its own refs, and `--platform` on the build. */
export function jobValues(o: BuildspecOptions, platform: Platform): Record<string, PreludeValue> {
    const values = preludeValues(jobOptions(o, platform));
    return {
        ...values,
        ...platformPreludeValues(o).values,
        BUILD_FLAGS: [...(values.BUILD_FLAGS as readonly string[]), "--platform", platform],
    };
}

const same = (a: PreludeValue | undefined, b: PreludeValue | undefined) => JSON.stringify(a) === JSON.stringify(b);

/** The prelude values that differ between the platform jobs, per job: the refs with `-<arch>` tags, `--platform`. */
export function perJobValues(o: BuildspecOptions): { job: string; values: Record<string, PreludeValue> }[] {
    const all = (o.platforms ?? []).map((p) => ({ job: jobOf(p), values: jobValues(o, p) }));
    const names = Object.keys(all[0].values).filter((n) => all.some((j) => !same(j.values[n], all[0].values[n])));
    return all.map(({ job, values }) => ({ job, values: Object.fromEntries(names.map((n) => [n, values[n]])) }));
}

/** `NAME=word` / `NAME=(word …)`, as {@link prelude} writes them. */
function assignment(name: string, v: PreludeValue): string {
    return typeof v === "string" ? `${name}=${shellWord(v)}` : `${name}=(${v.map(shellWord).join(" ")})`;
}

/**
 * The first command, `platform.sh`, which every job runs: its prelude, then, in a `case` on the job, the values that
 * differ per platform job, assigned once for the whole build (CodeBuild runs a build's commands in one shell; the
 * later commands' preludes leave these out, and their declarations check they are set); then the fragment.
 */
function platformFirstCommand(o: BuildspecOptions, shared: Record<string, PreludeValue>): string {
    const branches = perJobValues(o).map(
        ({ job, values }) =>
            `${shellWord(job)})\n${Object.entries(values)
                .map(([n, v]) => assignment(n, v))
                .join("\n")}\n;;`,
    );
    return [
        header("platform"),
        prelude("platform", shared),
        `case $${JOB_VARIABLE} in`,
        ...branches,
        "esac",
        fragment("platform").rendered,
    ].join("\n");
}

/** A platform job's command: guarded; its prelude without the per-job values, which the first command set. */
function platformCommand(name: FragmentName, o: BuildspecOptions, shared: Record<string, PreludeValue>): string {
    const differing = new Set(Object.keys(perJobValues(o)[0].values));
    const lines = prelude(name, shared)
        .split("\n")
        .filter((l) => l !== "" && !differing.has(l.split("=")[0]));
    const m = marker(name);
    return [
        header(name),
        ...(m === undefined ? [] : [m]),
        `if [ "$${JOB_VARIABLE}" != ${MANIFEST_JOB} ]; then`,
        ...lines,
        fragment(name).rendered,
        "fi",
    ].join("\n");
}

/** The manifest job's command. */
function manifestCommand(values: Record<string, PreludeValue>): string {
    const p = prelude("manifest", values);
    return [
        header("manifest"),
        `if [ "$${JOB_VARIABLE}" = ${MANIFEST_JOB} ]; then`,
        p,
        fragment("manifest").rendered,
        "fi",
    ].join("\n");
}

/** The buildspec of two platforms built natively, with its build graph. */
export function nativeBuildspec(o: BuildspecOptions): Buildspec {
    if (o.trustedRefs.length === 0) {
        throw new Error("The buildspec needs at least one trusted ref (trustedRefs is empty)");
    }
    const shared = preludeValues(o);
    const phases = phaseFragments(o);
    const render = (names: FragmentName[]) =>
        names.map((n) =>
            n === "platform"
                ? platformFirstCommand(o, shared)
                : EVERY_JOB.includes(n)
                  ? command(n, shared)
                  : n === "manifest"
                    ? manifestCommand(shared)
                    : platformCommand(n, o, shared),
        );
    return {
        version: 0.2,
        env: { shell: "bash", variables: { DOCKER_BUILDKIT: "1" } },
        phases: {
            pre_build: { commands: render(phases.pre_build) },
            build: { commands: render(phases.build) },
            post_build: { commands: render(phases.post_build) },
        },
        batch: buildGraph({
            platforms: o.platforms ?? [],
            platformMode: "native",
            buildImage: o.buildImage ?? "aws/codebuild/amazonlinux-x86_64-standard:5.0",
            armBuildImage: o.armBuildImage ?? PLATFORM_DEFAULTS.armBuildImage,
            computeType: o.computeType ?? "BUILD_GENERAL1_MEDIUM",
        }),
    };
}
