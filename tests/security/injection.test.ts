/**
 * Issue #4 (security): every user-supplied value that reaches the buildspec arrives as exactly one YAML
 * scalar and exactly one shell word with exactly its own value, or is refused by `resolveArgs` with a
 * ConfigError naming its key.
 *
 * Layer 1 (property-based, fast-check; 200 runs for properties that parse commands, 300 for the
 * validation-only ones, ~20 s in all): the buildspec YAML is parsed back
 * (YAML 1.2 and 1.1) and must equal the buildspec object; every command is parsed with a real shell
 * parser (mvdan-sh, bash dialect); the argument where a value goes must be one word made only of
 * literal / quoted parts whose value equals the input; and the script's structure with literals erased
 * (its skeleton) must equal that of a buildspec built from harmless values, so nothing was added.
 *
 * The buildspec carries values only in each command's prelude, literal assignments in front of a fixed shell
 * fragment (components/buildspec/*.sh); the parser (tests/helpers/shell.ts) reads a prelude variable's value
 * where the fragment expands it, so the checks below see the argv bash will build.
 *
 * Layer 2 (50 runs): the trust decision, login, probe, build, report, export (registry) and post-build
 * commands run in real bash under CodeBuild's phase semantics (tests/helpers/bash.ts), with
 * `docker`/`aws` replaced by shell functions that record their argv; the argv must equal
 * the expected array exactly.
 */
import { strict as assert } from "node:assert";
import fc from "fast-check";
import * as YAML from "yaml";
import { CachedDockerBuildArgs, ResolvedArgs } from "../../components/args";
import { ConfigError } from "../../components/problems";
import { resolveArgs } from "../../components/resolveArgs";
import {
    BUILDER_NAME,
    BuildspecOptions,
    buildspecOptions,
    fragment,
    FragmentName,
    header,
    marker,
    fullRef,
    phaseFragments,
    shellWord,
} from "../../components/buildspec";
import { buildspec, buildspecYaml } from "../../components/buildspec/render";
import { builderImageSources, localBuilderImage } from "../../components/builderImage";
import { runPhases } from "../helpers/bash";
import { parseShell } from "../helpers/shell";

const RUNS = 300;
/** Runs for the properties that walk mvdan-sh trees (~10 ms of CPU per command). */
const PARSE_RUNS = 200;
const EXEC_RUNS = 50;
const REGISTRY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
const URL = `${REGISTRY}/docker-cache-dev`;
const REGION = "eu-west-1";

// ---------- arbitraries ----------

/** Shell and YAML metacharacters, quote-escaping sequences, option look-alikes, odd Unicode. */
const NASTY = [
    "'",
    '"',
    "$",
    "`",
    ";",
    "#",
    "&",
    "|",
    "<",
    ">",
    "(",
    ")",
    "\\",
    " ",
    "*",
    "?",
    "[",
    "]",
    "~",
    ": ",
    "- ",
    "{",
    "}",
    "!",
    "%",
    "@",
    ",",
    "=",
    "$(",
    "${",
    "$((",
    "'\\''",
    "\\'",
    "'\"'\"'",
    "--",
    "-",
    "/",
    ".",
    "a",
    "Z",
    "9",
    "é",
    "\u{1F4A5}",
    "\u00a0",
    " #",
    "\\n",
    "&&",
    "||",
    ";;",
    "<<EOF",
    "$IFS",
    "!!",
];
/** Characters no value may carry into the buildspec (C0/C1 controls, YAML 1.1 line breaks, BOM). */
const CONTROL = ["\n", "\t", "\r", "\x1b", "\x7f", "\x85", "\u2028", "\u2029", "\x9b", "\x01", "\ufeff"];
/** YAML indicators at the start of a scalar. */
const YAML_LEAD = [
    "",
    "",
    "",
    "|",
    ">",
    "- ",
    "? ",
    "!",
    "!!str ",
    "&a ",
    "*a",
    "%",
    "@",
    "`",
    "#",
    "---",
    "...",
    ": ",
    "'",
    '"',
    "[",
    "{",
];

/** A lone UTF-16 surrogate can't be encoded as UTF-8, so no config file or API can carry one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function piece(extra: readonly string[]): fc.Arbitrary<string> {
    return fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom(...NASTY, ...extra) },
        { weight: 1, arbitrary: fc.string({ maxLength: 3, unit: "grapheme-ascii" }) },
        { weight: 1, arbitrary: fc.string({ maxLength: 2, unit: "grapheme" }) },
    );
}

/** Text weighted towards shell and YAML specials. `extra` adds pieces (e.g. control characters). */
function nasty(extra: readonly string[] = []): fc.Arbitrary<string> {
    return fc
        .tuple(fc.constantFrom(...YAML_LEAD), fc.array(piece(extra), { minLength: 1, maxLength: 10 }))
        .map(([lead, ps]) => lead + ps.join(""))
        .filter((s) => s.length > 0 && !s.includes("\0") && !LONE_SURROGATE.test(s));
}

