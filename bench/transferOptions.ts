/**
 * The transfer bench's flags that are pure to parse (bench/transfer.ts runs it): which workloads, variants and runs,
 * so a run under a shaped network fits in the time there is. Shared by bench/transfer.ts and its tests.
 */
import type { CacheStrategy, LayerCompression } from "../components/args";
import { Flag, invalidValue } from "../localBuild/flags";

/** A variant of the transfer bench: a strategy, a compression, and where a registry build writes its cache. */
export interface TransferVariant {
    /** The name given to `--variant`, e.g. `registry-gzip-after`. */
    readonly key: string;
    /** The name in the results, e.g. `registry gzip, cache after push`. */
    readonly label: string;
    readonly strategy: CacheStrategy;
    readonly compression: LayerCompression;
    /**
     * `registry` only: no build writes the cache beside its push (build.sh's CACHE_IN_BUILD); export.sh writes it in
     * a second invocation after the push.
     */
    readonly cacheAfter: boolean;
    /**
     * How a `cacheAfter` variant gets there: `true`, every build with skip off (no key, so build.sh never writes the
     * cache: what a stack with `skipUnchanged: false` does); `false`, skip on as by default, with build.sh's in-build
     * export taken out of the buildspec ({@link cacheAfterPush}): what the default would be if a key miss left the
     * cache to export.sh.
     */
    readonly skipOff: boolean;
}

/**
 * The bench's variants. No `inline zstd`: the daemon's own builder on the overlay2 store pushed gzip layers (Docker
 * media types) with `compression=zstd,force-compression=true,oci-mediatypes=true` on its output (measured with this
 * bench before resolveArgs refused it), so the component allows zstd with `registry` only.
 */
export const TRANSFER_VARIANTS: Readonly<Record<string, TransferVariant>> = {
    "registry-gzip": {
        key: "registry-gzip",
        label: "registry gzip",
        strategy: "registry",
        compression: "gzip",
        cacheAfter: false,
        skipOff: false,
    },
    "registry-gzip-after": {
        key: "registry-gzip-after",
        label: "registry gzip, cache after push",
        strategy: "registry",
        compression: "gzip",
        cacheAfter: true,
        skipOff: false,
    },
    "registry-gzip-skip-off": {
        key: "registry-gzip-skip-off",
        label: "registry gzip, skip off",
        strategy: "registry",
        compression: "gzip",
        cacheAfter: true,
        skipOff: true,
    },
    "registry-zstd": {
        key: "registry-zstd",
        label: "registry zstd",
        strategy: "registry",
        compression: "zstd",
        cacheAfter: false,
        skipOff: false,
    },
    "inline-gzip": {
        key: "inline-gzip",
        label: "inline gzip",
        strategy: "inline",
        compression: "gzip",
        cacheAfter: false,
        skipOff: false,
    },
};

/** The variants run when `--variant` is not given (the bench's first three). */
export const DEFAULT_VARIANTS = ["registry-gzip", "registry-zstd", "inline-gzip"] as const;

/** A run of the transfer bench: which Dockerfile, and skip on or off (a `cacheAfter` variant runs every one off). */
export interface TransferRun {
    /** The name given to `--run`. */
    readonly key: string;
    /** The name in the results. */
    readonly run: string;
    readonly dockerfile: "base" | "change" | "change 2";
    readonly skip: boolean;
}

/**
 * The runs, in the order they run (each after the ones before it, in one repository per workload and variant):
 * `cold` (empty repository), `warm` (no change), `change` (one step halfway changed), `change, export after` (the
 * same step changed again, skip off: export.sh writes the cache after the push; `registry` variants that write it
 * beside the push only, as a `cacheAfter` variant's `change` is that already).
 */
export const TRANSFER_RUNS: readonly TransferRun[] = [
    { key: "cold", run: "cold", dockerfile: "base", skip: true },
    { key: "warm", run: "warm", dockerfile: "base", skip: false },
    { key: "change", run: "change", dockerfile: "change", skip: true },
    { key: "change-export-after", run: "change, export after", dockerfile: "change 2", skip: false },
];

