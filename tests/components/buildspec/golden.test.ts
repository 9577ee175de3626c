/**
 * The buildspec (`components/buildspec/`): the golden files of what CodeBuild receives (tests/golden/, `npm run golden`).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { FRAGMENTS, fragment, header, FROM_PRELUDE, preludeValues } from "../../../components/buildspec";
import { buildspec, buildspecYaml } from "../../../components/buildspec/render";
import { goldenFile, VARIANTS } from "../../../scripts/buildspecVariants";

describe("buildspec golden files (tests/golden/)", () => {
    // The fragments reach CodeBuild as written (docs/decisions/buildspec-delivery.md): each command ends with its
    // file, byte for byte but the final newline, after a header that names the file.
    for (const name of FRAGMENTS) {
        it(`${name}.sh as a command carries: the file as written, indented and commented, under a header naming it`, () => {
            const f = fragment(name);
            assert.equal(f.rendered, f.source.replace(/\n$/, ""));
            assert.match(f.rendered, /^\s*#/m, "its comments are kept");
            assert.match(header(name), new RegExp(`^# .*components/buildspec/${name}\\.sh`));
            let carried = 0;
            for (const v of VARIANTS) {
                const phases = buildspec(v.options).phases;
                for (const c of [
                    ...phases.pre_build.commands,
                    ...phases.build.commands,
                    ...phases.post_build.commands,
                ]) {
                    if (c.startsWith(`${header(name)}\n`)) {
                        carried++;
                        // Every line of the file is a line of the command, in order and unchanged.
                        const lines = c.split("\n");
                        const at = lines.indexOf(f.rendered.split("\n")[0]);
                        assert.ok(at > 0, `${v.name}: ${name}.sh's first line is in the command`);
                        assert.equal(
                            lines.slice(at, at + f.rendered.split("\n").length).join("\n"),
                            f.rendered,
                            v.name,
                        );
                    }
                }
            }
            assert.ok(carried > 0, `no variant runs ${name}.sh`);
        });
    }
    it("every input a fragment requires non-empty (`:?`) and the prelude sets is non-empty in every variant (the prelude's declarations are left out of the commands)", () => {
        for (const v of VARIANTS) {
            const values = preludeValues(v.options);
            for (const name of FRAGMENTS) {
                for (const i of fragment(name).inputs.filter((x) => x.from === FROM_PRELUDE)) {
                    const value = values[i.name];
                    if (value === undefined) {
                        continue; // a fragment this variant doesn't run, or a value set per job (batch.ts)
                    }
                    if (i.array) {
                        assert.ok(Array.isArray(value), `${v.name}: ${name}.sh's ${i.name} is an array`);
                    } else if (i.nonEmpty) {
                        assert.ok(
                            typeof value === "string" && value !== "",
                            `${v.name}: ${name}.sh's ${i.name} is empty`,
                        );
                    }
                }
            }
        }
    });
    for (const v of VARIANTS) {
        it(`${v.name}: the retry functions are in the buildspec once`, () => {
            const yaml = buildspecYaml(v.options);
            assert.equal(yaml.split("registry_retry() {").length - 1, 1, "registry_retry is defined once");
        });
    }
    for (const v of VARIANTS) {
        it(`${path.basename(goldenFile(v))} is what the code renders (if not: run \`npm run golden\` and review the diff)`, () => {
            const rendered = buildspecYaml(v.options);
            const file = goldenFile(v);
            const golden = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
            if (golden !== rendered) {
                const a = golden.split("\n");
                const b = rendered.split("\n");
                const line = a.findIndex((l, i) => l !== b[i]);
                assert.fail(
                    `${file} is stale: run \`npm run golden\` to rewrite it, then review the diff. ` +
                        `First difference at line ${line + 1}: golden ${JSON.stringify(a[line])}, rendered ${JSON.stringify(b[line])}`,
                );
            }
        });
    }
});
