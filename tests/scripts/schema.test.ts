/**
 * Issue 13: the package schema that `pulumi package add` consumers get, generated in-process from the TypeScript
 * (no Pulumi CLI), checked against the TypeScript it comes from and against the committed snapshot `schema.json`.
 *
 * Real: the SDK's schema inference (`@pulumi/pulumi/provider/experimental`, the code the plugin runs), the
 * TypeScript compiler's own reading of the JSDoc, and the provider's `construct`. Mocked: the Pulumi engine and
 * AWS, in the construct test (`scripts/mockRuntime.ts`), as in every unit test.
 */
import { strict as assert } from "node:assert";
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { ComponentProvider } from "@pulumi/pulumi/provider/experimental";
import ts from "typescript";
import { parse as parseYaml } from "yaml";
import * as argsModule from "../../components/args";
import { CachedDockerBuildArgs, SECRET_ARGS } from "../../components/args";
import { DEFAULTS } from "../../components/resolveArgs";
import { TYPE_TOKEN } from "../../components/cachedDockerBuild";
import { PACKAGE_NAME } from "../../components/packageName";
import { CachedDockerBuildProvider, PackageSchema, SchemaProperty } from "../../components/provider";
import { formatSchema, ROOT, SCHEMA_FILE } from "../../scripts/schemaSnapshot";
import { findResource, installMocks, isWireSecret, registrations, settle, valueOf } from "../../scripts/mockRuntime";

/**
 * Each argument's type in the schema, in the notation of {@link notation}: a primitive, `enum <Name>`, `array of
 * …`, `map of …`; `(Input)` where the argument takes a `pulumi.Input` (not plain), `secret` where it is one.
 * Keyed by every argument, so that an argument added to the interface without a line here doesn't compile.
 */
const EXPECTED_TYPES: Record<keyof CachedDockerBuildArgs, string> = {
    repositoryName: "string",
    projectName: "string",
    imageTag: "string",
    cacheTag: "string",
    cacheStrategy: "enum CacheStrategy",
    registryBuilder: "enum RegistryBuilder",
    onCacheImportFailure: "enum CacheImportFailure",
    layerCompression: "enum LayerCompression",
    builderImage: "string",
    builderImageMirrors: "array of string",
    pullThroughCache: "enum PullThroughMode",
    pullThroughUpstreams: "array of enum PullThroughUpstream",
    ecrPublicCachePrefix: "string",
    dockerHubCachePrefix: "string",
    dockerHubCredentialArn: "string",
    dockerHubUsername: "string",
    dockerHubAccessToken: "string (Input) secret",
    untaggedExpiryDays: "number",
    maxTaggedImages: "number",
    encryptionType: "enum EncryptionType",
    kmsKeyArn: "string (Input)",
    imageTagMutability: "enum TagMutability",
    forceDelete: "boolean",
    protect: "boolean",
    sourceUrl: "string",
    sourceVersion: "string",
    dockerfileDir: "string",
    dockerfileName: "string",
    buildArgs: "map of string",
    trustedRefs: "array of string",
    buildImage: "string",
    computeType: "enum ComputeType",
    buildTimeoutMinutes: "number",
    localCache: "boolean",
    logRetentionDays: "number",
    githubToken: "string (Input) secret",
    buildNetwork: "enum BuildNetwork",
    tags: "map of string (Input)",
    monitoring: "boolean",
    alarmTopicArn: "string (Input)",
    alarmEmails: "array of string",
    hitRatioThreshold: "number",
    hitRatioBuilds: "number",
    failedBuildsThreshold: "number",
    durationAlarmMinutes: "number",
    dockerServerComputeType: "enum DockerServerComputeType",
    skipUnchanged: "boolean",
    contextDir: "string",
    target: "string",
    platforms: "array of enum Platform",
    platformMode: "enum PlatformMode",
    armBuildImage: "string",
    sourceProvider: "enum SourceProvider",
    connectionArn: "string",
    createConnection: "boolean",
    connectionName: "string",
    webhookPushes: "boolean",
    webhookPullRequests: "boolean",
    webhookTags: "array of string",
    webhookFilePaths: "array of string",
    webhookManualCreation: "boolean",
    pullRequestCommentApproval: "enum PullRequestCommentApproval",
    pullRequestApproverRoles: "array of enum PullRequestApproverRole",
    scheduleExpression: "string",
    scheduleTimezone: "string",
    branchCacheExpiryDays: "number",
};

