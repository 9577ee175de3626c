// The report of `npm run local-build -- --context DIR` (localBuild/userReport.ts) and the step numbering it rests on
// (localBuild/advice.ts dockerfileSteps). No Docker, nothing mocked: the multi-stage builds are BuildKit's real
// `--progress=plain` output, recorded from `npm run local-build -- --context tests/e2e/fixtures/multi-stage --change
// notes.txt --change src/main.c --change config/app.conf` (docker-container builder, BuildKit v0.32.2; registry port
// masked) in tests/fixtures/multi-stage-*.plain.txt, read by the real parser (standIn/report.ts). The single-stage
// records and the run-to-run numbers below are made up, to pin the arithmetic.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { dockerfileSteps, parseDockerfile } from "../../localBuild/advice";
import { DockerfileStep, parseBuildkitPlain } from "../../standIn/report";
import type { UserBuildName, UserBuildRecord } from "../../localBuild/userBuild";
import {
    buildTable,
    hitDisagreements,
    median,
    spreadLines,
    stepMatrix,
    stepRows,
    userReport,
    verdictLines,
} from "../../localBuild/userReport";

const FIXTURES = path.join(__dirname, "..", "fixtures");
const MULTI = parseDockerfile(fs.readFileSync(path.join(__dirname, "../e2e/fixtures/multi-stage/Dockerfile"), "utf8"));
const PLAN = dockerfileSteps(MULTI);

const recorded = (file: string) => {
    const builds = parseBuildkitPlain(fs.readFileSync(path.join(FIXTURES, `multi-stage-${file}.plain.txt`), "utf8"));
    assert.equal(builds.builds.length, 1, file);
    return builds.builds[0].steps;
};
const rec = (
    name: UserBuildName,
    buildSeconds: number,
    steps: DockerfileStep[],
    changed?: string,
): UserBuildRecord => ({
    name,
    ...(changed ? { changed } : {}),
    strategy: "registry",
    succeeded: true,
    buildSeconds,
    pulledMB: 1,
    pushedMB: 2,
    steps,
});
/** The recorded series, with made-up times: cold 10 s. */
const multiRun = (): UserBuildRecord[] => [
    rec("cold", 10, recorded("cold")),
    rec("warm", 2, recorded("warm")),
    rec("change", 3, recorded("change-notes"), "notes.txt"),
    rec("change", 7, recorded("change-src"), "src/main.c"),
    rec("change", 4, recorded("change-config"), "config/app.conf"),
];

describe("Dockerfile steps as BuildKit numbers them", () => {
    it("labels each stage by its name or stage-<i>, and numbers each stage's steps from 1 (FROM, RUN, COPY, ADD, WORKDIR)", () => {
        assert.deepEqual(
            PLAN.map((p) => `${p.stage} ${p.index}/${p.total} ${p.keyword} line ${p.line}`),
            [
                "builder 1/7 FROM line 5",
                "builder 2/7 WORKDIR line 6",
                "builder 3/7 COPY line 7",
                "builder 4/7 RUN line 8",
                "builder 5/7 COPY line 9",
                "builder 6/7 RUN line 10",
                "builder 7/7 COPY line 11",
                "stage-1 1/4 FROM line 13",
                "stage-1 2/4 COPY line 14",
                "stage-1 3/4 RUN line 15",
                "stage-1 4/4 COPY line 16",
            ],
        );
    });
    it("agrees with what BuildKit printed for every step of the recorded cold build", () => {
        const printed = recorded("cold").map((s) => `${s.stage} ${s.index}/${s.total}`);
        const planned = PLAN.map((p) => `${p.stage} ${p.index}/${p.total}`);
        // stage-1's FROM is the builder's (same image): BuildKit runs and prints it once, as [builder 1/7].
        assert.deepEqual(
            planned.filter((p) => !printed.includes(p)),
            ["stage-1 1/4"],
        );
        assert.deepEqual(
            printed.filter((p) => !planned.includes(p)),
            [],
        );
    });
    it("one stage has no label; FROM scratch and FROM an earlier stage are no step; names are lower-cased", () => {
        assert.deepEqual(
            dockerfileSteps(parseDockerfile("FROM busybox AS app\nRUN a\nENV X=1\nCOPY . .\n")).map(
                (p) => `${p.stage}|${p.index}/${p.total}`,
            ),
            ["|1/3", "|2/3", "|3/3"],
        );
        assert.deepEqual(
            dockerfileSteps(
                parseDockerfile(
                    "FROM busybox AS Base\nRUN a\nFROM base AS test\nRUN b\nFROM scratch\nCOPY --from=test / /\n",
                ),
            ).map((p) => `${p.stage} ${p.index}/${p.total} ${p.keyword}`),
            ["base 1/2 FROM", "base 2/2 RUN", "test 1/1 RUN", "stage-2 1/1 COPY"],
        );
    });
});

