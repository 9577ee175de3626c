/**
 * The buildspec (`components/buildspec/`), pure: the build command of each cache strategy.
 */
import { strict as assert } from "assert";
import { BuildspecOptions } from "../../../components/buildspec";
import { runBash } from "../../helpers/bash";
import { flagValues, parseShell, SimpleCommand } from "../../helpers/shell";
import { REPO, options, STRATEGIES, commandOf, runnable, phaseCommands, allCommands } from "./shared";

describe("buildspec (pure)", () => {
    describe("build command per strategy", () => {
        /**
         * The build call (prelude values resolved) and its two WRITE_FLAGS assignments: the unconditional one
         * (every build, so what an untrusted build gets) and the one that replaces it when TRUSTED=1.
         */
        function buildCall(o: BuildspecOptions): {
            call: SimpleCommand;
            readOnlyFlags: (string | undefined)[];
            writeFlags: (string | undefined)[];
        } {
            const builds = phaseCommands(o, "build").filter(
                (c) => c.words[0] === "docker" && c.words[1] === "buildx" && c.words[2] === "build",
            );
            // registry: the build and, in the last build command, the cache export; other strategies: the build only.
            assert.equal(builds.length, o.cacheStrategy === "registry" ? 2 : 1);
            assert.deepEqual(
                parseShell(commandOf(o, "build"))
                    .commands.filter((c) => c.words[2] === "build")
                    .map((c) => c.words),
                [builds[0].words],
                "the first build command holds the build",
            );
            const assignments = parseShell(commandOf(o, "build")).commands.filter(
                (c) => c.arrays.WRITE_FLAGS !== undefined,
            );
            assert.equal(
                assignments.length,
                2,
                "WRITE_FLAGS is set once for every build and once more for trusted builds",
            );
            return {
                call: builds[0],
                readOnlyFlags: assignments[0].arrayValues.WRITE_FLAGS,
                writeFlags: assignments[1].arrayValues.WRITE_FLAGS,
            };
        }

        /** Every flag and value that names the image or pushes, in the base argv of the build. */
        function pushingWords(words: string[]): string[] {
            return words.filter(
                (w) =>
                    w === "--push" ||
                    w === "--tag" ||
                    w === "-t" ||
                    w.startsWith("--output") ||
                    w.includes("push=true") ||
                    w.includes(":latest"),
            );
        }

        it("inline: reads from the image, writes inline metadata, --tag and --push only in the trusted flags", () => {
            const { call, readOnlyFlags, writeFlags } = buildCall(options({ cacheStrategy: "inline" }));
            assert.deepEqual(flagValues(call.words, "--cache-from"), [`type=registry,ref=${REPO}:latest`]);
            assert.deepEqual(flagValues(call.words, "--cache-to"), []);
            assert.deepEqual(
                pushingWords(call.words.filter((w) => !w.startsWith("type=registry,ref="))),
                [],
                "the base argv neither names nor pushes the image",
            );
            assert.deepEqual(writeFlags, ["--cache-to", "type=inline", "--tag", `${REPO}:latest`, "--push"]);
            assert.deepEqual(readOnlyFlags, ["--output", "type=cacheonly"]);
        });

        it("registry: the build reads the cache tag and pushes the image with store=false; a separate export writes the cache tag with mode=max,image-manifest=true,oci-mediatypes=true,compression=gzip,force-compression=true", () => {
            const o = options({ cacheStrategy: "registry" });
            const { call, readOnlyFlags, writeFlags } = buildCall(o);
            assert.deepEqual(flagValues(call.words, "--cache-from"), [`type=registry,ref=${REPO}:buildcache`]);
            assert.deepEqual(flagValues(call.words, "--cache-to"), [], "the build itself exports no cache");
            assert.deepEqual(pushingWords(call.words), [], "the base argv neither names nor pushes the image");
            assert.deepEqual(writeFlags, [
                "--output",
                `type=image,name=${REPO}:latest,push=true,store=false,compression=gzip,force-compression=true`,
            ]);
            // The export: the build's base argv and cache import (everything up to the --cache-from value), then the cache export, cacheonly, the context.
            // One invocation per cache: its ref and its --platform (none with one cache) are the loop's, known when run.
            const exports = parseShell(commandOf(o, "export")).commands.filter((c) => c.words[2] === "build");
            assert.equal(exports.length, 1);
            const at = call.words.indexOf("--cache-from");
            assert.deepEqual(exports[0].words, [
                ...call.words.slice(0, at),
                "${p}",
                ...call.words.slice(at, at + 2),
                "--cache-to",
                "type=registry,ref=${e_ref},mode=max,image-manifest=true,oci-mediatypes=true,compression=gzip,force-compression=true",
                "--output",
                "type=cacheonly",
                "al/x86_64/standard/5.0",
            ]);
            // The --output push replaces --push and --tag: with both, buildx would also try to store the image.
            assert.ok(!writeFlags.includes("--push") && !writeFlags.includes("--tag"), JSON.stringify(writeFlags));
            assert.deepEqual(readOnlyFlags, ["--output", "type=cacheonly"]);
        });

        it("pull: docker pull in pre_build, a plain --cache-from the image, no --cache-to at all", () => {
            const o = options({ cacheStrategy: "pull" });
            const { call, readOnlyFlags, writeFlags } = buildCall(o);
            assert.deepEqual(flagValues(call.words, "--cache-from"), [`${REPO}:latest`]);
            assert.deepEqual(
                pushingWords(call.words.filter((_, i) => call.words[i - 1] !== "--cache-from")),
                [],
                "the base argv neither names nor pushes the image",
            );
            assert.deepEqual(writeFlags, ["--tag", `${REPO}:latest`, "--push"]);
            assert.deepEqual(readOnlyFlags, ["--output", "type=cacheonly"]);
            // The one docker pull pulls the refs branch.sh lists (the default branch's: the image), one at a time.
            assert.deepEqual(
                phaseCommands(o, "pre_build")
                    .filter((c) => c.words[0] === "docker" && c.words[1] === "pull")
                    .map((c) => c.words),
                [["docker", "pull", "${1}"]],
            );
            const pulled = runBash(runnable(o, "pull"));
            assert.deepEqual(pulled.calls, [["docker", "pull", `${REPO}:latest`]]);
        });

        it("builds the configured Dockerfile with the folder as context, plain progress, no provenance or SBOM manifests", () => {
            const { call } = buildCall(
                options({
                    dockerfileDir: "images/my app/",
                    dockerfileName: "Dockerfile.ci",
                    buildArgs: { VERSION: "1.2 3", EMPTY: "" },
                }),
            );
            assert.deepEqual(flagValues(call.words, "--file"), ["images/my app/Dockerfile.ci"]);
            assert.equal(call.words[call.words.length - 1], "images/my app/");
            assert.equal(call.words[call.words.length - 3], "${WRITE_FLAGS[@]}");
            // Skip unchanged builds: the key tags of a trusted build (key.sh, build.sh), and for `registry` the cache
            // export when the key missed; empty without a key.
            assert.equal(call.words[call.words.length - 2], "${more[@]}");
            assert.deepEqual(flagValues(call.words, "--build-arg"), ["VERSION=1.2 3", "EMPTY="]);
            for (const w of ["--progress=plain", "--provenance=false", "--sbom=false"]) {
                assert.ok(call.words.includes(w), w);
            }
            assert.ok(!call.words.some((w) => w.startsWith("--network")));
            assert.ok(buildCall(options({ buildNetwork: "none" })).call.words.includes("--network=none"));
        });

        it("the only pushes are the trusted flags' --push / --output …push=true: no docker push / load anywhere, no tag but the builder image's local name", () => {
            for (const strategy of STRATEGIES) {
                const all = allCommands(options({ cacheStrategy: strategy }));
                assert.ok(!all.some((c) => c.words[0] === "docker" && c.words[1] === "push"));
                // The one `docker tag` names the pulled builder image on this host (builder.sh): no registry in it.
                const tags = all.filter((c) => c.words[0] === "docker" && c.words[1] === "tag");
                assert.deepEqual(
                    tags.map((c) => c.words.slice(2)),
                    strategy === "registry" ? [["${1}", "${BUILDER_IMAGE}"]] : [],
                );
                assert.ok(!all.some((c) => c.words.includes("--load")));
                // Every word that pushes, anywhere in the buildspec (prelude arrays included), is one of the trusted write flags'.
                const { writeFlags } = buildCall(options({ cacheStrategy: strategy }));
                const pushes = (ws: (string | undefined)[]) =>
                    ws.filter((w) => w !== undefined && (w === "--push" || /(^|,)push=true(,|$)/.test(w)));
                const inWriteFlags = pushes(writeFlags);
                assert.equal(inWriteFlags.length, 1, `${strategy}: exactly one push, in the trusted flags`);
                const everywhere = all
                    .filter((c) => c.arrays.WRITE_FLAGS === undefined && c.arrays.PUSH_FLAGS === undefined)
                    .flatMap((c) => [...c.words, ...Object.values(c.arrays).flat()]);
                assert.deepEqual(pushes(everywhere), [], `${strategy}: no push outside the trusted flags`);
            }
        });

        it("untrusted builds get exactly --output type=cacheonly: no image, no tag, no push, no cache export", () => {
            for (const strategy of STRATEGIES) {
                const { readOnlyFlags } = buildCall(options({ cacheStrategy: strategy }));
                assert.deepEqual(readOnlyFlags, ["--output", "type=cacheonly"], strategy);
            }
        });
    });
});
