"use strict";
const assert = require("node:assert/strict");
const helper = require("node-red-node-test-helper");
const catchNode = require("@node-red/nodes/core/common/25-catch.js");
const minimizeNode = [require("../../dist/nodes/privacy-minimize.js"), catchNode];

helper.init(require.resolve("node-red"));

const TAB = { id: "tab", type: "tab", label: "t" };

function flow(config) {
  return [
    TAB,
    { id: "n1", type: "privacy-minimize", z: "tab", name: "min", wires: [["out"]], ...config },
    { id: "out", type: "helper", z: "tab" },
    { id: "c1", type: "catch", z: "tab", scope: null, uncaught: false, wires: [["caught"]] },
    { id: "caught", type: "helper", z: "tab" },
  ];
}

const meter = () => ({
  topic: "meter/1",
  req: { ip: "1.2.3.4" },
  headers: { authorization: "x" },
  payload: { kwh: 12.3456, owner: "Alice", serial: "S-1", gps: { lat: 52.520008, lon: 13.404954 } },
});

/** Resolves with the next message a helper node gets; rejects on a timeout. */
function next(node, ms = 2000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no message on ${node.id}`)), ms);
    node.once("input", (msg) => {
      clearTimeout(t);
      resolve(msg);
    });
  });
}
const nothing = (node, ms = 200) =>
  new Promise((resolve, reject) => {
    const onInput = (msg) => reject(new Error(`unexpected message on ${node.id}: ${JSON.stringify(msg.payload)}`));
    node.on("input", onInput);
    setTimeout(() => {
      node.removeListener("input", onInput);
      resolve();
    }, ms);
  });

describe("privacy-minimize node", function () {
  beforeEach(async () => {
    await helper.startServer();
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
  });

  it("sends only the kept fields, coarsened, without transport metadata, with one trail entry", async () => {
    await helper.load(minimizeNode, flow({ mode: "keep", rules: [{ path: "kwh", op: "round", decimals: 1 }, { path: "gps", op: "coordinates", decimals: 2 }, { path: "nope" }] }));
    const out = helper.getNode("out");
    const got = next(out);
    helper.getNode("n1").receive(meter());
    const msg = await got;
    assert.deepEqual(msg.payload, { kwh: 12.3, gps: { lat: 52.52, lon: 13.4 } });
    assert.equal(msg.req, undefined);
    assert.equal(msg.headers, undefined);
    assert.equal(msg.topic, "meter/1");
    assert.equal(msg.privacy.trail.length, 1);
    const entry = msg.privacy.trail[0];
    assert.equal(entry.type, "privacy-minimize");
    assert.equal(entry.id, "n1");
    // owner and serial are keys no rule names: counted, not named (a key can be personal data)
    assert.deepEqual(entry.removed, []);
    assert.equal(entry.unlisted, 2);
    assert.deepEqual(entry.coarsened, ["payload.kwh", "payload.gps"]);
    assert.equal(entry.missing, 1);
    assert.deepEqual(entry.stripped.sort(), ["headers", "req"]);
    assert.equal(JSON.stringify(entry).includes("Alice"), false, "no value in the trail");
  });

  it("a transform on the wrong type ends in done(err): nothing sent, the caught message untouched", async () => {
    await helper.load(minimizeNode, flow({ mode: "keep", rules: [{ path: "owner", op: "round" }] }));
    const caught = next(helper.getNode("caught"));
    const silent = nothing(helper.getNode("out"));
    helper.getNode("n1").receive(meter());
    const msg = await caught;
    assert.match(msg.error.message, /msg\.payload\.owner: round needs a number, got a string/);
    assert.equal(msg.payload.owner, "Alice", "the message reaches Catch as it came in");
    assert.deepEqual(msg.req, { ip: "1.2.3.4" });
    await silent;
  });

  it("drop-field drops the mistyped field and sends the rest", async () => {
    await helper.load(minimizeNode, flow({ mode: "keep", onTypeMismatch: "drop-field", rules: [{ path: "owner", op: "round" }, { path: "kwh" }] }));
    const got = next(helper.getNode("out"));
    helper.getNode("n1").receive(meter());
    const msg = await got;
    assert.deepEqual(msg.payload, { kwh: 12.3456 });
    assert.deepEqual(msg.privacy.trail[0].dropped, ["payload.owner"]);
  });

  it("a string payload is an error in keep mode, passes when configured", async () => {
    await helper.load(minimizeNode, flow({ mode: "keep", rules: [{ path: "a" }] }));
    const caught = next(helper.getNode("caught"));
    helper.getNode("n1").receive({ payload: "hello" });
    assert.match((await caught).error.message, /msg\.payload is a string, not an object/);
    await helper.unload();
    await helper.load(minimizeNode, flow({ mode: "keep", nonObject: "pass", rules: [{ path: "a" }] }));
    const got = next(helper.getNode("out"));
    helper.getNode("n1").receive({ payload: "hello", res: {} });
    const msg = await got;
    assert.equal(msg.payload, "hello");
    assert.equal(msg.res, undefined);
  });

  it("an invalid config fails closed: red status, one log line naming the field, every message an error", async () => {
    await helper.load(minimizeNode, flow({ mode: "keep", rules: [{ path: "a", op: "round", decimals: 2, step: 0.5 }] }));
    const n1 = helper.getNode("n1");
    const logged = helper.log().args.filter((a) => a[0].level === helper.log().ERROR && a[0].id === "n1");
    assert.equal(logged.length, 1);
    assert.match(logged[0][0].msg, /rules\[0\]/);
    const caught = next(helper.getNode("caught"));
    const silent = nothing(helper.getNode("out"));
    n1.receive(meter());
    assert.match((await caught).error.message, /decimals or a step/);
    await silent;
  });

  it("refuses a prototype path in its config", async () => {
    await helper.load(minimizeNode, flow({ mode: "remove", rules: [{ path: "__proto__.polluted", op: "remove" }] }));
    const caught = next(helper.getNode("caught"));
    helper.getNode("n1").receive({ payload: {} });
    assert.match((await caught).error.message, /not allowed/);
    assert.equal({}.polluted, undefined);
  });

  it("aggregates readings into one window message on msg.flush (the flush itself is not forwarded)", async () => {
    await helper.load(
      minimizeNode,
      flow({ mode: "keep", rules: [{ path: "temp" }], aggregate: true, windowSize: 15, windowUnit: "min", aggregateKey: "topic", aggregateFields: "temp" }),
    );
    const n1 = helper.getNode("n1");
    const out = helper.getNode("out");
    const silent = nothing(out, 150);
    for (const t of [20, 21, 25]) n1.receive({ topic: "room1", payload: { temp: t, who: "x" } });
    n1.receive({ topic: "room2", payload: { temp: 10 } });
    await silent;
    const received = [];
    const all = new Promise((resolve) => out.on("input", (m) => received.push(m) === 2 && resolve()));
    n1.receive({ flush: true });
    await all;
    const room1 = received.find((m) => m.topic === "room1");
    assert.deepEqual(room1.payload, { temp: { count: 3, mean: 22, min: 20, max: 25 } });
    assert.equal(room1.window.messages, 3);
    assert.equal(room1.privacy.trail[0].aggregated.messages, 3);
    assert.deepEqual(received.find((m) => m.topic === "room2").payload.temp.count, 1);
  });

  it("refuses an aggregated field that the keep list drops", async () => {
    await helper.load(minimizeNode, flow({ mode: "keep", rules: [{ path: "x" }], aggregate: true, aggregateFields: "temp" }));
    const caught = next(helper.getNode("caught"));
    helper.getNode("n1").receive({ payload: { temp: 1 } });
    assert.match((await caught).error.message, /not on the keep list/);
  });

  it("refuses an aggregated field that a remove rule takes out", async () => {
    await helper.load(minimizeNode, flow({ mode: "remove", rules: [{ path: "temp", op: "remove" }], aggregate: true, aggregateFields: "temp" }));
    const caught = next(helper.getNode("caught"));
    helper.getNode("n1").receive({ payload: { temp: 1 } });
    assert.match((await caught).error.message, /is removed by a rule/);
  });

  it("refuses at creation aggregate paths that cannot all be in one summary: red status, one log line naming the field, every message an error", async () => {
    const review = { mode: "keep", rules: [{ path: "readings" }], aggregate: true, windowSize: 1, windowUnit: "s", aggregateFields: "readings[0], readings.x" };
    await helper.load(minimizeNode, flow(review));
    const n1 = helper.getNode("n1");
    const logged = helper.log().args.filter((a) => a[0].level === helper.log().ERROR && a[0].id === "n1");
    assert.equal(logged.length, 1);
    assert.match(logged[0][0].msg, /"aggregateFields" \(readings\[0\]\) and \(readings\.x\) cannot both be in a summary: readings would be an array for one and an object for the other/);
    assert.ok(n1.status.calledWithMatch({ fill: "red" }));
    const caught = next(helper.getNode("caught"));
    const silent = nothing(helper.getNode("out"), 1500);
    n1.receive({ topic: "m", payload: { readings: { 0: 5, x: 6 } } });
    assert.match((await caught).error.message, /aggregateFields/);
    await silent; // past the end of the 1 s window: nothing, and no exception
    // the preview refuses it with the same check
    const res = await helper.request().post("/privacy-minimize/preview").send({ config: review, msg: { payload: { readings: { 0: 5, x: 6 } } } }).expect(200);
    assert.equal(res.body.ok, false);
    assert.match(res.body.error, /"aggregateFields" \(readings\[0\]\) and \(readings\.x\)/);
  });

  for (const [what, config, pattern] of [
    ["a field inside another", { aggregateFields: "env, env.t", rules: [{ path: "env" }] }, /"aggregateFields" \(env\) and \(env\.t\).*one is inside the other/],
    ["the key where the stats go", { aggregateKey: "payload", aggregateFields: "t" }, /"property" \(payload\) and "aggregateKey" \(payload\).*the same path/],
    ["the key on msg.window", { aggregateKey: "window.id", aggregateFields: "t" }, /"aggregateKey" \(window\.id\) and msg\.window/],
    ["the key on a field", { aggregateKey: "payload.t.id", aggregateFields: "t" }, /"aggregateFields" \(t\) and "aggregateKey" \(payload\.t\.id\)/],
  ]) {
    it(`refuses ${what}`, async () => {
      await helper.load(minimizeNode, flow({ mode: "keep", rules: [{ path: "t" }], aggregate: true, ...config }));
      const caught = next(helper.getNode("caught"));
      helper.getNode("n1").receive({ payload: { t: 1 } });
      assert.match((await caught).error.message, pattern);
    });
  }

  it("writes a key inside the property beside the stats", async () => {
    await helper.load(minimizeNode, flow({ mode: "keep", rules: [{ path: "t" }], aggregate: true, aggregateKey: "payload.room", aggregateFields: "t" }));
    const got = next(helper.getNode("out"));
    helper.getNode("n1").receive({ payload: { t: 1, room: "hall" } });
    helper.getNode("n1").receive({ flush: true });
    assert.deepEqual((await got).payload, { t: { count: 1, mean: 1, min: 1, max: 1 }, room: "hall" });
  });

  it("shows a count in its status", async () => {
    await helper.load(minimizeNode, flow({ mode: "keep", rules: [{ path: "kwh" }] }));
    const n1 = helper.getNode("n1");
    const statuses = [];
    const status = n1.status.bind(n1);
    n1.status = (s) => {
      statuses.push(s);
      status(s);
    };
    const got = next(helper.getNode("out"));
    n1.receive(meter());
    await got;
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(statuses.some((s) => s.fill === "green" && /^1 minimized$/.test(s.text)), JSON.stringify(statuses));
  });

  it("flushes open windows when it closes", async () => {
    await helper.load(minimizeNode, flow({ mode: "keep", rules: [{ path: "temp" }], aggregate: true, aggregateFields: ["temp"] }));
    const n1 = helper.getNode("n1");
    const sent = [];
    const originalSend = n1.send.bind(n1);
    n1.send = (m) => {
      sent.push(m);
      originalSend(m);
    };
    n1.receive({ topic: "a", payload: { temp: 1 } });
    n1.receive({ topic: "a", payload: { temp: 3 } });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(sent.length, 0);
    await helper.unload();
    assert.equal(sent.length, 1);
    assert.deepEqual(sent[0][0][0].payload, { temp: { count: 2, mean: 2, min: 1, max: 3 } });
  });

  describe("preview endpoint", () => {
    beforeEach(() => helper.load(minimizeNode, flow({})));
    const post = (body) => helper.request().post("/privacy-minimize/preview").send(body);

    it("runs the engine on a sample with the dialog's rules", async () => {
      const res = await post({ config: { mode: "keep", rules: [{ path: "kwh", op: "round", step: 0.5 }] }, msg: meter() }).expect(200);
      assert.equal(res.body.ok, true);
      assert.deepEqual(res.body.msg.payload, { kwh: 12.5 });
      assert.equal(res.body.msg.req, undefined);
      assert.equal(res.body.msg.privacy.trail[0].type, "privacy-minimize");
    });

    it("shows the window a sample would fold into when aggregating", async () => {
      const res = await post({ config: { mode: "keep", rules: [{ path: "kwh" }], aggregate: true, aggregateFields: "kwh" }, msg: meter() }).expect(200);
      assert.equal(res.body.ok, true);
      assert.deepEqual(res.body.windows[0].payload, { kwh: { count: 1, mean: 12.3456, min: 12.3456, max: 12.3456 } });
    });

    it("answers a bad config or a failing sample with the reason", async () => {
      const bad = await post({ config: { mode: "nope" }, msg: meter() }).expect(200);
      assert.equal(bad.body.ok, false);
      assert.match(bad.body.error, /"mode"/);
      const mismatch = await post({ config: { rules: [{ path: "owner", op: "round" }] }, msg: meter() }).expect(200);
      assert.equal(mismatch.body.ok, false);
      assert.match(mismatch.body.error, /round needs a number/);
      await post({ config: {}, msg: "text" }).expect(400);
    });
  });
});
