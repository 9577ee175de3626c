/**
 * Issue #4 (security): the GitHub token reaches exactly one place, the SourceCredential's `token`,
 * and reaches it as a secret.
 *
 * How secretness is observed: the mocks' `newResource` gets inputs with secrets already unwrapped, so
 * it can't tell. The harness records the RegisterResource request as the SDK serialized it for the
 * engine; there a secret input is wrapped in the wire protocol's secret signature, which is what makes
 * the engine encrypt it in state. That is the property that matters, so it is what is asserted.
 */
import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { CachedDockerBuild } from "../../components";
import { allRegistrations, findResource, installMocks, isWireSecret, resetRegistrations, settle } from "./harness";

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

function assertTokenConfinedToCredential(): void {
    const cred = findResource("aws:codebuild/sourceCredential:SourceCredential");
    assert.ok(cred.wire, "the harness recorded the credential's serialized inputs");
    assert.ok(
        isWireSecret(cred.wire.token),
        `the credential's token is sent to the engine as a secret, got ${JSON.stringify(cred.wire.token)}`,
    );
    assert.equal(cred.wire.token.value, TOKEN);
    assert.ok(!isWireSecret(cred.wire.authType), "the detector discriminates: a plain input isn't wrapped");
    assert.equal(cred.inputs.authType, "PERSONAL_ACCESS_TOKEN");
    assert.equal(cred.inputs.serverType, "GITHUB");
    assert.deepEqual(plainPathsContaining(cred.wire, TOKEN), [], "no plain copy of the token next to the secret");

    for (const r of allRegistrations()) {
        if (r === cred) {
            continue;
        }
        const leaks = stringsIn(r.inputs).filter((s) => s.includes(TOKEN) || s.includes(TOKEN.slice(4)));
        assert.deepEqual(leaks, [], `${r.type} ${r.name} must not hold the token in any input`);
    }

    const project = findResource("aws:codebuild/project:Project");
    assert.ok(
        !String(project.inputs.source.buildspec).includes(TOKEN.slice(4)),
        "buildspec holds no part of the token",
    );
    assert.equal(
        project.inputs.environment.environmentVariables,
        undefined,
        "the project defines no environment variables, so none can carry the token",
    );
    assert.equal(
        project.inputs.source.auth,
        undefined,
        "the project has no inline source auth (the account-level credential is used)",
    );
    assert.equal(project.inputs.secondarySources, undefined);
}

describe("security: the GitHub token stays secret (#4)", () => {
    before(async () => {
        await installMocks("ecr-layer-cache", "dev");
    });
    beforeEach(() => resetRegistrations());

    it("component: a pulumi.secret token becomes a secret SourceCredential token and appears nowhere else", async () => {
        const b = new CachedDockerBuild("sec", { githubToken: pulumi.secret(TOKEN), buildArgs: { A: "b" } });
        await settle(b.projectArn, b.buildspec, b.roleArn, b.imageUri);
        assertTokenConfinedToCredential();
        const project = findResource("aws:codebuild/project:Project");
        assert.ok(
            isWireSecret(project.wire?.source) === false,
            "the project's source isn't secret: it has nothing secret in it",
        );
    });

    // Both codebuild.ts (pulumi.secret) and @pulumi/aws's SourceCredential (which wraps `token` itself,
    // `token` being a secret property in the provider schema) make it secret; either alone suffices.
    it("component: a token given as a plain string is still stored as a secret (defence in depth)", async () => {
        const b = new CachedDockerBuild("plain", { githubToken: TOKEN });
        await settle(b.projectArn, b.buildspec);
        assertTokenConfinedToCredential();
    });

    it("component: no token, no credential", async () => {
        const b = new CachedDockerBuild("public", {});
        await settle(b.projectArn, b.buildspec);
        assert.equal(
            allRegistrations().filter((r) => r.type === "aws:codebuild/sourceCredential:SourceCredential").length,
            0,
        );
    });

    it("index.ts: githubToken set as secret config is read with requireSecret and ends up only in the credential", async () => {
        // index.ts reads config at import; PULUMI_CONFIG is read only once per process, so set it through
        // setAllConfig and load a fresh copy of the module.
        pulumi.runtime.setAllConfig(
            { "ecr-layer-cache:githubToken": TOKEN, "ecr-layer-cache:cacheStrategy": "registry" },
            ["ecr-layer-cache:githubToken"],
        );
        try {
            const entry = require.resolve("../../index");
            delete require.cache[entry];
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const program = require(entry) as Record<string, pulumi.Output<unknown>>;
            await settle(program.projectArn, program.roleArn, program.cacheRef);
            assertTokenConfinedToCredential();
            // No stack output carries the token.
            for (const [name, out] of Object.entries(program)) {
                if (pulumi.Output.isInstance(out)) {
                    const v = await new Promise((r) => out.apply(r));
                    assert.ok(
                        !JSON.stringify(v ?? null).includes(TOKEN),
                        `stack output ${name} must not hold the token`,
                    );
                }
            }
        } finally {
            pulumi.runtime.setAllConfig({}, []);
        }
    });

    it("config: a githubToken set as plain (non-secret) config is still read as a secret", async () => {
        // `pulumi config set githubToken ghp_...` without --secret: requireSecret still wraps it.
        pulumi.runtime.setAllConfig({ "ecr-layer-cache:githubToken": TOKEN }, []);
        try {
            const entry = require.resolve("../../index");
            delete require.cache[entry];
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const program = require(entry) as Record<string, pulumi.Output<unknown>>;
            await settle(program.projectArn);
            assertTokenConfinedToCredential();
        } finally {
            pulumi.runtime.setAllConfig({}, []);
        }
    });
});