/** Nasty text with at least one control character in it. */
const withControl = fc.tuple(nasty(), fc.constantFrom(...CONTROL), nasty()).map(([a, c, b]) => a + c + b);

/** Pieces that git's ref grammar allows but the shell or YAML would not take literally. */
const gitRefLike = fc
    .tuple(
        fc.constantFrom("", "", "|", ">", "!", "&a", "%", "@", "`", "#", "---", "'", '"', "{", "-"),
        fc.array(
            fc.constantFrom(
                "'",
                '"',
                "$",
                "`",
                ";",
                "#",
                "&",
                "|",
                "<",
                ">",
                "(",
                ")",
                "{",
                "}",
                "]",
                "!",
                "%",
                "@",
                ",",
                "=",
                "$(",
                "${",
                "'\"'\"'",
                "-",
                "/",
                ".",
                "a",
                "Z",
                "9",
                "é",
                "\u{1F4A5}",
                "&&",
                "||",
                ";;",
                "<<EOF",
                "$IFS",
                "!!",
                "main",
            ),
            { minLength: 1, maxLength: 8 },
        ),
    )
    .map(([lead, ps]) => lead + ps.join(""));

const buildArgName = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,7}$/).filter((n) => n !== "__proto__");

// ---------- generation and checks ----------

function optionsOf(a: ResolvedArgs, over: Partial<BuildspecOptions> = {}): BuildspecOptions {
    return { ...buildspecOptions(a, URL, REGION), ...over };
}

/** Applies defaults; returns the ConfigError instead of throwing it. */
function resolve(args: CachedDockerBuildArgs): ResolvedArgs | ConfigError {
    try {
        return resolveArgs("docker-cache", "dev", args);
    } catch (e) {
        if (e instanceof ConfigError) {
            return e;
        }
        throw e;
    }
}

interface Generated {
    readonly yamlText: string;
    /** All commands, in order, as CodeBuild reads them from the YAML. */
    readonly commands: string[];
}

/** Raw characters a YAML 1.1 reader (e.g. SnakeYAML, PyYAML) would take as line breaks or refuse. */
const NOT_YAML_SAFE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff]/u;

function generate(o: BuildspecOptions): Generated {
    const yamlText = buildspecYaml(o);
    const object = buildspec(o);
    const m = NOT_YAML_SAFE.exec(yamlText);
    assert.equal(
        m,
        null,
        `the YAML holds a raw ${JSON.stringify(m?.[0])}, which YAML 1.1 readers treat as a line break or refuse`,
    );
    for (const version of ["1.2", "1.1"] as const) {
        const doc = YAML.parseDocument(yamlText, { version, uniqueKeys: true });
        assert.deepEqual(doc.errors, [], `YAML ${version} parses without errors`);
        assert.deepEqual(
            doc.toJS(),
            JSON.parse(JSON.stringify(object)),
            `YAML ${version} round-trips to the buildspec object`,
        );
    }
    const spec = YAML.parse(yamlText);
    const commands = [
        ...spec.phases.pre_build.commands,
        ...spec.phases.build.commands,
        ...spec.phases.post_build.commands,
    ];
    for (const c of commands) {
        assert.equal(typeof c, "string", "each command is one YAML scalar (a string)");
    }
    return { yamlText, commands };
}

/** The same buildspec with every value that needs quoting replaced by a harmless word: the structural baseline. */
function harmless(o: BuildspecOptions): BuildspecOptions {
    // Values that shellWord leaves unquoted stay; anything else is replaced by a harmless stand-in.
    const plain = (v: string) => shellWord(v) === v;
    const h = (v: string, stand: string) => (plain(v) ? v : stand);
    const url = plain(o.repositoryUrl) ? o.repositoryUrl : "registry.example/repo";
    return {
        ...o,
        repositoryUrl: url,
        region: h(o.region, "region"),
        builderImage: h(o.builderImage, "builder"),
        dockerfileDir: h(o.dockerfileDir, "dir"),
        dockerfileName: h(o.dockerfileName, "file"),
        buildArgs: Object.fromEntries(Object.entries(o.buildArgs).map(([k, v]) => [k, h(v, "value")])),
        trustedRefs: o.trustedRefs.map((r, i) => h(r, `ref${i}`)),
        sourceVersion: o.sourceVersion === undefined ? undefined : h(o.sourceVersion, "own"),
    };
}

