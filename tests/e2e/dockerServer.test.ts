// End-to-end test of the Docker server model (standIn/dockerServer.ts), real Docker: the component's inline
// buildspec runs twice on the project's one daemon (the second build finds every step on it: all cached, no layer
// downloaded), then, after the idle time, on a recycled, empty daemon, where the ECR cache (here the local
// registry) gives every step back by downloading the image. 3 steps of 1 MB.
import { strict as assert } from "assert";
import { singleStage } from "../../localBuild/dockerfile";
import { runScenario } from "../../standIn/scenario";
import { LocalDockerServer } from "../../standIn/dockerServer";
import { ready, SharedHost } from "./helpers";

describe("e2e: CodeBuild's Docker server, modelled (standIn/dockerServer.ts)", function () {
    this.timeout(300_000);
    const shared = new SharedHost().hooks();

    it("a second build reuses the daemon's layers (no layer pulled); after the idle time the daemon is new and the ECR cache serves it", async function () {
        const h = await ready(this, shared.host);
        const server = new LocalDockerServer({ idleMs: 1000 });
        const repo = `e2e-docker-server/inline-${Date.now().toString(36)}`;
        const dockerfile = singleStage({ baseImage: h.base.ref, steps: 3, mbPerStep: 1, hashRounds: 1 });
        const build = () =>
            runScenario({
                host: h,
                strategy: "inline",
                repo,
                dockerfile,
                startHost: server.startHost,
                quiet: true,
                printReport: false,
            });
        try {
            const cold = await build();
            assert.ok(cold.succeeded);
            assert.equal(cold.steps.builds[0].rebuilt, 4);
            const warm = await build();
            assert.ok(warm.succeeded);
            assert.equal(warm.steps.builds[0].cached, 4);
            // Only the inline cache's image config is read (a few kB); no 1 MB layer is downloaded.
            assert.ok(warm.bytes.pulledBytes < 100_000, `no layer pulled (${warm.bytes.pulledBytes} bytes)`);
            await new Promise((r) => setTimeout(r, 1500));
            const recycled = await build();
            assert.ok(recycled.succeeded);
            assert.equal(recycled.steps.builds[0].cached, 4, "the ECR cache gives every step back");
            assert.ok(recycled.bytes.pulledMB >= 3, `downloaded the image again (${recycled.bytes.pulledMB} MB)`);
            assert.deepEqual(
                server.events.map((e) => e.kind),
                ["started", "reused", "recycled"],
            );
        } finally {
            await server.close();
        }
    });
});
