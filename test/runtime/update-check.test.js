"use strict";
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { startRuntime, deploy, inject, waitFor, readJsonLines, fileSink, tempDir } = require("../helpers/runtime");
const { startManifestServer, makeSigner } = require("../helpers/update-servers");

describe("privacy-update-check in a real runtime", function () {
  this.timeout(90000);
  let rt;
  let ms;
  afterEach(async () => {
    if (rt) await rt.stop();
    rt = undefined;
    if (ms) await ms.close();
  });

  it("remembers the accepted manifest version across a crash and restart, and refuses a rollback", async () => {
    const dir = tempDir("uc-rt-");
    const userDir = path.join(dir, "user");
    const signer = makeSigner();
    ms = await startManifestServer();
    const sink = fileSink("sink", "t1", dir);
    const flows = [
      { id: "t1", type: "tab", label: "devices" },
      {
        id: "in",
        type: "inject",
        z: "t1",
        props: [{ p: "payload" }],
        payload: JSON.stringify([{ deviceId: "hall", model: "TH-100", version: "2.2.0" }]),
        payloadType: "json",
        wires: [["uc"]],
      },
      { id: "uc", type: "privacy-update-check", z: "t1", check: "devices", manifestType: "url", manifest: ms.manifestUrl, publicKeys: signer.publicKey, interval: 0, timeout: 2, wires: [[sink.input]] },
      ...sink.nodes,
    ];
    const reports = () => readJsonLines(sink.file).map((l) => l.payload);

    ms.state.body = signer.sign({ version: 5 });
    rt = await startRuntime({ userDir });
    await deploy(rt, flows);
    await inject(rt, "in");
    await waitFor(() => reports().length === 1, { what: "first report" });
    assert.equal(reports()[0].ok, true);
    assert.equal(reports()[0].devices[0].status, "security-update-required");
    const stateFile = path.join(userDir, "privacy-update-check", "uc.json");
    assert.equal(JSON.parse(fs.readFileSync(stateFile, "utf8")).version, 5);

    // SIGKILL: nothing is closed or flushed; only what was fsynced survives.
    await rt.kill();
    ms.state.body = signer.sign({ version: 4, models: { "TH-100": { latest: "2.2.0", minimumSecure: "2.0.0", endOfSupport: "2099-12-31" } } });
    rt = await startRuntime({ userDir });
    await inject(rt, "in");
    await waitFor(() => reports().length === 2, { what: "report after restart" });
    const after = reports()[1];
    assert.equal(after.ok, false);
    assert.equal(after.failures[0].reason, "rollback");
    assert.match(after.failures[0].message, /version 4 is older than version 5/);
    assert.equal(after.devices, undefined, "the old manifest's 'up-to-date' never reaches the output");

    // A newer genuine manifest is accepted again.
    ms.state.body = signer.sign({ version: 6 });
    await inject(rt, "in");
    await waitFor(() => reports().length === 3, { what: "third report" });
    assert.equal(reports()[2].ok, true);
    assert.equal(reports()[2].manifest.version, 6);
    assert.equal(JSON.parse(fs.readFileSync(stateFile, "utf8")).version, 6);
  });
});