/**
 * What the checks read from one command: each simple command's arguments as values (undefined where not a
 * pure literal or a known prelude value), `for` loop word lists, array assignments, and the skeleton.
 */
interface ShellFacts {
    readonly calls: (string | undefined)[][];
    readonly forItems: Record<string, (string | undefined)[][]>;
    readonly arrays: Record<string, (string | undefined)[][]>;
    readonly skeleton: string;
}

/**
 * The command with its fragment's code only: the fragment's text as written (comments and blank lines included) is
 * replaced by its `body` (the same code without them; bash runs the same). The values are all in the prelude, which
 * stays; mvdan-sh then has a third less text to parse, which keeps these properties within their time on a loaded host.
 */
function codeOf(src: string): string {
    const m = /^# ---- components\/buildspec\/([a-z_]+)\.sh/.exec(src);
    if (m === null) {
        return src;
    }
    const f = fragment(m[1] as FragmentName);
    return src.includes(f.rendered) ? src.replace(f.rendered, () => f.body) : src;
}

function analyze(src: string): ShellFacts {
    const p = parseShell(codeOf(src));
    const arrays: Record<string, (string | undefined)[][]> = {};
    for (const c of p.commands) {
        for (const [name, values] of Object.entries(c.arrayValues)) {
            (arrays[name] ??= []).push(values);
        }
    }
    return {
        calls: p.commands.filter((c) => c.values.length > 0).map((c) => c.values),
        forItems: p.forItems,
        arrays,
        skeleton: p.skeleton,
    };
}

/** mvdan-sh's JS tree is slow to walk, so facts are cached by command text (baselines repeat a lot). */
const factsCache = new Map<string, ShellFacts>();
function factsOf(command: string): ShellFacts {
    let f = factsCache.get(command);
    if (f === undefined) {
        if (factsCache.size > 2000) {
            factsCache.clear();
        }
        f = analyze(command);
        factsCache.set(command, f);
    }
    return f;
}

/**
 * A command is a prelude of literal assignments followed by its fragment, unchanged: the values can't be
 * anywhere else. The prelude parses to assignments only, each of literal words (so each is a known value).
 */
function assertPreludeThenFragment(o: BuildspecOptions, commands: string[]): void {
    const names = Object.values(phaseFragments(o)).flat();
    assert.equal(commands.length, names.length);
    commands.forEach((c, i) => {
        const body = fragment(names[i]).rendered;
        assert.ok(c === body || c.endsWith(`\n${body}`), `command ${i} ends with ${names[i]}.sh, unchanged`);
        // The header (a comment naming the file), then the command's marker if it has one (its start time, for
        // metrics.sh): neither carries a value.
        const h = `${header(names[i])}\n`;
        assert.ok(c.startsWith(h), `command ${i} starts with its header`);
        const m = marker(names[i]);
        assert.ok(m === undefined || c.startsWith(`${h}${m}\n`), `command ${i}: its marker follows the header`);
        const preludeText = c.slice(h.length + (m === undefined ? 0 : m.length + 1), c.length - body.length);
        const p = parseShell(preludeText);
        assert.ok(
            p.commands.every((s) => s.words.length === 0 && s.assigns.length === 1),
            `command ${i}: the prelude holds assignments only`,
        );
        assert.deepEqual(
            Object.keys(p.known).sort(),
            p.commands.map((s) => s.assigns[0]).sort(),
            `command ${i}: every prelude value is literal words, assigned once`,
        );
    });
}

function commandsOf(o: BuildspecOptions): string[] {
    const p = buildspec(o).phases;
    return [...p.pre_build.commands, ...p.build.commands, ...p.post_build.commands];
}

/** The unique simple command that starts with `prefix`. */
function commandStartingWith(all: (string | undefined)[][], prefix: string[]): (string | undefined)[] {
    const found = all.filter((args) => prefix.every((p, i) => args[i] === p));
    assert.equal(found.length, 1, `exactly one '${prefix.join(" ")}' command, found ${found.length}`);
    return found[0];
}

function after(args: (string | undefined)[], flag: string): (string | undefined)[] {
    return args.flatMap((a, i) => (a === flag ? [args[i + 1]] : []));
}

/** What untrusted builds get: read the cache, produce no image, push nothing. */
const READ_ONLY_FLAGS = ["--output", "type=cacheonly"];

/** The trusted write flags, which alone name the image and push it. */
function expectedWriteFlags(o: BuildspecOptions): string[] {
    const image = `${o.repositoryUrl}:${o.imageTag}`;
    switch (o.cacheStrategy) {
        case "inline":
            return ["--cache-to", "type=inline", "--tag", image, "--push"];
        case "registry":
            // The cache is exported by the separate export command (expectedExportArgv).
            return [
                "--output",
                `type=image,name=${image},push=true,store=false,compression=gzip,force-compression=true`,
            ];
        case "pull":
            return ["--tag", image, "--push"];
    }
}

