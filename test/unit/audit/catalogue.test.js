"use strict";
// The catalogue and the host judgement behind "local": loopback, home network, internet,
// unknown; and the catalogue's shape (a type in one entry only).
const assert = require("node:assert/strict");
const { classifyHost, parseEndpoint, CATALOGUE, entryFor, PROTECTIVE } = require("../../../dist/audit");

describe("audit: hosts and catalogue", () => {
  it("classifies hosts", () => {
    const cases = {
      localhost: "loopback", "127.0.0.1": "loopback", "127.8.9.1": "loopback", "::1": "loopback", "[::1]": "loopback", "0.0.0.0": "loopback",
      "192.168.1.4": "lan", "10.0.0.2": "lan", "172.20.1.1": "lan", "172.32.1.1": "public", "169.254.3.3": "lan", "100.101.2.3": "lan",
      "fd12:3456::1": "lan", "fe80::1": "lan", "nas.local": "lan", "router.fritz.box": "lan", "ha.home.arpa": "lan", mosquitto: "lan",
      "broker.hivemq.com": "public", "8.8.8.8": "public", "2001:db8::1": "public", "": "unknown", "{{host}}": "unknown", "${HOST}": "unknown",
    };
    for (const [h, c] of Object.entries(cases)) assert.equal(classifyHost(h), c, h);
  });

  it("reads endpoints with or without scheme, user info, ports and IPv6 brackets", () => {
    assert.deepEqual(parseEndpoint("https://u:p@api.example.com:8443/x?y=1"), { cls: "public", host: "api.example.com", scheme: "https" });
    assert.deepEqual(parseEndpoint("api.example.com/x", "http"), { cls: "public", host: "api.example.com", scheme: "http" });
    assert.deepEqual(parseEndpoint("mqtt://[::1]:1883"), { cls: "loopback", host: "::1", scheme: "mqtt" });
    assert.deepEqual(parseEndpoint("http://{{{payload.host}}}/x"), { cls: "unknown", host: "", scheme: "http" });
    assert.equal(parseEndpoint(undefined).cls, "unknown");
  });

  it("each type is in one entry; our protective nodes are neither source nor sink", () => {
    const seen = new Map();
    for (const e of CATALOGUE) for (const t of e.types) {
      assert.ok(!seen.has(t), `${t} is in two entries`);
      seen.set(t, e);
    }
    for (const t of Object.keys(PROTECTIVE)) {
      const e = entryFor(t);
      assert.ok(!e || (!e.source && !e.sink), t);
    }
    assert.ok(entryFor("ui_chart") && entryFor("ui-gauge"), "dashboard widgets by prefix");
    assert.equal(entryFor("some-unknown-node"), undefined);
  });
});
