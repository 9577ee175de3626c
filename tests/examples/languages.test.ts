/**
 * Issue 13: the consumers in other languages (`examples/yaml`, `examples/python`) against the package schema.
 *
 * Neither can run here: the Pulumi CLI (which runs Pulumi YAML and generates the Python SDK) can't be installed,
 * and the `pulumi` Python SDK is on PyPI only (not in Debian's packages, the one Python registry this machine
 * reaches). So each example is read with its own language's parser (the `yaml` library; Python's `ast`, run by
 * Debian's python3) and checked against `schema.json`, which `tests/scripts/schema.test.ts` keeps equal to what the code
 * generates: every property names an input, with a value of its type (enum values among the enum's), secrets come
 * from secret config, every output read exists; and the values pass the component's own validation.
 */
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { CachedDockerBuildArgs } from "../../components/args";
import { argProblems } from "../../components/resolveArgs";
import { TYPE_TOKEN } from "../../components/cachedDockerBuild";
import { PACKAGE_NAME } from "../../components/packageName";
import type { PackageSchema, SchemaProperty } from "../../components/provider";
import { ROOT, SCHEMA_FILE } from "../../scripts/schemaSnapshot";

const schema = JSON.parse(fs.readFileSync(SCHEMA_FILE, "utf8")) as PackageSchema;
const inputs = schema.resources[TYPE_TOKEN].inputProperties;
const outputs = schema.resources[TYPE_TOKEN].properties;
const version = (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string }).version;

