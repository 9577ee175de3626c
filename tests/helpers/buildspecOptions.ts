/**
 * The one set of buildspec options the unit tests start from: an `inline` build of `app/Dockerfile` on the
 * docker-container builder, pushing to `123456789012.dkr.ecr.eu-west-1.amazonaws.com/app`, with `main` as both the
 * project's source version and its one trusted ref. A test file passes what its subject changes.
 */
import { DEFAULTS } from "../../components/resolveArgs";
import type { BuildspecOptions } from "../../components/buildspec";

export const TEST_REPOSITORY_URL = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app";

export function buildspecOptions(over: Partial<BuildspecOptions> = {}): BuildspecOptions {
    return {
        repositoryUrl: TEST_REPOSITORY_URL,
        region: "eu-west-1",
        imageTag: "latest",
        cacheTag: "buildcache",
        cacheStrategy: "inline",
        registryBuilder: "docker-container",
        builderImage: DEFAULTS.builderImage,
        builderImageMirrors: DEFAULTS.builderImageMirrors,
        dockerfileDir: "app",
        dockerfileName: "Dockerfile",
        buildArgs: {},
        trustedRefs: ["main"],
        sourceVersion: "main",
        ...over,
    };
}
