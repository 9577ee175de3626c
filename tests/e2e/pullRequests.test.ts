// End-to-end, issue 22: a pull request builds in the read-only project, and the registry itself refuses its writes.
//
// Real: the component's two buildspecs as CodeBuild gets them (the main project's and the -pr project's, rendered by
// the component under the mock runtime: local/component-buildspec.ts), BuildKit on CodeBuild's docker-container
// builder, a fresh Docker host per build, and the local registry. What plays IAM: the registry's front (local/
// registry.ts) gives the -pr project's build the read-only user's password (the `aws ecr get-login-password`
// stand-in prints it), and refuses every PUT, POST, PATCH and DELETE of that user with 403 DENIED, as ECR refuses a
// role without the push actions. What a build did is read from BuildKit's per-step statuses, the registry's counters
// (bytes pushed, writes refused) and its tags and manifest digests.
//
// 1. the read-only user, over HTTP: reads pass, each write method is refused (the read-write user's is not);
// 2. a push to main writes the cache; a deliberate `docker push` from its build succeeds (the control);
// 3. a pull request in the -pr project, on a changed Dockerfile, hits main's cache for every step before the change,
//    pushes 0 bytes, and a deliberate `docker push` from inside that build is refused by the registry.
import { strict as assert } from "assert";
import * as YAML from "yaml";
import type { CachedDockerBuildArgs } from "../../components/args";
import type { LocalBuildResult } from "../../standIn/host";
import type { Buildspec } from "../../standIn/runner";
import { singleStage } from "../../localBuild/dockerfile";
import { branchPush, pullRequest } from "../helpers/events";
import { componentBuild, printed, ready, REGISTRY, SharedHost, SMALL, why } from "./helpers";

const REPO = "e2e/pull-requests";
/** A stack with pull-request builds: a source of its own with a sign-in (the token is never used here). */
const ARGS: CachedDockerBuildArgs = {
    trustedRefs: ["main"],
    sourceVersion: "main",
    sourceUrl: "https://github.com/acme/app.git",
    githubToken: "ghp_e2eNeverUsed0000000000000000000000000",
    webhookPushes: true,
    webhookPullRequests: true,
};

const shared = new SharedHost();

/** BuildKit's status of each Dockerfile step after FROM, of the build (the first docker build). */
function statuses(r: LocalBuildResult): string[] {
    return r.steps.builds[0].steps
        .filter((s) => s.index >= 2)
        .sort((a, b) => a.index - b.index)
        .map((s) => s.status);
}

/**
 * The buildspec with one more command at the end of its build phase: a deliberate `docker push` of the base image
 * to `<repository>:<tag>`, as code a pull request controls could run. It never fails the build: it prints
 * `PUSH-OUTCOME: accepted` or `PUSH-OUTCOME: refused`, after docker's own output.
 */
function withDeliberatePush(tag: string): (yaml: string) => string {
    return (yaml) => {
        const host = shared.host!;
        const target = `${host.registry.address}/${REPO}:${tag}`;
        const spec = YAML.parse(yaml) as Buildspec & { phases: { build: { commands: string[] } } };
        spec.phases.build.commands.push(
            [
                "# ---- the test's deliberate push (tests/e2e/pullRequests.test.ts) ----",
                `if docker pull ${host.base.ref} && docker tag ${host.base.ref} ${target} && docker push ${target}; then`,
                "    echo 'PUSH-OUTCOME: accepted'",
                "else",
                "    echo 'PUSH-OUTCOME: refused'",
                "fi",
            ].join("\n"),
        );
        return YAML.stringify(spec, { lineWidth: 0 });
    };
}

