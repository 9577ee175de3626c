// End to end (issue 20, item 1): the builder image comes from the first of its sources that serves its digest.
//
// Real: the component's buildspec (builder.sh pulls the image itself, then `docker buildx create` starts it), a fresh
// dockerd per build, distribution registries on 127.0.0.1. Stand-ins: two anonymous registries play ECR Public's
// mirror and Docker Hub; the BuildKit image is the archive built from source (../shared/buildkit), whose digest is
// its own, so these builds pin THAT digest in place of upstream's (the component's default stays upstream's). The
// host is given no builder image: the build must pull it.
//
// (a) a first source that lacks the reference → the next serves it;
// (b) a first source that answers the digest with other bytes (a proxy serving another image's manifest under that
//     digest) → refused by the pull's own check, the next serves it;
// (c) every source down (nothing listens) → one ERROR line naming each source tried, pre_build fails, nothing pushed.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { dockerRunner, findBuildkitArchive } from "../../standIn/buildkitImage";
import { startBuildHost } from "../../standIn/daemon";
import { LocalHost, startLocalHost } from "../../standIn/host";
import { LocalRegistry, startLocalRegistry } from "../../standIn/registry";
import { runScenario, ScenarioResult } from "../../standIn/scenario";
import { freePort } from "../../standIn/util";
import { canRunDocker, pending, printed, SKIP_REASON, SMALL, why } from "./helpers";
import { singleStage } from "../../localBuild/dockerfile";

const REPO = "moby/buildkit";

