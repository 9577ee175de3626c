// The cache findings on a Dockerfile (localBuild/advice.ts), each on a Dockerfile that has the problem and on one that
// doesn't; the matching of Dockerfile lines to BuildKit's steps; the parse of BuildKit's check output. Pure: the
// real dockerfile-ast parser, no Docker, nothing mocked.
import { strict as assert } from "assert";
import {
    cacheFindings,
    findingCost,
    FindingRule,
    parseBuildkitChecks,
    parseDockerfile,
    stepsOfLines,
} from "../../localBuild/advice";
import type { DockerfileStep } from "../../standIn/report";

const find = (text: string, args: Record<string, string> = {}) => cacheFindings(parseDockerfile(text), args);
const rules = (text: string, args: Record<string, string> = {}) => find(text, args).map((f) => f.rule);
const only = (rule: FindingRule, text: string, args?: Record<string, string>) =>
    rules(text, args).filter((r) => r === rule);

const PINNED = "FROM busybox:1.37@sha256:" + "a".repeat(64);

describe("cache findings: broad-copy", () => {
    it("flags COPY . . before a dependency install, with the COPY and every later step at risk", () => {
        const f = find(`${PINNED}\nWORKDIR /app\nCOPY . .\nRUN npm ci\nRUN npm run build\nCMD ["node", "."]\n`);
        assert.deepEqual(
            f.map((x) => [x.rule, x.line, x.atRisk]),
            [["broad-copy", 3, [3, 4, 5]]],
        );
        assert.match(
            f[0].message,
            /COPY \. \. \(line 3\) copies the whole context before the dependency install `npm ci` \(line 4\)/,
        );
    });
    for (const [what, copy, install] of [
        ["ADD ./", "ADD ./ /src", "RUN pip install -r requirements.txt"],
        ["COPY *", "COPY * ./", "RUN go mod download"],
        ["JSON form", 'COPY [".", "/app"]', "RUN bundle install"],
        ["yarn alone", "COPY . /app", "RUN cd /app && yarn"],
    ]) {
        it(`flags ${what} before ${install}`, () => {
            assert.deepEqual(only("broad-copy", `${PINNED}\n${copy}\n${install}\n`), ["broad-copy"]);
        });
    }
    for (const [what, text] of [
        ["manifests first, then the rest", `${PINNED}\nCOPY package.json package-lock.json ./\nRUN npm ci\nCOPY . .\n`],
        ["a broad COPY with no install after it", `${PINNED}\nCOPY . .\nRUN echo built\n`],
        ["a broad COPY from another stage", `FROM x AS b\nRUN make\n${PINNED}\nCOPY --from=b . .\nRUN npm ci\n`],
        ["the install in another stage", `${PINNED} AS deps\nCOPY . .\n${PINNED}\nRUN npm ci\n`],
        ["a narrow COPY", `${PINNED}\nCOPY src/ ./src/\nRUN npm ci\n`],
    ]) {
        it(`does not flag ${what}`, () => assert.deepEqual(only("broad-copy", text), []));
    }
});

describe("cache findings: apt-get-update-split", () => {
    it("flags apt-get update in its own RUN, with the later install at risk", () => {
        const f = find(`${PINNED}\nRUN apt-get update\nRUN apt-get install -y curl\n`);
        assert.deepEqual(
            f.map((x) => [x.rule, x.line, x.atRisk]),
            [["apt-get-update-split", 2, [3]]],
        );
        assert.deepEqual(only("apt-get-update-split", `${PINNED}\nRUN apt -q update\nRUN apt install -y curl\n`), [
            "apt-get-update-split",
        ]);
    });
    for (const [what, text] of [
        ["update and install in one RUN", `${PINNED}\nRUN apt-get update && apt-get install -y curl\n`],
        [
            "one RUN over continuation lines",
            `${PINNED}\nRUN apt-get update \\\n && apt-get install -y curl \\\n && rm -rf /var/lib/apt/lists/*\n`,
        ],
        ["an update with no install after it", `${PINNED}\nRUN apt-get update\nRUN echo hi\n`],
        ["the install in another stage", `${PINNED}\nRUN apt-get update\n${PINNED}\nRUN apt-get install -y curl\n`],
    ]) {
        it(`does not flag ${what}`, () => assert.deepEqual(only("apt-get-update-split", text), []));
    }
});

describe("cache findings: from-without-digest", () => {
    it("flags a tag, and no tag at all, with every step of the stage at risk", () => {
        const f = find("FROM node:22\nRUN a\nCOPY x y\nFROM alpine\nRUN b\n");
        assert.deepEqual(
            f.map((x) => [x.rule, x.line, x.atRisk]),
            [
                ["from-without-digest", 1, [2, 3]],
                ["from-without-digest", 4, [5]],
            ],
        );
        assert.match(f[0].message, /names a tag, not a digest/);
        assert.match(f[1].message, /names no tag \(so `latest`\)/);
    });
    it("resolves FROM ${NAME} with the build arg, else the global ARG's default", () => {
        const text = "ARG BASE=node:22\nFROM ${BASE}\nRUN a\n";
        assert.deepEqual(rules(text), ["from-without-digest"]);
        assert.match(find(text)[0].message, /FROM \$\{BASE\} \(= node:22\)/);
        assert.deepEqual(rules(text, { BASE: `node:22@sha256:${"b".repeat(64)}` }), []);
    });
    for (const [what, text] of [
        ["a digest", `${PINNED}\nRUN a\n`],
        ["scratch", "FROM scratch\nCOPY a /a\n"],
        ["an earlier stage by name or number", `${PINNED} AS build\nRUN a\nFROM build\nRUN b\nFROM 0\nRUN c\n`],
        ["an ARG with no value (can't tell)", "ARG BASE\nFROM ${BASE}\nRUN a\n"],
    ]) {
        it(`does not flag ${what}`, () => assert.deepEqual(only("from-without-digest", text), []));
    }
});

