/**
 * What the buildspec's tests share (tests/components/buildspec/*.test.ts): the options they start from, the command
 * of a fragment as the buildspec runs it, the functions of retry.sh written once for the commands run alone, and
 * every command parsed as bash.
 */
import { strict as assert } from "assert";
import { randomUUID } from "crypto";
import * as fs from "fs";
import * as YAML from "yaml";
import {
    BUILD_LOG,
    BuildspecOptions,
    cacheRefs,
    FragmentName,
    phaseFragments,
    RETRY_DELAYS_SECONDS,
    shellWord,
} from "../../../components/buildspec";
import { buildspec, buildspecYaml } from "../../../components/buildspec/render";
import { CacheStrategy, RegistryBuilder } from "../../../components/args";
import { PHASES, runBash } from "../../helpers/bash";
import { buildspecOptions } from "../../helpers/buildspecOptions";
import { parseShell, SimpleCommand } from "../../helpers/shell";

export const REGISTRY = "123456789012.dkr.ecr.ap-southeast-2.amazonaws.com";
export const REPO = `${REGISTRY}/team/app`;

/**
 * The options these tests start from: tests/helpers/buildspecOptions.ts's (from `DEFAULTS`), with the values their
 * assertions name: a repository in ap-southeast-2, the builder image by tag (no mirrors), a Dockerfile in a nested
 * folder, `master` as the one trusted ref and no source version.
 */
export function options(over: Partial<BuildspecOptions> = {}): BuildspecOptions {
    return buildspecOptions({
        repositoryUrl: REPO,
        region: "ap-southeast-2",
        builderImage: "public.ecr.aws/vend/moby/buildkit:buildx-stable-1",
        builderImageMirrors: undefined,
        dockerfileDir: "al/x86_64/standard/5.0",
        trustedRefs: ["master"],
        sourceVersion: undefined,
        ...over,
    });
}

export const STRATEGIES: CacheStrategy[] = ["inline", "registry", "pull"];
export const SETUPS: [CacheStrategy, RegistryBuilder][] = [
    ["inline", "docker-container"],
    ["registry", "docker-container"],
    ["registry", "docker"],
    ["pull", "docker-container"],
];

/** The command that runs fragment `name` in the buildspec of `o`. */
export function commandOf(o: BuildspecOptions, name: FragmentName): string {
    const names = phaseFragments(o);
    const phases = buildspec(o).phases;
    for (const phase of PHASES) {
        const i = names[phase].indexOf(name);
        if (i >= 0) {
            return phases[phase].commands[i];
        }
    }
    throw new Error(`${name}.sh is not a command of the ${o.cacheStrategy} buildspec`);
}

/**
 * The functions of retry.sh, written once by the real retry command (as a build's first registry-facing command
 * does), for the commands that source them and are run alone here; removed after the tests.
 */
export const RETRY_FILE: string = (() => {
    const id = `test-project:${randomUUID()}`;
    const r = runBash(`${commandOf(options(), "retry")}\necho "$RETRY_SH"`, { env: { CODEBUILD_BUILD_ID: id } });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim();
})();
after(() => fs.rmSync(RETRY_FILE, { force: true }));

/**
 * A command as run alone: `RETRY_SH` (set by retry.sh in a build) first, then what branch.sh sets for the default
 * branch (its one cache ref to read, and a BRANCH_SH that changes nothing: the default branch keeps the prelude's
 * refs; tests/components/branchCache.test.ts runs branch.sh itself), then the command.
 */
export function runnable(o: BuildspecOptions, name: FragmentName): string {
    const cacheRef = cacheRefs(o).cache;
    return `RETRY_SH=${shellWord(RETRY_FILE)}\nBRANCH_SH=/dev/null\nCACHE_REFS=(${shellWord(cacheRef)})\n${commandOf(o, name)}`;
}

/** Every simple command of a phase, each command parsed as bash (prelude values known). */
export function phaseCommands(o: BuildspecOptions, phase: (typeof PHASES)[number]): SimpleCommand[] {
    const doc = YAML.parse(buildspecYaml(o)) as { phases: Record<string, { commands: string[] }> };
    return doc.phases[phase].commands.flatMap((c) => parseShell(c).commands);
}

export function allCommands(o: BuildspecOptions): SimpleCommand[] {
    return PHASES.flatMap((p) => phaseCommands(o, p));
}

/**
 * A build id for a run of build.sh, and the log it writes (`BUILD_LOG` with the id's UUID part): the test
 * reads it and removes it.
 */
export function buildId(): { id: string; log: string } {
    const uuid = randomUUID();
    return { id: `test-project:${uuid}`, log: BUILD_LOG.replace("${CODEBUILD_BUILD_ID##*:}", uuid) };
}

/** Attempts of a registry operation: the first, then one per delay. */
export const ATTEMPTS = RETRY_DELAYS_SECONDS.length + 1;

/** What registry_retry (retry.sh) sets for its caller. */
export const RETRY_OUTPUTS = ["RETRY_OUTCOME", "RETRY_TRIES", "RETRY_ERROR"];
