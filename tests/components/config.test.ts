/**
 * Config mapping (`config.ts`) and the stack-config loader of the mock runtime: unknown keys are reported with
 * the nearest known key (issue 26), values that don't parse are reported and left unset, `buildArgs` entries are
 * parsed, an empty string means "use the default", values arrive encoded the way the CLI passes them, and
 * the defaults declared in `Pulumi.yaml` are the component's.
 */
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import {
    argsFromConfig,
    CachedDockerBuildArgs,
    CONFIG_KEYS,
    ConfigError,
    ConfigProblem,
    DEFAULTS,
    resolveArgs,
    unknownConfigKeys,
} from "../../components";
import { nearestKeys } from "../../components/config";
import { encodeConfigValue, installMocks, readProjectFile, readStackConfig, ROOT } from "../../scripts/mockRuntime";

const P = "ecr-layer-cache";

/** A `pulumi.Config` of this project over exactly `values` (short keys). */
function configOf(values: Record<string, string>, secretKeys: string[] = []): pulumi.Config {
    const full: Record<string, string> = {};
    for (const [k, v] of Object.entries(values)) {
        full[`${P}:${k}`] = v;
    }
    pulumi.runtime.setAllConfig(
        full,
        secretKeys.map((k) => `${P}:${k}`),
    );
    return new pulumi.Config(P);
}

/** The arguments read from `values`; fails if any value didn't parse. */
function argsOf(values: Record<string, string>): CachedDockerBuildArgs {
    const { args, problems } = argsFromConfig(configOf(values));
    assert.deepEqual(problems, []);
    return args;
}

/** The problems reading `values` reports. */
function problemsOf(values: Record<string, string>): ConfigProblem[] {
    return argsFromConfig(configOf(values)).problems;
}

