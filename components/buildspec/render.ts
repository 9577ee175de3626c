/**
 * The buildspec CodeBuild runs: one platform's (or two emulated: index.ts), or, for two platforms built natively, the
 * batch buildspec (batch.ts). This file sits above both, so that neither imports the other's caller: index.ts holds
 * the fragments, the prelude and the commands, batch.ts builds on them, and only this file chooses.
 */
import * as YAML from "yaml";
import { isNative } from "../platforms";
import { nativeBuildspec } from "./batch";
import { Buildspec, BuildspecOptions, onePlatformBuildspec } from "./index";

/** The buildspec object for the given options. */
export function buildspec(o: BuildspecOptions): Buildspec {
    return isNative(o) ? nativeBuildspec(o) : onePlatformBuildspec(o);
}

/** The buildspec as YAML, the text of the S3 object CodeBuild reads (`../buildspecObject.ts`). */
export function buildspecYaml(o: BuildspecOptions): string {
    return YAML.stringify(buildspec(o), { lineWidth: 0 });
}
