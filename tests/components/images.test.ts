/**
 * Several images per stack (`images`, issue 10): the checked-in stacks `multi` and `multiarch` (two images, one of
 * them on two architectures) under mocks (one component per image,
 * each with its own repository, lifecycle, role, log group, project and alarms; one shared alarm topic; the `images`
 * map output read back through a mocked StackReference), the pure checks of `components/images.ts`, and bad
 * `images` config reported in one ConfigError before anything is registered. Mocked: the Pulumi engine and AWS
 * (scripts/mockRuntime.ts); real: the program, the components and the stack file as the CLI would pass it.
 */
import { BUILDKIT_V0_32_2 } from "../../components/builderImage";
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { ConfigError } from "../../components";
import { TYPE_TOKEN } from "../../components/cachedDockerBuild";
import { clashes, dedupe, imagesFromConfig, IMAGE_KEYS } from "../../components/images";
import { program, StackOutputs } from "../../program";
import type { ImageOutputs } from "../../severalImages";
import { synth } from "../../scripts/synth";
import {
    ACCOUNT,
    findResource,
    findResources,
    readStackConfig,
    registrations,
    runProgram,
    runWithConfig,
    valueOf,
    projectBuildspec,
} from "../../scripts/mockRuntime";

const REGION = "eu-west-1";
const REGISTRY = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`;
const T = {
    repo: "aws:ecr/repository:Repository",
    lifecycle: "aws:ecr/lifecyclePolicy:LifecyclePolicy",
    project: "aws:codebuild/project:Project",
    role: "aws:iam/role:Role",
    topic: "aws:sns/topic:Topic",
    subscription: "aws:sns/topicSubscription:TopicSubscription",
    alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
    rule: "aws:ecr/pullThroughCacheRule:PullThroughCacheRule",
    template: "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate",
};

/** The `BUILD_FLAGS` / `CONTEXT` lines of a project's build command. */
function buildCommand(project: string): string {
    const spec = YAML.parse(projectBuildspec(findResource(T.project, `docker-cache-${project}-project`))) as {
        phases: Record<string, { commands: string[] }>;
    };
    return spec.phases.build.commands[0];
}

describe("several images: stack multi under mocks", () => {
    let outputs: StackOutputs;
    before(async () => {
        outputs = await runProgram("multi");
    });

    it("one component per image, named docker-cache-<image>, each with its own repository, lifecycle, role and project", () => {
        const components = findResources(TYPE_TOKEN);
        assert.deepEqual(components.map((c) => c.name).sort(), ["docker-cache-al2023", "docker-cache-ubuntu"]);
        for (const image of ["al2023", "ubuntu"]) {
            const c = findResource(TYPE_TOKEN, `docker-cache-${image}`);
            const name = `docker-cache-${image}-multi`;
            assert.equal(findResource(T.repo, `docker-cache-${image}-repo`).inputs.name, name);
            assert.equal(findResource(T.repo, `docker-cache-${image}-repo`).parent, c.urn);
            assert.equal(findResource(T.lifecycle, `docker-cache-${image}-lifecycle`).inputs.repository, name);
            assert.equal(findResource(T.role, `docker-cache-${image}-role`).inputs.name, `${name}-role`);
            assert.equal(findResource(T.project, `docker-cache-${image}-project`).inputs.name, name);
        }
    });

    it("flat keys apply to every image; an entry's keys override them for that image only", () => {
        const al = findResource(T.project, "docker-cache-al2023-project").inputs;
        const ubuntu = findResource(T.project, "docker-cache-ubuntu-project").inputs;
        assert.equal(al.environment.computeType, "BUILD_GENERAL1_MEDIUM", "flat computeType");
        assert.equal(ubuntu.environment.computeType, "BUILD_GENERAL1_LARGE", "the entry's computeType");
        assert.deepEqual([al.buildTimeout, ubuntu.buildTimeout], [60, 120]);
        assert.match(buildCommand("al2023"), /--file al\/x86_64\/standard\/5\.0\/Dockerfile/);
        assert.match(buildCommand("al2023"), /^CONTEXT=al\/x86_64\/standard\/5\.0$/m);
        assert.match(buildCommand("ubuntu"), /--file ubuntu\/standard\/7\.0\/Dockerfile/);
        assert.match(
            buildCommand("ubuntu"),
            new RegExp(`name=${REGISTRY}/docker-cache-ubuntu-multi:7\\.0,push=true`),
            "the entry's imageTag",
        );
        for (const image of ["al2023", "ubuntu"]) {
            assert.match(buildCommand(image), new RegExp(`ref=${REGISTRY}/docker-cache-${image}-multi:buildcache`));
        }
    });

    it("one alarm topic for the stack, which every image's alarms notify; each image keeps its own alarms", () => {
        const topics = findResources(T.topic);
        assert.deepEqual(
            topics.map((t) => [t.name, t.inputs.name, t.parent]),
            [["docker-cache-alarms", "docker-cache-multi-alarms", ""]],
        );
        const topicArn = `arn:aws:sns:${REGION}:${ACCOUNT}:docker-cache-multi-alarms`;
        const alarms = findResources(T.alarm);
        assert.deepEqual(alarms.map((a) => a.inputs.name).sort(), [
            "docker-cache-al2023-multi-failed-builds",
            "docker-cache-al2023-multi-low-hit-ratio",
            "docker-cache-ubuntu-multi-failed-builds",
            "docker-cache-ubuntu-multi-low-hit-ratio",
        ]);
        for (const a of alarms) {
            assert.deepEqual(a.inputs.alarmActions, [topicArn], a.name);
        }
    });

    it("outputs: the images map (name → repositoryUrl, repositoryArn, imageUri, cacheRef, projectName) and the shared topic; no flat output of one image", async () => {
        const expected: Record<string, ImageOutputs> = {};
        for (const [image, tag] of [
            ["al2023", "latest"],
            ["ubuntu", "7.0"],
        ]) {
            const name = `docker-cache-${image}-multi`;
            expected[image] = {
                repositoryUrl: `${REGISTRY}/${name}`,
                repositoryArn: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/${name}`,
                imageUri: `${REGISTRY}/${name}:${tag}`,
                cacheRef: `${REGISTRY}/${name}:buildcache`,
                projectName: name,
            };
        }
        assert.deepEqual(await valueOf(outputs.images!), expected);
        assert.equal(
            await valueOf(outputs.alarmTopicArn),
            `arn:aws:sns:${REGION}:${ACCOUNT}:docker-cache-multi-alarms`,
        );
        assert.deepEqual(await valueOf(outputs.upstreamCacheUrls), {});
        for (const key of ["projectName", "repositoryUrl", "imageUri", "cacheRef", "dashboardName"] as const) {
            assert.equal(await valueOf(outputs[key]), undefined, key);
        }
        assert.equal(outputs.cacheStrategy, undefined);
    });

    it("a StackReference reads one image's URI from the images output", async () => {
        const images = await valueOf(outputs.images!);
        installMocksWithReference(images);
        const ref = new pulumi.StackReference("acme/ecr-layer-cache/multi");
        const api = ref.requireOutput("images").apply((m) => (m as Record<string, ImageOutputs>).ubuntu.imageUri);
        assert.equal(await valueOf(api), `${REGISTRY}/docker-cache-ubuntu-multi:7.0`);
    });
});