describe("builder image end to end: pulled by digest from the first source that serves it", function () {
    this.timeout(600_000);
    let host: LocalHost | undefined;
    /** Plays ECR Public's mirror: has nothing. */
    let empty: LocalRegistry | undefined;
    /** Plays Docker Hub: has the BuildKit image (and busybox, under another name). */
    let hub: LocalRegistry | undefined;
    /** In front of `hub`: answers the BuildKit digest with busybox's manifest. */
    let liar: http.Server | undefined;
    let liarAddress = "";
    /** The BuildKit archive's digest, as pushed to `hub`. */
    let digest = "";
    let whyPending: string | undefined;

    before(async function () {
        if (!canRunDocker) {
            whyPending = SKIP_REASON;
            return;
        }
        const archive = findBuildkitArchive();
        if (!archive) {
            whyPending =
                "no BuildKit image archive (CBCACHE_BUILDKIT_IMAGE_ARCHIVE or ../shared/buildkit/buildkit-image.tar.gz)";
            return;
        }
        host = await startLocalHost();
        empty = await startLocalRegistry({ anonymous: true });
        hub = await startLocalRegistry({ anonymous: true });
        // Push the archive's image to "Docker Hub" from a throwaway daemon; the push prints its digest.
        const work = fs.mkdtempSync(path.join(os.tmpdir(), "cbbuilder-"));
        const h = await startBuildHost({ env: host.dockerEnv, containerdStore: false, workDir: work });
        try {
            const docker = dockerRunner(host.dockerEnv.client, h.variables);
            const load = await docker(["load", "--quiet", "--input", archive.path]);
            const loaded = /^Loaded image(?: ID)?: (\S+)$/m.exec(load.stdout)?.[1];
            assert.ok(loaded, load.stdout + load.stderr);
            const target = `${hub.address}/${REPO}:e2e`;
            assert.equal((await docker(["tag", loaded, target])).code, 0);
            const push = await docker(["push", target]);
            digest = /digest: (sha256:[0-9a-f]{64})/.exec(push.stdout)?.[1] ?? "";
            assert.ok(digest, push.stdout + push.stderr);
            // Another image in the same registry (an empty one, from an empty tar archive): the bytes the liar serves
            // under BuildKit's digest.
            const other = `${hub.address}/other:e2e`;
            const emptyTar = path.join(work, "empty.tar");
            fs.writeFileSync(emptyTar, Buffer.alloc(10240));
            const imported = await docker(["import", emptyTar, other]);
            assert.equal(imported.code, 0, imported.stderr);
            const pushed = await docker(["push", other]);
            assert.equal(pushed.code, 0, pushed.stderr);
        } finally {
            await h.stop();
            fs.rmSync(work, { recursive: true, force: true });
        }
        liar = http.createServer((req, res) => {
            const wrong = (req.url ?? "").replace(`/v2/${REPO}/manifests/${digest}`, "/v2/other/manifests/e2e");
            const up = http.request(
                {
                    host: "127.0.0.1",
                    port: Number(hub!.address.split(":")[1]),
                    method: req.method,
                    path: wrong,
                    headers: req.headers,
                },
                (ures) => {
                    res.writeHead(ures.statusCode ?? 502, ures.headers);
                    ures.pipe(res);
                },
            );
            up.on("error", () => res.destroy());
            req.pipe(up);
        });
        await new Promise<void>((r) => liar!.listen(0, "127.0.0.1", () => r()));
        liarAddress = `127.0.0.1:${(liar.address() as net.AddressInfo).port}`;
    });
    after(async () => {
        await new Promise<void>((r) => (liar ? liar.close(() => r()) : r()));
        await empty?.stop();
        await hub?.stop();
        await host?.stop();
    });

    function ready(ctx: Mocha.Context): void {
        if (whyPending) pending(ctx, whyPending);
    }

    /** One build on a fresh host given no builder image, with the builder image at `first` and the mirror `next`. */
    function build(label: string, repo: string, first: string, next: string): Promise<ScenarioResult> {
        return runScenario({
            host: host!,
            strategy: "registry",
            registryMode: "docker-container",
            repo,
            dockerfile: singleStage({ baseImage: host!.base.ref, ...SMALL }),
            args: { builderImage: `${first}/${REPO}@${digest}`, builderImageMirrors: [`${next}/${REPO}`] },
            provideBuilderImage: false,
            label,
            quiet: !process.env.E2E_VERBOSE,
            printReport: false,
        });
    }

    it("(a) the first source lacks the reference: the next one serves it, and the log names it", async function () {
        ready(this);
        const r = await build("first source empty", "e2e/builder-a", empty!.address, hub!.address);
        assert.equal(r.succeeded, true, why(r));
        const pre = printed(r, "pre_build");
        assert.ok(pre.includes(`layer cache: the builder image came from ${hub!.address}/${REPO}@${digest}`), why(r));
        assert.ok(!pre.some((l) => l.startsWith("ERROR")), why(r));
        assert.ok(r.bytes.pushedBytes > 0, "the build pushed its image");
    });

    it("(b) the first source answers the digest with other bytes: the pull refuses them, the next one serves it", async function () {
        ready(this);
        const r = await build("first source lies", "e2e/builder-b", liarAddress, hub!.address);
        assert.equal(r.succeeded, true, why(r));
        const pre = printed(r, "pre_build");
        // dockerd's own check of a pull by digest refuses the first source's bytes; then the second serves it.
        const refused = pre.indexOf(`manifest verification failed for digest ${digest}`);
        const served = pre.indexOf(`layer cache: the builder image came from ${hub!.address}/${REPO}@${digest}`);
        assert.ok(refused >= 0 && served > refused, why(r));
        assert.ok(!pre.some((l) => l.startsWith(`layer cache: the builder image came from ${liarAddress}`)), why(r));
    });

    it("(c) every source down: one ERROR line naming each source tried; pre_build fails, nothing is pushed", async function () {
        ready(this);
        const [a, b] = [`127.0.0.1:${await freePort()}`, `127.0.0.1:${await freePort()}`];
        const r = await build("every source down", "e2e/builder-c", a, b);
        assert.equal(r.succeeded, false);
        assert.deepEqual(
            r.phases.map((p) => `${p.name} ${p.status}`),
            ["install ABSENT", "pre_build FAILED", "build SKIPPED", "post_build SKIPPED"],
        );
        const errors = printed(r, "pre_build").filter((l) => l.startsWith("ERROR"));
        assert.equal(errors.length, 1, errors.join("\n"));
        assert.match(errors[0], /^ERROR: no source served the builder image, so nothing is built: /);
        for (const source of [`${a}/${REPO}@${digest}`, `${b}/${REPO}@${digest}`]) {
            assert.ok(errors[0].includes(`${source} (`), `${source} in: ${errors[0]}`);
        }
        assert.equal(r.bytes.pushedBytes, 0);
    });
});
