/**
 * `npm run schema`: rewrites `schema.json`, the package schema that consumers in other languages get (see
 * `schemaSnapshot.ts`). Review the diff (`git diff schema.json`) before committing it: it is the package's API.
 */
import * as fs from "fs";
import { renderSchema, SCHEMA_FILE } from "./schemaSnapshot";

void (async () => {
    const text = await renderSchema();
    const old = fs.existsSync(SCHEMA_FILE) ? fs.readFileSync(SCHEMA_FILE, "utf8") : undefined;
    fs.writeFileSync(SCHEMA_FILE, text);
    console.log(`${old === text ? "unchanged" : old === undefined ? "created  " : "rewritten"} ${SCHEMA_FILE}`);
})();