/** Fresh mocks in which the stack `acme/ecr-layer-cache/multi` has only the output `images`. */
function installMocksWithReference(images: Record<string, ImageOutputs>): void {
    void runWithConfig(() => undefined, {
        config: {},
        stackOutputs: { "acme/ecr-layer-cache/multi": { images } },
    });
}

describe("several images: stack multi through the policy pack (npm run synth)", () => {
    it("no policy violation, for both images' resources", async () => {
        const out = fs.mkdtempSync(path.join(os.tmpdir(), "synth-multi-"));
        try {
            const r = await synth({ stack: "multi", out });
            assert.deepEqual(r.violations, []);
            const files = fs.readdirSync(path.join(out, "resources"));
            for (const image of ["al2023", "ubuntu"]) {
                assert.ok(files.includes(`docker-cache-${image}-project.Project.json`), image);
            }
        } finally {
            fs.rmSync(out, { recursive: true, force: true });
        }
    });
});

describe("several images: shared resources", () => {
    it("email subscriptions are made once, on the shared topic; pull-through rules once, each image using them", async () => {
        await runProgram("multi", {
            alarmEmails: ["ops@example.com"],
            pullThroughCache: "create",
        });
        const subs = findResources(T.subscription);
        assert.deepEqual(
            subs.map((s) => [s.name, s.inputs.endpoint]),
            [["docker-cache-alarm-email-0", "ops@example.com"]],
        );
        assert.deepEqual(
            findResources(T.rule).map((r) => [r.name, r.inputs.ecrRepositoryPrefix, r.parent]),
            [["docker-cache-ecr-public-cache", "ecr-public", ""]],
        );
        assert.equal(findResources(T.template).length, 1);
        for (const image of ["al2023", "ubuntu"]) {
            // Each image's builder pulls through the shared rule's prefix.
            const pre = (
                YAML.parse(projectBuildspec(findResource(T.project, `docker-cache-${image}-project`))) as {
                    phases: Record<string, { commands: string[] }>;
                }
            ).phases.pre_build.commands.join("\n");
            assert.ok(pre.includes(`${REGISTRY}/ecr-public/vend/moby/buildkit@${BUILDKIT_V0_32_2}`), image);
        }
    });

    it("an existing alarmTopicArn: no topic created, every image's alarms notify it", async () => {
        const given = `arn:aws:sns:${REGION}:${ACCOUNT}:team-alarms`;
        const outputs = await runProgram("multi", { alarmTopicArn: given });
        assert.equal(findResources(T.topic).length, 0);
        for (const a of findResources(T.alarm)) {
            assert.deepEqual(a.inputs.alarmActions, [given], a.name);
        }
        assert.equal(await valueOf(outputs.alarmTopicArn), given);
    });

    it("monitoring off: no topic, no alarm", async () => {
        const outputs = await runProgram("multi", { monitoring: false });
        assert.equal(findResources(T.topic).length + findResources(T.alarm).length, 0);
        assert.equal(await valueOf(outputs.alarmTopicArn), undefined);
    });
});

