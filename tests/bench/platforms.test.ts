/**
 * bench/platforms.ts's command line (real: the command run with tsx, with a PATH that has no docker client, so a
 * run that started anyway fails at once instead of building). `--help` used to be ignored, and the benchmark ran.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as path from "path";

const cli = (args: string[]) =>
    spawnSync(process.execPath, [require.resolve("tsx/cli"), "bench/platforms.ts", ...args], {
        cwd: path.resolve(__dirname, "../.."),
        encoding: "utf8",
        env: { ...process.env, PATH: "/nonexistent" },
    });

describe("npm run bench:platforms: its command line", () => {
    it("--help prints the usage with every flag and exits 0, starting nothing", function () {
        this.timeout(30_000);
        const r = cli(["--help"]);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /^Usage: npm run bench:platforms -- \[flags\]\n/);
        for (const flag of ["--steps N", "--mb N", "--rounds N", "-h, --help"])
            assert.ok(r.stdout.includes(flag), flag);
        assert.doesNotMatch(r.stdout, /\[platforms\]/, "a run started");
        assert.equal(r.stderr, "");
    });

    it("a bad value or an unknown flag is a usage error, status 2, naming it", function () {
        this.timeout(30_000);
        const bad = cli(["--steps", "1"]);
        assert.equal(bad.status, 2, bad.stderr);
        assert.match(bad.stderr, /^Invalid value for '--steps': "1"\. Allowed: a whole number >= 2\.\n/);
        const unknown = cli(["--step", "4"]);
        assert.equal(unknown.status, 2, unknown.stderr);
        assert.match(unknown.stderr, /^Unknown flag '--step'\./);
    });
});
