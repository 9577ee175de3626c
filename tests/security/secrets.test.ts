/**
 * Issue #4 (security), issue 9: the GitHub token reaches exactly one place, the value of the Secrets Manager secret
 * the stack owns (which the project attaches as its own source auth), and reaches it as a secret.
 *
 * How secretness is observed: the mocks' `newResource` gets inputs with secrets already unwrapped, so
 * it can't tell. The mock runtime also records the RegisterResource request as the SDK serialized it for
 * the engine (`wire`); there a secret input is wrapped in the wire protocol's secret signature, which is
 * what makes the engine encrypt it in state. That is the property that matters, so it is what is asserted.
 */
import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { argsFromConfig, CachedDockerBuild } from "../../components";
import type { StackOutputs } from "../../program";
import {
    ACCOUNT,
    findResource,
    installMocks,
    isSecret,
    isWireSecret,
    registrations,
    runProgram,
    settle,
    valueOf,
    projectBuildspec,
} from "../../scripts/mockRuntime";

const TOKEN = "ghp_SecretToken1234567890abcdefABCDEF0000";

/** Every string inside `v` (object keys too), after JSON-decoding strings that hold JSON. */
function stringsIn(v: unknown, out: string[] = []): string[] {
    if (typeof v === "string") {
        out.push(v);
    } else if (Array.isArray(v)) {
        v.forEach((x) => stringsIn(x, out));
    } else if (v !== null && typeof v === "object") {
        for (const [k, x] of Object.entries(v)) {
            out.push(k);
            stringsIn(x, out);
        }
    }
    return out;
}

/** The paths inside `v` whose string value contains `needle`, ignoring wire-protocol secret wrappers. */
function plainPathsContaining(v: unknown, needle: string, path = "$"): string[] {
    if (isWireSecret(v)) {
        return [];
    }
    if (typeof v === "string") {
        return v.includes(needle) ? [path] : [];
    }
    if (Array.isArray(v)) {
        return v.flatMap((x, i) => plainPathsContaining(x, needle, `${path}[${i}]`));
    }
    if (v !== null && typeof v === "object") {
        return Object.entries(v).flatMap(([k, x]) => plainPathsContaining(x, needle, `${path}.${k}`));
    }
    return [];
}

/**
 * The token is in the stack-owned secret's value only (as a wire secret, in the JSON CodeBuild reads), the
 * project attaches that secret as its own source auth, and nothing account-wide is created.
 */
function assertTokenConfinedToSecret(projectName: string): void {
    assert.deepEqual(
        registrations.filter((r) => r.type === "aws:codebuild/sourceCredential:SourceCredential"),
        [],
        "no account- and region-wide SourceCredential",
    );
    const version = findResource("aws:secretsmanager/secretVersion:SecretVersion");
    assert.ok(
        isWireSecret(version.wire.secretString),
        `the secret's value is sent to the engine as a secret, got ${JSON.stringify(version.wire.secretString)}`,
    );
    assert.deepEqual(JSON.parse(String(version.wire.secretString.value)), {
        ServerType: "GITHUB",
        AuthType: "PERSONAL_ACCESS_TOKEN",
        Token: TOKEN,
    });
    assert.ok(!isWireSecret(version.wire.secretId), "the detector discriminates: a plain input isn't wrapped");
    assert.deepEqual(plainPathsContaining(version.wire, TOKEN), [], "no plain copy of the token next to the secret");
    const secret = findResource("aws:secretsmanager/secret:Secret");
    assert.equal(secret.inputs.name, `codebuild/${projectName}/github-token`);
    const secretArn = `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:codebuild/${projectName}/github-token-AbC123`;
    assert.equal(version.inputs.secretId, secretArn);

    for (const r of registrations) {
        if (r === version) {
            continue;
        }
        const leaks = stringsIn(r.inputs).filter((s) => s.includes(TOKEN) || s.includes(TOKEN.slice(4)));
        assert.deepEqual(leaks, [], `${r.type} ${r.name} must not hold the token in any input`);
    }

    const project = findResource("aws:codebuild/project:Project");
    assert.ok(!projectBuildspec(project).includes(TOKEN.slice(4)), "buildspec holds no part of the token");
    assert.equal(
        project.inputs.environment.environmentVariables,
        undefined,
        "the project defines no environment variables, so none can carry the token",
    );
    assert.deepEqual(
        project.inputs.source.auth,
        { type: "SECRETS_MANAGER", resource: secretArn },
        "the project signs in with this secret, for itself only",
    );
    assert.equal(project.inputs.secondarySources, undefined);
}

