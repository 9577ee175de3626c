/**
 * Config mapping (`config.ts`) and the stack-config loader of the test harness: unknown keys are refused
 * with the list of allowed keys, `buildArgs` entries are parsed, an empty string means "use the default",
 * and values arrive encoded the way the CLI passes them.
 */
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { argsFromConfig, checkConfigKeys, CONFIG_KEYS, ConfigError, resolveArgs } from "../components";
import { encodeConfigValue, installMocks, readStackConfig } from "./helpers/mocks";

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

describe("config mapping", () => {
    before(() => {
        installMocks({ project: P, stack: "dev" });
    });
    after(() => pulumi.runtime.setAllConfig({}, []));

    describe("checkConfigKeys", () => {
        it("refuses an unknown key of this project with a message listing every allowed key", () => {
            assert.throws(
                () => checkConfigKeys(P, { [`${P}:cacheStratgy`]: "registry", "aws:region": "eu-west-1" }),
                (e: unknown) => {
                    assert.ok(e instanceof ConfigError);
                    assert.equal(
                        e.message,
                        `Invalid value for '${P}:cacheStratgy': "registry". Unknown config key. Allowed keys: ${CONFIG_KEYS.join(", ")}.`,
                    );
                    for (const k of [
                        "repositoryName",
                        "cacheStrategy",
                        "trustedRefs",
                        "githubToken",
                        "logRetentionDays",
                    ]) {
                        assert.ok(e.message.includes(k), k);
                    }
                    return true;
                },
            );
        });

        it("accepts every known key and ignores other namespaces", () => {
            const all: Record<string, string> = { "aws:region": "eu-west-1", "other:anything": "x" };
            for (const k of CONFIG_KEYS) {
                all[`${P}:${k}`] = "";
            }
            checkConfigKeys(P, all);
        });

        it("knows every key declared in Pulumi.yaml (and only githubToken besides, which is set as a secret)", () => {
            const declared = Object.keys(readStackConfig("dev").config)
                .filter((k) => k.startsWith(`${P}:`))
                .map((k) => k.slice(P.length + 1));
            assert.deepEqual([...declared].sort(), CONFIG_KEYS.filter((k) => k !== "githubToken").sort());
        });
    });

    describe("argsFromConfig", () => {
        it("maps an empty string to 'unset', so the component's default applies", () => {
            const args = argsFromConfig(
                configOf({ repositoryName: "", projectName: "", kmsKeyArn: "", cacheStrategy: "", imageTag: "" }),
            );
            assert.equal(args.repositoryName, undefined);
            assert.equal(args.projectName, undefined);
            assert.equal(args.kmsKeyArn, undefined);
            assert.equal(args.cacheStrategy, undefined);
            assert.equal(args.imageTag, undefined);
            const a = resolveArgs("docker-cache", "dev", args);
            assert.equal(a.repositoryName, "docker-cache-dev");
            assert.equal(a.cacheStrategy, "inline");
            assert.equal(a.imageTag, "latest");
        });

        it("maps empty lists to 'unset' (trustedRefs then defaults to [sourceVersion])", () => {
            const args = argsFromConfig(configOf({ trustedRefs: "[]", buildArgs: "[]", sourceVersion: "main" }));
            assert.equal(args.trustedRefs, undefined);
            assert.equal(args.buildArgs, undefined);
            assert.deepEqual(resolveArgs("c", "dev", args).trustedRefs, ["main"]);
        });

        it("parses numbers, booleans and lists as the CLI passes them (JSON text)", () => {
            const args = argsFromConfig(
                configOf({
                    untaggedExpiryDays: "3",
                    maxTaggedImages: "50",
                    buildTimeoutMinutes: "120",
                    logRetentionDays: "365",
                    forceDelete: "false",
                    protect: "true",
                    localCache: "false",
                    trustedRefs: '["main","release/1"]',
                }),
            );
            assert.equal(args.untaggedExpiryDays, 3);
            assert.equal(args.maxTaggedImages, 50);
            assert.equal(args.buildTimeoutMinutes, 120);
            assert.equal(args.logRetentionDays, 365);
            assert.equal(args.forceDelete, false);
            assert.equal(args.protect, true);
            assert.equal(args.localCache, false);
            assert.deepEqual(args.trustedRefs, ["main", "release/1"]);
        });

        it("parses buildArgs NAME=value entries, keeping '=' inside values and empty values", () => {
            const args = argsFromConfig(
                configOf({ buildArgs: JSON.stringify(["A=1", "B=x=y", "C=", "D=with space"]) }),
            );
            assert.deepEqual(args.buildArgs, { A: "1", B: "x=y", C: "", D: "with space" });
        });

        it("refuses buildArgs entries without NAME=", () => {
            for (const bad of ["NOEQUALS", "=value"]) {
                assert.throws(
                    () => argsFromConfig(configOf({ buildArgs: JSON.stringify([bad]) })),
                    (e: unknown) =>
                        e instanceof ConfigError &&
                        e.message ===
                            `Invalid value for 'buildArgs': ${JSON.stringify(bad)}. Allowed: entries of the form NAME=value.`,
                );
            }
        });

        it("refuses lists that aren't lists of strings", () => {
            assert.throws(
                () => argsFromConfig(configOf({ trustedRefs: "[1,2]" })),
                (e: unknown) =>
                    e instanceof ConfigError &&
                    e.message === `Invalid value for 'trustedRefs': [1,2]. Allowed: a list of strings.`,
            );
            assert.throws(
                () => argsFromConfig(configOf({ trustedRefs: '"main"' })),
                /Invalid value for 'trustedRefs': "main". Allowed: a list of strings./,
            );
        });

        it("refuses a non-number for a number key (pulumi.Config's own error names the key)", () => {
            assert.throws(() => argsFromConfig(configOf({ maxTaggedImages: "many" })), /maxTaggedImages/);
        });

        it("reads githubToken as a secret Output, and leaves it unset when absent", async () => {
            assert.equal(argsFromConfig(configOf({})).githubToken, undefined);
            const token = argsFromConfig(configOf({ githubToken: "ghp_x" }, ["githubToken"]))
                .githubToken as pulumi.Output<string>;
            assert.ok(pulumi.Output.isInstance(token));
            assert.equal(await (token as unknown as { isSecret: Promise<boolean> }).isSecret, true);
        });
    });

    describe("the harness's stack config loader", () => {
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
        });

        it("refuses a stack value of the wrong type, as the CLI does", () => {
            assert.throws(() => readStackConfig("dev", { maxTaggedImages: "5" }), /declares type integer/);
            assert.throws(() => readStackConfig("dev", { forceDelete: "yes" }), /declares type boolean/);
        });
    });
});