describe("cache findings: early-varying-arg", () => {
    it("flags an ARG named like a per-build value before RUN steps, with those RUNs at risk", () => {
        const f = find(`${PINNED}\nARG GIT_SHA\nCOPY a b\nRUN make\nRUN make test\n`);
        assert.deepEqual(
            f.map((x) => [x.rule, x.line, x.atRisk]),
            [["early-varying-arg", 2, [4, 5]]],
        );
        for (const name of ["BUILD_DATE", "COMMIT", "CACHEBUST", "BUILD_NUMBER", "SOURCE_REVISION"]) {
            assert.deepEqual(
                only("early-varying-arg", `${PINNED}\nARG ${name}=x\nRUN a\n`),
                ["early-varying-arg"],
                name,
            );
        }
    });
    for (const [what, text] of [
        ["a late ARG with no RUN after it", `${PINNED}\nRUN make\nARG GIT_SHA\nLABEL rev=\${GIT_SHA}\n`],
        ["a stable ARG (a version pin)", `${PINNED}\nARG NODE_VERSION=22\nRUN make\n`],
        ["a global ARG only used by FROM", "ARG BUILD_DATE\n" + PINNED + "\nRUN make\n"],
    ]) {
        it(`does not flag ${what}`, () => assert.deepEqual(only("early-varying-arg", text), []));
    }
});

describe("cache findings: the cache-friendly example has none", () => {
    it("a Dockerfile with all four habits right gives no finding", () => {
        const text = [
            PINNED,
            "RUN apt-get update && apt-get install -y curl",
            "WORKDIR /app",
            "COPY package.json package-lock.json ./",
            "RUN npm ci",
            "COPY . .",
            "ARG BUILD_DATE",
            "LABEL created=${BUILD_DATE}",
            "",
        ].join("\n");
        assert.deepEqual(find(text), []);
    });
});

const step = (
    index: number,
    text: string,
    seconds: number,
    status: DockerfileStep["status"] = "DONE",
): DockerfileStep => ({
    id: index + 10,
    index,
    total: 4,
    instruction: text.split(" ")[0],
    text,
    status,
    seconds,
});

describe("steps of Dockerfile lines", () => {
    const parsed = parseDockerfile(`${PINNED}\nRUN echo a \\\n    && echo b\nCOPY . .\nRUN echo a \\\n    && echo b\n`);
    const steps = [
        step(1, `FROM busybox:1.37@sha256:${"a".repeat(64)}`, 0.1),
        step(2, "RUN echo a && echo b", 1.5),
        step(3, "COPY . .", 0.2),
        step(4, "RUN echo a && echo b", 2),
    ];
    it("matches a line to BuildKit's step by its stage and index, repeated texts included", () => {
        assert.deepEqual(
            stepsOfLines(parsed, steps, [2, 4, 5]).map((s) => s.index),
            [2, 3, 4],
        );
    });
    it("in a multi-stage Dockerfile, a line of one stage never matches the same index or text in another", () => {
        const multi = parseDockerfile("FROM b AS builder\nRUN make\nRUN make\nFROM b\nRUN make\n");
        const built: DockerfileStep[] = [
            { ...step(1, "FROM b", 0.1), stage: "builder", total: 3 },
            { ...step(2, "RUN make", 1), stage: "builder", total: 3 },
            { ...step(3, "RUN make", 2), stage: "builder", total: 3 },
            { ...step(2, "RUN make", 3), id: 40, stage: "stage-1", total: 2 },
        ];
        assert.deepEqual(
            stepsOfLines(multi, built, [5, 3]).map((s) => `${s.stage} ${s.index} ${s.seconds}`),
            ["stage-1 2 3", "builder 3 2"],
        );
        // Line 2's step is not in this build (say, a target before it): left out.
        assert.deepEqual(
            stepsOfLines(multi, built.slice(2), [2, 3]).map((s) => s.index),
            [3],
        );
    });
    it("gives a finding the cold build's seconds of the steps it puts at risk, or nothing when none matched", () => {
        const f = { rule: "broad-copy" as const, line: 4, message: "", fix: "", atRisk: [4, 5] };
        assert.deepEqual(findingCost(parsed, f, steps), { seconds: 2.2, steps: 2 });
        assert.equal(findingCost(parsed, f, []), undefined);
    });
});

describe("BuildKit's checks", () => {
    it("reads the rule, detail, url and line of each warning, and the build error", () => {
        const out = JSON.stringify({
            warnings: [
                {
                    ruleName: "JSONArgsRecommended",
                    description: "JSON arguments recommended",
                    url: "https://docs.docker.com/go/dockerfile/rule/json-args-recommended/",
                    detail: "JSON arguments recommended for CMD to prevent unintended behavior related to OS signals",
                    location: { ranges: [{ start: { line: 7 }, end: { line: 7 } }] },
                },
            ],
            buildError: { message: "failed to resolve source metadata" },
        });
        assert.deepEqual(parseBuildkitChecks(out), {
            checks: [
                {
                    rule: "JSONArgsRecommended",
                    detail: "JSON arguments recommended for CMD to prevent unintended behavior related to OS signals",
                    url: "https://docs.docker.com/go/dockerfile/rule/json-args-recommended/",
                    line: 7,
                },
            ],
            buildError: "failed to resolve source metadata",
        });
        assert.deepEqual(parseBuildkitChecks("Check complete, no warnings found.\n{}"), { checks: [] });
    });
    it("throws on output that isn't the JSON", () => {
        assert.throws(() => parseBuildkitChecks("ERROR: unknown flag --call"), /no JSON in the output/);
    });
});
