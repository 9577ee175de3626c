/**
 * The component as a Pulumi package: the provider that `plugin.ts` serves to `pulumi package add` consumers in any
 * language, and the package schema they get.
 *
 * The schema is inferred from the TypeScript by `@pulumi/pulumi/provider/experimental` (the `Analyzer`): the
 * component's one constructor `(name, args, opts)`, the `CachedDockerBuildArgs` interface for the inputs (types,
 * optionality, `plain` unless `pulumi.Input`, descriptions from the JSDoc text) and the class's `Output` fields for
 * the outputs. The inference carries no defaults and no secrets, so {@link enrichSchema} adds, to the inferred
 * schema and nothing else:
 * - `secret: true` on the inputs in {@link SECRET_ARGS}, so that every language's SDK wraps them as secrets before
 *   they reach the engine or the state;
 * - `default` on each input whose default is a constant scalar in {@link DEFAULTS} (`resolveArgs.ts`, composed from
 *   each feature's own defaults);
 * - the JSDoc `@default` text at the end of every input's description, for the defaults the schema can't carry
 *   (those that follow other values, lists and maps).
 */
import { ComponentProvider } from "@pulumi/pulumi/provider/experimental";
import * as fs from "fs";
import * as path from "path";
import ts from "typescript";
import { SECRET_ARGS } from "./args";
import { DEFAULTS } from "./resolveArgs";
import { CachedDockerBuild, TYPE_TOKEN } from "./cachedDockerBuild";
import { PACKAGE_NAME } from "./packageName";

/** The parts of a package schema this file reads and writes. */
export interface PackageSchema {
    name: string;
    version?: string;
    resources: Record<
        string,
        { inputProperties: Record<string, SchemaProperty>; properties: Record<string, SchemaProperty> }
    >;
    types: Record<string, { type: string; enum?: { name: string; value: string | number; description?: string }[] }>;
    [key: string]: unknown;
}

/** One property of a resource in the schema. */
export interface SchemaProperty {
    type?: string;
    $ref?: string;
    description?: string;
    default?: string | number | boolean;
    secret?: boolean;
    [key: string]: unknown;
}

/** The file that declares `CachedDockerBuildArgs`, whose JSDoc `@default` tags {@link argDefaultTexts} reads. */
export const ARGS_FILE = path.join(__dirname, "args.ts");

/** The `@default` text of each argument of `CachedDockerBuildArgs`, read from the JSDoc in {@link ARGS_FILE}. */
export function argDefaultTexts(file: string = ARGS_FILE): Record<string, string> {
    const source = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
    const texts: Record<string, string> = {};
    source.forEachChild((node) => {
        if (ts.isInterfaceDeclaration(node) && node.name.text === "CachedDockerBuildArgs") {
            for (const member of node.members) {
                const tag = ts.getJSDocTags(member).find((t) => t.tagName.text === "default");
                if (member.name !== undefined && tag !== undefined) {
                    texts[member.name.getText(source)] = ts.getTextOfJSDocComment(tag.comment)?.trim() ?? "";
                }
            }
        }
    });
    return texts;
}

/** The defaults a schema can carry: constant strings, numbers and booleans (not lists, maps or derived values). */
export function schemaDefaults(): Record<string, string | number | boolean> {
    return Object.fromEntries(
        Object.entries(DEFAULTS).filter(([, v]) => ["string", "number", "boolean"].includes(typeof v)),
    ) as Record<string, string | number | boolean>;
}

/** The inferred schema with secrets, defaults and default texts added (see the file's comment). Pure. */
export function enrichSchema(
    inferred: PackageSchema,
    defaults: Record<string, string | number | boolean>,
    defaultTexts: Record<string, string>,
): PackageSchema {
    const schema = structuredClone(inferred);
    const inputs = schema.resources[TYPE_TOKEN].inputProperties;
    for (const [key, property] of Object.entries(inputs)) {
        if ((SECRET_ARGS as readonly string[]).includes(key)) {
            property.secret = true;
        }
        if (key in defaults) {
            property.default = defaults[key];
        }
        if (defaultTexts[key] !== undefined) {
            // `undefined` is TypeScript's word; consumers in other languages leave the argument unset.
            const text = defaultTexts[key].replace(/^undefined\b/, "unset");
            property.description = `${property.description ?? ""}\n\nDefault: ${text}.`.trim();
        }
    }
    return schema;
}

/**
 * The package's provider: `ComponentProvider` (which infers the schema and constructs the component for each
 * consumer's registration) with {@link enrichSchema} on top.
 */
export class CachedDockerBuildProvider extends ComponentProvider {
    private enriched?: string;

    /** `dir` is the package's root: the folder of `PulumiPlugin.yaml`, `package.json` and `tsconfig.json`. */
    constructor(dir: string) {
        super({ components: [CachedDockerBuild], name: PACKAGE_NAME, dirname: dir });
    }

    override async getSchema(): Promise<string> {
        if (this.enriched === undefined) {
            const inferred = JSON.parse(await super.getSchema()) as PackageSchema;
            this.enriched = JSON.stringify(enrichSchema(inferred, schemaDefaults(), argDefaultTexts()));
        }
        return this.enriched;
    }
}

/** The package schema, as consumers get it, generated in-process from the TypeScript in `dir` (no CLI). */
export async function packageSchema(dir: string): Promise<PackageSchema> {
    return JSON.parse(await new CachedDockerBuildProvider(dir).getSchema()) as PackageSchema;
}
