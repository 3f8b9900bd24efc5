"use strict";
// The encrypt/decrypt help shows how to open and make our JWE in other languages. These
// tests take those snippets out of the help HTML and run them for real (jose in Node,
// jwcrypto and python-jose in Python), so the help cannot drift from the truth.
// Python needs Debian's python3-jwcrypto and python3-jose; without them the Python tests
// fail, unless SKIP_PYTHON_SNIPPETS=1.
const assert = require("node:assert");
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const { spawnSync } = require("node:child_process");
const { findPython } = require("../../helpers/python");
const { encryptValue, decryptValue } = require("../../../dist/encryption/jwe.js");
const { Keyring } = require("../../../dist/encryption/keyring.js");

const LOCALES = path.join(__dirname, "..", "..", "..", "src", "nodes", "locales", "en-US");
const AsyncFunction = (async () => {}).constructor;

function unescapeHtml(s) {
  return s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, "&");
}

/** The help's <pre> blocks cut into snippets, each starting with its `// Lang (lib)` or `# Lang (lib)` line. */
function snippets(file) {
  const html = fs.readFileSync(path.join(LOCALES, file), "utf8");
  const out = [];
  for (const m of html.matchAll(/<pre>([\s\S]*?)<\/pre>/g)) {
    for (const part of unescapeHtml(m[1]).split(/^(?=(?:\/\/|#) \w+ \()/m)) {
      if (part.trim()) out.push(part.trim());
    }
  }
  return out;
}

function snippet(file, title) {
  const found = snippets(file).filter((s) => s.startsWith(title));
  assert.strictEqual(found.length, 1, `${file}: expected one snippet starting with "${title}"`);
  return found[0];
}

/** Runs a jose snippet as the body of an async function: its static import becomes a dynamic one. */
async function runJs(code, params, args, result) {
  const body = code.replace(/^import (\{[^}]*\}) from "jose";$/m, 'const $1 = await __import("jose");');
  assert.notStrictEqual(body, code, 'the snippet imports from "jose"');
  const fn = new AsyncFunction("__import", ...params, `${body}\nreturn ${result};`);
  return fn((name) => import(name), ...args);
}

const PY_MODULES = "import jwcrypto.jwe, jose.jwe";
const python = () => findPython(PY_MODULES);

function needPython(ctx) {
  if (python()) return;
  if (process.env.SKIP_PYTHON_SNIPPETS === "1") ctx.skip();
  throw new Error("python3 with jwcrypto and python-jose not found: install them with " +
    "`apt-get install -y python3-jwcrypto python3-jose` (or set SKIP_PYTHON_SNIPPETS=1)");
}

/** Runs a Python snippet after `vars` are defined; returns what `epilogue` prints. */
function runPy(code, vars, epilogue) {
  const prelude = Object.entries(vars).map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join("\n");
  const r = spawnSync(python(), ["-"], { input: `${prelude}\n${code}\n${epilogue}\n`, encoding: "utf8" });
  assert.strictEqual(r.status, 0, `the snippet failed:\n${code}\n${r.stderr}`);
  return r.stdout.trim();
}

describe("help snippets", function () {
  const key = crypto.randomBytes(32);
  const KEY_B64URL = key.toString("base64url");
  const values = ["héllo ✓", { a: [1, null], s: "ünï" }];

  describe("privacy-encrypt: decrypt our JWE elsewhere", function () {
    it("JavaScript (jose) opens a string and a JSON value", async () => {
      const code = snippet("privacy-encrypt.html", "// JavaScript (jose)");
      for (const v of values) {
        const { jwe } = encryptValue(v, "home-2026", key);
        assert.deepStrictEqual(await runJs(code, ["KEY_B64URL", "jwe"], [KEY_B64URL, jwe], "value"), v);
      }
    });

    for (const title of ["# Python (jwcrypto)", "# Python (python-jose)"]) {
      it(`${title.slice(2)} opens a string and a JSON value`, function () {
        needPython(this);
        const code = snippet("privacy-encrypt.html", title);
        for (const v of values) {
          const { jwe } = encryptValue(v, "home-2026", key);
          const out = runPy(code, { KEY_B64URL, jwe_text: jwe }, 'import json; print(json.dumps(plaintext.decode("utf-8")))');
          const text = JSON.parse(out);
          assert.deepStrictEqual(typeof v === "string" ? text : JSON.parse(text), v);
        }
      });
    }
  });

  describe("privacy-decrypt: make a JWE elsewhere that we open", function () {
    const keyring = new Keyring({ "home-2026": key }, "home-2026");

    it("JavaScript (jose) CompactEncrypt with the help's header", async () => {
      const code = snippet("privacy-decrypt.html", "// JavaScript (jose)");
      for (const v of values) {
        const jwe = await runJs(code, ["KEY_B64URL", "value"], [KEY_B64URL, v], "jwe");
        const out = decryptValue(jwe, keyring);
        assert.deepStrictEqual(out.value, v);
        assert.strictEqual(out.kid, "home-2026");
      }
    });

    it("Python (jwcrypto) jwe.JWE with the help's header", function () {
      needPython(this);
      const code = snippet("privacy-decrypt.html", "# Python (jwcrypto)");
      const jwe = runPy(code, { KEY_B64URL, plaintext: values[0] }, "print(jwe_text)");
      const out = decryptValue(jwe, keyring);
      assert.strictEqual(out.value, values[0]);
      assert.strictEqual(out.kid, "home-2026");
    });
  });
});