/** The build's argv up to its cache import, which the registry strategy's export shares. */
function expectedBaseArgv(o: BuildspecOptions): string[] {
    return [
        "docker",
        "buildx",
        "build",
        "--progress=plain",
        "--provenance=false",
        "--sbom=false",
        "--file",
        `${o.dockerfileDir.replace(/\/+$/, "")}/${o.dockerfileName}`,
        ...Object.entries(o.buildArgs).flatMap(([k, v]) => ["--build-arg", `${k}=${v}`]),
        ...(o.buildNetwork === undefined ? [] : [`--network=${o.buildNetwork}`]),
    ];
}

/** The registry strategy's cache export: the base argv, the cache import and export of the cache tag, no image, the context. */
function expectedExportArgv(o: BuildspecOptions): string[] {
    return [
        ...expectedBaseArgv(o),
        "--cache-from",
        `type=registry,ref=${o.repositoryUrl}:${o.cacheTag}`,
        "--cache-to",
        `type=registry,ref=${o.repositoryUrl}:${o.cacheTag},mode=max,image-manifest=true,oci-mediatypes=true,compression=gzip,force-compression=true`,
        "--output",
        "type=cacheonly",
        o.dockerfileDir,
    ];
}

/** Where each command sits in `commandsOf(o)` (the fragments' order, phaseFragments); -1 where there is none (`exportCache` with inline or pull). */
function commandIndex(o: BuildspecOptions) {
    const p = phaseFragments(o);
    const order: string[] = [...p.pre_build, ...p.build, ...p.post_build];
    const at = (name: string) => order.indexOf(name);
    return {
        trust: at("trust"),
        branch: at("branch"),
        retry: at("retry"),
        login: at("login"),
        probe: Math.max(at("probe"), at("pull")),
        key: at("key"),
        create: at("builder"),
        build: at("build"),
        report: at("report"),
        exportCache: at("export"),
        post: at("post_build"),
        metrics: at("metrics"),
    };
}

/**
 * Asserts that every user value sits, whole and alone, where it belongs.
 *
 * A command whose values all are plain words (`shellWord` leaves them unquoted: letters, digits,
 * `_@%+=:,./-`, none special to bash) is identical to its baseline and is only parsed when `full` is
 * set; every other command is parsed, compared structurally with its baseline, and its arguments checked.
 * (mvdan-sh's JS tree costs ~10 ms per command to walk, so this keeps 300 runs per property affordable.)
 */
