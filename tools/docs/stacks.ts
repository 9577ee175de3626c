/**
 * docs/operations.md's stack comparison (the generated block `stacks`): every checked-in `Pulumi.<stack>.yaml`,
 * resolved the way `pulumi up` resolves it, one column per stack. So the table can't drift from the stack files
 * or from the defaults in code:
 *
 * - `readStackConfig` (scripts/stackConfig.ts) gives the config the CLI would pass: Pulumi.yaml's declared defaults,
 *   then the stack file on top, type-checked against the declarations as the CLI does;
 * - `stackArgs` (program.ts) reads and checks it as the program does: the component's arguments, the map of
 *   images, unknown keys, every value (`resolveArgs`) and the region's host facts. A bad value or an unknown key
 *   fails here with the program's {@link ConfigError}, naming the stack file, rather than giving a table;
 * - `resolveArgs` applies the code's defaults per component: each image's settings, and the stack-wide ones
 *   (source, triggers, pull-through cache, monitoring) resolved as severalImages.ts resolves them for what it
 *   shares.
 *
 * A value the stack file doesn't set (it comes from Pulumi.yaml or the code) is in italics. Pure: files in,
 * markdown out; no Pulumi runtime, no network.
 */
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import type { ResolvedArgs } from "../../components/args";
import type { ConfigSource } from "../../components/config";
import { ConfigError } from "../../components/problems";
import { pullRequestProjectName } from "../../components/pullRequestProject";
import { resolveArgs } from "../../components/resolveArgs";
import { COMPONENT_NAME, stackArgs } from "../../program";
import { readStackConfig, type StackConfig } from "../../scripts/stackConfig";
import { imageComponentName } from "../../severalImages";

/** A stack file's name, and the stack it configures. */
const STACK_FILE = /^Pulumi\.(.+)\.yaml$/;
/** The stacks shown first, in this order (the two environments); the others follow by name. */
const FIRST = ["dev", "prod"];

/** One component's settings: `name` is the image's (undefined for a single-image stack). */
export interface ResolvedImage {
    readonly name?: string;
    /** The keys the stack file sets for this image: the flat ones, and its entry's under `images`. */
    readonly set: ReadonlySet<string>;
    readonly args: ResolvedArgs;
}

/** A stack as `pulumi up` would build it. */
export interface ResolvedStack {
    readonly stack: string;
    /** The keys the stack file sets: short in the project's namespace (`cacheStrategy`), full in others (`aws:region`). */
    readonly set: ReadonlySet<string>;
    /** `aws:region`, undefined when the stack leaves it to AWS_REGION or the profile. */
    readonly region: string | undefined;
    /** The stack-wide settings: the flat arguments under the stack's own names (severalImages.ts's `shared`). */
    readonly shared: ResolvedArgs;
    /** One entry per component: the stack's one, or one per image of `images`. */
    readonly images: readonly ResolvedImage[];
}

/** The project's namespace of a CLI config map, read as `pulumi.Config` reads it. */
function configSource(sc: StackConfig): ConfigSource {
    const get = (key: string): string | undefined => sc.config[`${sc.project}:${key}`];
    return {
        get,
        requireSecret: (key) => {
            const v = get(key);
            if (v === undefined) {
                throw new Error(`config key ${sc.project}:${key} is not set`);
            }
            return pulumi.secret(v);
        },
    };
}

/**
 * Stack `stack` from its config (`readStackConfig`'s answer), checked and resolved. Throws the program's
 * {@link ConfigError} for a bad value or an unknown key.
 */
export function resolveStack(stack: string, sc: StackConfig): ResolvedStack {
    const region = sc.config["aws:region"];
    const { args, images } = stackArgs(configSource(sc), sc.project, stack, sc.config, region);
    const prefix = `${sc.project}:`;
    const set = new Set(sc.stackKeys.map((k) => (k.startsWith(prefix) ? k.slice(prefix.length) : k)));
    const shared = resolveArgs(COMPONENT_NAME, stack, args);
    return {
        stack,
        set,
        region,
        shared,
        images:
            images === undefined
                ? [{ set, args: shared }]
                : images.map((i) => ({
                      name: i.name,
                      set: new Set([...set, ...i.own]),
                      args: resolveArgs(imageComponentName(COMPONENT_NAME, i.name), stack, i.args),
                  })),
    };
}