describe("the step table and the verdict on a multi-stage Dockerfile (recorded builds)", () => {
    const runs = [multiRun()];
    const rows = stepRows(PLAN, runs);
    const cells = (name: RegExp) => {
        const r = rows.find((x) => name.test(x.name));
        assert.ok(r, `no row ${name}`);
        return r.cells;
    };
    it("lists every step of both stages once, in Dockerfile order, keyed by stage and index", () => {
        assert.deepEqual(
            rows.map((r) => r.key),
            PLAN.map((p) => `${p.stage} ${p.index}`),
        );
        assert.equal(rows.length, 11);
        // BuildKit's own text for a step it printed (the FROM with its digest), the Dockerfile's for the shared FROM.
        assert.match(rows[0].name, /^\[builder 1\/7\] FROM 127\.0\.0\.1:5000\/base\/busybox:latest@sha256:/);
        assert.equal(rows[7].name, "[stage-1 1/4] FROM ${BASE_IMAGE}");
        // With a target that leaves the final stage out, its rows come from the parse, flags and all.
        const parsedOnly = stepRows(PLAN, [multiRun().map((r) => ({ ...r, steps: [] }))]);
        assert.equal(parsedOnly[8].name, "[stage-1 2/4] COPY --from=builder /app.tar /app.tar");
        assert.deepEqual(
            parsedOnly.map((r) => r.name),
            rows.map((r, i) => (i === 0 ? "[builder 1/7] FROM ${BASE_IMAGE} AS builder" : r.name)),
        );
    });
    it("two stages' steps at the same index stay apart: a change to src/ reruns [stage-1 3/4], not [builder 3/7]", () => {
        //                               cold       warm   notes.txt      src/main.c     config/app.conf
        assert.deepEqual(cells(/^\[builder 3\/7\]/), ["rebuilt", "hit", "hit", "hit", "hit"]);
        // After the config change, its layers were downloaded for the rebuilt step after it: a hit all the same.
        assert.deepEqual(cells(/^\[stage-1 3\/4\]/), ["rebuilt", "hit", "hit", "rebuilt", "downloaded"]);
        assert.deepEqual(cells(/^\[builder 5\/7\]/), ["rebuilt", "hit", "hit", "rebuilt", "hit"]);
        assert.deepEqual(cells(/^\[stage-1 4\/4\]/), ["rebuilt", "hit", "hit", "rebuilt", "rebuilt"]);
        assert.deepEqual(cells(/^\[stage-1 1\/4\]/), ["shared", "shared", "shared", "shared", "shared"]);
    });
    it("the verdict names the first rebuilt step in build order: builder only, behind COPY --from, final stage only", () => {
        assert.deepEqual(verdictLines(PLAN, runs), [
            "no change: invalidates no step (9 of 9 from the cache); costs 20 % of the cold build (2.0 s of 10.0 s)",
            // Builder only: the final stage copies /app.tar, which didn't change.
            "a change to notes.txt: invalidates [builder 7/7] COPY notes.txt /notes.txt; 1 of 9 steps rebuilt; costs 30 % of the cold build (3.0 s of 10.0 s)",
            // Behind COPY --from: the builder's COPY src/ comes first in build order, not [stage-1 2/4].
            "a change to src/main.c: invalidates [builder 5/7] COPY src/ src/; 6 of 9 steps rebuilt; costs 70 % of the cold build (7.0 s of 10.0 s)",
            "a change to config/app.conf: invalidates [stage-1 4/4] COPY config/app.conf /etc/app.conf; 1 of 9 steps rebuilt; costs 40 % of the cold build (4.0 s of 10.0 s)",
        ]);
    });
    it("with a named target, the stages it doesn't need show - and the verdict stays in the target's stage", () => {
        // `--target builder`: BuildKit builds the builder stage only (the recorded builds, final stage's steps removed).
        const builderOnly = multiRun().map((r) => ({ ...r, steps: r.steps.filter((s) => s.stage === "builder") }));
        const table = stepMatrix(PLAN, [builderOnly]);
        assert.match(table, /^\[stage-1 3\/4\] RUN tar -xf \/app\.tar -C \/ +- +- +- +- +-$/m);
        assert.match(table, /^- : not in that build \(its stage isn't needed for the target\)$/m);
        const v = verdictLines(PLAN, [builderOnly]);
        assert.match(
            v[1],
            /^a change to notes\.txt: invalidates \[builder 7\/7\] COPY notes\.txt \/notes\.txt; 1 of 6 steps rebuilt;/,
        );
        assert.match(
            v[2],
            /^a change to src\/main\.c: invalidates \[builder 5\/7\] COPY src\/ src\/; 3 of 6 steps rebuilt;/,
        );
        assert.match(
            v[3],
            /^a change to config\/app\.conf: invalidates no step \(6 of 6 from the cache\): the file is not in the build/,
        );
    });
    it("the whole report: title, builder, both tables, the verdict and the one-run note", () => {
        const out = userReport({
            title: "T",
            builder: "B",
            parsed: MULTI,
            runs,
            checks: [],
            findings: [],
        });
        assert.match(out, /^T\nbuilder: B\n\nbuild +time +range +% of cold +range/);
        assert.match(out, /^1 run: no spread to show \(--runs 3 or more gives a median and a range\)$/m);
        assert.equal(out.split("\n").filter((l) => /^\[(builder|stage-1) \d+\/\d+\]/.test(l)).length, 11);
    });
});

describe("numbers over several runs", () => {
    // Three runs of a one-stage build, made up: the same steps, different times.
    const steps = (rebuiltFrom: number) =>
        [1, 2, 3, 4].map((i): DockerfileStep => ({
            id: i,
            index: i,
            total: 4,
            instruction: i === 1 ? "FROM" : "RUN",
            text: i === 1 ? "FROM b" : `RUN step ${i}`,
            status: i >= rebuiltFrom ? "DONE" : "CACHED",
        }));
    const plan = dockerfileSteps(parseDockerfile("FROM b\nRUN step 2\nRUN step 3\nRUN step 4\n"));
    const series = (cold: number, warm: number, change: number, changeFrom = 4) => [
        rec("cold", cold, steps(1)),
        rec("warm", warm, steps(9)),
        rec("change", change, steps(changeFrom), "a.txt"),
    ];
    const runs = [series(10, 2, 6.6), series(9, 2.1, 7.6), series(10, 1.9, 8.5)];

    it("median of an odd and an even count", () => {
        assert.equal(median([3, 1, 2]), 2);
        assert.equal(median([4, 1, 3, 2]), 2.5);
    });
    it("the build table gives each build's median time and share of cold with their ranges, and flags a share spread over more than 10 points", () => {
        const lines = buildTable(runs).split("\n");
        assert.deepEqual(lines, [
            "build           time     range  % of cold    range  MB pulled  MB pushed  hit  downloaded  rebuilt",
            "------------  ------  --------  ---------  -------  ---------  ---------  ---  ----------  -------",
            "cold          10.0 s  9.0–10.0        100        -        1.0        2.0    0           0        3",
            // Shares 20, 23.3 and 19 %: within 10 points.
            "warm           2.0 s   1.9–2.1         20    19–23        1.0        2.0    3           0        0",
            // Shares 66, 84.4 and 85 %: 19 points apart, flagged.
            "change a.txt   7.6 s   6.6–8.5         84  66–85 !        1.0        2.0    2           0        1",
        ]);
    });
    it("the verdict gives the median share and its range; the notes flag the wide one and say the hits agreed", () => {
        assert.deepEqual(verdictLines(plan, runs).slice(1), [
            "a change to a.txt: invalidates [4/4] RUN step 4; 1 of 3 steps rebuilt; costs 84 % of the cold build (median of 3 runs, range 66–85 %; 7.6 s of 10.0 s)",
        ]);
        assert.deepEqual(spreadLines(plan, runs), [
            "3 runs, each from a cold cache: times and shares are medians, with their range",
            "! change a.txt: its share of cold spread over 19 points (more than 10): read it as a range, not a number (more --runs, or a quieter machine, narrow it)",
            "cache hits agree: every step hit or rebuilt alike in all 3 runs",
        ]);
    });
    it("says so when the cache hits differ between runs, step by step, and which step each run invalidated", () => {
        const odd = [series(10, 2, 6), series(10, 2, 8, 3), series(10, 2, 6)];
        assert.deepEqual(hitDisagreements(plan, odd), [
            "change a.txt: [3/4] RUN step 3: from the cache in runs 1, 3; rebuilt in run 2",
        ]);
        assert.match(
            spreadLines(plan, odd).join("\n"),
            /^cache hits DIFFER between runs:\n {2}change a\.txt: \[3\/4\]/m,
        );
        assert.match(
            verdictLines(plan, odd)[1],
            /invalidates \[4\/4\] RUN step 4; 1 of 3 steps rebuilt \(the runs differ: run 1 \[4\/4\] RUN step 4, run 2 \[3\/4\] RUN step 3, run 3 \[4\/4\] RUN step 4\);/,
        );
        // The step table shows both outcomes where the runs differed.
        assert.match(stepMatrix(plan, odd), /^\[3\/4\] RUN step 3 +rebuilt +hit +hit\|rebuilt$/m);
        assert.match(buildTable(odd), /^change a\.txt .* 1–2$/m);
    });
});
