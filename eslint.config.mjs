// ESLint flat config: typescript-eslint's recommended type-checked rules, and Pulumi's rules about Outputs
// in template literals (both need type information, hence projectService). ESLint 10 no longer ships
// @eslint/js, and it isn't installed here, so the core "recommended" set isn't included.
import tseslint from "typescript-eslint";
import pulumi from "@pulumi/eslint-plugin";

export default tseslint.config(
    {
        ignores: [
            "node_modules/**",
            "bin/**",
            ".scratch/**",
            ".local-build/**",
            "results/**",
            "**/*.js",
            "**/*.mjs",
            "**/*.cjs",
        ],
    },
    ...tseslint.configs.recommendedTypeChecked,
    {
        languageOptions: {
            parserOptions: {
                projectService: true,
                tsconfigRootDir: import.meta.dirname,
            },
        },
        plugins: { "@pulumi": pulumi },
        rules: {
            "@pulumi/no-output-in-template-literal": "error",
            "@pulumi/no-output-instance-in-template-literal": "error",
            // Unused names are already compile errors (noUnusedLocals/noUnusedParameters); `_`-prefixed ones are deliberate.
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
        },
    },
    {
        // Tests: mocha's `describe`/`it` callbacks, and assertions on loosely typed mock inputs.
        files: ["tests/**/*.ts"],
        rules: {
            "@typescript-eslint/no-explicit-any": "off",
            "@typescript-eslint/no-unsafe-member-access": "off",
            "@typescript-eslint/no-unsafe-assignment": "off",
            "@typescript-eslint/no-unsafe-argument": "off",
            "@typescript-eslint/no-unsafe-call": "off",
            "@typescript-eslint/no-unsafe-return": "off",
        },
    },
);
