"use strict";
// Our own nodes configured to protect less than they seem: keyring passphrase and salt,
// consent gates checking undeclared purposes, minimize in remove mode towards the
// cloud, anonymize pseudonyms without a key and unkeyed hashes.
const assert = require("node:assert/strict");
const { audit, judgePassphrase, PASSPHRASE_MIN, PASSPHRASE_GOOD } = require("../../../dist/audit");
const F = require("../../helpers/audit-flows");

const z = "t";
const rule = (flows, r, opts) => audit(flows, opts).findings.filter((f) => f.rule === r);
const SALT = "c2FsdHNhbHRzYWx0c2FsdA";

describe("audit: our own nodes", () => {
  describe("keyring", () => {
    const flows = (extra = {}) => [F.tab(z), F.keyring("kr", { source: "passphrase", salt: SALT, ...extra }), F.encrypt("e", z, "kr", [[]])];

    it("judges a passphrase by length only, where it is known; says so where it is not", () => {
      assert.equal(judgePassphrase(undefined), "missing");
      assert.equal(judgePassphrase("x".repeat(PASSPHRASE_MIN - 1)), "too-short");
      assert.equal(judgePassphrase("x".repeat(PASSPHRASE_GOOD - 1)), "short");
      assert.equal(judgePassphrase("x".repeat(PASSPHRASE_GOOD)), "ok");
      const unknown = audit(flows());
      assert.deepEqual(unknown.findings.filter((f) => f.rule === "keyring-passphrase"), []);
      assert.match(unknown.notes.join("\n"), /passphrase is a credential.*not checked/);
      const short = rule(flows(), "keyring-passphrase", { facts: { keyrings: { kr: { passphrase: "short" } } } });
      assert.equal(short.length, 1);
      assert.equal(short[0].severity, "medium");
      assert.deepEqual(short[0].nodes, ["kr", "e"]);
      assert.equal(short[0].fix.nodeType, "privacy-keyring");
      assert.equal(rule(flows(), "keyring-passphrase", { facts: { keyrings: { kr: { passphrase: "too-short" } } } })[0].severity, "high");
      assert.deepEqual(rule(flows(), "keyring-passphrase", { facts: { keyrings: { kr: { passphrase: "ok" } } } }), []);
    });

    it("reports a missing salt, and leaves keyrings with keys (credentials, env) alone", () => {
      const f = rule(flows({ salt: "" }), "keyring-passphrase");
      assert.deepEqual(f.map((x) => x.id), ["keyring-passphrase:kr:salt"]);
      assert.deepEqual(rule([F.tab(z), F.keyring("k2", { source: "credentials" })], "keyring-passphrase"), []);
    });
  });

  describe("consent gate", () => {
    const flows = (purposes, gateExtra = {}) => [F.tab(z), F.store("st", purposes), { ...F.gate("g", z, "st", [[]]), ...gateExtra }];

    it("a store without purposes, or without the gate's purpose, is a finding; a declared one is not", () => {
      assert.equal(rule(flows([]), "consent-purposes")[0].id, "consent-purposes:g");
      assert.match(rule(flows([{ id: "other", policyVersion: "1" }]), "consent-purposes")[0].title, /undeclared purpose "cloud"/);
      assert.deepEqual(rule(flows([{ id: "cloud", policyVersion: "1" }]), "consent-purposes"), []);
      assert.deepEqual(rule(flows([{ id: "x", policyVersion: "1" }], { purposeFrom: "msg" }), "consent-purposes"), [], "purpose from msg: not knowable");
      assert.equal(rule([F.tab(z), F.gate("g", z, "gone", [[]])], "consent-purposes")[0].id, "consent-purposes:g:store");
    });
  });

  describe("minimize in remove mode", () => {
    const chain = (mode, between = []) => {
      const ids = ["m", ...between.map((n) => n.id), "out"];
      const nodes = [F.minimize("m", z, [ids[1]], mode), ...between.map((n, i) => ({ ...n, wires: [[ids[i + 2]]] }))];
      return [F.tab(z), F.keyring("kr"), F.node("inj", "inject", z, {}, [["m"]]), ...nodes, F.httpReq("out", z, "https://cloud.example.com/x")];
    };

    it("reaching a cloud sink in clear: suggest keep mode; keep mode, an encrypt or a keep-mode minimize after it: fine", () => {
      const [f] = rule(chain("remove"), "minimize-remove-to-cloud");
      assert.equal(f.id, "minimize-remove-to-cloud:m");
      assert.deepEqual(f.nodes, ["m", "out"]);
      assert.match(f.fix.text, /keep mode/);
      assert.deepEqual(rule(chain("keep"), "minimize-remove-to-cloud"), []);
      assert.deepEqual(rule(chain("remove", [F.encrypt("e", z, "kr", [])]), "minimize-remove-to-cloud"), []);
      assert.deepEqual(rule(chain("remove", [F.minimize("m2", z, [])]), "minimize-remove-to-cloud"), []);
      assert.equal(rule(chain("remove", [F.anonymize("a", z, [])]), "minimize-remove-to-cloud").length, 1, "anonymize does not remove unknown fields");
    });

    it("a local destination (file, LAN) is no concern for this rule", () => {
      const flows = chain("remove");
      flows.find((n) => n.id === "out").url = "http://192.168.1.3/x";
      assert.deepEqual(rule(flows, "minimize-remove-to-cloud"), []);
    });
  });

  describe("anonymize", () => {
    it("pseudonymize rules without a keyring, also inside a scan; a keyring fixes it", () => {
      const pseudo = [{ path: "owner", op: "pseudonymize" }];
      assert.equal(rule([F.tab(z), F.anonymize("a", z, [[]], pseudo)], "anonymize-key")[0].id, "anonymize-key:a");
      const scan = [{ path: "note", op: "scan", action: { op: "replace" }, actions: { email: { op: "pseudonymize" } } }];
      assert.equal(rule([F.tab(z), F.anonymize("a", z, [[]], scan)], "anonymize-key").length, 1);
      assert.deepEqual(rule([F.tab(z), F.keyring("kr"), F.anonymize("a", z, [[]], pseudo, "kr")], "anonymize-key"), []);
      assert.equal(rule([F.tab(z), F.anonymize("a", z, [[]], pseudo, "missing")], "anonymize-key").length, 1);
    });

    it("an unkeyed hash of identifiers is a low finding", () => {
      const [f] = rule([F.tab(z), F.anonymize("a", z, [[]], [{ path: "mac", op: "hash" }])], "anonymize-key");
      assert.equal(f.id, "anonymize-key:a:hash");
      assert.equal(f.severity, "low");
    });
  });
});
