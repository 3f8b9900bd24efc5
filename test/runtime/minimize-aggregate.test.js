"use strict";
// A minimize config that cannot work is refused at deploy (fail closed), and nothing an
// aggregation window does can stop the process (design.md section 4: no exception escapes
// a timer). The review's config: window 1 s, fields readings[0] and readings.x.
const assert = require("node:assert/strict");
const path = require("node:path");
const { suiteRuntime, deploy, inject, waitFor, readJsonLines, fileSink, api } = require("../helpers/runtime");

describe("privacy-minimize aggregation (real runtime)", function () {
  this.timeout(60000);
  const suite = suiteRuntime();

  it("refuses aggregate fields that cannot both be written (readings[0], readings.x) at deploy, and the process stays up", async () => {
    const { rt, dir } = suite;
    const out = fileSink("agg-out", "t", dir);
    const caught = path.join(dir, "agg-caught.jsonl");
    await deploy(rt, [
      { id: "t", type: "tab", label: "t" },
      { id: "in", type: "inject", z: "t", props: [{ p: "payload" }, { p: "topic", vt: "str" }], topic: "meter", payload: '{"readings":{"0":5,"x":6}}', payloadType: "json", wires: [["mn"]] },
      {
        id: "mn",
        type: "privacy-minimize",
        z: "t",
        mode: "keep",
        property: "payload",
        rules: [{ path: "readings" }],
        aggregate: true,
        windowSize: 1,
        windowUnit: "s",
        aggregateKey: "topic",
        aggregateFields: "readings[0], readings.x",
        maxKeys: 10,
        wires: [[out.input]],
      },
      ...out.nodes,
      { id: "c", type: "catch", z: "t", scope: ["mn"], uncaught: false, wires: [["c-json"]] },
      { id: "c-json", type: "function", z: "t", func: "msg.payload = JSON.stringify({ error: msg.error.message }); return msg;", outputs: 1, wires: [["c-file"]] },
      { id: "c-file", type: "file", z: "t", filename: caught, filenameType: "str", appendNewline: true, createDir: true, overwriteFile: "false", encoding: "utf8", wires: [] },
    ]);
    // the node logs one line naming the field when it is created
    await waitFor(() => /\[privacy-minimize:mn\].*"aggregateFields"/.test(rt.output()), { what: "the config error in the log" });
    assert.match(rt.output(), /"aggregateFields" \(readings\[0\]\) and \(readings\.x\)/);
    // every message fails closed
    await inject(rt, "in");
    const [line] = await waitFor(() => readJsonLines(caught).length === 1 && readJsonLines(caught), { what: "the error at the catch node" });
    assert.match(line.error, /invalid config: "aggregateFields" \(readings\[0\]\) and \(readings\.x\)/);
    // past the end of a 1 s window: the process is still there and answering
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(rt.proc.exitCode, null, rt.output());
    assert.equal(rt.proc.signalCode, null, rt.output());
    assert.doesNotMatch(rt.output(), /Uncaught Exception|PathError/);
    assert.ok(Array.isArray(await api(rt, "GET", "/flows")));
    assert.equal(readJsonLines(out.file).length, 0, "nothing was sent");
  });
});