describe("several images: bad config, all reported at once before any resource", () => {
    async function problemsOf(overrides: Record<string, unknown>): Promise<string[]> {
        const sc = readStackConfig("multi", overrides);
        let error: unknown;
        try {
            await runWithConfig(program, { project: sc.project, stack: "multi", config: sc.config });
        } catch (e) {
            error = e;
        }
        assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
        assert.deepEqual(registrations, [], "nothing registered");
        return error.problems.map((p) => `${p.key}: ${JSON.stringify(p.value)}`);
    }

    it("unknown keys (named in full), invalid names, clashing repositories and projects, bad values, flat names beside images", async () => {
        const problems = await problemsOf({
            repositoryName: "one-repo",
            images: {
                api: { dockerfileDirr: "api", repositoryName: "shared" },
                worker: { repositoryName: "shared", projectName: "API-project", target: "Build" },
                other: { projectName: "api-project" },
                Api: {},
                db_migrations: {},
            },
        });
        assert.deepEqual(problems, [
            'repositoryName: "one-repo"',
            'images.api.dockerfileDirr: "api"',
            'images.Api: "Api"',
            'images.db_migrations: "db_migrations"',
            'images.worker.target: "Build"',
            'images.worker.repositoryName: "shared"',
            'images.other.projectName: "api-project"',
        ]);
    });

    it("the exact messages: an unknown setting, a name, a clash", async () => {
        const sc = readStackConfig("multi", {
            images: { api: { dockerfileDirr: "x" }, "Bad Name": {}, b: { repositoryName: "docker-cache-api-multi" } },
        });
        await assert.rejects(
            () => runWithConfig(program, { project: sc.project, stack: "multi", config: sc.config }),
            (e: unknown) => {
                assert.ok(e instanceof ConfigError);
                assert.equal(
                    e.message,
                    [
                        "3 problems: 1 unknown key, 2 invalid values:",
                        `  - Unknown key 'images.api.dockerfileDirr' (value "x"). Did you mean 'dockerfileDir'? An image's settings are ${IMAGE_KEYS.join(", ")}; every other key is set once for the stack, without images.`,
                        `  - Invalid value for 'images.Bad Name': "Bad Name". Allowed: image names of 1 to 32 lowercase letters and digits in '-'-separated words, such as api or db-migrations (each names its component, repository and project).`,
                        `  - Invalid value for 'images.b.repositoryName': "docker-cache-api-multi". Allowed: a repositoryName no other image has (images.api has it).`,
                    ].join("\n"),
                );
                return true;
            },
        );
    });

    it("an entry's unknown setting: a stack-wide key says so; a key near no setting gets no suggestion", () => {
        const settings = `An image's settings are ${IMAGE_KEYS.join(", ")}; every other key is set once for the stack, without images.`;
        const { problems } = imagesFromConfig(JSON.stringify({ api: { sourceUrl: "https://x", zzz: 1 } }), {});
        assert.deepEqual(problems, [
            {
                key: "images.api.sourceUrl",
                value: "https://x",
                allowed: `'sourceUrl' is not an image's setting but the stack's: set it once, without images. ${settings}`,
                unknownKey: true,
            },
            { key: "images.api.zzz", value: 1, allowed: `No known key is near it. ${settings}`, unknownKey: true },
        ]);
    });

    it("a bad flat default is reported once, under its flat key, however many images inherit it", async () => {
        const problems = await problemsOf({ cacheStrategy: "fast" });
        assert.deepEqual(problems, ['cacheStrategy: "fast"']);
    });

    it("createConnection is refused with images (one connection, one handshake, per image); connectionArn is the way", async () => {
        assert.deepEqual(
            await problemsOf({
                sourceUrl: "https://github.com/my-org/my-app.git",
                sourceVersion: "main",
                createConnection: true,
            }),
            ["createConnection: true"],
        );
    });

    it("an empty map, or not a map, is refused", async () => {
        assert.deepEqual(await problemsOf({ images: {} }), ["images: {}"]);
        assert.deepEqual(await problemsOf({ images: ["api"] }), ['images: ["api"]']);
    });
});

