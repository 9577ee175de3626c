// `npm run local-build -- --context DIR`: the user's own build context, checked before any daemon starts,
// and the copy the builds run on (the user's files are never modified).
//
// What is checked (each error names the flag, the value and what is allowed, like every flag error):
// - `--context` is a folder;
// - `--file` (default `<context>/Dockerfile`) is a file, and a Dockerfile that BuildKit's parser accepts: parsed
//   with `dockerfile-ast` (a maintained parser, the one behind the VS Code Docker extension), then the rules on
//   which BuildKit's parse itself fails: every instruction is one Dockerfile knows, there is a FROM, only ARG
//   comes before the first FROM, and FROM names an image;
// - every `--change` path (relative to the context, or absolute) is a file inside the context;
// - `--target` names a stage of the Dockerfile.
//
// The copy: `<tmp>/src/<CONTEXT_DIR>` holds the context, and the component's `dockerfileDir` names that folder.
// The component wants the Dockerfile inside it (`dockerfileName` is a file name), so a Dockerfile kept elsewhere
// (`--file ../docker/app.Dockerfile`, or `sub/Dockerfile`) is copied into the copy's top as `Dockerfile.local-build`
// (or its own name, if free), which then is part of the context like any other file.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { type Dockerfile, parseDockerfile, stageNames } from "./advice";
import { invalidValue } from "./flags";

/** The folder of the copy that is the component's `dockerfileDir` (and so the build context). */
export const CONTEXT_DIR = "context";

/** The instructions BuildKit's Dockerfile frontend knows (moby/buildkit frontend/dockerfile/command). */
export const DOCKERFILE_INSTRUCTIONS = [
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
] as const;

export interface UserContextInput {
    /** `--context`: the build context folder. */
    context: string;
    /** `--file`: the Dockerfile; default `<context>/Dockerfile`. Relative to the current folder, as `docker build -f`. */
    file?: string;
    /** `--change`: files to change, one change build each; relative to the context, or absolute. */
    changes: readonly string[];
    /** `--target`: the stage to build; a stage name of the Dockerfile (any case). */
    target?: string;
    /** Folder relative paths start from (the current folder). */
    cwd?: string;
}

export interface UserChange {
    /** Path inside the context, with `/` separators, as printed. */
    path: string;
}

export interface UserContext {
    /** Absolute, real path of the context folder. */
    contextDir: string;
    /** Absolute path of the Dockerfile. */
    dockerfile: string;
    dockerfileText: string;
    /** The parse, for the findings (advice.ts). */
    parsed: Dockerfile;
    /** The Dockerfile's name inside the copy's context folder (the component's `dockerfileName`). */
    dockerfileName: string;
    /** true when the Dockerfile had to be copied into the context (it was elsewhere). */
    dockerfileAdded: boolean;
    changes: UserChange[];
    /** The stage to build, lower-cased as BuildKit stores stage names; undefined: the last stage. */
    target?: string;
}

const isDir = (p: string) => fs.existsSync(p) && fs.statSync(p).isDirectory();
const isFile = (p: string) => fs.existsSync(p) && fs.statSync(p).isFile();

/**
 * Problems with a Dockerfile's text on which BuildKit's parser fails, as `line N: …` (1-based), empty when
 * there are none. Parser directives, comments and heredocs are the parser's business and pass.
 */
export function dockerfileParseErrors(parsed: Dockerfile): string[] {
    const errors: string[] = [];
    const known = DOCKERFILE_INSTRUCTIONS as readonly string[];
    let seenFrom = false;
    for (const i of parsed.getInstructions()) {
        const line = i.getRange().start.line + 1;
        const keyword = i.getKeyword();
        if (!known.includes(keyword)) {
            errors.push(`line ${line}: unknown instruction ${JSON.stringify(i.getInstruction())}`);
            continue;
        }
        if (keyword === "FROM") {
            seenFrom = true;
            if (i.getArguments().length === 0) errors.push(`line ${line}: FROM names no image`);
        } else if (!seenFrom && keyword !== "ARG") {
            errors.push(`line ${line}: ${keyword} before the first FROM (only ARG may come before it)`);
        }
    }
    if (!seenFrom && errors.length === 0) errors.push("no FROM instruction: a Dockerfile needs at least one stage");
    return errors;
}

/**
 * Checks `--context`, `--file` and `--change` and reads the Dockerfile. Throws a FlagError (reported like a
 * bad flag, with the usage, exit status 2) on the first flag that is wrong; runs before any daemon starts.
 */