const TYPE_PREFIX = `#/types/${PACKAGE_NAME}:index:`;

/** A schema property's type in the notation of {@link EXPECTED_TYPES}. */
function notation(p: SchemaProperty): string {
    let t: string;
    if (p.$ref !== undefined) {
        assert.ok(p.$ref.startsWith(TYPE_PREFIX), `a reference to this package's types: ${p.$ref}`);
        t = `enum ${p.$ref.slice(TYPE_PREFIX.length)}`;
    } else if (p.type === "array") {
        t = `array of ${notation(p.items as SchemaProperty).replace(/ \(Input\)$/, "")}`;
    } else if (p.type === "object" && p.additionalProperties !== undefined) {
        t = `map of ${notation(p.additionalProperties as SchemaProperty).replace(/ \(Input\)$/, "")}`;
    } else {
        t = String(p.type);
    }
    return `${t}${p.plain === true ? "" : " (Input)"}${p.secret === true ? " secret" : ""}`;
}

/** What TypeScript itself says about the declarations the schema comes from. */
interface Declared {
    /** JSDoc text (without tags) of each argument. */
    readonly argDocs: Map<string, string>;
    /** JSDoc `@default` text of each argument that has one. */
    readonly argDefaults: Map<string, string>;
    /** The `Output` fields of the component class, with their JSDoc text. */
    readonly outputDocs: Map<string, string>;
}

function readDeclarations(): Declared {
    const program = ts.createProgram([path.join(ROOT, "components", "cachedDockerBuild.ts")], {
        strict: true,
        module: ts.ModuleKind.Node16,
        moduleResolution: ts.ModuleResolutionKind.Node16,
        skipLibCheck: true,
    });
    const checker = program.getTypeChecker();
    const doc = (symbol: ts.Symbol) => ts.displayPartsToString(symbol.getDocumentationComment(checker));
    const argDocs = new Map<string, string>();
    const argDefaults = new Map<string, string>();
    const outputDocs = new Map<string, string>();
    for (const file of ["args.ts", "cachedDockerBuild.ts"]) {
        const source = program.getSourceFile(path.join(ROOT, "components", file));
        assert.ok(source, file);
        source.forEachChild((node) => {
            if (ts.isInterfaceDeclaration(node) && node.name.text === "CachedDockerBuildArgs") {
                for (const symbol of checker.getTypeAtLocation(node).getProperties()) {
                    argDocs.set(symbol.name, doc(symbol));
                    const tag = symbol.getJsDocTags(checker).find((t) => t.name === "default");
                    if (tag !== undefined) {
                        argDefaults.set(symbol.name, ts.displayPartsToString(tag.text).trim());
                    }
                }
            }
            if (ts.isClassDeclaration(node) && node.name?.text === "CachedDockerBuild") {
                for (const member of node.members) {
                    if (ts.isPropertyDeclaration(member) && member.type !== undefined) {
                        const type = member.type.getText(source);
                        assert.match(type, /^pulumi\.Output</, `every field of the class is an output: ${type}`);
                        const symbol = checker.getSymbolAtLocation(member.name);
                        assert.ok(symbol);
                        outputDocs.set(symbol.name, doc(symbol));
                    }
                }
            }
        });
    }
    return { argDocs, argDefaults, outputDocs };
}

