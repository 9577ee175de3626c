/**
 * The front page's promises (issue 24): README.md is short, a newcomer reaches `pulumi up` against their own
 * repository early, its deploy config is one the program accepts (run under Pulumi's mock runtime: engine and AWS
 * mocked, the program real), the commands it names exist, CI runs its test command, and it maps every docs/ page.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { program } from "../../program";
import { findResource, findResources, readStackConfig, runWithConfig } from "../../scripts/mockRuntime";
import { docPages, ROOT } from "../../tools/docs/docsBlocks";

const README = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
const LINES = README.split("\n");
const PACKAGE = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
    scripts: Record<string, string>;
};

/** The line (1-based) of the first line matching `re`, or Infinity. */
const lineOf = (re: RegExp) => LINES.findIndex((l) => re.test(l)) + 1 || Infinity;

/** The stack the README has a newcomer create. */
function newStack(): string {
    const m = /^pulumi stack init (\S+)/m.exec(README);
    assert.ok(m, "README.md creates a stack with pulumi stack init");
    return m[1];
}

/** The README's `pulumi config set KEY VALUE` lines, as typed values (the CLI's YAML reading of a plain value). */
function deployConfig(): Record<string, unknown> {
    const config: Record<string, unknown> = {};
    for (const l of LINES) {
        const m = /^pulumi config set (\S+) (\S+)/.exec(l);
        if (m) config[m[1]] = YAML.parse(m[2]);
    }
    return config;
}

describe("README.md, the front page", () => {
    it("has at most 200 lines", () => {
        assert.ok(LINES.length <= 200, `README.md has ${LINES.length} lines`);
    });

    it("reaches `pulumi up` against your own repository within its first 80 lines, after the config it sets", () => {
        const up = lineOf(/^pulumi up\b/);
        assert.ok(up <= 80, `pulumi up is at line ${up}`);
        assert.ok(lineOf(/^pulumi config set sourceUrl /) < up, "sourceUrl is set before pulumi up");
        assert.ok(lineOf(/^npm run smoke\b/) <= 80, "the smoke build is within the first 80 lines");
    });

    describe("its deploy config, under mocks", () => {
        after(() => pulumi.runtime.setAllConfig({}, []));
        const run = (status: "PENDING" | "AVAILABLE") => {
            const sc = readStackConfig(undefined, deployConfig());
            return runWithConfig(program, {
                project: sc.project,
                stack: newStack(),
                region: String(deployConfig()["aws:region"]),
                config: sc.config,
                secretKeys: sc.secretKeys,
                liveConnectionStatus: status,
            });
        };

        it("starts from a new stack: no Pulumi.<stack>.yaml of this repository adds config to the README's", () => {
            assert.equal(fs.existsSync(path.join(ROOT, `Pulumi.${newStack()}.yaml`)), false);
        });

        it("is accepted by the program, and builds the repository it names", async () => {
            const config = deployConfig();
            assert.ok(Object.keys(config).length >= 4, "the README sets its config with pulumi config set");
            await run("PENDING");
            const project = findResource("aws:codebuild/project:Project");
            assert.equal((project.inputs.source as { location: string }).location, config.sourceUrl);
        });

        it("first up with a pending connection: no webhook yet, as the README says; after the handshake: the webhook", async () => {
            await run("PENDING");
            assert.equal(findResources("aws:codebuild/webhook:Webhook").length, 0);
            await run("AVAILABLE");
            assert.equal(findResources("aws:codebuild/webhook:Webhook").length, 1);
        });
    });

    it("its two commands: `npm ci && npm run local-build` and `npm ci && npm test`, the one CI runs (.ci/run)", () => {
        assert.ok(README.includes("\nnpm ci && npm run local-build "));
        assert.ok(README.includes("\nnpm ci && npm test "));
        const ci = fs.readFileSync(path.join(ROOT, ".ci/run"), "utf8");
        assert.match(ci, /^npm test$/m, ".ci/run runs the README's test command");
        assert.ok(PACKAGE.scripts.test.length > 0 && PACKAGE.scripts["local-build"].length > 0);
    });

    it("every `npm run X` named in README.md and docs/ is a script of package.json", () => {
        const missing = docPages().flatMap((f) =>
            [...fs.readFileSync(path.join(ROOT, f), "utf8").matchAll(/npm run ([\w:-]+)/g)]
                .map((m) => m[1])
                .filter((s) => PACKAGE.scripts[s] === undefined)
                .map((s) => `${f}: npm run ${s}`),
        );
        assert.deepEqual(missing, []);
    });

    it("maps every page of docs/", () => {
        const linked = new Set([...README.matchAll(/\]\((docs\/[^)#]+)/g)].map((m) => m[1]));
        const pages = docPages().filter((f) => f.startsWith("docs/"));
        assert.deepEqual(
            pages.filter((p) => !linked.has(p)),
            [],
            "docs/ pages the README's map doesn't link",
        );
    });
});
