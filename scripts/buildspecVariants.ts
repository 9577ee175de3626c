/**
 * The buildspec variants that are rendered into golden files (`tests/golden/`, `npm run golden`) and
 * shellchecked (`npm run lint`): one per strategy and builder, plus one with every option that changes the
 * rendered text. Fixed, realistic options: an ECR repository in eu-west-1 and the component's defaults.
 */
import * as path from "path";
import { DEFAULTS } from "../components/resolveArgs";
import type { BuildspecOptions } from "../components/buildspec";

const BASE: BuildspecOptions = {
    repositoryUrl: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/docker-cache-dev",
    region: "eu-west-1",
    imageTag: "latest",
    cacheTag: "buildcache",
    cacheStrategy: "inline",
    registryBuilder: "docker-container",
    builderImage: DEFAULTS.builderImage,
    builderImageMirrors: DEFAULTS.builderImageMirrors,
    dockerfileDir: "al/x86_64/standard/5.0",
    dockerfileName: "Dockerfile",
    buildArgs: {},
    trustedRefs: ["master"],
    sourceVersion: "master",
    // Skip unchanged builds: on by default for inline and registry (refused with pull, below).
    skipUnchanged: true,
};

export interface Variant {
    /** The golden file's name without `.yaml`. */
    readonly name: string;
    readonly options: BuildspecOptions;
}

export const VARIANTS: readonly Variant[] = [
    { name: "inline", options: BASE },
    { name: "registry-docker-container", options: { ...BASE, cacheStrategy: "registry" } },
    { name: "registry-docker", options: { ...BASE, cacheStrategy: "registry", registryBuilder: "docker" } },
    { name: "pull", options: { ...BASE, cacheStrategy: "pull", skipUnchanged: false } },
    {
        // Several trusted refs (a tag among them) that exclude the project's own version, build args that
        // need quoting, a Dockerfile folder with a space and a trailing slash, the host network, both pull-through caches,
        // and zstd layers.
        name: "registry-all-options",
        options: {
            ...BASE,
            cacheStrategy: "registry",
            trustedRefs: ["main", "release/1.x", "refs/tags/v1.0"],
            sourceVersion: "develop",
            dockerfileDir: "images/ci base/",
            dockerfileName: "Dockerfile.ci",
            buildArgs: { VERSION: "1.2.3", GREETING: 'it\'s a "test" $HOME' },
            buildNetwork: "host",
            contextDir: "images",
            target: "runtime",
            upstreamCaches: [
                { upstream: "ecr-public", prefix: "ecr-public" },
                { upstream: "docker-hub", prefix: "docker-hub" },
            ],
            layerCompression: "zstd",
        },
    },
    // Two platforms (components/platforms.ts): natively, a batch of one job per platform and the manifest job; emulated, one build.
    {
        name: "registry-two-platforms",
        options: {
            ...BASE,
            cacheStrategy: "registry",
            platforms: ["linux/amd64", "linux/arm64"],
            platformMode: "native",
        },
    },
    {
        name: "registry-emulated",
        options: {
            ...BASE,
            cacheStrategy: "registry",
            platforms: ["linux/amd64", "linux/arm64"],
            platformMode: "emulated",
        },
    },
];

/** Where the golden files live. */
export const GOLDEN_DIR = path.join(__dirname, "..", "tests", "golden");

export function goldenFile(v: Variant): string {
    return path.join(GOLDEN_DIR, `${v.name}.yaml`);
}