describe("package schema (issue 13)", function () {
    // The inference builds a TypeScript program of the whole repository: about 10 s on this machine.
    this.timeout(120_000);

    // One provider for the whole file: it infers the schema once, and `construct` uses it too.
    const provider = new CachedDockerBuildProvider(ROOT);
    let schema: PackageSchema;
    let declared: Declared;
    let inputs: Record<string, SchemaProperty>;
    let outputs: Record<string, SchemaProperty>;

    before(async () => {
        schema = JSON.parse(await provider.getSchema()) as PackageSchema;
        declared = readDeclarations();
        inputs = schema.resources[TYPE_TOKEN].inputProperties;
        outputs = schema.resources[TYPE_TOKEN].properties;
    });

    it("schema.json is the schema the code generates (run `npm run schema` and review the diff if not)", async () => {
        const committed = fs.readFileSync(SCHEMA_FILE, "utf8");
        const now = await formatSchema(schema);
        assert.ok(committed === now, "schema.json is stale: run `npm run schema` and review `git diff schema.json`");
    });

    it("is the package ecr-layer-cache with one component, CachedDockerBuild, in the index module", () => {
        assert.equal(PACKAGE_NAME, "ecr-layer-cache");
        assert.equal(schema.name, PACKAGE_NAME);
        assert.equal(TYPE_TOKEN, "ecr-layer-cache:index:CachedDockerBuild");
        assert.deepEqual(Object.keys(schema.resources), [TYPE_TOKEN]);
        assert.equal((schema.resources[TYPE_TOKEN] as unknown as { isComponent: boolean }).isComponent, true);
        // What `construct` checks of every registration a consumer makes.
        assert.doesNotThrow(() => ComponentProvider.validateResourceType(PACKAGE_NAME, TYPE_TOKEN));
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
        assert.equal(schema.version, pkg.version, "the schema's version is package.json's, which a release tag names");
    });

    it("every argument is an input, with its type (enums as named types), and none is required", () => {
        assert.deepEqual(Object.keys(inputs).sort(), Object.keys(EXPECTED_TYPES).sort());
        assert.deepEqual([...declared.argDocs.keys()].sort(), Object.keys(EXPECTED_TYPES).sort());
        for (const [key, expected] of Object.entries(EXPECTED_TYPES)) {
            assert.equal(notation(inputs[key]), expected, key);
        }
        assert.deepEqual((schema.resources[TYPE_TOKEN] as unknown as { requiredInputs: string[] }).requiredInputs, []);
    });

    it("each enum has the values the TypeScript accepts (and validates), with the TypeScript keys as names", () => {
        const enumNames = Object.values(EXPECTED_TYPES).flatMap((t) => /enum (\w+)/.exec(t)?.[1] ?? []);
        assert.deepEqual(
            Object.keys(schema.types).sort(),
            [...new Set(enumNames)].map((n) => `${PACKAGE_NAME}:index:${n}`).sort(),
        );
        const lists: Record<string, readonly unknown[]> = {
            CacheStrategy: argsModule.CACHE_STRATEGIES,
            RegistryBuilder: argsModule.REGISTRY_BUILDERS,
            CacheImportFailure: argsModule.CACHE_IMPORT_FAILURES,
            LayerCompression: argsModule.LAYER_COMPRESSIONS,
            PullThroughMode: argsModule.PULL_THROUGH_MODES,
            PullThroughUpstream: argsModule.PULL_THROUGH_UPSTREAMS,
            EncryptionType: argsModule.ENCRYPTION_TYPES,
            TagMutability: argsModule.TAG_MUTABILITIES,
            ComputeType: argsModule.COMPUTE_TYPES,
            BuildNetwork: argsModule.BUILD_NETWORKS,
            SourceProvider: argsModule.SOURCE_PROVIDERS,
            Platform: argsModule.PLATFORMS,
            PlatformMode: argsModule.PLATFORM_MODES,
            DockerServerComputeType: argsModule.DOCKER_SERVER_COMPUTE_TYPES,
            PullRequestCommentApproval: argsModule.PULL_REQUEST_COMMENT_APPROVALS,
            PullRequestApproverRole: argsModule.PULL_REQUEST_APPROVER_ROLES,
        };
        for (const name of new Set(enumNames)) {
            const type = schema.types[`${PACKAGE_NAME}:index:${name}`];
            const object = (argsModule as unknown as Record<string, Record<string, string>>)[name];
            assert.equal(type.type, "string", name);
            assert.deepEqual(
                type.enum?.map((m) => [m.name, m.value]),
                Object.entries(object),
                `${name}: the members of the TypeScript object`,
            );
            assert.deepEqual(
                type.enum?.map((m) => m.value),
                [...lists[name]],
                `${name}: the values resolveArgs accepts`,
            );
        }
    });

    it("every input's description is its JSDoc text followed by its @default", () => {
        for (const key of Object.keys(EXPECTED_TYPES)) {
            const text = declared.argDocs.get(key);
            const dflt = declared.argDefaults.get(key);
            assert.ok(text, `${key} has a JSDoc text`);
            assert.ok(dflt, `${key} has a @default`);
            const shown = dflt.replace(/^undefined\b/, "unset");
            assert.equal(inputs[key].description, `${text}\n\nDefault: ${shown}.`, key);
            assert.doesNotMatch(inputs[key].description, /\[object Object\]|\{@link/, key);
        }
    });

    it("carries each constant scalar default, equal to DEFAULTS and to the JSDoc @default", () => {
        const scalar = (v: unknown) => ["string", "number", "boolean"].includes(typeof v);
        for (const [key, value] of Object.entries(DEFAULTS)) {
            // The JSDoc states the same default as the code, for lists and maps too.
            assert.deepEqual(JSON.parse(declared.argDefaults.get(key)!), value, `@default of ${key}`);
            assert.equal(inputs[key].default, scalar(value) ? value : undefined, key);
        }
        const withDefault = Object.keys(inputs).filter((k) => inputs[k].default !== undefined);
        assert.deepEqual(
            withDefault.sort(),
            Object.keys(DEFAULTS)
                .filter((k) => scalar(DEFAULTS[k as keyof typeof DEFAULTS]))
                .sort(),
        );
        assert.ok(withDefault.length >= 20, `most inputs carry their default (${withDefault.length})`);
    });

    it("marks exactly the secret arguments secret", () => {
        const secret = Object.keys(inputs).filter((k) => inputs[k].secret === true);
        assert.deepEqual(secret.sort(), [...SECRET_ARGS].sort());
        assert.deepEqual(
            Object.keys(outputs).filter((k) => outputs[k].secret === true),
            [],
        );
    });

    it("every Output field of the class is an output, required unless it can be undefined, with its JSDoc as description", () => {
        assert.deepEqual(Object.keys(outputs).sort(), [...declared.outputDocs.keys()].sort());
        // Undefined when monitoring is off, or without a connection, webhook or schedule: `Output<string | undefined>`,
        // which the schema marks optional.
        const optional = [
            "alarmTopicArn",
            "dashboardName",
            ...["connectionArn", "connectionStatus", "connectionHandshakeUrl"],
            ...["webhookPayloadUrl", "webhookSecret", "scheduleName"],
            // Without webhookPullRequests (issue 22).
            ...[
                "pullRequestProjectName",
                "pullRequestRoleArn",
                "pullRequestWebhookPayloadUrl",
                "pullRequestWebhookSecret",
            ],
        ];
        assert.deepEqual(
            (schema.resources[TYPE_TOKEN] as unknown as { required: string[] }).required,
            [...declared.outputDocs.keys()].filter((k) => !optional.includes(k)).sort(),
        );
        for (const key of optional) {
            assert.equal((outputs[key] as { optional?: boolean }).optional, true, key);
        }
        for (const [key, text] of declared.outputDocs) {
            assert.ok(text.length > 0, `${key} has a JSDoc text`);
            assert.equal(outputs[key].description, text, key);
        }
        assert.equal(outputs.upstreamCacheUrls.type, "object");
        assert.deepEqual(outputs.upstreamCacheUrls.additionalProperties, { type: "string" });
    });

    describe("construct: what a consumer in another language gets", () => {
        const TOKEN = "ghp_PackageSecret0123456789abcdefABCDEF00";

        before(() => installMocks({ stack: "dev" }));

        it("takes the inputs as the engine sends them, keeps the secret secret, returns every output", async () => {
            // Inputs as the provider's server passes them (`deserializeInputs` in @pulumi/pulumi/provider/server.js):
            // plain values as they are, a secret as a secret Output. Enum values are plain strings, as in YAML.
            const result = await provider.construct(
                "pkg",
                TYPE_TOKEN,
                {
                    cacheStrategy: "registry",
                    computeType: "BUILD_GENERAL1_LARGE",
                    pullThroughUpstreams: ["ecr-public"],
                    buildArgs: { NODE_ENV: "production" },
                    untaggedExpiryDays: 3,
                    githubToken: pulumi.secret(TOKEN),
                },
                {},
            );
            await settle();
            assert.deepEqual(Object.keys(result.state).sort(), Object.keys(outputs).sort());
            for (const [key, value] of Object.entries(result.state)) {
                const v = await valueOf(value as pulumi.Input<unknown>);
                // Without a connection, a webhook (pull requests' included) or a schedule, their outputs are undefined;
                // every other one is set.
                const unused = /^(connection|webhook|schedule|pullRequest)/.test(key);
                assert.equal(v === undefined, unused, `output ${key} resolves${unused ? " to undefined" : ""}`);
                assert.ok(!JSON.stringify(v ?? null).includes(TOKEN), `output ${key} holds no part of the token`);
            }
            assert.equal(
                await valueOf(result.state.cacheRef as pulumi.Output<string>),
                `${await valueOf(result.state.repositoryUrl as pulumi.Output<string>)}:buildcache`,
            );
            const tokenValue = findResource("aws:secretsmanager/secretVersion:SecretVersion");
            assert.ok(isWireSecret(tokenValue.wire.secretString), "the token reaches the secret's value as a secret");
            const component = findResource(TYPE_TOKEN, "pkg");
            assert.deepEqual(component.inputs, {}, "the component records no inputs of its own, so no token");
            assert.equal(
                findResource("aws:codebuild/project:Project").inputs.environment.computeType,
                "BUILD_GENERAL1_LARGE",
            );
            assert.ok(registrations.length > 5);
        });

        it("a bad value from another language is refused with the key, the value and what is allowed", async () => {
            await assert.rejects(provider.construct("bad", TYPE_TOKEN, { cacheStrategy: "fast" }, {}), {
                message: "Invalid value for 'cacheStrategy': \"fast\". Allowed: inline, registry, pull.",
            });
        });
    });
});

describe("the package as the Pulumi CLI runs it (issue 13)", function () {
    // ts-node type-checks plugin.ts and what it imports (about 20 s here), then the schema is inferred (about 10 s).
    this.timeout(180_000);
    let plugin: ChildProcess | undefined;

    after(() => {
        if (plugin?.pid !== undefined && plugin.exitCode === null) {
            process.kill(plugin.pid);
        }
    });

    it("serves, over gRPC, exactly schema.json", async () => {
        // What the Node.js language host runs for a PulumiPlugin.yaml with runtime nodejs: @pulumi/pulumi's run-plugin
        // on the package's folder, which requires package.json's main (plugin.ts) under ts-node and prints the port.
        plugin = spawn(
            process.execPath,
            [path.join(ROOT, "node_modules", "@pulumi", "pulumi", "cmd", "run-plugin"), "."],
            {
                cwd: ROOT,
                stdio: ["ignore", "pipe", "pipe"],
            },
        );
        let stderr = "";
        plugin.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
        const port = await new Promise<number>((resolve, reject) => {
            plugin!.stdout!.once("data", (d: Buffer) => resolve(Number(d.toString().trim())));
            plugin!.once("exit", (code) => reject(new Error(`the plugin exited (${code}): ${stderr}`)));
        });
        assert.ok(port > 0, `the plugin prints its port, got ${port}`);
        // The engine's side of the conversation: @pulumi/pulumi's own gRPC client for the provider protocol.
        /* eslint-disable @typescript-eslint/no-require-imports */
        const grpc = require("@grpc/grpc-js") as typeof import("@grpc/grpc-js");
        const rpc =
            require("@pulumi/pulumi/proto/provider_grpc_pb") as typeof import("@pulumi/pulumi/proto/provider_grpc_pb");
        const pb = require("@pulumi/pulumi/proto/provider_pb") as typeof import("@pulumi/pulumi/proto/provider_pb");
        /* eslint-enable @typescript-eslint/no-require-imports */
        const client = new rpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
        try {
            const served = await new Promise<string>((resolve, reject) =>
                client.getSchema(new pb.GetSchemaRequest(), (err, res) =>
                    err ? reject(err) : resolve(res.getSchema()),
                ),
            );
            assert.deepEqual(JSON.parse(served), JSON.parse(fs.readFileSync(SCHEMA_FILE, "utf8")));
        } finally {
            client.close();
        }
    });
});

describe("package layout (issue 13)", () => {
    it("PulumiPlugin.yaml runs package.json's main, plugin.ts; Pulumi.yaml runs the program, index.ts", () => {
        const plugin = parseYaml(fs.readFileSync(path.join(ROOT, "PulumiPlugin.yaml"), "utf8"));
        assert.deepEqual(plugin, { runtime: "nodejs" });
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
        assert.equal(pkg.main, "plugin.ts");
        assert.match(
            fs.readFileSync(path.join(ROOT, "plugin.ts"), "utf8"),
            /new CachedDockerBuildProvider\(__dirname\)/,
        );
        const project = parseYaml(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
        assert.equal(project.main, "index.ts");
    });

    it("pins @pulumi/pulumi to the installed version, whose experimental inference the schema relies on", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
        const installed = JSON.parse(
            fs.readFileSync(path.join(ROOT, "node_modules", "@pulumi", "pulumi", "package.json"), "utf8"),
        );
        assert.equal(pkg.dependencies["@pulumi/pulumi"], installed.version);
    });
});