/** Whether variant `v` runs `r` (a list of the runs selected), and with skip on or off. */
export function runPlan(v: TransferVariant, selected: readonly TransferRun[]): { run: TransferRun; skip: boolean }[] {
    return selected
        .filter((r) => r.key !== "change-export-after" || (v.strategy === "registry" && !v.cacheAfter))
        .map((r) => ({ run: r, skip: v.skipOff ? false : r.skip }));
}

/** build.sh's in-build cache export for a key miss, as the rendered buildspec holds it. */
export const IN_BUILD_CACHE_EXPORT =
    'CACHE_IN_BUILD=1 more+=(--cache-to "type=registry,ref=$CACHE_REF,$CACHE_TO_OPTS")';

/**
 * The buildspec with build.sh's in-build cache export taken out (a key miss then leaves CACHE_IN_BUILD=0, and
 * export.sh writes the cache after the push, as it does with skip off). Throws when build.sh no longer holds it.
 */
export function cacheAfterPush(yaml: string): string {
    const n = yaml.split(IN_BUILD_CACHE_EXPORT).length - 1;
    if (n !== 1)
        throw new Error(
            `cacheAfterPush: the buildspec holds build.sh's in-build cache export ${n} times, not once (build.sh changed): ${IN_BUILD_CACHE_EXPORT}`,
        );
    return yaml.replace(IN_BUILD_CACHE_EXPORT, ":");
}

/** A comma-separated list flag of names from `names`, each once; the default when absent. */
function listFlag(o: { names: readonly string[]; default: readonly string[]; help: string }): Flag<string[]> {
    const allowed = `${o.names.join(", ")}, comma-separated, each once`;
    return {
        type: "string",
        placeholder: "LIST",
        allowed,
        help: o.help,
        defaultText: o.default.join(","),
        parse: (raw, flag) => {
            if (raw === undefined) return [...o.default];
            const text = String(raw);
            const names = text.split(",").map((s) => s.trim());
            for (const n of names)
                if (!o.names.includes(n)) throw invalidValue(flag, text, allowed, `${JSON.stringify(n)} is not one`);
            if (new Set(names).size !== names.length) throw invalidValue(flag, text, allowed, "a repeat");
            return names;
        },
    };
}

/** The bench's workloads by name (their Dockerfiles are in bench/transfer.ts). */
export const TRANSFER_WORKLOAD_NAMES = ["heavy", "light", "text", "smoke"] as const;

/** `--workload heavy,light`: the workloads, in order. */
export const transferWorkloadFlag = listFlag({
    names: TRANSFER_WORKLOAD_NAMES,
    default: ["heavy", "light", "text"],
    help: "Workloads: heavy (24 steps of real work), light (48 cheap steps), text (compressible data), smoke (4 small steps).",
});

/** `--variant registry-gzip,registry-gzip-after`: the variants, in order. */
export const transferVariantFlag: Flag<TransferVariant[]> = (() => {
    const f = listFlag({
        names: Object.keys(TRANSFER_VARIANTS),
        default: DEFAULT_VARIANTS,
        help: `Variants: ${Object.values(TRANSFER_VARIANTS)
            .map((v) => `${v.key} (${v.label})`)
            .join(", ")}.`,
    });
    return { ...f, parse: (raw, flag) => f.parse(raw, flag).map((k) => TRANSFER_VARIANTS[k]) };
})();

/** `--run cold,change`: the runs; they always run in TRANSFER_RUNS' order. */
export const transferRunFlag: Flag<TransferRun[]> = (() => {
    const f = listFlag({
        names: TRANSFER_RUNS.map((r) => r.key),
        default: TRANSFER_RUNS.map((r) => r.key),
        help: "Runs: cold, warm, change, change-export-after (each builds on the ones before it, in this order).",
    });
    return {
        ...f,
        parse: (raw, flag) => {
            const keys = f.parse(raw, flag);
            return TRANSFER_RUNS.filter((r) => keys.includes(r.key));
        },
    };
})();