describe("components/images.ts (pure)", () => {
    it("unset images means one image, as before", () => {
        assert.deepEqual(imagesFromConfig(undefined, {}), { problems: [] });
        assert.deepEqual(imagesFromConfig("", {}), { problems: [] });
    });

    it("an entry's settings over the flat ones; buildArgs as a map or NAME=value list, replacing the flat ones", () => {
        const { images, problems } = imagesFromConfig(
            JSON.stringify({
                api: { buildArgs: { A: "1" }, dockerfileDir: "" },
                worker: { buildArgs: ["B=2"], target: "runtime", buildTimeoutMinutes: 30 },
            }),
            { dockerfileDir: "flat", buildArgs: { F: "0" } },
        );
        assert.deepEqual(problems, []);
        assert.deepEqual(
            images!.map((i) => [i.name, i.args, [...i.own]]),
            [
                ["api", { dockerfileDir: "flat", buildArgs: { A: "1" } }, ["buildArgs"]],
                [
                    "worker",
                    { dockerfileDir: "flat", buildArgs: { B: "2" }, target: "runtime", buildTimeoutMinutes: 30 },
                    ["buildArgs", "target", "buildTimeoutMinutes"],
                ],
            ],
        );
    });

    it("platforms per image: a list, passed to that image's component and checked by it", async () => {
        const { images, problems } = imagesFromConfig(
            JSON.stringify({
                api: { platforms: ["linux/amd64", "linux/arm64"] },
                worker: { platforms: "linux/arm64" },
            }),
            {},
        );
        assert.deepEqual(images![0].args, { platforms: ["linux/amd64", "linux/arm64"] });
        assert.deepEqual(
            problems.map((p) => [p.key, p.allowed]),
            [["images.worker.platforms", "Allowed: a list of strings."]],
        );
        const bad = await (async () => {
            const sc = readStackConfig("multi", { images: { api: { platforms: ["linux/s390x"] } } });
            try {
                await runWithConfig(program, { project: sc.project, stack: "multi", config: sc.config });
            } catch (e) {
                return e;
            }
            return undefined;
        })();
        assert.ok(bad instanceof ConfigError);
        assert.ok(
            bad.problems.some((p) => p.key.startsWith("images.api.platforms")),
            bad.message,
        );
    });

    it("values of the wrong type are named in full", () => {
        const { problems } = imagesFromConfig(
            JSON.stringify({ api: { imageTag: 7, buildTimeoutMinutes: "30", buildArgs: ["NOEQUALS"] } }),
            {},
        );
        assert.deepEqual(
            problems.map((p) => [p.key, p.value, p.allowed]),
            [
                ["images.api.imageTag", 7, "Allowed: a string."],
                ["images.api.buildTimeoutMinutes", "30", "Allowed: a number."],
                ["images.api.buildArgs", "NOEQUALS", "Allowed: entries of the form NAME=value."],
            ],
        );
    });

    it("clashes: repository names exactly, project names regardless of case (IAM role names ignore case)", () => {
        assert.deepEqual(
            clashes([
                { image: "a", repositoryName: "r", projectName: "P" },
                { image: "b", repositoryName: "r2", projectName: "p" },
                { image: "c", repositoryName: "r", projectName: "q" },
            ]).map((p) => p.key),
            ["images.c.repositoryName", "images.b.projectName"],
        );
    });

    it("dedupe keeps the first of identical problems", () => {
        const p = { key: "k", value: 1, allowed: "x" };
        assert.deepEqual(dedupe([p, { ...p }, { ...p, value: 2 }]), [p, { ...p, value: 2 }]);
    });
});