function assertCarried(o: BuildspecOptions, full = false): void {
    const { commands } = generate(o);
    if (full) {
        assertPreludeThenFragment(o, commands);
    }
    const baseline = commandsOf(harmless(o));
    assert.equal(commands.length, baseline.length);
    const facts: (ShellFacts | undefined)[] = commands.map((c, i) => {
        if (!full && c === baseline[i]) {
            return undefined;
        }
        const f = factsOf(c);
        assert.equal(f.skeleton, factsOf(baseline[i]).skeleton, `command ${i}: the values add no shell structure`);
        return f;
    });
    const idx = commandIndex(o);
    assert.equal(commands.length, idx.metrics + 1, "the commands are where commandIndex says");
    assert.equal(commands[idx.report], baseline[idx.report], "the report command carries no value");
    const image = `${o.repositoryUrl}:${o.imageTag}`;
    const cache = o.cacheStrategy === "registry" ? `${o.repositoryUrl}:${o.cacheTag}` : image;

    const buildFacts = facts[idx.build];
    if (buildFacts) {
        const build = commandStartingWith(buildFacts.calls, ["docker", "buildx", "build"]);
        assert.deepEqual(after(build, "--file"), [`${o.dockerfileDir.replace(/\/+$/, "")}/${o.dockerfileName}`]);
        assert.deepEqual(after(build, "--tag"), [], "the image is named only in the trusted write flags");
        assert.deepEqual(after(build, "--output"), []);
        assert.deepEqual(
            after(build, "--build-arg"),
            Object.entries(o.buildArgs).map(([k, v]) => `${k}=${v}`),
        );
        assert.equal(build[build.length - 1], o.dockerfileDir, "the context is the last argument, one word");
        // The only non-literal arguments are "${WRITE_FLAGS[@]}" and "${key_tags[@]}" (skip unchanged builds: the
        // key tags key.sh computes at run time), just before the context.
        assert.deepEqual(
            build.flatMap((a, i) => (a === undefined ? [i] : [])),
            [build.length - 3, build.length - 2],
        );
        assert.deepEqual(
            buildFacts.arrays.WRITE_FLAGS,
            [READ_ONLY_FLAGS, expectedWriteFlags(o)],
            "WRITE_FLAGS=(--output type=cacheonly) then, when trusted, exactly the write flags",
        );
        // Each element is one literal word (undefined would mean an expansion): the image ref sits whole in one word.
        const [readOnly, write] = buildFacts.arrays.WRITE_FLAGS;
        assert.ok(
            !readOnly.some((w) => w === undefined || w === "--push" || w === "--tag" || w.includes("push=true")),
            "untrusted builds name and push nothing",
        );
        if (o.cacheStrategy === "registry") {
            assert.deepEqual(after(write, "--output"), [
                `type=image,name=${image},push=true,store=false,compression=gzip,force-compression=true`,
            ]);
            assert.deepEqual(after(write, "--tag"), []);
            assert.ok(!write.includes("--push"));
        } else {
            assert.deepEqual(after(write, "--tag"), [image]);
            assert.equal(write.at(-1), "--push");
            assert.deepEqual(after(write, "--output"), []);
        }
    }
    assert.ok(!o.dockerfileDir.startsWith("-"), "a context starting with '-' would be read by docker as an option");

    const exportFacts = idx.exportCache >= 0 ? facts[idx.exportCache] : undefined;
    if (exportFacts) {
        // Every argument one literal word (no expansion), equal to the expected value, but for the two that export.sh's
        // loop sets per cache (one per platform when two are emulated): the `--platform` word (none with one cache) and
        // the --cache-to value, whose ref is CACHE_REF (one prelude word) plus the platform's `-<arch>`. Layer 2 runs
        // it in bash and checks those two too.
        const expected: (string | undefined)[] = expectedExportArgv(o);
        expected.splice(expected.indexOf("--cache-from"), 0, undefined);
        expected[expected.indexOf("--cache-to") + 1] = undefined;
        assert.deepEqual(commandStartingWith(exportFacts.calls, ["docker", "buildx", "build"]), expected);
        assert.ok(
            commands[idx.exportCache].includes("type=cacheonly"),
            "the export command is where commandIndex says",
        );
        // The "already complete" message names the cache ref, as one literal word of one echo.
        const echoes = exportFacts.calls.filter(
            (c) => c[0] === "echo" && c.length === 2 && c[1]?.includes("already complete"),
        );
        assert.deepEqual(echoes, [
            ["echo", `layer cache: every step came from ${cache}, which is already complete: not exported again`],
        ]);
    }
    const postFacts = facts[idx.post];
    if (postFacts) {
        assert.ok(
            postFacts.calls.some(
                (c) =>
                    c[0] === "echo" &&
                    c.length === 2 &&
                    c[1] === `layer cache: the build pushed ${image} but then failed: the cache in ECR was not updated`,
            ),
            "the pushed-then-failed message names the image in one literal word",
        );
    }

    const loginFacts = facts[idx.login];
    if (loginFacts) {
        assert.deepEqual(commandStartingWith(loginFacts.calls, ["aws", "ecr"]), [
            "aws",
            "ecr",
            "get-login-password",
            "--region",
            o.region,
        ]);
        assert.deepEqual(commandStartingWith(loginFacts.calls, ["docker", "login"]), [
            "docker",
            "login",
            "--username",
            "AWS",
            "--password-stdin",
            o.repositoryUrl.slice(0, o.repositoryUrl.indexOf("/")),
        ]);
    }
    const trustFacts = facts[idx.trust];
    if (trustFacts) {
        assert.deepEqual(
            trustFacts.forItems.trusted_ref,
            [o.trustedRefs.map(fullRef)],
            "each trusted ref, as a full ref, is one for-loop word",
        );
    }
    // The probe (or pull) looks up the refs branch.sh lists at run time, one function argument each (not known statically): the layer-2 test
    // below checks, executed, that the configured ref reaches it whole.
    const probeFacts = facts[idx.probe];
    if (probeFacts && o.cacheStrategy === "pull") {
        assert.deepEqual(commandStartingWith(probeFacts.calls, ["docker", "pull"]), ["docker", "pull", undefined]);
    } else if (probeFacts) {
        assert.deepEqual(commandStartingWith(probeFacts.calls, ["docker", "buildx", "imagetools"]), [
            "docker",
            "buildx",
            "imagetools",
            "inspect",
            undefined,
        ]);
    }
    const createFacts = idx.create >= 0 ? facts[idx.create] : undefined;
    if (createFacts) {
        const create = commandStartingWith(createFacts.calls, ["docker", "buildx", "create"]);
        assert.deepEqual(after(create, "--name"), [BUILDER_NAME]);
        // The builder starts from the local name of the image builder.sh pulled, from each of its sources in turn.
        assert.deepEqual(after(create, "--driver-opt")[0], `image=${localBuilderImage(o.builderImage)}`);
        assert.deepEqual(
            createFacts.forItems.source,
            [
                builderImageSources(
                    o.builderImage,
                    o.builderImageMirrors ?? [],
                    o.repositoryUrl.slice(0, o.repositoryUrl.indexOf("/")),
                    o.upstreamCaches ?? [],
                ),
            ],
            "each source of the builder image is one for-loop word",
        );
    }
}

