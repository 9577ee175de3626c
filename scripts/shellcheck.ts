/**
 * shellcheck (part of `npm run lint`): every fragment in `components/buildspec/`, then the buildspec of every
 * variant in `buildspecVariants.ts` as CodeBuild receives it: each command alone, and all its commands in
 * order as one script (CodeBuild runs them in one bash). Every check runs at shellcheck's strictest default
 * severity (style); any finding fails.
 *
 * The fragments are checked with every check on; they carry their own justified `# shellcheck disable=` lines.
 * A rendered command is its fragment without comments (so without those lines), after a prelude of
 * assignments whose words come from `shellWord`, so two checks about hand-written quoting are off for rendered
 * commands (PRELUDE_DATA below), and a third for a command alone (SC2034).
 *
 * shellcheck is Debian's `shellcheck` package. When it is missing and this runs as root on a system with
 * apt-get, it is installed; otherwise this fails and says how to install it.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { FRAGMENTS, fragment, phaseFragments } from "../components/buildspec";
import { buildspec } from "../components/buildspec/render";
import { VARIANTS } from "./buildspecVariants";

function has(program: string): boolean {
    return spawnSync("sh", ["-c", `command -v ${program}`], { stdio: "ignore" }).status === 0;
}

function ensureShellcheck(): void {
    if (has("shellcheck")) {
        return;
    }
    if (process.getuid?.() === 0 && has("apt-get")) {
        console.log("shellcheck is missing; installing Debian's shellcheck package (apt-get install -y shellcheck)");
        let r = spawnSync("apt-get", ["install", "-y", "shellcheck"], { stdio: "inherit" });
        if (r.status !== 0) {
            spawnSync("apt-get", ["update"], { stdio: "inherit" });
            r = spawnSync("apt-get", ["install", "-y", "shellcheck"], { stdio: "inherit" });
        }
        if (r.status === 0 && has("shellcheck")) {
            return;
        }
    }
    console.error(
        "shellcheck is not installed, and npm run lint needs it. Install it: `sudo apt-get install shellcheck` " +
            "(Debian, Ubuntu), `brew install shellcheck` (macOS), or see https://github.com/koalaman/shellcheck#installing.",
    );
    process.exit(2);
}

/** Runs shellcheck on `files`; prints its findings; returns whether there were none. */
function shellcheck(files: string[], exclude: string[] = []): boolean {
    const args = ["--shell=bash", "--severity=style", "--format=gcc", ...exclude.flatMap((e) => ["--exclude", e])];
    const r = spawnSync("shellcheck", [...args, ...files], { encoding: "utf8" });
    if (r.error) {
        throw r.error;
    }
    process.stdout.write(r.stdout);
    process.stderr.write(r.stderr);
    return r.status === 0;
}

/**
 * Off for rendered commands: they fire on the prelude's data, quoted by `shellWord`, whose output is
 * property-tested to be exactly the value in bash (tests/components/buildspec/shape.test.ts, tests/security/injection.test.ts).
 * - SC2054 "use spaces, not commas, to separate array elements": `CACHE_FROM=(--cache-from type=registry,ref=…)`,
 *   whose commas are part of one flag value;
 * - SC2016 "expressions don't expand in single quotes": a build arg holding `$HOME` must stay literal.
 */
const PRELUDE_DATA = ["SC2054", "SC2016"];
/**
 * Off for a rendered command alone, on for the whole buildspec: SC2034 "assigned but never used" fires on a
 * command's outputs (CACHE_FOUND, IMAGE_PUSHED), which later commands read.
 */
const OUTPUTS = ["SC2034"];
/**
 * Off for rendered commands: SC1090 "can't follow non-constant source" fires on `. "$RETRY_SH"`, the functions that
 * retry.sh writes to a file of each build (its path holds the build id). The fragments carry the justified
 * `# shellcheck disable=SC1090` line, which rendering drops with the other comments; retry.sh itself is checked as a
 * fragment.
 */
const SOURCED = ["SC1090"];
/**
 * Off for the whole buildspec: SC2317 "command appears to be unreachable" fires on http.sh's functions, which the
 * whole script defines and then, in key.sh's command, defines again (key.sh's buildx versions) before any call.
 * At run time http.sh writes them to a file of the build, which key.sh sources after its own definitions, so
 * http.sh's are the ones called. Each fragment, http.sh included, is still checked alone with every check on.
 */
const REDEFINED = ["SC2317"];

ensureShellcheck();
const version = /version: (\S+)/.exec(spawnSync("shellcheck", ["--version"], { encoding: "utf8" }).stdout)?.[1];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "shellcheck-buildspec-"));
try {
    let ok = shellcheck(FRAGMENTS.map((n) => fragment(n).file));
    let commands = 0;
    for (const v of VARIANTS) {
        const dir = path.join(tmp, v.name);
        fs.mkdirSync(dir);
        const phases = buildspec(v.options).phases;
        const names = phaseFragments(v.options);
        const alone: string[] = [];
        const all: string[] = [];
        for (const phase of ["pre_build", "build", "post_build"] as const) {
            phases[phase].commands.forEach((c, i) => {
                const file = path.join(dir, `${phase}.${i}.${names[phase][i]}.sh`);
                fs.writeFileSync(file, `${c}\n`);
                alone.push(file);
                all.push(c);
            });
        }
        const whole = path.join(dir, "all-commands.sh");
        fs.writeFileSync(whole, `${all.join("\n")}\n`);
        ok = shellcheck(alone, [...PRELUDE_DATA, ...OUTPUTS, ...SOURCED]) && ok;
        ok = shellcheck([whole], [...PRELUDE_DATA, ...SOURCED, ...REDEFINED]) && ok;
        commands += alone.length;
    }
    if (!ok) {
        console.error("shellcheck found problems (above).");
        process.exit(1);
    }
    console.log(
        `shellcheck ${version}: ${FRAGMENTS.length} fragments, ${commands} rendered commands and ` +
            `${VARIANTS.length} whole buildspecs (${VARIANTS.map((v) => v.name).join(", ")}): no findings`,
    );
} finally {
    fs.rmSync(tmp, { recursive: true, force: true });
}