describe("two images, two architectures: stack multiarch under mocks (your own repository)", () => {
    let outputs: StackOutputs;
    before(async () => {
        outputs = await runProgram("multiarch");
    });

    it("the API builds both platforms natively in a batch (build_amd64 on LINUX_CONTAINER, build_arm64 on ARM_CONTAINER, then the manifest); the worker builds amd64 alone", () => {
        const api = findResource(T.project, "docker-cache-api-project").inputs;
        const spec = YAML.parse(projectBuildspec(findResource(T.project, "docker-cache-api-project"))) as {
            batch: { "build-graph": { identifier: string; env?: { type?: string }; "depend-on"?: string[] }[] };
        };
        const graph = spec.batch["build-graph"];
        assert.deepEqual(
            graph.map((j) => [j.identifier, j.env?.type, j["depend-on"]]),
            [
                ["build_amd64", "LINUX_CONTAINER", undefined],
                ["build_arm64", "ARM_CONTAINER", undefined],
                // The manifest job runs on the project's own (amd64) environment.
                ["manifest", undefined, ["build_amd64", "build_arm64"]],
            ],
        );
        assert.ok(api.buildBatchConfig, "the API's project runs batches");
        assert.equal(api.source.auth.type, "CODECONNECTIONS");
        const worker = findResource(T.project, "docker-cache-worker-project").inputs;
        assert.equal(worker.buildBatchConfig, undefined);
        assert.equal(
            YAML.parse(projectBuildspec(findResource(T.project, "docker-cache-worker-project"))).batch,
            undefined,
        );
    });

    it("the API's repository shields both platforms' image and cache tags; the worker's only its own two", () => {
        const shielded = (image: string) =>
            (
                JSON.parse(findResource(T.lifecycle, `docker-cache-${image}-lifecycle`).inputs.policy) as {
                    rules: { selection: { tagPatternList?: string[]; countType: string; countNumber: number } }[];
                }
            ).rules
                .filter((r) => r.selection.countType === "imageCountMoreThan" && r.selection.countNumber === 10000)
                .map((r) => r.selection.tagPatternList?.[0]);
        assert.deepEqual(shielded("api").sort(), [
            "buildcache",
            "buildcache-amd64",
            "buildcache-arm64",
            "latest",
            "latest-amd64",
            "latest-arm64",
        ]);
        assert.deepEqual(shielded("worker").sort(), ["buildcache", "latest"]);
    });

    it("exports the images map with both images", async () => {
        const images = await valueOf(outputs.images!);
        assert.deepEqual(Object.keys(images).sort(), ["api", "worker"]);
        assert.equal(images.api.imageUri, `${REGISTRY}/docker-cache-api-multiarch:latest`);
    });

    it("no policy violation (npm run synth)", async () => {
        const out = fs.mkdtempSync(path.join(os.tmpdir(), "synth-multiarch-"));
        try {
            const r = await synth({ stack: "multiarch", out });
            assert.deepEqual(r.violations, []);
        } finally {
            fs.rmSync(out, { recursive: true, force: true });
        }
    });
});