function assertRejected(result: ResolvedArgs | ConfigError, key: string | RegExp): void {
    assert.ok(result instanceof ConfigError, `expected a ConfigError for ${String(key)}`);
    if (typeof key === "string") {
        assert.equal(result.key, key);
    } else {
        assert.match(result.key, key);
    }
    assert.ok(result.message.includes(`'${result.key}'`), "the message names the key");
}

/** Runs a property over values that validation may accept or refuse; checks both outcomes and that enough were accepted. */
function acceptedOrRejected<T>(
    arb: fc.Arbitrary<T>,
    toArgs: (v: T) => CachedDockerBuildArgs,
    key: string | RegExp,
    minAcceptedShare: number,
): void {
    let accepted = 0;
    fc.assert(
        fc.property(arb, fc.constantFrom("inline", "registry", "pull" as const), (v, strategy) => {
            const r = resolve({ ...toArgs(v), cacheStrategy: strategy });
            if (r instanceof ConfigError) {
                assertRejected(r, key);
                return;
            }
            accepted++;
            assertCarried(optionsOf(r));
        }),
        { numRuns: PARSE_RUNS },
    );
    assert.ok(
        accepted >= minAcceptedShare * PARSE_RUNS,
        `only ${accepted} of ${PARSE_RUNS} generated values were accepted; the property is too weak`,
    );
}

