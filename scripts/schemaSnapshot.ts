/**
 * The committed package schema (`schema.json`): what `pulumi package add` consumers get, generated in-process
 * from the TypeScript (no CLI), formatted the way Prettier checks it. `npm run schema` rewrites it;
 * `tests/scripts/schema.test.ts` fails while it differs from what the code generates, so an API change shows as its diff.
 */
import * as path from "path";
import * as prettier from "prettier";
import { packageSchema, PackageSchema } from "../components/provider";

/** The repository's root: the package's folder. */
export const ROOT = path.join(__dirname, "..");

/** The committed schema snapshot. */
export const SCHEMA_FILE = path.join(ROOT, "schema.json");

/** `schema` as `schema.json` holds it. */
export async function formatSchema(schema: PackageSchema): Promise<string> {
    const options = (await prettier.resolveConfig(SCHEMA_FILE)) ?? {};
    return prettier.format(JSON.stringify(schema), { ...options, filepath: SCHEMA_FILE });
}

/** The schema the code generates now, as `schema.json` should hold it. */
export async function renderSchema(): Promise<string> {
    return formatSchema(await packageSchema(ROOT));
}