/** No stack output carries the token. */
async function assertOutputsClean(outputs: StackOutputs): Promise<void> {
    for (const [name, out] of Object.entries(outputs)) {
        const v = await valueOf(out as pulumi.Input<unknown>);
        assert.ok(!JSON.stringify(v ?? null).includes(TOKEN), `stack output ${name} must not hold the token`);
    }
}

describe("security: the GitHub token stays secret (#4)", () => {
    beforeEach(() => installMocks({ stack: "dev" }));

    it("component: a pulumi.secret token becomes the value of a stack-owned secret, attached as the project's source auth, and appears nowhere else", async () => {
        new CachedDockerBuild("sec", { githubToken: pulumi.secret(TOKEN), buildArgs: { A: "b" } });
        await settle();
        assertTokenConfinedToSecret("sec-dev");
        const project = findResource("aws:codebuild/project:Project");
        assert.ok(
            isWireSecret(project.wire.source) === false,
            "the project's source isn't secret: it has nothing secret in it",
        );
    });

    // Both source.ts (pulumi.secret) and @pulumi/aws's SecretVersion (`secretString` is a secret property in the
    // provider schema) make it secret; either alone suffices.
    it("component: a token given as a plain string is still stored as a secret (defence in depth)", async () => {
        new CachedDockerBuild("plain", { githubToken: TOKEN });
        await settle();
        assertTokenConfinedToSecret("plain-dev");
    });

    it("component: no token, no credential, no secret, no source auth", async () => {
        new CachedDockerBuild("public", {});
        await settle();
        assert.deepEqual(
            registrations.filter((r) => /sourceCredential|secretsmanager/.test(r.type)).map((r) => r.type),
            [],
        );
        assert.equal(findResource("aws:codebuild/project:Project").inputs.source.auth, undefined);
    });

    it("program: githubToken set as secret config ends up only in the secret's value, and in no stack output", async () => {
        const outputs = await runProgram("dev", { githubToken: TOKEN, cacheStrategy: "registry" }, ["githubToken"]);
        assertTokenConfinedToSecret("docker-cache-dev");
        await assertOutputsClean(outputs);
    });

    it("config: a githubToken set as plain (non-secret) config is read as a secret Output", async () => {
        // `pulumi config set githubToken ghp_...` without --secret: argsFromConfig reads it with requireSecret.
        pulumi.runtime.setAllConfig({ "ecr-layer-cache:githubToken": TOKEN }, []);
        const token = argsFromConfig(new pulumi.Config("ecr-layer-cache")).args.githubToken;
        assert.ok(pulumi.Output.isInstance(token));
        assert.equal(await isSecret(token), true);
        assert.equal(await valueOf(token), TOKEN);
    });

    it("program: a githubToken set as plain config ends up only in the secret's value, and in no stack output", async () => {
        const outputs = await runProgram("dev", { githubToken: TOKEN });
        assertTokenConfinedToSecret("docker-cache-dev");
        await assertOutputsClean(outputs);
    });

    it("program: an empty githubToken (the way to unset it) creates no credential and no secret", async () => {
        await runProgram("dev", { githubToken: "" });
        assert.deepEqual(
            registrations.filter((r) => /sourceCredential|secretsmanager/.test(r.type)),
            [],
        );
    });
});