describe("security: user values reach the buildspec as one YAML scalar and one shell word (#4)", function () {
    // key.sh (skip unchanged builds) carries BUILD_FLAGS too: one more command to parse per run. Each property takes
    // 10-40 s alone here and has run past 120 s while e2e builds loaded both cores: the bound is a hang guard only.
    this.timeout(300000);

    it("dockerfileDir and dockerfileName: accepted values are the context and the --file argument, exactly", () => {
        acceptedOrRejected(
            fc.tuple(nasty(), fc.constantFrom("", "", "/", "//"), nasty()),
            ([d, slash, n]) => ({ dockerfileDir: d + slash, dockerfileName: n }),
            /^dockerfile(Dir|Name)$/,
            1 / 3,
        );
    });

    it("imageTag and cacheTag: tags within Docker's grammar are plain words, carried exactly; anything else is refused", () => {
        const tag = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}$/);
        let run = 0;
        fc.assert(
            fc.property(
                tag,
                tag,
                fc.constantFrom("inline", "registry", "pull" as const),
                (imageTag, cacheTag, strategy) => {
                    const r = resolve({ imageTag, cacheTag, cacheStrategy: strategy });
                    if (imageTag === cacheTag) {
                        return assertRejected(r, "cacheTag");
                    }
                    assert.ok(!(r instanceof ConfigError), r instanceof ConfigError ? r.message : "");
                    assert.ok(
                        shellWord(imageTag) === imageTag && shellWord(cacheTag) === cacheTag,
                        "a valid tag never needs quoting",
                    );
                    // Parsing every command is costly; the first runs parse all of them, the rest check YAML and text.
                    assertCarried(optionsOf(r), run++ < 20);
                },
            ),
            { numRuns: RUNS },
        );
        fc.assert(
            fc.property(nasty(CONTROL), fc.constantFrom("imageTag", "cacheTag" as const), (v, key) => {
                fc.pre(!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(v));
                assertRejected(resolve({ [key]: v }), key);
            }),
            { numRuns: RUNS },
        );
    });

    it("buildArgs: each value is one --build-arg NAME=value word, whatever it holds", () => {
        acceptedOrRejected(
            fc.dictionary(buildArgName, nasty(["\n", "\t", "\n\n", " \n "]), { minKeys: 1, maxKeys: 3 }),
            (buildArgs) => ({ buildArgs }),
            /^buildArgs\./,
            0.9,
        );
    });

    it("trustedRefs and sourceVersion: accepted refs are the for-loop words, exactly; the own ref adds no structure", () => {
        acceptedOrRejected(
            fc.tuple(fc.array(gitRefLike, { minLength: 1, maxLength: 3 }), gitRefLike),
            ([trustedRefs, sourceVersion]) => ({ trustedRefs, sourceVersion }),
            /^(trustedRefs|sourceVersion)$/,
            1 / 3,
        );
    });

    it("repositoryUrl path, region and builderImage (not user-validated here) are still one word each", () => {
        fc.assert(
            fc.property(
                nasty(CONTROL),
                nasty(CONTROL),
                nasty(CONTROL),
                fc.constantFrom("inline", "registry", "pull" as const),
                (repoPath, region, builderImage, strategy) => {
                    // These come from AWS or from validated config; quoting must not depend on that.
                    const a = resolveArgs("docker-cache", "dev", { cacheStrategy: strategy });
                    assertCarried(optionsOf(a, { repositoryUrl: `${REGISTRY}/${repoPath}`, region, builderImage }));
                },
            ),
            { numRuns: PARSE_RUNS / 2 },
        );
    });

    describe("values that can't be made safe are refused with a ConfigError naming the key", () => {
        it("control characters, NUL and line breaks in paths and refs", () => {
            fc.assert(
                fc.property(
                    withControl,
                    fc.constantFrom("dockerfileDir", "dockerfileName", "sourceVersion", "trustedRefs" as const),
                    (v, key) => {
                        const args: CachedDockerBuildArgs =
                            key === "trustedRefs" ? { trustedRefs: ["main", v] } : { [key]: v };
                        assertRejected(resolve(args), key);
                    },
                ),
                { numRuns: RUNS },
            );
        });

        it("NUL, C1 controls, Unicode line separators and BOM in build-arg values", () => {
            fc.assert(
                fc.property(
                    nasty(),
                    fc.constantFrom("\0", "\x85", "\u2028", "\u2029", "\x9b", "\ufeff"),
                    nasty(),
                    (a, c, b) => {
                        assertRejected(resolve({ buildArgs: { OK: "fine", BAD: a + c + b } }), "buildArgs.BAD");
                    },
                ),
                { numRuns: RUNS },
            );
        });

        it("build-arg names outside [A-Za-z_][A-Za-z0-9_]*", () => {
            fc.assert(
                fc.property(nasty(CONTROL), (name) => {
                    fc.pre(!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && name !== "__proto__");
                    assertRejected(resolve({ buildArgs: { [name]: "v" } }), `buildArgs.${name}`);
                }),
                { numRuns: RUNS },
            );
        });

        it("builderImage with anything but an image reference", () => {
            fc.assert(
                fc.property(nasty(CONTROL), (v) => {
                    fc.pre(/[^a-z0-9._\-/:@]/.test(v));
                    assertRejected(resolve({ builderImage: v }), "builderImage");
                }),
                { numRuns: RUNS },
            );
        });

        it("a dockerfileDir that docker would read as an option", () => {
            for (const d of ["-", "--push", "--output=type=local,dest=/tmp/x", "-f/etc/passwd"]) {
                assertRejected(resolve({ dockerfileDir: d }), "dockerfileDir");
            }
        });
    });
});

// ---------- layer 2: execute in real bash ----------

