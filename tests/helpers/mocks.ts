/**
 * Moved to scripts/mockRuntime.ts (issue 26: `npm run synth` must not import the tests). This re-export keeps test
 * files written before the move compiling until they import from there; new code imports scripts/mockRuntime.ts.
 */
export * from "../../scripts/mockRuntime";
