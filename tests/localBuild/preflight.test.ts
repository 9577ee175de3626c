// The checks local-build runs before its first build (localBuild/preflight.ts). MOCKED: the docker client is a scripted
// function that answers each command as a daemon in the named state would (the answers' texts are the real ones
// Docker prints); no Docker runs. Each failure must be one line that says what to do. The same checks on real
// daemons: tests/e2e/userContext.test.ts (a missing BuildKit image, a daemon that can't run a container).
import { strict as assert } from "assert";
import type { DockerRunner } from "../../standIn/buildkitImage";
import { fallbackLine } from "../../standIn/buildkitImage";
import { builderLine, PreflightError, runPreflight } from "../../localBuild/preflight";

const REF = "public.ecr.aws/vend/moby/buildkit:v0.32.2";
type Answer = { code: number; stdout?: string; stderr?: string };

/** A scripted docker client: the first rule whose prefix starts the command answers; records every command. */
function scripted(rules: Array<[string, Answer]>): DockerRunner & { calls: string[] } {
    const calls: string[] = [];
    const docker = (args: string[]) => {
        const cmd = args.join(" ");
        calls.push(cmd);
        const rule = rules.find(([prefix]) => cmd.startsWith(prefix));
        if (!rule) return Promise.reject(new Error(`unexpected docker command: ${cmd}`));
        return Promise.resolve({ stdout: "", stderr: "", ...rule[1] });
    };
    return Object.assign(docker, { calls });
}

const HEALTHY: Array<[string, Answer]> = [
    ["buildx version", { code: 0, stdout: "github.com/docker/buildx 0.29.1 a41c1a4\n" }],
    ["version --format", { code: 0, stdout: "28.5.2\n" }],
    [`image inspect ${REF}`, { code: 1, stderr: `Error: No such image: ${REF}\n` }],
    [
        `pull --quiet ${REF}`,
        {
            code: 1,
            stderr: 'Error response from daemon: Get "https://public.ecr.aws/v2/": dial tcp: lookup public.ecr.aws: no such host\n',
        },
    ],
    [
        `run --rm --network none --entrypoint buildkitd ${REF} --version`,
        { code: 0, stdout: "buildkitd github.com/moby/buildkit v0.32.2 991535e0\n" },
    ],
];
const with_ = (over: Array<[string, Answer]>) => [...over, ...HEALTHY];
const base = {
    where: "the daemon at unix:///run/docker.sock",
    buildxPlugin: "/usr/libexec/docker/cli-plugins/docker-buildx",
    lookedIn: ["/root/.docker/cli-plugins", "/usr/libexec/docker/cli-plugins"],
};
const required = { ref: REF, archive: undefined, required: true, flag: "--portable: " };

async function failsWith(p: Promise<unknown>, message: RegExp): Promise<string> {
    try {
        await p;
    } catch (e) {
        assert.ok(e instanceof PreflightError, String(e));
        assert.ok(!e.message.includes("\n"), `more than one line: ${e.message}`);
        assert.match(e.message, message);
        return e.message;
    }
    assert.fail("the check passed");
}

