/**
 * `npm run golden`: rewrites the golden files, the rendered buildspec of every variant in `buildspecVariants.ts`,
 * under `tests/golden/`. `tests/components/buildspec/golden.test.ts` fails while they differ from what the code renders; review
 * the diff (`git diff tests/golden`) before committing it.
 */
import * as fs from "fs";
import { buildspecYaml } from "../components/buildspec/render";
import { GOLDEN_DIR, goldenFile, VARIANTS } from "./buildspecVariants";

fs.mkdirSync(GOLDEN_DIR, { recursive: true });
for (const v of VARIANTS) {
    const file = goldenFile(v);
    const text = buildspecYaml(v.options);
    const old = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
    fs.writeFileSync(file, text);
    console.log(`${old === text ? "unchanged" : old === undefined ? "created  " : "rewritten"} ${file}`);
}