describe("security: the Docker Hub access token stays secret (issue 8)", () => {
    const HUB_TOKEN = "dckr_pat_SecretHubToken0123456789abcdef";
    const HUB = { pullThroughUpstreams: ["ecr-public", "docker-hub"], dockerHubUsername: "builder" };
    const VERSION = "aws:secretsmanager/secretVersion:SecretVersion";

    /** The token reaches the secret's value, wrapped as a secret on the wire, and no other input anywhere. */
    function assertHubTokenConfinedToSecretValue(): void {
        const version = findResource(VERSION);
        assert.ok(
            isWireSecret(version.wire.secretString),
            `the secret's value is sent to the engine as a secret, got ${JSON.stringify(version.wire.secretString)}`,
        );
        assert.deepEqual(JSON.parse(String(version.wire.secretString.value)), {
            username: "builder",
            accessToken: HUB_TOKEN,
        });
        assert.ok(!isWireSecret(version.wire.secretId), "the detector discriminates: the secret's ARN is plain");
        assert.deepEqual(plainPathsContaining(version.wire, HUB_TOKEN), [], "no plain copy next to the secret");
        for (const r of registrations) {
            if (r === version) {
                continue;
            }
            const leaks = stringsIn(r.inputs).filter((s) => s.includes(HUB_TOKEN) || s.includes(HUB_TOKEN.slice(9)));
            assert.deepEqual(leaks, [], `${r.type} ${r.name} must not hold the token in any input`);
        }
    }

    async function assertOutputsFree(outputs: StackOutputs): Promise<void> {
        for (const [name, out] of Object.entries(outputs)) {
            const v = await valueOf(out as pulumi.Input<unknown>);
            assert.ok(!JSON.stringify(v ?? null).includes(HUB_TOKEN), `stack output ${name} must not hold the token`);
        }
    }

    it("program: dockerHubAccessToken set as secret config ends up only in the secret's value, and in no stack output", async () => {
        const outputs = await runProgram("prod", { ...HUB, dockerHubAccessToken: HUB_TOKEN }, ["dockerHubAccessToken"]);
        assertHubTokenConfinedToSecretValue();
        await assertOutputsFree(outputs);
    });

    it("program: set as plain config (no --secret), it is still read as a secret and confined the same way", async () => {
        const outputs = await runProgram("prod", { ...HUB, dockerHubAccessToken: HUB_TOKEN });
        assertHubTokenConfinedToSecretValue();
        await assertOutputsFree(outputs);
    });

    it("config: a plain dockerHubAccessToken is read as a secret Output", async () => {
        pulumi.runtime.setAllConfig({ "ecr-layer-cache:dockerHubAccessToken": HUB_TOKEN }, []);
        const token = argsFromConfig(new pulumi.Config("ecr-layer-cache")).args.dockerHubAccessToken;
        assert.ok(pulumi.Output.isInstance(token));
        assert.equal(await isSecret(token), true);
        assert.equal(await valueOf(token), HUB_TOKEN);
    });

    it("component: a token given as a plain string is still stored as a secret (defence in depth)", async () => {
        installMocks({ stack: "dev" });
        new CachedDockerBuild("hub", {
            cacheStrategy: "registry",
            pullThroughCache: "create",
            pullThroughUpstreams: ["docker-hub"],
            dockerHubUsername: "builder",
            dockerHubAccessToken: HUB_TOKEN,
        });
        await settle();
        assertHubTokenConfinedToSecretValue();
    });

    it("program: a token the stack can't use is refused without being shown", async () => {
        await assert.rejects(
            () => runProgram("dev", { dockerHubAccessToken: HUB_TOKEN }),
            (e: unknown) => {
                const message = String((e as Error).message);
                assert.match(message, /'dockerHubAccessToken': \(a secret, not shown\)/);
                assert.ok(!message.includes(HUB_TOKEN));
                return true;
            },
        );
        assert.deepEqual(registrations, []);
    });
});
