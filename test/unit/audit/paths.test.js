"use strict";
// Unprotected paths: one small flow per behaviour of the walk (what protects, what does
// not, what counts as local), and Node-RED's ways of moving a message: wires, link
// out/in, link call and return, subflow instances (nested), junctions, catch nodes,
// disabled nodes and tabs.
const assert = require("node:assert/strict");
const { audit } = require("../../../dist/audit");
const F = require("../../helpers/audit-flows");

const paths = (flows) => audit(flows).findings.filter((f) => f.rule === "unprotected-path");
const ids = (flows) => paths(flows).map((f) => f.id).sort();

describe("audit: unprotected paths", () => {
  const z = "t";
  const base = () => [F.tab(z), F.broker("local", "localhost"), F.broker("cloud", "mqtts://broker.example.com", { usetls: true }), F.store("st"), F.keyring("kr")];

  it("finds a source reaching a cloud sink through ordinary nodes, with the path's node ids in order", () => {
    const flows = [...base(), F.mqttIn("in", z, "local", "owntracks/#", ["f"]), F.fn("f", z, "return msg;", ["c"]), F.change("c", z, ["out"]), F.mqttOut("out", z, "cloud")];
    const [f] = paths(flows);
    assert.equal(f.id, "unprotected-path:in>out");
    assert.equal(f.severity, "high");
    assert.deepEqual(f.nodes, ["in", "f", "c", "out"]);
    assert.equal(f.anchor, z);
    assert.equal(f.dormant, false);
    assert.match(f.explanation, /owntracks\/#/);
    assert.equal(f.fix.nodeType, "privacy-minimize");
  });

  it("each protective node stops the path: gate (first output), minimize, anonymize, encrypt", () => {
    for (const make of [
      () => F.gate("p", z, "st", ["out"]),
      () => F.minimize("p", z, ["out"]),
      () => F.minimize("p", z, ["out"], "remove"),
      () => F.anonymize("p", z, ["out"]),
      () => F.encrypt("p", z, "kr", ["out"]),
    ]) {
      const p = make();
      const flows = [...base(), F.mqttIn("in", z, "local", "x", ["p"]), p, F.mqttOut("out", z, "cloud")];
      assert.deepEqual(ids(flows), [], p.type);
    }
  });

  it("a consent gate's second output (blocked messages) is not protected", () => {
    const flows = [...base(), F.mqttIn("in", z, "local", "x", ["g"]), F.gate("g", z, "st", [], ["out"]), F.mqttOut("out", z, "cloud")];
    assert.deepEqual(ids(flows), ["unprotected-path:in>out"]);
  });

  it("encrypt then decrypt is plain again; a second encrypt protects it", () => {
    const leaky = [...base(), F.mqttIn("in", z, "local", "x", ["e"]), F.encrypt("e", z, "kr", ["d"]), F.decrypt("d", z, "kr", ["out"]), F.mqttOut("out", z, "cloud")];
    assert.deepEqual(ids(leaky), ["unprotected-path:in>out"]);
    assert.deepEqual(paths(leaky)[0].nodes, ["in", "e", "d", "out"]);
    const fixed = [...base(), F.mqttIn("in", z, "local", "x", ["e"]), F.encrypt("e", z, "kr", ["d"]), F.decrypt("d", z, "kr", ["e2"]), F.encrypt("e2", z, "kr", ["out"]), F.mqttOut("out", z, "cloud")];
    assert.deepEqual(ids(fixed), []);
  });

  it("local destinations are no sink: a broker on 127.0.0.1, an http request to localhost, debug, a dashboard", () => {
    const flows = [
      ...base(),
      F.broker("lo", "127.0.0.1"),
      F.mqttIn("in", z, "local", "x", ["o1", "h1", "d1", "ui"]),
      F.mqttOut("o1", z, "lo"),
      F.httpReq("h1", z, "http://localhost:8086/write"),
      F.debug("d1", z),
      F.node("ui", "ui_chart", z, {}, [[]]),
    ];
    assert.deepEqual(ids(flows), []);
  });

  it("judges the destination: internet high, home network low, unknown (msg.url) medium, a file low", () => {
    const flows = [
      ...base(),
      F.mqttIn("in", z, "local", "x", ["pub", "lan", "unk", "file", "lanb"]),
      F.httpReq("pub", z, "https://api.example.com/x"),
      F.httpReq("lan", z, "http://192.168.1.20/api"),
      F.httpReq("unk", z, ""),
      F.node("file", "file", z, { filename: "/data/log.txt" }, [[]]),
      F.broker("nas", "nas.local"),
      F.mqttOut("lanb", z, "nas"),
    ];
    const sev = Object.fromEntries(paths(flows).map((f) => [f.id.split(">")[1], f.severity]));
    assert.deepEqual(sev, { pub: "high", lan: "low", unk: "medium", file: "low", lanb: "low" });
  });

  it("an http request sends the message only when it can: a GET of a fixed URL sends nothing; a device's answer is a source", () => {
    const flows = [
      ...base(),
      F.node("inj", "inject", z, {}, [["cam"]]),
      F.mqttIn("in", z, "local", "x", ["get", "tpl", "use"]),
      { ...F.httpReq("get", z, "https://api.example.com/status", [[]]), method: "GET", paytoqs: "ignore" },
      { ...F.httpReq("tpl", z, "https://api.example.com/q?lat={{payload.lat}}", [[]]), method: "GET" },
      { ...F.httpReq("use", z, "https://api.example.com/x", [[]]), method: "use" },
      { ...F.httpReq("cam", z, "http://192.168.1.50/snapshot.jpg", [["out"]]), method: "GET" },
      F.mqttOut("out", z, "cloud"),
    ];
    assert.deepEqual(ids(flows), ["unprotected-path:cam>out", "unprotected-path:in>tpl", "unprotected-path:in>use"]);
    assert.match(paths(flows)[0].explanation, /what it fetches from 192\.168\.1\.50 on your network/);
  });

  it("data read from a broker and published back to the same broker is no finding", () => {
    const flows = [...base(), F.broker("nas", "nas.local"), F.mqttIn("in", z, "nas", "x", ["c"]), F.change("c", z, ["back"]), F.mqttOut("back", z, "nas")];
    assert.deepEqual(ids(flows), []);
  });

  it("a function node passes data unless it cannot: no output, or code that never names msg", () => {
    const flows = [
      ...base(),
      F.mqttIn("in", z, "local", "x", ["f1", "f2", "f3"]),
      F.fn("f1", z, 'node.send({ payload: "doorbell rang" }); // msg is not used\nreturn null;', ["o1"]),
      F.fn("f2", z, "return msg;", ["o2"], 0),
      F.fn("f3", z, "const m = { payload: msg.payload.t };\nreturn m;", ["o3"]),
      F.mqttOut("o1", z, "cloud"),
      F.mqttOut("o2", z, "cloud"),
      F.mqttOut("o3", z, "cloud"),
    ];
    assert.deepEqual(ids(flows), ["unprotected-path:in>o3"]);
  });

  it("follows link out to link in across tabs and junctions", () => {
    const flows = [
      ...base(),
      F.tab("t2"),
      F.mqttIn("in", z, "local", "x", ["lo"]),
      F.node("lo", "link out", z, { mode: "link", links: ["li"] }, []),
      F.node("li", "link in", "t2", { links: ["lo"] }, [["j"]]),
      F.node("j", "junction", "t2", {}, [["out"]]),
      F.mqttOut("out", "t2", "cloud"),
    ];
    const [f] = paths(flows);
    assert.deepEqual(f.nodes, ["in", "lo", "li", "j", "out"]);
    assert.equal(f.anchor, "t2", "the acceptance goes to the tab of the sink");
  });

  it("a link call returns to its own caller only: a protected caller does not inherit another's data", () => {
    const flows = [
      ...base(),
      // Routine: link in -> change -> link out (return).
      F.node("rin", "link in", z, { links: [] }, [["rc"]]),
      F.change("rc", z, ["rret"]),
      F.node("rret", "link out", z, { mode: "return", links: [] }, []),
      // Caller 1: unprotected source, result to debug.
      F.mqttIn("in1", z, "local", "a", ["call1"]),
      F.node("call1", "link call", z, { links: ["rin"], linkType: "static", timeout: "30" }, [["d1"]]),
      F.debug("d1", z),
      // Caller 2: from an inject, result to the cloud.
      F.node("inj", "inject", z, {}, [["call2"]]),
      F.node("call2", "link call", z, { links: ["rin"], linkType: "static", timeout: "30" }, [["out"]]),
      F.mqttOut("out", z, "cloud"),
    ];
    assert.deepEqual(ids(flows), []);
    // ...while the caller's own output is followed.
    flows.find((n) => n.id === "call1").wires = [["out"]];
    const [f] = paths(flows);
    assert.deepEqual(f.nodes, ["in1", "call1", "rin", "rc", "rret", "out"]);
  });

  it("a subflow instance is left through its own outputs: data entering one instance never leaves by another", () => {
    const sf = {
      id: "sf", type: "subflow", name: "normalise", info: "", env: [],
      in: [{ x: 0, y: 0, wires: [{ id: "sf-c" }] }], out: [{ x: 0, y: 0, wires: [{ id: "sf-c", port: 0 }] }],
    };
    const flows = [
      ...base(),
      sf,
      F.change("sf-c", "sf", [[]]),
      F.mqttIn("in", z, "local", "x", ["i1"]),
      F.node("i1", "subflow:sf", z, {}, [["d"]]),
      F.debug("d", z),
      F.node("inj", "inject", z, {}, [["i2"]]),
      F.node("i2", "subflow:sf", z, {}, [["out"]]),
      F.mqttOut("out", z, "cloud"),
    ];
    assert.deepEqual(ids(flows), []);
    flows.find((n) => n.id === "i1").wires = [["out"]];
    assert.deepEqual(paths(flows)[0].nodes, ["in", "i1", "sf-c", "out"]);
  });

  it("sources and sinks inside (nested) subflows: one finding per instance, keyed by the instance", () => {
    const inner = { id: "sfi", type: "subflow", name: "uploader", env: [], in: [{ wires: [{ id: "sfi-out" }] }], out: [] };
    const outer = { id: "sfo", type: "subflow", name: "sensor", env: [], in: [], out: [] };
    const flows = [
      ...base(),
      inner,
      outer,
      F.mqttOut("sfi-out", "sfi", "cloud"),
      F.mqttIn("sfo-in", "sfo", "local", "x", ["sfo-up"]),
      F.node("sfo-up", "subflow:sfi", "sfo", {}, []),
      F.node("A", "subflow:sfo", z, {}, []),
      F.node("B", "subflow:sfo", z, {}, []),
    ];
    assert.deepEqual(ids(flows), ["unprotected-path:A/sfo-in>A/sfo-up/sfi-out", "unprotected-path:B/sfo-in>B/sfo-up/sfi-out"]);
    const f = paths(flows)[0];
    assert.deepEqual(f.nodes, ["sfo-in", "sfo-up", "sfi-out"]);
    assert.equal(f.anchor, z, "stored on the tab of the outermost instance");
  });

  it("a subflow output wired straight from its input passes data through", () => {
    const sf = { id: "sp", type: "subflow", name: "pass", env: [], in: [{ wires: [] }], out: [{ wires: [{ id: "sp", port: 0 }] }] };
    const flows = [...base(), sf, F.mqttIn("in", z, "local", "x", ["i"]), F.node("i", "subflow:sp", z, {}, [["out"]]), F.mqttOut("out", z, "cloud")];
    assert.deepEqual(ids(flows), ["unprotected-path:in>out"]);
  });

  it("a catch node gets the message of the node that failed: errors mailed out are a path", () => {
    const flows = [
      ...base(),
      F.mqttIn("in", z, "local", "x", ["g"]),
      F.gate("g", z, "st", [[]]),
      F.node("catch", "catch", z, { scope: null, uncaught: false }, [["mail"]]),
      F.node("mail", "e-mail", z, { server: "smtp.example.com", port: "465", secure: true }, []),
    ];
    const [f] = paths(flows);
    assert.deepEqual(f.nodes, ["in", "g", "catch", "mail"], "the gate fails with the message it was given");
    flows.find((n) => n.id === "catch").scope = ["nothing-here"];
    assert.deepEqual(ids(flows), [], "a catch scoped to other nodes does not see it");
  });

  it("follows data parked in flow or global context to the node that reads it into a new message", () => {
    const flows = [
      ...base(),
      F.tab("t2"),
      F.mqttIn("in", z, "local", "power", ["add", "keep"]),
      F.fn("add", z, 'flow.set("energy_today", (flow.get("energy_today") || 0) + msg.payload);\nreturn null;', [[]]),
      F.node("keep", "change", z, { rules: [{ t: "set", p: "last.reading", pt: "global", to: "payload", tot: "msg" }] }, [[]]),
      F.node("daily", "inject", z, { props: [{ p: "payload", v: "energy_today", vt: "flow" }] }, [["up1"]]),
      F.fn("other", z, 'msg.payload = flow.get("something_else");\nreturn msg;', ["up2"]),
      F.fn("report", "t2", 'msg.payload = global.get("last");\nreturn msg;', ["up3"]),
      F.node("t2flow", "inject", "t2", { props: [{ p: "payload", v: "energy_today", vt: "flow" }] }, [["up4"]]),
      F.httpReq("up1", z, "https://energy.example.com/a"),
      F.httpReq("up2", z, "https://energy.example.com/b"),
      F.httpReq("up3", "t2", "https://energy.example.com/c"),
      F.httpReq("up4", "t2", "https://energy.example.com/d"),
    ];
    const found = paths(flows);
    assert.deepEqual(found.map((f) => f.id).sort(), ["unprotected-path:in>up1", "unprotected-path:in>up3"]);
    assert.deepEqual(found.find((f) => f.id.endsWith("up1")).nodes, ["in", "add", "daily", "up1"]);
    assert.deepEqual(found.find((f) => f.id.endsWith("up3")).nodes, ["in", "keep", "report", "up3"], "global context crosses tabs");
  });

  it("disabled nodes and tabs: the path is dormant, not gone; an enabled route makes it active", () => {
    const flows = [...base(), F.mqttIn("in", z, "local", "x", ["c"]), { ...F.change("c", z, ["out"]), d: true }, F.mqttOut("out", z, "cloud")];
    let [f] = paths(flows);
    assert.equal(f.dormant, true);
    flows.push(F.change("c2", z, ["out"]));
    flows.find((n) => n.id === "in").wires[0].push("c2");
    [f] = paths(flows);
    assert.equal(f.dormant, false, "active through c2");
    const offTab = [F.tab("off", { disabled: true }), F.broker("local", "localhost"), F.broker("cloud", "broker.example.com"), F.mqttIn("in", "off", "local", "x", ["out"]), F.mqttOut("out", "off", "cloud")];
    assert.equal(paths(offTab)[0].dormant, true);
  });

  it("finding ids do not depend on the order of the flows or on unrelated nodes", () => {
    const flows = [...base(), F.mqttIn("in", z, "local", "x", ["f"]), F.fn("f", z, "return msg;", ["out"]), F.mqttOut("out", z, "cloud")];
    const a = ids(flows);
    const b = ids([...flows].reverse().concat([F.debug("extra", z)]));
    assert.deepEqual(a, b);
  });

  it("reads the admin API's { flows } shape and skips entries without id or type", () => {
    const flows = [...base(), F.mqttIn("in", z, "local", "x", ["out"]), F.mqttOut("out", z, "cloud"), null, 7, { type: "x" }];
    const r = audit({ rev: "abc", flows });
    assert.equal(r.findings.filter((f) => f.rule === "unprotected-path").length, 1);
    assert.match(r.notes.join("\n"), /3 entries/);
    assert.throws(() => audit({ nope: 1 }), /array/);
  });
});