/** The stacks of `root`'s `Pulumi.<stack>.yaml` files: dev and prod first, the others by name. */
export function stackNames(root: string): string[] {
    const names = fs
        .readdirSync(root)
        .map((f) => STACK_FILE.exec(f)?.[1])
        .filter((s): s is string => s !== undefined);
    const rank = (s: string) => (FIRST.includes(s) ? FIRST.indexOf(s) : FIRST.length);
    return names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** Every stack file of `root`, resolved; an error names the stack file whose config is wrong. */
export function resolveStacks(root: string): ResolvedStack[] {
    const stacks = stackNames(root);
    if (stacks.length === 0) {
        throw new Error(`${root}: no Pulumi.<stack>.yaml to compare`);
    }
    return stacks.map((stack) => {
        try {
            return resolveStack(stack, readStackConfig(stack, {}, [], root));
        } catch (e) {
            if (e instanceof ConfigError) {
                throw new Error(`Pulumi.${stack}.yaml: ${e.message}`, { cause: e });
            }
            throw e;
        }
    });
}

// ---- The table ----

/** Marks a cell's part: as it is when the stack file sets one of `keys`, in italics when it is a default. */
type Mark = (keys: string | readonly string[], text: string) => string;

function marker(set: ReadonlySet<string>): Mark {
    // Markdown's emphasis can't open on a space, nor close after one: spaces at the ends stay outside it.
    return (keys, text) =>
        [keys].flat().some((k) => set.has(k)) ? text : text.replace(/^(\s*)(.*?)(\s*)$/s, "$1_$2_$3");
}

const code = (s: string | number) => `\`${s}\``;
const list = (xs: readonly string[]) => xs.map(code).join(", ");
/** `BUILD_GENERAL1_MEDIUM` → `MEDIUM`. */
const size = (computeType: string) => computeType.replace(/^BUILD_GENERAL1_/, "");
/** A repository URL without its scheme and `.git`: `github.com/my-org/my-app`. */
const repo = (url: string) => url.replace(/^[a-z]+:\/\//, "").replace(/\.git$/, "");
const UPSTREAM_NAMES: Record<string, string> = { "ecr-public": "ECR Public", "docker-hub": "Docker Hub" };

/** A row: either stack-wide (`stack`), or per component (`image`), which is shown once when every image agrees. */
type Row =
    | { readonly label: string; readonly stack: (s: ResolvedStack, m: Mark) => string }
    | { readonly label: string; readonly image: (a: ResolvedArgs, m: Mark) => string };

const ROWS: readonly Row[] = [
    {
        label: "region",
        stack: (s, m) => (s.region === undefined ? "_AWS_REGION or the profile_" : m("aws:region", code(s.region))),
    },
    {
        label: "CodeBuild project (and ECR repository)",
        image: (a, m) =>
            a.repositoryName === a.projectName
                ? m("projectName", code(a.projectName))
                : `${m("projectName", code(a.projectName))}, repository ${m("repositoryName", code(a.repositoryName))}`,
    },
    {
        label: "source",
        stack: (s, m) =>
            `${m("sourceUrl", repo(s.shared.sourceUrl))} at ${m("sourceVersion", code(s.shared.sourceVersion))}`,
    },
    {
        label: "Dockerfile folder",
        image: (a, m) =>
            [
                m("dockerfileDir", code(a.dockerfileDir)),
                a.dockerfileName === "Dockerfile" ? "" : `, file ${m("dockerfileName", code(a.dockerfileName))}`,
                a.target === undefined ? "" : `, stage ${m("target", code(a.target))}`,
            ].join(""),
    },
    { label: "sign-in to the source", stack: (s, m) => signIn(s.shared, m) },
    { label: "builds start on", stack: (s, m) => triggers(s, m) },
    { label: "trusted refs (write the cache, push)", stack: (s, m) => m("trustedRefs", list(s.shared.trustedRefs)) },
    {
        label: "cache strategy",
        image: (a, m) =>
            a.cacheStrategy === "registry" && a.registryBuilder !== "docker-container"
                ? `${m("cacheStrategy", code(a.cacheStrategy))}, builder ${m("registryBuilder", code(a.registryBuilder))}`
                : m("cacheStrategy", code(a.cacheStrategy)),
    },
    { label: "skip unchanged builds", image: (a, m) => m("skipUnchanged", a.skipUnchanged ? "on" : "off") },
    {
        label: "platforms",
        image: (a, m) =>
            a.platforms.length === 1
                ? m("platforms", code(a.platforms[0]))
                : `${m("platforms", list(a.platforms))}: ${m(
                      "platformMode",
                      a.platformMode === "native" ? "native (a batch, one host each)" : "emulated (arm64 under QEMU)",
                  )}`,
    },
    {
        label: "compute, timeout",
        image: (a, m) =>
            `${m("computeType", size(a.computeType))}, ${m("buildTimeoutMinutes", `${a.buildTimeoutMinutes} min`)}`,
    },
    { label: "log retention", image: (a, m) => m("logRetentionDays", `${a.logRetentionDays} days`) },
    {
        label: "untagged expiry, tagged kept",
        image: (a, m) =>
            `${m("untaggedExpiryDays", `${a.untaggedExpiryDays} days`)}, ${m("maxTaggedImages", String(a.maxTaggedImages))}`,
    },
    {
        label: "encryption, tags",
        image: (a, m) =>
            `${m(["encryptionType", "kmsKeyArn"], a.kmsKeyArn === undefined ? a.encryptionType : `${a.encryptionType} (own key)`)}, ${m(
                "imageTagMutability",
                a.imageTagMutability === "IMMUTABLE" ? "immutable (image and cache tags excluded)" : "mutable",
            )}`,
    },
    {
        label: "`forceDelete`, `protect`",
        image: (a, m) => `${m("forceDelete", String(a.forceDelete))}, ${m("protect", String(a.protect))}`,
    },
    {
        label: "pull-through cache",
        stack: (s, m) =>
            s.shared.pullThroughCache === "off"
                ? m("pullThroughCache", "off")
                : `${m("pullThroughCache", code(s.shared.pullThroughCache))}: ${m(
                      "pullThroughUpstreams",
                      s.shared.upstreamCaches.map((u) => UPSTREAM_NAMES[u.upstream] ?? u.upstream).join(", "),
                  )}`,
    },
    { label: "monitoring", stack: (s, m) => monitoring(s.shared, m) },
];

function signIn(a: ResolvedArgs, m: Mark): string {
    const keys = ["connectionArn", "createConnection", "githubToken"];
    switch (a.sourceAuth) {
        case "none":
            return m(keys, "none (a public repository)");
        case "token":
            return m(keys, "a GitHub token (`githubToken`)");
        case "connection":
            return a.connectionArn === undefined
                ? m(keys, "a connection the stack creates (one handshake in the console)")
                : m(keys, "an existing connection (`connectionArn`)");
    }
}

function triggers(s: ResolvedStack, m: Mark): string {
    const a = s.shared;
    const w = a.webhook;
    const parts: string[] = [];
    if (w.pushes) {
        parts.push(m("webhookPushes", `pushes to ${list(a.trustedRefs)}`));
    }
    if (w.pullRequests) {
        const projects = list(s.images.map((i) => pullRequestProjectName(i.args.projectName)));
        const approval =
            w.commentApproval === "DISABLED"
                ? ""
                : m(
                      "pullRequestCommentApproval",
                      w.commentApproval === "FORK_PULL_REQUESTS"
                          ? " (from a fork: after an approver's comment)"
                          : " (each after an approver's comment)",
                  );
        parts.push(`${m("webhookPullRequests", `pull requests in the read-only ${projects}`)}${approval}`);
    }
    if (w.tags.length > 0) {
        parts.push(m("webhookTags", `tags matching ${list(w.tags)}`));
    }
    if (w.enabled && w.filePaths.length > 0) {
        parts.push(m("webhookFilePaths", `only changes under ${list(w.filePaths)}`));
    }
    if (a.scheduleExpression !== undefined) {
        parts.push(
            `${m("scheduleExpression", code(a.scheduleExpression))} ${m("scheduleTimezone", a.scheduleTimezone ?? "UTC")}`,
        );
    }
    const keys = ["webhookPushes", "webhookPullRequests", "webhookTags", "scheduleExpression"];
    return parts.length === 0 ? m(keys, "a start by hand only") : [...parts, "a start by hand"].join("; ");
}

function monitoring(a: ResolvedArgs, m: Mark): string {
    if (!a.monitoring) {
        return m("monitoring", "off");
    }
    const topic =
        a.alarmTopicArn === undefined
            ? m("alarmTopicArn", `a new topic ${code(`${a.projectName}-alarms`)}`)
            : m("alarmTopicArn", "the topic `alarmTopicArn`");
    return `${m("monitoring", "on")}: a dashboard and alarms, which notify ${topic}`;
}

/** One cell: a stack-wide value, or each component's, once when they agree and per image when they don't. */
function cell(row: Row, s: ResolvedStack): string {
    if ("stack" in row) {
        return row.stack(s, marker(s.set));
    }
    const values = s.images.map((i) => row.image(i.args, marker(i.set)));
    return values.every((v) => v === values[0])
        ? values[0]
        : s.images.map((i, k) => `${i.name ?? ""}: ${values[k]}`).join("; ");
}

/** The comparison table of `stacks`, one column per stack (each linked to its file, from docs/). */
export function stacksTable(stacks: readonly ResolvedStack[]): string {
    const escape = (s: string) => s.replace(/\|/g, "\\|");
    return [
        `| | ${stacks.map((s) => `[${s.stack}](../Pulumi.${s.stack}.yaml)`).join(" | ")} |`,
        `|---|${stacks.map(() => "---|").join("")}`,
        ...ROWS.map((row) => `| ${row.label} | ${stacks.map((s) => escape(cell(row, s))).join(" | ")} |`),
        "",
        "Generated from each `Pulumi.<stack>.yaml` as `pulumi up` resolves it (tools/docs/stacks.ts): values in " +
            "_italics_ are defaults, from Pulumi.yaml or the code, that the stack file doesn't set. Where a stack's " +
            "images differ, each image's value is given.",
    ].join("\n");
}

/** The block `stacks`: every stack file of `root`, compared. */
export function stacksBlock(root: string): string {
    return stacksTable(resolveStacks(root));
}