describe("config mapping", () => {
    before(() => {
        installMocks({ project: P, stack: "dev" });
    });
    after(() => pulumi.runtime.setAllConfig({}, []));

    describe("unknownConfigKeys", () => {
        const WHERE = "The keys are listed in README.md (section Configuration) and declared in Pulumi.yaml.";

        it("a typo: 'unknown key', its value, and the nearest known key, not the whole list", () => {
            assert.deepEqual(unknownConfigKeys(P, { [`${P}:webhookPushs`]: "true", "aws:region": "eu-west-1" }), [
                {
                    key: `${P}:webhookPushs`,
                    value: "true",
                    allowed: `Did you mean 'webhookPushes'? ${WHERE}`,
                    unknownKey: true,
                },
            ]);
        });

        it("two typos: each its own problem and suggestion; letter case counts for nothing", () => {
            const problems = unknownConfigKeys(P, {
                [`${P}:cacheStratgy`]: "registry",
                [`${P}:cacheStrategy`]: "inline",
                [`${P}:localcache`]: "false",
                "aws:region": "eu-west-1",
            });
            assert.deepEqual(problems, [
                {
                    key: `${P}:cacheStratgy`,
                    value: "registry",
                    allowed: `Did you mean 'cacheStrategy'? ${WHERE}`,
                    unknownKey: true,
                },
                {
                    key: `${P}:localcache`,
                    value: "false",
                    allowed: `Did you mean 'localCache'? ${WHERE}`,
                    unknownKey: true,
                },
            ]);
            assert.equal(
                new ConfigError(problems).message,
                [
                    "2 unknown keys:",
                    `  - Unknown key '${P}:cacheStratgy' (value "registry"). Did you mean 'cacheStrategy'? ${WHERE}`,
                    `  - Unknown key '${P}:localcache' (value "false"). Did you mean 'localCache'? ${WHERE}`,
                ].join("\n"),
            );
        });

        it("an unknown key near no known key: no suggestion, only where the keys are listed", () => {
            const problems = unknownConfigKeys(P, { [`${P}:region`]: "eu-west-1" });
            assert.deepEqual(problems, [
                {
                    key: `${P}:region`,
                    value: "eu-west-1",
                    allowed: `No known key is near it. ${WHERE}`,
                    unknownKey: true,
                },
            ]);
            assert.equal(
                new ConfigError(problems).message,
                `Unknown key '${P}:region' (value "eu-west-1"). No known key is near it. ${WHERE}`,
            );
        });

        it("nearestKeys: the nearest within a third of the key's length (at least 2 edits), every one of a tie", () => {
            assert.deepEqual(nearestKeys("webhookPushs", CONFIG_KEYS), ["webhookPushes"]);
            assert.deepEqual(nearestKeys("image", CONFIG_KEYS), ["images"]);
            assert.deepEqual(nearestKeys("WEBHOOKTAGS", CONFIG_KEYS), ["webhookTags"]);
            // 2 edits from a 3-letter key is still a suggestion; 3 is not.
            assert.deepEqual(nearestKeys("ab", ["abcd", "xyz"]), ["abcd"]);
            assert.deepEqual(nearestKeys("ab", ["abcde"]), []);
            // 12 letters allow 4 edits, not 5.
            assert.deepEqual(nearestKeys("abcdefghijkl", ["abcdefghWXYZ"]), ["abcdefghWXYZ"]);
            assert.deepEqual(nearestKeys("abcdefghijkl", ["abcdefgVWXYZ"]), []);
            assert.deepEqual(nearestKeys("cat", ["cap", "car", "cattle"]), ["cap", "car"]);
            assert.deepEqual(nearestKeys("region", CONFIG_KEYS), []);
        });

        it("the README's Configuration section names every key, as the unknown key's message says", () => {
            const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
            const section = readme.split("\n## Configuration\n")[1]?.split("\n## ")[0] ?? "";
            assert.deepEqual(
                CONFIG_KEYS.filter((k) => !section.includes(`\`${k}\``)),
                [],
                "keys missing from the README's Configuration section",
            );
        });

        it("accepts every known key and ignores other namespaces", () => {
            const all: Record<string, string> = { "aws:region": "eu-west-1", "other:anything": "x" };
            for (const k of CONFIG_KEYS) {
                all[`${P}:${k}`] = "";
            }
            assert.deepEqual(unknownConfigKeys(P, all), []);
        });

        it("knows every key declared in Pulumi.yaml, and besides them only the secrets (githubToken, dockerHubAccessToken), localCache and skipUnchanged (no fixed default), cacheStrategy (its default changed: unset must stay visible) and images (a map, which project config can't declare)", () => {
            const declared = Object.keys(readProjectFile().config);
            const undeclared = [
                "githubToken",
                "dockerHubAccessToken",
                "localCache",
                "cacheStrategy",
                "images",
                "skipUnchanged",
            ];
            assert.deepEqual([...declared].sort(), CONFIG_KEYS.filter((k) => !undeclared.includes(k)).sort());
        });
    });

    describe("Pulumi.yaml defaults", () => {
        it("declare every constant default of the component, with the same value", () => {
            const declared = readProjectFile().config;
            for (const [key, value] of Object.entries(DEFAULTS)) {
                if (key === "cacheStrategy") {
                    // Left undeclared on purpose (see Pulumi.yaml): the program warns when a stack doesn't set it.
                    assert.ok(
                        !(key in declared),
                        "cacheStrategy must stay undeclared, or its unset state can't be seen",
                    );
                    continue;
                }
                assert.ok(key in declared, `${key} is not declared in Pulumi.yaml`);
                // Pulumi.yaml writes buildArgs as a list of NAME=value entries, so {} is [].
                const expected = key === "buildArgs" ? [] : value;
                assert.deepEqual(declared[key].default, expected, key);
            }
        });

        it("resolve to exactly what the component uses with no arguments at all", () => {
            const { config } = readStackConfig(undefined);
            pulumi.runtime.setAllConfig(config, []);
            const { args, problems } = argsFromConfig(new pulumi.Config(P));
            assert.deepEqual(problems, []);
            assert.deepEqual(resolveArgs("docker-cache", "dev", args), resolveArgs("docker-cache", "dev", {}));
        });
    });

    describe("argsFromConfig", () => {
        it("maps an empty string to 'unset', so the component's default applies", () => {
            const args = argsOf({
                repositoryName: "",
                projectName: "",
                kmsKeyArn: "",
                cacheStrategy: "",
                imageTag: "",
                githubToken: "",
            });
            assert.deepEqual(args, {});
            const a = resolveArgs("docker-cache", "dev", args);
            assert.equal(a.repositoryName, "docker-cache-dev");
            assert.equal(a.cacheStrategy, "registry");
            assert.equal(a.imageTag, "latest");
        });

        it("maps empty lists to 'unset' (trustedRefs then defaults to [sourceVersion])", () => {
            const args = argsOf({ trustedRefs: "[]", buildArgs: "[]", sourceVersion: "main" });
            assert.deepEqual(args, { sourceVersion: "main" });
            assert.deepEqual(resolveArgs("c", "dev", args).trustedRefs, ["main"]);
        });

        it("parses numbers, booleans and lists as the CLI passes them (JSON text)", () => {
            const args = argsOf({
                untaggedExpiryDays: "3",
                maxTaggedImages: "50",
                buildTimeoutMinutes: "120",
                logRetentionDays: "365",
                forceDelete: "false",
                protect: "true",
                localCache: "false",
                trustedRefs: '["main","release/1"]',
            });
            assert.deepEqual(args, {
                untaggedExpiryDays: 3,
                maxTaggedImages: 50,
                buildTimeoutMinutes: 120,
                logRetentionDays: 365,
                forceDelete: false,
                protect: true,
                localCache: false,
                trustedRefs: ["main", "release/1"],
            });
        });

        it("parses buildArgs NAME=value entries, keeping '=' inside values and empty values", () => {
            const args = argsOf({ buildArgs: JSON.stringify(["A=1", "B=x=y", "C=", "D=with space"]) });
            assert.deepEqual(args.buildArgs, { A: "1", B: "x=y", C: "", D: "with space" });
        });

        it("reports every value that doesn't parse, with its key, and leaves it unset", () => {
            const { args, problems } = argsFromConfig(
                configOf({
                    buildArgs: JSON.stringify(["NOEQUALS", "OK=1", "=value"]),
                    trustedRefs: "[1,2]",
                    maxTaggedImages: "many",
                    forceDelete: "yes",
                    imageTag: "v1",
                }),
            );
            assert.deepEqual(problems, [
                { key: "maxTaggedImages", value: "many", allowed: "Allowed: a number." },
                { key: "forceDelete", value: "yes", allowed: "Allowed: true or false." },
                { key: "buildArgs", value: "NOEQUALS", allowed: "Allowed: entries of the form NAME=value." },
                { key: "buildArgs", value: "=value", allowed: "Allowed: entries of the form NAME=value." },
                { key: "trustedRefs", value: [1, 2], allowed: "Allowed: a list of strings." },
            ]);
            assert.deepEqual(args, { imageTag: "v1", buildArgs: { OK: "1" } });
        });

        it("refuses a list that is a plain string or not JSON", () => {
            assert.deepEqual(problemsOf({ trustedRefs: '"main"' }), [
                { key: "trustedRefs", value: "main", allowed: "Allowed: a list of strings." },
            ]);
            assert.deepEqual(problemsOf({ trustedRefs: "main" }), [
                { key: "trustedRefs", value: "main", allowed: "Allowed: a list of strings." },
            ]);
        });

        it("leaves githubToken and dockerHubAccessToken unset when absent (their secrecy is tested end to end in security/secrets.test.ts)", () => {
            assert.equal(argsOf({}).githubToken, undefined);
            assert.equal(argsOf({}).dockerHubAccessToken, undefined);
        });

        it("reads the pull-through settings: the mode and prefixes as text, the upstreams as a list", () => {
            const args = argsOf({
                pullThroughCache: "create",
                pullThroughUpstreams: '["ecr-public","docker-hub"]',
                ecrPublicCachePrefix: "mirror/public",
                dockerHubCachePrefix: "mirror/hub",
                dockerHubUsername: "builder",
                dockerHubCredentialArn: "",
            });
            assert.deepEqual(args, {
                pullThroughCache: "create",
                pullThroughUpstreams: ["ecr-public", "docker-hub"],
                ecrPublicCachePrefix: "mirror/public",
                dockerHubCachePrefix: "mirror/hub",
                dockerHubUsername: "builder",
            });
            assert.deepEqual(problemsOf({ pullThroughUpstreams: "docker-hub" }), [
                { key: "pullThroughUpstreams", value: "docker-hub", allowed: "Allowed: a list of strings." },
            ]);
        });
    });

    describe("the mock runtime's stack config loader", () => {
        it("encodes values like the CLI: strings as is, everything else as JSON", () => {
            assert.equal(encodeConfigValue("x"), "x");
            assert.equal(encodeConfigValue(7), "7");
            assert.equal(encodeConfigValue(false), "false");
            assert.equal(encodeConfigValue([]), "[]");
            assert.equal(encodeConfigValue(["a", "b"]), '["a","b"]');
        });

        it("applies Pulumi.yaml defaults, then the stack's values", () => {
            const dev = readStackConfig("dev").config;
            assert.equal(dev["aws:region"], "eu-west-1");
            assert.equal(dev[`${P}:logRetentionDays`], "7", "from Pulumi.dev.yaml");
            assert.equal(dev[`${P}:imageTag`], "latest", "default from Pulumi.yaml");
            assert.equal(dev[`${P}:trustedRefs`], "[]");
            assert.equal(dev[`${P}:repositoryName`], "");
            const prod = readStackConfig("prod").config;
            assert.equal(prod[`${P}:encryptionType`], "KMS");
            assert.equal(prod[`${P}:protect`], "true");
            assert.equal(prod[`${P}:pullThroughCache`], "create");
            assert.equal(
                prod[`${P}:pullThroughUpstreams`],
                '["ecr-public"]',
                "default from Pulumi.yaml: no Docker Hub",
            );
            assert.equal(dev[`${P}:pullThroughCache`], "off");
        });

        it("reads Pulumi.yaml alone when no stack is given", () => {
            const defaults = readStackConfig(undefined).config;
            assert.equal(defaults["aws:region"], undefined);
            assert.equal(defaults[`${P}:logRetentionDays`], "30");
        });

        it("refuses a stack value of the wrong type, as the CLI does", () => {
            assert.throws(() => readStackConfig("dev", { maxTaggedImages: "5" }), /declares type integer/);
            assert.throws(() => readStackConfig("dev", { forceDelete: "yes" }), /declares type boolean/);
        });
    });
});