describe("checks before the first build (scripted docker client)", () => {
    it("all well: the image is pulled, the daemon runs buildkitd, and the report names the builder, the image's source and its version", async () => {
        const docker = scripted(with_([[`pull --quiet ${REF}`, { code: 0 }]]));
        const r = await runPreflight({ ...base, docker, builderImage: required });
        assert.deepEqual(r.builder, {
            buildx: "github.com/docker/buildx 0.29.1 a41c1a4",
            daemon: "28.5.2",
            buildkit: { ref: REF, source: "pulled", version: "v0.32.2" },
        });
        assert.equal(
            builderLine(r.builder, "docker-container"),
            `CodeBuild's docker-container builder: BuildKit v0.32.2 from the image ${REF}, pulled; Docker 28.5.2, buildx 0.29.1`,
        );
    });
    it("no buildx plugin: says where it looked and how to install it, and asks the daemon nothing", async () => {
        const docker = scripted([]);
        await failsWith(
            runPreflight({ ...base, buildxPlugin: undefined, docker, builderImage: required }),
            /^no docker-buildx plugin \(looked in \/root\/\.docker\/cli-plugins, \/usr\/libexec\/docker\/cli-plugins\): install Docker's buildx plugin \(Debian and Ubuntu: apt-get install docker-buildx;/,
        );
        assert.deepEqual(docker.calls, []);
    });
    it("no daemon: names the address and says to start one", async () => {
        const docker = scripted(
            with_([
                [
                    "version --format",
                    {
                        code: 1,
                        stderr: "Cannot connect to the Docker daemon at unix:///run/docker.sock. Is the docker daemon running?\nmore\n",
                    },
                ],
            ]),
        );
        await failsWith(
            runPreflight({ ...base, docker, builderImage: required }),
            /^no Docker daemon answers at unix:\/\/\/run\/docker\.sock \(Cannot connect to the Docker daemon at unix:\/\/\/run\/docker\.sock\. Is the docker daemon running\?\): start it, or point DOCKER_HOST/,
        );
    });
    it("--portable without a BuildKit image: one line with the pull's error and how to make and name an archive", async () => {
        const docker = scripted(HEALTHY);
        const m = await failsWith(
            runPreflight({ ...base, docker, builderImage: required }),
            /^--portable: no BuildKit image for CodeBuild's docker-container builder: the daemon at unix:\/\/\/run\/docker\.sock can't pull public\.ecr\.aws\/vend\/moby\/buildkit:v0\.32\.2 \(Error response from daemon: .*no such host\) and CBCACHE_BUILDKIT_IMAGE_ARCHIVE names no archive: on a machine that can pull it, run `docker pull (\S+) && docker save \1 \| gzip > buildkit\.tar\.gz`, copy the file here and set CBCACHE_BUILDKIT_IMAGE_ARCHIVE=\/path\/to\/buildkit\.tar\.gz$/,
        );
        assert.ok(m.length < 600, m);
        // It stopped before trying to run a container.
        assert.ok(!docker.calls.some((c) => c.startsWith("run ")), docker.calls.join("\n"));
    });
    it("the default mode without a BuildKit image: no error, the pull's reason, for the fallback line", async () => {
        const docker = scripted(
            with_([["run --rm --network none 127.0.0.1:5000/base/busybox:latest true", { code: 0 }]]),
        );
        const r = await runPreflight({
            ...base,
            docker,
            builderImage: { ...required, required: false, flag: "" },
            containerImage: () => Promise.resolve("127.0.0.1:5000/base/busybox:latest"),
        });
        assert.equal(r.builder.buildkit, undefined);
        assert.match(r.noBuildkitImage ?? "", /^Error response from daemon: .*no such host$/);
        // The container check ran on the other image.
        assert.ok(docker.calls.includes("run --rm --network none 127.0.0.1:5000/base/busybox:latest true"));
        const line = fallbackLine(REF, r.noBuildkitImage!);
        assert.ok(!line.includes("\n"));
        assert.match(
            line,
            /which CodeBuild doesn't use: its numbers differ \(a warm build cost 12\.8 % of cold there against 3\.1 % on CodeBuild's builder/,
        );
        assert.match(line, /set CBCACHE_BUILDKIT_IMAGE_ARCHIVE=\/path\/to\/buildkit\.tar\.gz/);
        assert.doesNotMatch(line, /shared\/buildkit/); // no raw path of this machine's shared folder
    });
    it("a daemon that can't run a container (OCI runtime create failed): one line, before any build", async () => {
        const docker = scripted(
            with_([
                [`image inspect ${REF}`, { code: 0 }],
                [
                    `run --rm --network none --entrypoint buildkitd ${REF} --version`,
                    {
                        code: 127,
                        stderr: "docker: Error response from daemon: failed to create task for container: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: \"buildkitd\": permission denied: unknown.\n\nRun 'docker run --help' for more information\n",
                    },
                ],
            ]),
        );
        await failsWith(
            runPreflight({ ...base, docker, builderImage: required }),
            /^the daemon at unix:\/\/\/run\/docker\.sock can't run a container \(docker run --rm --network none --entrypoint buildkitd \S+ --version: docker: Error response from daemon: .*OCI runtime create failed: .*\): every build runs its steps in containers, so fix the daemon's container runtime first/,
        );
    });
    it("an image already on the daemon is used as it is, and said so", async () => {
        const docker = scripted(with_([[`image inspect ${REF}`, { code: 0 }]]));
        const r = await runPreflight({ ...base, docker, builderImage: required });
        assert.equal(r.builder.buildkit?.source, "already on the daemon");
        assert.ok(!docker.calls.some((c) => c.startsWith("pull")));
    });
});