describe("security: adversarial values executed in real bash give exactly the expected argv (#4)", function () {
    this.timeout(60000);

    it("trust decision + login + probe + build + report + export + post-build, trusted and untrusted refs", () => {
        let trustedRuns = 0;
        fc.assert(
            fc.property(
                nasty(),
                nasty(),
                fc.dictionary(buildArgName, nasty(["\n", "\t", "\r", "\x1b"]), { maxKeys: 3 }),
                fc.array(nasty(), { minLength: 1, maxLength: 3 }),
                fc.constantFrom("inline", "registry" as const),
                fc.boolean(),
                (dockerfileDir, dockerfileName, buildArgs, trustedRefs, cacheStrategy, buildTrusted) => {
                    // The trusted ref built is the project's own (the default branch): its tags are the configured ones
                    // (other trusted refs get tags of their own: tests/components/branchCache.test.ts).
                    const r = resolve({
                        dockerfileDir,
                        dockerfileName,
                        buildArgs,
                        trustedRefs,
                        sourceVersion: trustedRefs[0],
                        cacheStrategy,
                    });
                    fc.pre(!(r instanceof ConfigError));
                    const a = r;
                    const o = optionsOf(a);
                    const { commands } = generate(o);
                    const spec = YAML.parse(buildspecYaml(o));
                    const ref = buildTrusted ? a.trustedRefs[0] : `${a.trustedRefs[0]}-not`;
                    fc.pre(buildTrusted || !a.trustedRefs.includes(ref));
                    // Every command, as CodeBuild runs them (the build succeeds; the report finds no step, so the export runs).
                    const run = runPhases(spec.phases, {
                        // No build log is written (tee drops its input): the report finds no step, so the export runs.
                        stubs: { dropTee: true },
                        env: {
                            CODEBUILD_WEBHOOK_TRIGGER: `branch/${ref}`,
                            CODEBUILD_WEBHOOK_HEAD_REF: `refs/heads/${ref}`,
                            CODEBUILD_SOURCE_VERSION: "0123456789abcdef0123456789abcdef01234567",
                            // A build log path of its own, which holds nothing (tee is stubbed): no stale log is read.
                            CODEBUILD_BUILD_ID: `injection:${process.pid}-${Math.random().toString(36).slice(2)}`,
                        },
                    });
                    assert.equal(run.failed, undefined, `a command failed: ${run.stderr}`);
                    assert.deepEqual(run.succeeded, ["pre_build", "build", "post_build"]);
                    assert.ok(commands.length > 0);
                    if (buildTrusted) {
                        trustedRuns++;
                    }

                    const image = `${URL}:${a.imageTag}`;
                    const cache = cacheStrategy === "registry" ? `${URL}:${a.cacheTag}` : image;
                    const builds = run.calls.filter((c) => c[0] === "docker" && c[1] === "buildx" && c[2] === "build");
                    // The export is the only call with both a cache export and no image (inline's trusted build has --cache-to type=inline and --push).
                    const isExport = (c: string[]) => c.includes("--cache-to") && c.includes("type=cacheonly");
                    const exports = builds.filter(isExport);
                    const mains = builds.filter((c) => !isExport(c));
                    assert.equal(mains.length, 1, `one build call: ${JSON.stringify(run.calls)}`);
                    assert.deepEqual(mains[0], [
                        ...expectedBaseArgv(o),
                        "--cache-from",
                        `type=registry,ref=${cache}`,
                        ...(buildTrusted ? expectedWriteFlags(o) : READ_ONLY_FLAGS),
                        a.dockerfileDir,
                    ]);
                    // The registry strategy's trusted builds export the cache in one more call, exactly; nothing else does.
                    if (cacheStrategy === "registry" && buildTrusted) {
                        assert.deepEqual(exports, [expectedExportArgv(o)]);
                        assert.equal(
                            exports[0][exports[0].indexOf("--cache-to") + 1],
                            `type=registry,ref=${cache},mode=max,image-manifest=true,oci-mediatypes=true,compression=gzip,force-compression=true`,
                            "the cache ref reaches docker whole, in one argument",
                        );
                        assert.ok(
                            !exports[0].some((w) => w === "--push" || w === "--tag" || w.includes("push=true")),
                            "the export pushes no image",
                        );
                        assert.match(
                            run.stdout,
                            new RegExp(`layer cache: pushed .*; the layer cache in .* is up to date`),
                        );
                    } else {
                        assert.deepEqual(exports, [], "no cache export");
                    }
                    if (cacheStrategy === "registry" && !buildTrusted) {
                        assert.match(run.stdout, /layer cache: untrusted ref: the cache is not exported/);
                    }
                    if (buildTrusted) {
                        const imageFlags =
                            cacheStrategy === "registry"
                                ? [
                                      "--output",
                                      `type=image,name=${image},push=true,store=false,compression=gzip,force-compression=true`,
                                  ]
                                : ["--tag", image];
                        assert.equal(mains[0].filter((w) => w === imageFlags[0]).length, 1);
                        assert.equal(
                            mains[0][mains[0].indexOf(imageFlags[0]) + 1],
                            imageFlags[1],
                            "the image ref reaches docker whole, in one argument",
                        );
                    } else {
                        assert.ok(
                            !mains[0].some(
                                (w) => w === "--push" || w === "--tag" || w === "--cache-to" || w.includes("push=true"),
                            ),
                            "an untrusted build pushes nothing",
                        );
                    }
                    const others = run.calls
                        .filter((c) => !builds.includes(c))
                        .map((c) => c.slice(0, 3).join(" "))
                        .sort();
                    const expectedOthers = [
                        "aws ecr get-login-password",
                        "docker buildx imagetools",
                        "docker login --username",
                    ];
                    if (cacheStrategy === "registry") {
                        // The default builder image is pinned: the host is asked for it first (the stub says it has it).
                        expectedOthers.push("docker image inspect", "docker buildx create");
                    }
                    assert.deepEqual(others, expectedOthers.sort(), "no other command ran");
                    assert.deepEqual(
                        run.calls.find((c) => c[2] === "imagetools"),
                        ["docker", "buildx", "imagetools", "inspect", cache],
                    );
                },
            ),
            { numRuns: EXEC_RUNS },
        );
        assert.ok(trustedRuns >= EXEC_RUNS / 5, `only ${trustedRuns} trusted runs`);
    });
});
