/**
 * The pull-through cache's pure part (`components/pullThrough.ts`): ECR's rules for prefixes and credentials,
 * Docker's rules for image references, and the BuildKit mirror configuration. No mocks.
 */
import { strict as assert } from "assert";
import {
    buildkitdConfig,
    credentialArnProblem,
    credentialSecretName,
    parseImageRef,
    prefixProblem,
    upstreamCacheUrls,
    viaPullThroughCache,
} from "../../components/pullThrough";

const ECR = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
const CACHES = [
    { upstream: "ecr-public", prefix: "ecr-public" },
    { upstream: "docker-hub", prefix: "docker-hub" },
] as const;

describe("pull-through cache (pure)", () => {
    describe("image references, read the way Docker reads them", () => {
        for (const [ref, host, path, suffix] of [
            ["node", "docker.io", "library/node", ""],
            ["node:22-slim", "docker.io", "library/node", ":22-slim"],
            ["bitnami/redis:7", "docker.io", "bitnami/redis", ":7"],
            ["docker.io/library/alpine:3.20", "docker.io", "library/alpine", ":3.20"],
            ["index.docker.io/alpine", "docker.io", "library/alpine", ""],
            ["public.ecr.aws/vend/moby/buildkit:v0.32.2", "public.ecr.aws", "vend/moby/buildkit", ":v0.32.2"],
            ["localhost/app", "localhost", "app", ""],
            ["127.0.0.1:5000/base/busybox:1", "127.0.0.1:5000", "base/busybox", ":1"],
            [`alpine@sha256:${"a".repeat(64)}`, "docker.io", "library/alpine", `@sha256:${"a".repeat(64)}`],
            [`ghcr.io/o/i:1@sha256:${"b".repeat(64)}`, "ghcr.io", "o/i", `:1@sha256:${"b".repeat(64)}`],
        ] as const) {
            it(`${ref} → host ${host}, path ${path}`, () => {
                assert.deepEqual(parseImageRef(ref), { host, path, suffix });
            });
        }
    });

    describe("viaPullThroughCache", () => {
        it("rewrites an ECR Public or Docker Hub image to its cache in the private registry", () => {
            assert.equal(
                viaPullThroughCache("public.ecr.aws/vend/moby/buildkit:v0.32.2", ECR, CACHES),
                `${ECR}/ecr-public/vend/moby/buildkit:v0.32.2`,
            );
            assert.equal(viaPullThroughCache("node:22", ECR, CACHES), `${ECR}/docker-hub/library/node:22`);
        });

        it("leaves an image alone when no cache covers its registry", () => {
            assert.equal(viaPullThroughCache("ghcr.io/o/i:1", ECR, CACHES), "ghcr.io/o/i:1");
            assert.equal(viaPullThroughCache("node:22", ECR, [CACHES[0]]), "node:22");
            assert.equal(viaPullThroughCache(`${ECR}/app:latest`, ECR, CACHES), `${ECR}/app:latest`);
        });
    });

    describe("ECR's rules", () => {
        it("accepts the prefixes ECR accepts", () => {
            for (const p of ["ecr-public", "docker-hub", "team/docker-hub", "a1", "x.y_z-w"]) {
                assert.equal(prefixProblem(p), undefined, p);
            }
        });

        it("refuses the prefixes ECR refuses, saying why", () => {
            assert.equal(prefixProblem("a"), "must be 2–30 characters, got 1");
            assert.equal(prefixProblem("x".repeat(31)), "must be 2–30 characters, got 31");
            for (const p of ["ROOT", "Ecr", "a//b", "-ab", "ab-", "a b", "a--b"]) {
                assert.match(prefixProblem(p) ?? "", /lowercase letters and digits/, p);
            }
        });

        it("accepts only a Secrets Manager secret named ecr-pullthroughcache/… as a credential", () => {
            const ok = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCdEf";
            assert.equal(credentialArnProblem(ok), undefined);
            for (const bad of [
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:docker-hub-credential-AbCdEf",
                "arn:aws:ssm:eu-west-1:123456789012:parameter/ecr-pullthroughcache/docker-hub",
                "ecr-pullthroughcache/docker-hub",
            ]) {
                assert.match(credentialArnProblem(bad) ?? "", /ecr-pullthroughcache\//, bad);
            }
            assert.equal(credentialSecretName("dev-docker-hub"), "ecr-pullthroughcache/dev-docker-hub");
        });
    });

    describe("buildkitdConfig", () => {
        it("mirrors each cached upstream host to its prefix in the private registry", () => {
            assert.equal(
                buildkitdConfig(ECR, CACHES),
                `[registry."public.ecr.aws"]\n  mirrors = ["${ECR}/ecr-public"]\n\n` +
                    `[registry."docker.io"]\n  mirrors = ["${ECR}/docker-hub"]\n`,
            );
        });

        it("is empty without caches", () => {
            assert.equal(buildkitdConfig(ECR, []), "");
        });
    });

    describe("upstreamCacheUrls", () => {
        it("names where each cached upstream is reached in the registry; nothing without caches", () => {
            assert.deepEqual(upstreamCacheUrls(ECR, CACHES), {
                "ecr-public": `${ECR}/ecr-public`,
                "docker-hub": `${ECR}/docker-hub`,
            });
            assert.deepEqual(upstreamCacheUrls(ECR, []), {});
        });
    });
});
