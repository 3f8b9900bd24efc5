"use strict";
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { gcmUseFile, GcmUseFileError } = require("../../../dist/encryption/gcm-use-file.js");

const FP = "A".repeat(43);
const FP2 = "b-_".repeat(14) + "c";

describe("lib/gcm-use-file", () => {
  let dir;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "gcm-uses-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("no file yet: no counts; saved counts load back, in a file only the owner reads, with no temporary left", () => {
    const file = path.join(dir, "uses.json");
    const store = gcmUseFile(file);
    assert.deepEqual(store.load(), {});
    store.save({ [FP]: 65537, [FP2]: 0 });
    assert.deepEqual(gcmUseFile(file).load(), { [FP]: 65537, [FP2]: 0 });
    assert.deepEqual(JSON.parse(fs.readFileSync(file, "utf8")), { version: 1, uses: { [FP]: 65537, [FP2]: 0 } });
    if (process.platform !== "win32") assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(fs.readdirSync(dir), ["uses.json"]);
  });

  it("a damaged or foreign file is refused with a reason that names it", () => {
    const file = path.join(dir, "uses.json");
    for (const [text, reason] of [
      ["{not json", /not JSON/],
      ["[]", /not a key use count file/],
      ['{"version":2,"uses":{}}', /not a key use count file/],
      [`{"version":1,"uses":{"${FP}":-1}}`, /malformed/],
      [`{"version":1,"uses":{"${FP}":1.5}}`, /malformed/],
      [`{"version":1,"uses":{"${FP}":"7"}}`, /malformed/],
      ['{"version":1,"uses":{"short":7}}', /malformed/],
      ['{"version":1,"uses":{"__proto__":7}}', /malformed/],
    ]) {
      fs.writeFileSync(file, text);
      assert.throws(() => gcmUseFile(file).load(), (e) => e instanceof GcmUseFileError && reason.test(e.message) && e.message.includes(file), text);
    }
  });

  it("a file that cannot be written says so", () => {
    const store = gcmUseFile(path.join(dir, "missing", "uses.json"));
    assert.throws(() => store.save({ [FP]: 1 }), (e) => e instanceof GcmUseFileError && /cannot save/.test(e.message));
  });
});
