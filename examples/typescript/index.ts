/**
 * CachedDockerBuild used directly from TypeScript: the component, not this repository's program. Run under Pulumi's
 * mock runtime by tests/examples/typescriptExample.test.ts, which checks what it registers.
 */
import { CachedDockerBuild } from "../../components";

export function createCache() {
    const cache = new CachedDockerBuild("app", {
        sourceUrl: "https://github.com/my-org/my-app.git",
        sourceVersion: "main",
        trustedRefs: ["main", "refs/tags/v1.0.0"],
        dockerfileDir: "docker",
        cacheStrategy: "registry",
        computeType: "BUILD_GENERAL1_LARGE",
        buildArgs: { NODE_ENV: "production" },
        tags: { team: "platform" },
    });
    // In a program's entry point, export these for `pulumi stack output` and StackReferences.
    return { projectName: cache.projectName, imageUri: cache.imageUri, repositoryArn: cache.repositoryArn };
}
