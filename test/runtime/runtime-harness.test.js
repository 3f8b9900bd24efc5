"use strict";
const assert = require("node:assert/strict");
const path = require("node:path");
const { startRuntime, deploy, inject, waitFor, readJsonLines, fileSink, api, tempDir } = require("../helpers/runtime");

describe("runtime harness (real Node-RED in a child process)", function () {
  this.timeout(60000);
  let rt;
  after(async () => rt && rt.stop());

  it("starts on 127.0.0.1, runs a deployed flow, and restarts with the same user directory", async () => {
    const dir = tempDir();
    rt = await startRuntime({ userDir: path.join(dir, "user") });
    assert.match(rt.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const sink = fileSink("sink", "t1", dir);
    await deploy(rt, [
      { id: "t1", type: "tab", label: "t" },
      { id: "in", type: "inject", z: "t1", props: [{ p: "payload" }], payload: '{"a":1}', payloadType: "json", wires: [[sink.input]] },
      ...sink.nodes,
    ]);
    await inject(rt, "in");
    const lines = await waitFor(() => readJsonLines(sink.file).length === 1 && readJsonLines(sink.file), { what: "the sink file" });
    assert.deepEqual(lines[0].payload, { a: 1 });
    await rt.stop();
    rt = await startRuntime({ userDir: path.join(dir, "user") });
    const flows = await api(rt, "GET", "/flows");
    assert.ok(flows.some((n) => n.id === "in"), "flows survive a restart");
  });
});