/** The enum type a property refers to, if any. */
function enumOf(p: SchemaProperty): { name: string; members: { name: string; value: string | number }[] } | undefined {
    if (p.$ref === undefined) {
        return undefined;
    }
    const token = p.$ref.replace(/^#\/types\//, "");
    const type = schema.types[token];
    assert.ok(type?.enum, `${p.$ref} is an enum of the schema`);
    return { name: token.split(":")[2], members: type.enum };
}

/** Problems of a literal `value` for property `p` (`where` names it in messages); empty when it fits. */
function literalProblems(p: SchemaProperty, value: unknown, where: string): string[] {
    const e = enumOf(p);
    if (e !== undefined) {
        const values = e.members.map((m) => m.value);
        return values.includes(value as string)
            ? []
            : [`${where}: ${JSON.stringify(value)} is not one of ${values.join(", ")}`];
    }
    switch (p.type) {
        case "string":
        case "number":
        case "boolean":
            return typeof value === p.type ? [] : [`${where}: ${JSON.stringify(value)} is not a ${p.type}`];
        case "array":
            return Array.isArray(value)
                ? value.flatMap((v, i) => literalProblems(p.items as SchemaProperty, v, `${where}[${i}]`))
                : [`${where}: not a list`];
        case "object":
            return value !== null && typeof value === "object" && !Array.isArray(value)
                ? Object.entries(value).flatMap(([k, v]) =>
                      literalProblems(p.additionalProperties as SchemaProperty, v, `${where}.${k}`),
                  )
                : [`${where}: not a map`];
        default:
            return [`${where}: unexpected schema type ${p.type}`];
    }
}

/** The `packages` entry of an example's Pulumi.yaml: this package, from a git repository, pinned to this version's tag. */
function assertPackageEntry(project: { packages?: Record<string, unknown> }): void {
    assert.deepEqual(Object.keys(project.packages ?? {}), [PACKAGE_NAME]);
    assert.match(String(project.packages![PACKAGE_NAME]), /^github\.com\/[\w.-]+\/ecr-layer-cache@v\d+\.\d+\.\d+$/);
    assert.ok(String(project.packages![PACKAGE_NAME]).endsWith(`@v${version}`), "pinned to this version's tag");
}

describe("examples in other languages, against the package schema (issue 13)", () => {
    describe("Pulumi YAML (examples/yaml)", () => {
        const file = path.join(ROOT, "examples", "yaml", "Pulumi.yaml");
        const project = parseYaml(fs.readFileSync(file, "utf8")) as {
            runtime: string;
            packages?: Record<string, unknown>;
            config: Record<string, { type: string; secret?: boolean }>;
            resources: Record<string, { type: string; properties: Record<string, unknown> }>;
            outputs: Record<string, string>;
        };
        const components = Object.entries(project.resources).filter(
            ([, r]) => r.type === TYPE_TOKEN || r.type === `${PACKAGE_NAME}:CachedDockerBuild`,
        );
        /** `${name}` alone: a config value or another resource's output, checked apart from literals. */
        const reference = (v: unknown) => (typeof v === "string" ? /^\$\{([^}]+)\}$/.exec(v)?.[1] : undefined);

        it("is a YAML program that adds the package from git, pinned to a release tag", () => {
            assert.equal(project.runtime, "yaml");
            assertPackageEntry(project);
            assert.equal(components.length, 1, "one CachedDockerBuild");
        });

        it("names only inputs of the schema, each with a value of its type", () => {
            for (const [name, resource] of components) {
                const problems = Object.entries(resource.properties).flatMap(([key, value]) => {
                    const p = inputs[key];
                    if (p === undefined) {
                        return [`${name}.${key} is not an input of ${TYPE_TOKEN}`];
                    }
                    const ref = reference(value);
                    if (ref !== undefined) {
                        return project.config[ref] !== undefined ? [] : [`${name}.${key}: \${${ref}} is no config key`];
                    }
                    return literalProblems(p, value, `${name}.${key}`);
                });
                assert.deepEqual(problems, []);
            }
        });

        it("gives secret inputs only from secret config, and other inputs from no secret", () => {
            for (const [, resource] of components) {
                for (const [key, value] of Object.entries(resource.properties)) {
                    const ref = reference(value);
                    const fromSecret = ref !== undefined && project.config[ref]?.secret === true;
                    assert.equal(fromSecret, inputs[key].secret === true, key);
                }
            }
        });

        it("reads only outputs of the schema", () => {
            for (const [name, expr] of Object.entries(project.outputs)) {
                const m = /^\$\{(\w+)\.(\w+)\}$/.exec(expr);
                assert.ok(m, `output ${name}: ${expr}`);
                assert.ok(
                    components.some(([n]) => n === m[1]),
                    `output ${name} reads the component`,
                );
                assert.ok(outputs[m[2]] !== undefined, `output ${name}: ${m[2]} is an output of ${TYPE_TOKEN}`);
            }
        });

        it("passes the component's own validation (config values filled in)", () => {
            for (const [name, resource] of components) {
                const args = Object.fromEntries(
                    Object.entries(resource.properties).map(([k, v]) => {
                        const ref = reference(v);
                        return [k, ref === undefined ? v : ref === "dockerHubUsername" ? "platform-bot" : "secret"];
                    }),
                ) as CachedDockerBuildArgs;
                assert.deepEqual(argProblems(name, "dev", args), []);
            }
        });
    });

    describe("Python (examples/python)", () => {
        const dir = path.join(ROOT, "examples", "python");
        type Value = { literal: unknown } | { enum: [string, string] } | { expr: string };
        let read: {
            module_aliases: string[];
            calls: { positional: Value[]; keywords: Record<string, Value> }[];
            attributes: string[];
        };
        /** snake_case to camelCase, as the Python SDK maps its arguments to the schema's names. */
        const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

        before(() => {
            // Debian's python3 (/usr/bin/python3): `ast` only, no third-party module.
            const out = execFileSync(
                "python3",
                [path.join(ROOT, "tests", "helpers", "pythonCalls.py"), "__main__.py"],
                {
                    cwd: dir,
                    encoding: "utf8",
                },
            );
            read = JSON.parse(out) as typeof read;
        });

        it("is a Python program that adds the package from git, pinned to a release tag", () => {
            const project = parseYaml(fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8")) as {
                runtime: { name: string };
                packages?: Record<string, unknown>;
            };
            assert.equal(project.runtime.name, "python");
            assertPackageEntry(project);
            assert.deepEqual(
                read.module_aliases,
                ["ecr_layer_cache"],
                "imports the generated SDK, pulumi_ecr_layer_cache",
            );
            assert.equal(read.calls.length, 1, "one CachedDockerBuild");
        });

        it("passes only keyword arguments that are inputs of the schema, each with a value of its type", () => {
            const problems = read.calls.flatMap((call) =>
                Object.entries(call.keywords).flatMap(([kw, v]) => {
                    const key = camel(kw);
                    const p = inputs[key];
                    if (p === undefined || kw === "opts") {
                        return kw === "opts" ? [] : [`${kw} (${key}) is not an input of ${TYPE_TOKEN}`];
                    }
                    if ("enum" in v) {
                        const e = enumOf(p);
                        const [type, member] = v.enum;
                        // The SDK names members in UPPER_SNAKE_CASE; compare without the underscores.
                        const flat = (s: string) => s.replace(/_/g, "").toUpperCase();
                        return e?.name === type && e.members.some((m) => flat(m.name) === flat(member))
                            ? []
                            : [`${kw}: ${type}.${member} is no member of ${p.$ref ?? p.type}`];
                    }
                    if ("expr" in v) {
                        // An expression (an Output, a config read) fits only an input that takes an Input.
                        return p.plain === true ? [`${kw}: ${v.expr} is not a plain value`] : [];
                    }
                    return literalProblems(p, v.literal, kw);
                }),
            );
            assert.deepEqual(problems, []);
            assert.deepEqual(read.calls[0].positional, [{ literal: "cache" }], "the resource name, then keywords");
        });

        it("gives each secret input from a secret config read", () => {
            for (const [kw, v] of Object.entries(read.calls[0].keywords)) {
                if (inputs[camel(kw)]?.secret === true) {
                    assert.ok("expr" in v && /get_secret|require_secret/.test(v.expr), `${kw} comes from a secret`);
                }
            }
        });

        it("reads only outputs of the schema", () => {
            assert.ok(read.attributes.length > 0);
            for (const attribute of read.attributes) {
                assert.ok(outputs[camel(attribute)] !== undefined, `${attribute} is an output of ${TYPE_TOKEN}`);
            }
        });

        it("passes the component's own validation (enum members as their values, secrets filled in)", () => {
            const args = Object.fromEntries(
                Object.entries(read.calls[0].keywords).map(([kw, v]) => {
                    const p = inputs[camel(kw)];
                    if ("enum" in v) {
                        const flat = (s: string) => s.replace(/_/g, "").toUpperCase();
                        return [camel(kw), enumOf(p)!.members.find((m) => flat(m.name) === flat(v.enum[1]))!.value];
                    }
                    return [camel(kw), "expr" in v ? "secret" : v.literal];
                }),
            ) as CachedDockerBuildArgs;
            assert.deepEqual(argProblems("cache", "dev", args), []);
        });
    });
});
