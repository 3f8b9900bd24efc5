// Lint: typescript-eslint (type-aware) for src/, eslint-plugin-html for the editor
// dialogs and the shared editor script (browser globals: RED, $, PrivacyEditor), plain
// rules for the tests, scripts and bench. `npm test` runs it first, with zero warnings.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import html from "eslint-plugin-html";
import globals from "globals";

const browserEditor = {
  ...globals.browser,
  RED: "readonly",
  $: "readonly",
  jQuery: "readonly",
  PrivacyEditor: "readonly",
};

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", ".tmp/**", ".node-red-dev/**", "test-output/**"] },
  {
    files: ["src/**/*.ts"],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "max-len": ["error", { code: 120, ignoreUrls: true, ignoreStrings: false, ignoreTemplateLiterals: false, ignoreRegExpLiterals: true }],
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      // `const node = this` is Node-RED's own idiom for a node's constructor closures.
      "@typescript-eslint/no-this-alias": "off",
    },
  },
  {
    files: ["src/nodes/*.html", "resources/*.js"],
    plugins: { html },
    extends: [js.configs.recommended],
    languageOptions: { ecmaVersion: 2018, sourceType: "script", globals: browserEditor },
    rules: {
      "max-len": ["error", { code: 120, ignoreUrls: true, ignoreStrings: true, ignoreRegExpLiterals: true }],
      "no-unused-vars": ["error", { args: "none", caughtErrors: "none" }],
    },
  },
  {
    // Browser tests pass callbacks to page.evaluate: they run in the editor page.
    files: ["test/e2e/**/*.js"],
    languageOptions: { globals: browserEditor },
  },
  {
    files: ["test/**/*.js", "scripts/**/*.js", "bench/**/*.js", ".mocharc.js"],
    extends: [js.configs.recommended],
    languageOptions: { ecmaVersion: 2023, sourceType: "commonjs", globals: { ...globals.node, ...globals.mocha } },
    rules: {
      "no-unused-vars": ["error", { args: "none", caughtErrors: "none" }],
    },
  },
);
