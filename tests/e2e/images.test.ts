// Issue #10, point 3: two images in one stack build independently. The images come from an `images` config map
// through the program's own code (imagesFromConfig: each entry's args; resolveArgs: each image's repository name,
// docker-cache-<image>-e2e), and each runs its component's real buildspec on a fresh Docker daemon against one local
// registry (standIn/scenario.ts). One Dockerfile with two target stages, `api` and `worker`, each an image. Registry
// strategy (CodeBuild's docker-container builder, or the containerd-store mode where no BuildKit image can be had).
// Real: Docker, BuildKit, the registry, the buildspec. Nothing is mocked.
import { strict as assert } from "assert";
import { resolveArgs } from "../../components/resolveArgs";
import { imagesFromConfig } from "../../components/images";
import { chooseRegistryMode, RegistryMode, runScenario, ScenarioResult } from "../../standIn/scenario";
import { imageComponentName } from "../../severalImages";
import { ready, SharedHost } from "./helpers";

/** A shared stage, then one stage per image; each image's RUN prints a marker so its log shows which stages ran. */
function dockerfile(base: string): string {
    return [
        `FROM ${base} AS common`,
        "RUN echo common > /common",
        "FROM common AS api",
        "ARG API_VERSION",
        'RUN echo "api-step $API_VERSION" > /api',
        "FROM common AS worker",
        "ARG WORKER_VERSION",
        'RUN echo "worker-step $WORKER_VERSION" > /worker',
        "",
    ].join("\n");
}

describe("two images in one stack build independently (local build host)", function () {
    this.timeout(900_000);
    const shared = new SharedHost().hooks();
    let mode: RegistryMode;

    before(async () => {
        if (shared.host) mode = await chooseRegistryMode(shared.host, (l) => console.log(`      ${l}`));
    });

    it("each image pushes to its own repository; rebuilding one after a change leaves the other's image and cache tags as they were", async function () {
        const h = await ready(this, shared.host);
        const images = (workerVersion: string) => {
            const { images: list, problems } = imagesFromConfig(
                JSON.stringify({
                    api: { target: "api", buildArgs: { API_VERSION: "1" } },
                    worker: { target: "worker", buildArgs: { WORKER_VERSION: workerVersion } },
                }),
                {},
            );
            assert.deepEqual(problems, []);
            return Object.fromEntries(list!.map((i) => [i.name, i.args]));
        };
        const repoOf = (image: string) =>
            resolveArgs(imageComponentName("docker-cache", image), "e2e", {}).repositoryName;
        const build = async (image: "api" | "worker", workerVersion = "1"): Promise<ScenarioResult> => {
            const r = await runScenario({
                host: h,
                strategy: "registry",
                registryMode: mode,
                repo: repoOf(image),
                dockerfile: dockerfile(h.base.ref),
                args: images(workerVersion)[image],
                label: `${image} (worker ${workerVersion})`,
                quiet: !process.env.E2E_VERBOSE,
            });
            assert.equal(r.succeeded, true, `${image}: ${r.output}`);
            return r;
        };
        const registry = shared.api;
        const api = repoOf("api");
        const worker = repoOf("worker");
        assert.deepEqual([api, worker], ["docker-cache-api-e2e", "docker-cache-worker-e2e"]);

        const apiCold = await build("api");
        assert.match(apiCold.buildspecYaml, /--target api\b/);
        assert.ok(apiCold.output.includes("api-step"), "the api stage ran");
        assert.ok(!apiCold.output.includes("worker-step"), "the worker stage is not part of the api image");
        assert.deepEqual(await registry.tags(api), ["buildcache", "latest"]);
        assert.deepEqual(await registry.tags(worker), [], "building api pushed nothing to worker's repository");

        const workerCold = await build("worker");
        assert.ok(workerCold.output.includes("worker-step") && !workerCold.output.includes("api-step"));
        const apiBefore = await registry.digests(api);
        const workerBefore = await registry.digests(worker);
        assert.deepEqual(Object.keys(workerBefore), ["buildcache", "latest"]);

        // A change to the worker only: its own cache still serves the shared stage, and api's tags don't move.
        const workerChanged = await build("worker", "2");
        assert.equal(workerChanged.steps.rebuilt, 1, "only the worker's changed step runs");
        assert.ok(workerChanged.steps.cached >= 1, "the shared stage comes from the worker's cache");
        assert.deepEqual(await registry.digests(api), apiBefore, "api's image and cache tags untouched");
        const workerAfter = await registry.digests(worker);
        assert.notEqual(workerAfter.latest, workerBefore.latest, "the worker's image moved");
        assert.notEqual(workerAfter.buildcache, workerBefore.buildcache, "the worker's cache moved");

        // api warm, after the worker's two builds: every step from api's own cache.
        const apiWarm = await build("api");
        assert.equal(apiWarm.steps.rebuilt, 0, "every api step is a cache hit");
        assert.ok(apiWarm.steps.cached >= 2);
        assert.deepEqual(await registry.digests(worker), workerAfter, "the worker's tags untouched by api's build");
    });
});
