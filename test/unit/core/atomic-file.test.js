"use strict";
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { writeFileAtomicSync, writeFileAtomic, replaceFileSync, replaceFile } = require("../../../dist/core/atomic-file");

describe("core/atomic-file", () => {
  let dir;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "atomic-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("replaces a file whole, mode 0600, leaving no temporary file", async () => {
    const file = path.join(dir, "state.json");
    fs.writeFileSync(file, "old");
    writeFileAtomicSync(file, "new sync");
    assert.equal(fs.readFileSync(file, "utf8"), "new sync");
    await writeFileAtomic(file, Buffer.from("new async"));
    assert.equal(fs.readFileSync(file, "utf8"), "new async");
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(fs.readdirSync(dir), ["state.json"]);
  });

  it("keeps the old file and removes the temporary one when the writer fails", async () => {
    const file = path.join(dir, "state.json");
    fs.writeFileSync(file, "old");
    assert.throws(() => replaceFileSync(file, () => { throw new Error("disk full"); }), /disk full/);
    await assert.rejects(replaceFile(file, async () => { throw new Error("disk full"); }), /disk full/);
    assert.equal(fs.readFileSync(file, "utf8"), "old");
    assert.deepEqual(fs.readdirSync(dir), ["state.json"]);
  });

  it("cancels the replacement when beforeRename throws, and renames after it when it does not", async () => {
    const file = path.join(dir, "state.json");
    fs.writeFileSync(file, "old");
    const seen = [];
    await assert.rejects(
      replaceFile(file, async (h) => void (await h.writeFile("new")), { beforeRename: async () => { seen.push(fs.readdirSync(dir).length); throw new Error("target changed"); } }),
      /target changed/,
    );
    assert.deepEqual(seen, [2], "called with the temporary file written, before the rename");
    assert.equal(fs.readFileSync(file, "utf8"), "old");
    assert.deepEqual(fs.readdirSync(dir), ["state.json"]);
    await replaceFile(file, async (h) => void (await h.writeFile("new")), { beforeRename: async () => assert.equal(fs.readFileSync(file, "utf8"), "old") });
    assert.equal(fs.readFileSync(file, "utf8"), "new");
  });

  it("gives the new file a new inode, so a reader holding the old one never sees half a write", () => {
    const file = path.join(dir, "state.json");
    fs.writeFileSync(file, "old");
    const fd = fs.openSync(file, "r");
    writeFileAtomicSync(file, "new");
    assert.equal(fs.readFileSync(fd, "utf8"), "old");
    fs.closeSync(fd);
    assert.equal(fs.readFileSync(file, "utf8"), "new");
  });
});