describe("pull requests build in the read-only project, end to end (issue 22; registry strategy, fresh host per build)", function () {
    this.timeout(300_000);

    shared.hooks();
    beforeEach(async function () {
        await ready(this, shared.host, REGISTRY);
    });

    it("1. the registry's read-only user reads, and each of PUT, POST, PATCH and DELETE is refused with 403 DENIED", async () => {
        const reg = shared.host!.registry;
        const auth = (pw: string) => ({
            authorization: `Basic ${Buffer.from(`${reg.username}:${pw}`).toString("base64")}`,
        });
        const base = `http://${reg.address}/v2`;
        const ro = auth(reg.readOnlyPassword);
        assert.equal((await fetch(`${base}/`, { headers: ro })).status, 200, "GET /v2/");
        const baseRepo = shared.host!.base.ref.slice(reg.address.length + 1).split(":")[0];
        const tagsList = await fetch(`${base}/${baseRepo}/tags/list`, { headers: ro });
        assert.equal(tagsList.status, 200, "GET a repository's tags");
        reg.resetCounters();
        const writes: [string, string][] = [
            ["POST", `${base}/${REPO}/blobs/uploads/`],
            ["PUT", `${base}/${REPO}/manifests/x`],
            ["PATCH", `${base}/${REPO}/blobs/uploads/00000000-0000-0000-0000-000000000000`],
            ["DELETE", `${base}/${REPO}/manifests/sha256:${"0".repeat(64)}`],
        ];
        for (const [method, url] of writes) {
            const r = await fetch(url, { method, headers: ro, body: method === "DELETE" ? undefined : "x" });
            assert.equal(r.status, 403, `${method} ${url}`);
            const body = (await r.json()) as { errors: { code: string }[] };
            assert.equal(body.errors[0].code, "DENIED");
        }
        assert.deepEqual(reg.counters().deniedWrites, { POST: 1, PUT: 1, PATCH: 1, DELETE: 1 });
        assert.equal(reg.counters().pushedBytes, 0, "a refused write's body is not counted as pushed");
        // Control: the read-write user may start an upload (202), and a wrong password is not let in (401).
        const rw = await fetch(`${base}/${REPO}/blobs/uploads/`, { method: "POST", headers: auth(reg.password) });
        assert.equal(rw.status, 202);
        const wrong = await fetch(`${base}/`, { headers: auth("not-the-password") });
        assert.equal(wrong.status, 401);
    });

    it("2. a push to main (main project) writes the cache; a deliberate docker push from its build is accepted (control)", async () => {
        const host = shared.host!;
        const r = await componentBuild(host, "push main", REGISTRY, {
            repo: REPO,
            dockerfile: singleStage({ baseImage: host.base.ref, ...SMALL }),
            args: ARGS,
            env: { ...branchPush("main").env },
            rewriteBuildspec: withDeliberatePush("control"),
        });
        assert.equal(r.succeeded, true, why(r));
        assert.ok(printed(r).includes("PUSH-OUTCOME: accepted"), why(r));
        assert.deepEqual((await shared.api.tags(REPO)).sort(), ["buildcache", "control", "latest"]);
        assert.deepEqual(r.bytes.deniedWrites, {});
    });

    it("3. a pull request (-pr project, read-only user) on a changed Dockerfile hits main's cache, pushes nothing, and its deliberate docker push is refused by the registry", async () => {
        const host = shared.host!;
        const before = await shared.api.digests(REPO);
        const e = pullRequest(22, "feature/x", "main", { fork: true });
        const r = await componentBuild(host, e.what, REGISTRY, {
            repo: REPO,
            // The last of the three work steps changed.
            dockerfile: singleStage({ baseImage: host.base.ref, ...SMALL, changeAt: 3, changeMarker: "pr22" }),
            args: ARGS,
            env: { ...e.env },
            project: "pullRequests",
            passwordOverride: host.registry.readOnlyPassword,
            rewriteBuildspec: withDeliberatePush("pwned"),
        });
        const s = statuses(r);
        console.log(
            `      [pull request, -pr project] ${r.succeeded ? "SUCCEEDED" : "FAILED"}: ${s.join(" ")}; pulled ${r.bytes.pulledMB.toFixed(2)} MB, pushed ${r.bytes.pushedBytes} B, writes refused ${JSON.stringify(r.bytes.deniedWrites)}`,
        );
        assert.equal(r.succeeded, true, why(r));
        const lines = printed(r);
        assert.ok(
            lines.some((l) => l.includes("builds in the read-only pull-request project: this build reads the cache")),
            why(r),
        );
        assert.ok(lines.includes(`layer cache: found ${host.registry.address}/${REPO}:buildcache`), why(r));
        // mkdir and the two unchanged work steps from main's cache; the changed one built.
        assert.deepEqual(s.slice(0, 3), ["CACHED", "CACHED", "CACHED"], `${s.join(" ")}${why(r)}`);
        assert.notEqual(s[3], "CACHED", `the changed step was built${why(r)}`);
        // The deliberate push: refused by the registry, with the registry's own answer in docker's output.
        assert.ok(lines.includes("PUSH-OUTCOME: refused"), why(r));
        assert.match(r.output, /denied|403/i, why(r));
        const denied = Object.values(r.bytes.deniedWrites).reduce((x, y) => x + y, 0);
        assert.ok(denied > 0, `the registry refused the push's writes${why(r)}`);
        assert.equal(r.bytes.pushedBytes, 0, `nothing reached the registry${why(r)}`);
        assert.deepEqual(await shared.api.digests(REPO), before, "no tag appeared or moved");
        // The buildspec itself asked for no write: every refused write is the deliberate push's, after the build.
        assert.ok(!r.buildspecYaml.includes("push=true") && !r.buildspecYaml.includes("--push"), "no push flag");
    });
});
