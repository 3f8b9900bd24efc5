"use strict";
const assert = require("node:assert");
const crypto = require("node:crypto");
const helper = require("node-red-node-test-helper");
const keyringNode = require("../../dist/nodes/privacy-keyring.js");

helper.init(require.resolve("node-red"));

const key = crypto.randomBytes(32);
const keys = JSON.stringify({ "home-2026": key.toString("base64url") });

describe("privacy-keyring node", function () {
  afterEach(async function () {
    await helper.unload();
    delete process.env.PRIVACY_TEST_KEYS;
  });

  it("getKeyring() returns the keys from credentials", async function () {
    const flow = [{ id: "kr", type: "privacy-keyring", activeKid: "home-2026" }];
    await helper.load(keyringNode, flow, { kr: { keys } });
    const kr = helper.getNode("kr").getKeyring();
    assert.strictEqual(kr.activeKid, "home-2026");
    assert.ok(kr.activeKey().key.equals(key));
  });

  it("reads the keys from an env var", async function () {
    process.env.PRIVACY_TEST_KEYS = keys;
    const flow = [{ id: "kr", type: "privacy-keyring", activeKid: "home-2026", source: "env", envVar: "PRIVACY_TEST_KEYS" }];
    await helper.load(keyringNode, flow, {});
    assert.ok(helper.getNode("kr").getKeyring().key("home-2026").equals(key));
  });

  it("derives the key from a passphrase and the stored salt", async function () {
    this.timeout(10000);
    const salt = crypto.randomBytes(16).toString("base64url");
    const flow = [{ id: "kr", type: "privacy-keyring", activeKid: "pass", source: "passphrase", salt }];
    await helper.load(keyringNode, flow, { kr: { passphrase: "a long enough passphrase" } });
    const expect = crypto.scryptSync("a long enough passphrase", Buffer.from(salt, "base64url"), 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
    assert.ok(helper.getNode("kr").getKeyring().key("pass").equals(expect));
  });

  for (const [what, def, creds] of [
    ["missing keys", { activeKid: "home-2026" }, {}],
    ["a 16-byte key", { activeKid: "home-2026" }, { keys: JSON.stringify({ "home-2026": crypto.randomBytes(16).toString("base64url") }) }],
    ["an active kid not in the keys", { activeKid: "other" }, { keys }],
    ["an unset env var", { activeKid: "home-2026", source: "env", envVar: "PRIVACY_TEST_KEYS" }, {}],
    ["a passphrase without salt", { activeKid: "p", source: "passphrase" }, { passphrase: "a long enough passphrase" }],
  ]) {
    it(`getKeyring() throws a clear reason, never the key, for ${what}`, async function () {
      const flow = [{ id: "kr", type: "privacy-keyring", ...def }];
      await helper.load(keyringNode, flow, { kr: creds });
      const node = helper.getNode("kr");
      assert.throws(() => node.getKeyring(), (e) => {
        assert.match(e.message, /keyring unavailable: \S/);
        if (creds.keys) assert.ok(!e.message.includes(JSON.parse(creds.keys)[Object.keys(JSON.parse(creds.keys))[0]]));
        return true;
      });
    });
  }
});