export function checkUserContext(input: UserContextInput): UserContext {
    const cwd = input.cwd ?? process.cwd();
    const contextArg = path.resolve(cwd, input.context);
    if (!isDir(contextArg)) {
        throw invalidValue(
            "context",
            input.context,
            "a folder holding the build context",
            fs.existsSync(contextArg) ? "not a folder" : "no such folder",
        );
    }
    const contextDir = fs.realpathSync(contextArg);
    const dockerfileArg =
        input.file === undefined ? path.join(contextArg, "Dockerfile") : path.resolve(cwd, input.file);
    const fileShown = input.file ?? path.join(input.context, "Dockerfile");
    if (!isFile(dockerfileArg)) {
        throw invalidValue(
            "file",
            fileShown,
            "a Dockerfile (default: <context>/Dockerfile)",
            fs.existsSync(dockerfileArg) ? "not a file" : "no such file",
        );
    }
    const dockerfile = fs.realpathSync(dockerfileArg);
    const dockerfileText = fs.readFileSync(dockerfile, "utf8");
    const parsed = parseDockerfile(dockerfileText);
    const parseErrors = dockerfileParseErrors(parsed);
    if (parseErrors.length) {
        throw invalidValue(
            "file",
            fileShown,
            "a Dockerfile that BuildKit can parse",
            `it doesn't parse: ${parseErrors.join("; ")}`,
        );
    }
    let target: string | undefined;
    if (input.target !== undefined) {
        const names = stageNames(parsed);
        target = input.target.toLowerCase();
        if (!names.includes(target)) {
            throw invalidValue(
                "target",
                input.target,
                names.length ? `a stage name of ${fileShown}: ${names.join(", ")}` : "a stage name (`FROM … AS name`)",
                names.length ? "no stage of that name" : `${fileShown} names no stage`,
            );
        }
    }
    const inTop = path.dirname(dockerfile) === contextDir;
    const name = path.basename(dockerfile);
    const dockerfileName = inTop || !fs.existsSync(path.join(contextDir, name)) ? name : "Dockerfile.local-build";
    const changes: UserChange[] = [];
    for (const c of input.changes) {
        const abs = path.resolve(contextDir, c);
        const allowed = "a file inside the context (relative to it, or absolute)";
        const rel = path.relative(contextDir, fs.existsSync(abs) ? fs.realpathSync(abs) : abs);
        if (rel === "" || rel === ".." || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) {
            throw invalidValue("change", c, allowed, `outside the context ${input.context}`);
        }
        if (!isFile(abs)) {
            throw invalidValue(
                "change",
                c,
                allowed,
                fs.existsSync(abs) ? "not a file" : `no such file in ${input.context}`,
            );
        }
        changes.push({ path: rel.split(path.sep).join("/") });
    }
    return {
        contextDir,
        dockerfile,
        dockerfileText,
        parsed,
        dockerfileName,
        dockerfileAdded: !inTop,
        changes,
        ...(target !== undefined ? { target } : {}),
    };
}

/** A copy of the user's context the builds run on (the component's source folder), removed by `remove()`. */
export interface ContextCopy {
    /** The source folder ($CODEBUILD_SRC_DIR): holds `CONTEXT_DIR`. */
    sourceDir: string;
    /** Changes one file of the copy: appends a newline, so its content (and nothing else) differs. */
    change(p: string): void;
    remove(): void;
}

/** Copies the context (symbolic links as they are) and, if it lives elsewhere, the Dockerfile into it. */
export function copyContext(ctx: UserContext, tmp: string = os.tmpdir()): ContextCopy {
    const sourceDir = fs.mkdtempSync(path.join(tmp, "cbuser-"));
    const dest = path.join(sourceDir, CONTEXT_DIR);
    try {
        fs.cpSync(ctx.contextDir, dest, { recursive: true, verbatimSymlinks: true });
        if (ctx.dockerfileAdded) fs.copyFileSync(ctx.dockerfile, path.join(dest, ctx.dockerfileName));
    } catch (e) {
        fs.rmSync(sourceDir, { recursive: true, force: true });
        throw e;
    }
    return {
        sourceDir,
        change: (p) => fs.appendFileSync(path.join(dest, ...p.split("/")), "\n"),
        remove: () => fs.rmSync(sourceDir, { recursive: true, force: true }),
    };
}
