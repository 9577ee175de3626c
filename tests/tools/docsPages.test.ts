/**
 * The generated reference pages (tools/docs/docsPages.ts): docs/configuration.md and docs/outputs.md are what the code
 * generates now from schema.json, Pulumi.yaml, components/config.ts and index.ts. No mocks: pure functions of files.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { CONFIG_KEYS, WHERE_KEYS_ARE_LISTED } from "../../components/config";
import {
    configurationPage,
    CONFIGURATION_PAGE,
    generatedPages,
    outputsPage,
    readProject,
    readSchema,
    REGENERATE,
    ROOT,
    stackOutputs,
} from "../../tools/docs/docsPages";
import { anchorsOf } from "../../tools/docs/docsLinks";

describe("generated reference pages (docs/configuration.md, docs/outputs.md)", () => {
    for (const { file, text } of generatedPages()) {
        it(`${file} is up to date (else: ${REGENERATE})`, () => {
            const committed = fs.existsSync(path.join(ROOT, file))
                ? fs.readFileSync(path.join(ROOT, file), "utf8")
                : "";
            assert.ok(committed === text, `${file} is stale: run \`${REGENERATE}\` and commit the result`);
        });
    }

    it("configuration: a section for every key the program reads, and nothing else", async () => {
        const anchors = await anchorsOf(configurationPage());
        const sections = [...anchors].filter((a) => a !== "configuration");
        assert.deepEqual(sections.sort(), CONFIG_KEYS.map((k) => k.toLowerCase()).sort());
    });

    it("configuration: a key's text is its argument's JSDoc from schema.json, so a changed JSDoc changes the page", () => {
        const schema = readSchema();
        const token = Object.keys(schema.resources)[0];
        const input = schema.resources[token].inputProperties.cacheTag;
        const changed = {
            ...schema,
            resources: {
                [token]: {
                    ...schema.resources[token],
                    inputProperties: {
                        ...schema.resources[token].inputProperties,
                        cacheTag: { ...input, description: 'A new sentence.\n\nDefault: "other".' },
                    },
                },
            },
        };
        const page = configurationPage(changed);
        assert.match(page, /## `cacheTag`\n\n- type: string\n- default: "other"\n[^#]*\nA new sentence\.\n/);
        assert.notEqual(page, configurationPage());
    });

    it("configuration: the default a stack gets from Pulumi.yaml is shown beside the JSDoc's", () => {
        const project = readProject();
        const changed = { ...project, config: { ...project.config, imageTag: { type: "string", default: "stable" } } };
        assert.match(
            configurationPage(readSchema(), changed),
            /\| \[`imageTag`\]\(#imagetag\) \| string \| `stable` \|/,
        );
    });

    it("configuration: buildArgs, a map argument, says that stack config writes it as a list of NAME=value", () => {
        const page = configurationPage();
        assert.match(page, /\| \[`buildArgs`\]\(#buildargs\) \| map of string \(in config: list of `NAME=value`\) \|/);
        assert.match(
            page,
            /## `buildArgs`\n\n- type: map of string\n- in stack config: a list of `NAME=value` entries/,
        );
    });

    it("configuration: a config key that is no component input (and not images) stops the generator, naming it", () => {
        const schema = readSchema();
        const token = Object.keys(schema.resources)[0];
        const inputs = { ...schema.resources[token].inputProperties };
        delete (inputs as Record<string, unknown>).cacheTag;
        const broken = { ...schema, resources: { [token]: { ...schema.resources[token], inputProperties: inputs } } };
        assert.throws(() => configurationPage(broken), /config key cacheTag is neither a component input/);
    });

    it("outputs: every stack output index.ts exports, in its order, and every component output", () => {
        const page = outputsPage();
        const exported = [...fs.readFileSync(path.join(ROOT, "index.ts"), "utf8").matchAll(/^export const (\w+)/gm)];
        assert.deepEqual(
            stackOutputs().map((o) => o.name),
            exported.map((m) => m[1]),
        );
        for (const m of exported) assert.match(page, new RegExp(`^\\| \`${m[1]}\` \\|`, "m"));
        const schema = readSchema();
        for (const name of Object.keys(Object.values(schema.resources)[0].properties)) {
            assert.match(page, new RegExp(`^\\| \`${name}\` \\| `, "m"), name);
        }
    });

    it("outputs: a stack output that is no component output takes the comment above its export, and needs one", () => {
        const page = outputsPage(readSchema(), "// The answer.\nexport const answer = outputs.answer;\n");
        assert.match(page, /\| `answer` \| The answer\. \|/);
        assert.throws(
            () => outputsPage(readSchema(), "export const answer = outputs.answer;\n"),
            /stack output answer/,
        );
    });

    it("the unknown-key error names the generated page, which exists", () => {
        assert.match(WHERE_KEYS_ARE_LISTED, new RegExp(CONFIGURATION_PAGE.replace(".", "\\.")));
        assert.ok(fs.existsSync(path.join(ROOT, CONFIGURATION_PAGE)));
    });
});
