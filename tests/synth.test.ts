/**
 * Issue #11: `npm run synth` (scripts/synth.ts), the offline review. It runs the program under the one mock runtime
 * (what is mocked: the Pulumi engine; AWS state is built from the inputs) and writes a folder; the policy pack runs
 * in-process over the same registrations. Each test writes into its own temporary folder.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { ResourceValidationPolicy } from "@pulumi/policy";
import * as YAML from "yaml";
import { buildspec, buildspecOptions } from "../components/buildspec";
import { resolveArgs } from "../components/args";
import { parseArgs, synth } from "../scripts/synth";
import { ACCOUNT } from "../scripts/mockRuntime";

describe("npm run synth (scripts/synth.ts)", () => {
    let out: string;
    beforeEach(() => {
        out = fs.mkdtempSync(path.join(os.tmpdir(), "synth-"));
    });
    afterEach(() => fs.rmSync(out, { recursive: true, force: true }));

    it("stack dev: every resource as JSON, the readable documents, and no policy violation", async () => {
        const r = await synth({ stack: "dev", out });
        assert.deepEqual(r.violations, []);
        assert.equal(fs.readFileSync(path.join(out, "policy-violations.txt"), "utf8"), "none\n");
        const resources = fs.readdirSync(path.join(out, "resources"));
        assert.equal(resources.length, r.resources);
        assert.ok(resources.includes("docker-cache-repo.Repository.json"));
        const project = JSON.parse(
            fs.readFileSync(path.join(out, "resources", "docker-cache-project.Project.json"), "utf8"),
        );
        assert.equal(project.type, "aws:codebuild/project:Project");
        assert.equal(project.inputs.name, "docker-cache-dev");
        // The readable buildspec is the one the project carries, and the one the component renders for dev.
        const text = fs.readFileSync(path.join(out, "buildspec.yaml"), "utf8");
        assert.equal(text, project.inputs.source.buildspec);
        const a = resolveArgs("docker-cache", "dev", { cacheStrategy: "inline", logRetentionDays: 7 });
        const repoUrl = `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/docker-cache-dev`;
        assert.deepEqual(YAML.parse(text), buildspec(buildspecOptions(a, repoUrl, "eu-west-1")));
        const trust = JSON.parse(fs.readFileSync(path.join(out, "iam", "docker-cache-role.trust.json"), "utf8"));
        assert.equal(trust.Statement[0].Principal.Service, "codebuild.amazonaws.com");
        const policy = JSON.parse(fs.readFileSync(path.join(out, "iam", "docker-cache-policy.json"), "utf8"));
        assert.ok(Array.isArray(policy.Statement) && policy.Statement.length > 0);
        const lifecycle = JSON.parse(fs.readFileSync(path.join(out, "lifecycle-policy.json"), "utf8"));
        assert.ok(lifecycle.rules.length >= 3);
        const dashboard = JSON.parse(fs.readFileSync(path.join(out, "dashboard.json"), "utf8"));
        assert.ok(dashboard.widgets.length >= 5);
        const alarms = fs.readFileSync(path.join(out, "alarms.md"), "utf8");
        assert.match(
            alarms,
            /\| docker-cache-dev-low-hit-ratio \| EcrLayerCache CacheHitRatio \(Project=docker-cache-dev\) \|/,
        );
        assert.match(fs.readFileSync(path.join(out, "README.md"), "utf8"), /placeholders/);
    });

    it("is deterministic: two runs write the same files", async () => {
        await synth({ stack: "prod", out });
        const second = fs.mkdtempSync(path.join(os.tmpdir(), "synth-"));
        try {
            await synth({ stack: "prod", out: second });
            const read = (dir: string) =>
                fs
                    .readdirSync(dir, { recursive: true })
                    .map(String)
                    .sort()
                    .map((f) => [
                        f,
                        fs.statSync(path.join(dir, f)).isFile() ? fs.readFileSync(path.join(dir, f), "utf8") : "",
                    ]);
            assert.deepEqual(read(out), read(second));
        } finally {
            fs.rmSync(second, { recursive: true, force: true });
        }
    });

    it("writes a secret input as [secret], never its value", async () => {
        await synth({
            stack: "dev",
            out,
            overrides: { githubToken: "ghp_supersecret123" },
            secretKeys: ["githubToken"],
        });
        const all = fs
            .readdirSync(out, { recursive: true })
            .map(String)
            .filter((f) => fs.statSync(path.join(out, f)).isFile())
            .map((f) => fs.readFileSync(path.join(out, f), "utf8"))
            .join("\n");
        assert.ok(!all.includes("ghp_supersecret123"));
        const tokenValue = JSON.parse(
            fs.readFileSync(path.join(out, "resources", "docker-cache-github-token-value.SecretVersion.json"), "utf8"),
        );
        assert.equal(tokenValue.inputs.secretString, "[secret]");
    });

    it("monitoring off: no dashboard or alarm file", async () => {
        const r = await synth({ stack: "dev", out, overrides: { monitoring: false } });
        assert.deepEqual(r.violations, []);
        assert.ok(!fs.existsSync(path.join(out, "dashboard.json")));
        assert.ok(!fs.existsSync(path.join(out, "alarms.md")));
    });

    it("writes every violation a policy reports, with the resource's URN", async () => {
        const always: ResourceValidationPolicy = {
            name: "test-always",
            description: "reports every log group",
            enforcementLevel: "mandatory",
            validateResource: (args, report) => {
                if (args.type !== "aws:cloudwatch/logGroup:LogGroup") {
                    args.notApplicable();
                }
                report(`log group ${String(args.props.name)}`);
            },
        };
        const r = await synth({ stack: "dev", out, policies: [always] });
        assert.deepEqual(
            r.violations.map((v) => [v.policy, v.message]),
            [["test-always", "log group /aws/codebuild/docker-cache-dev"]],
        );
        assert.match(
            fs.readFileSync(path.join(out, "policy-violations.txt"), "utf8"),
            /^test-always: log group \/aws\/codebuild\/docker-cache-dev \(urn:pulumi:dev::ecr-layer-cache::.*docker-cache-logs\)\n$/,
        );
    });

    it("arguments: --stack is required and must name a stack file; unknown flags are refused", () => {
        assert.throws(() => parseArgs([]), /--stack is required/);
        assert.throws(
            () => parseArgs(["--stack", "nope"]),
            /No stack "nope": no Pulumi.nope.yaml. Stacks here: dev, github, multi, multiarch, prod/,
        );
        assert.throws(() => parseArgs(["--stack", "dev", "--diff"]), /Unknown argument "--diff"/);
        assert.throws(() => parseArgs(["--stack"]), /--stack needs a value/);
        const o = parseArgs(["--stack", "dev", "--out", "/tmp/x"]);
        assert.deepEqual(o, { stack: "dev", out: "/tmp/x" });
    });
});
