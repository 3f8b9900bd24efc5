"use strict";
// Unencrypted transports: broker configs, http:// and ws:// addresses, plain TCP and
// UDP, InfluxDB, clear-text URLs in code; loopback is fine, the home network "low",
// the internet "high"; an unused connection is no finding, one used only by disabled
// nodes is dormant.
const assert = require("node:assert/strict");
const { audit } = require("../../../dist/audit");
const F = require("../../helpers/audit-flows");

const transport = (flows) => Object.fromEntries(
  audit(flows).findings.filter((f) => f.rule === "unencrypted-transport").map((f) => [f.id.replace("unencrypted-transport:", ""), f]),
);
const z = "t";

describe("audit: unencrypted transports", () => {
  it("MQTT broker without TLS: internet high, home network low, this machine none; TLS or mqtts:// none", () => {
    const brokers = [
      F.broker("pub", "broker.hivemq.com"),
      F.broker("lan", "192.168.1.5"),
      F.broker("lo", "localhost"),
      F.broker("tls", "broker.example.com", { usetls: true, port: "8883" }),
      F.broker("scheme", "mqtts://broker.example.com"),
      F.broker("unused", "broker.example.org"),
    ];
    const users = ["pub", "lan", "lo", "tls", "scheme"].map((b) => F.mqttOut(`o-${b}`, z, b));
    const t = transport([F.tab(z), ...brokers, ...users]);
    assert.deepEqual(Object.keys(t).sort(), ["lan", "pub"]);
    assert.equal(t.pub.severity, "high");
    assert.equal(t.lan.severity, "low");
    assert.deepEqual(t.pub.nodes, ["pub", "o-pub"]);
    assert.equal(t.pub.anchor, null, "a global broker belongs to no tab: accepted in the global env");
    assert.match(t.pub.explanation, /broker\.hivemq\.com/);
  });

  it("a broker used only by disabled nodes is dormant", () => {
    const t = transport([F.tab(z), F.broker("pub", "broker.hivemq.com"), { ...F.mqttOut("o", z, "pub"), d: true }]);
    assert.equal(t.pub.dormant, true);
  });

  it("http:// to a remote host, ws:// clients, TCP and UDP to remote hosts, InfluxDB without TLS", () => {
    const flows = [
      F.tab(z),
      F.httpReq("h-pub", z, "http://api.example.com/x"),
      F.httpReq("h-noscheme", z, "api.example.com/x"),
      F.httpReq("h-lan", z, "http://192.168.1.9/x"),
      F.httpReq("h-tls", z, "https://api.example.com/x"),
      F.httpReq("h-lo", z, "http://127.0.0.1:1880/x"),
      F.httpReq("h-msg", z, ""),
      { id: "wsc", type: "websocket-client", path: "ws://stream.example.com/feed" },
      { id: "wss", type: "websocket-client", path: "wss://stream.example.com/feed" },
      F.node("ws-out", "websocket out", z, { client: "wsc" }, []),
      F.node("wss-out", "websocket out", z, { client: "wss" }, []),
      F.node("tcp", "tcp out", z, { host: "logs.example.com", port: "514", beserver: "client" }, []),
      F.node("tcp-tls", "tcp out", z, { host: "logs.example.com", port: "6514", beserver: "client", tls: "tlsconf" }, []),
      F.node("tcp-srv", "tcp out", z, { host: "", port: "514", beserver: "server" }, []),
      F.node("udp", "udp out", z, { addr: "8.8.8.8", outport: "9999", multicast: "false" }, []),
      F.node("udp-b", "udp out", z, { addr: "255.255.255.255", outport: "9", multicast: "broad" }, []),
      { id: "influx1", type: "influxdb", hostname: "influx.example.com", port: "8086", usetls: false, influxdbVersion: "1.x" },
      { id: "influx2", type: "influxdb", url: "https://eu.cloud.influxdata.com", influxdbVersion: "2.0" },
      F.node("iw1", "influxdb out", z, { influxdb: "influx1" }, []),
      F.node("iw2", "influxdb out", z, { influxdb: "influx2" }, []),
    ];
    const t = transport(flows);
    assert.deepEqual(Object.keys(t).sort(), ["h-lan", "h-noscheme", "h-pub", "influx1", "tcp", "udp", "wsc"]);
    assert.equal(t["h-lan"].severity, "low");
    assert.equal(t.udp.severity, "high");
  });

  it("clear-text internet addresses written in code or a template, host named, never the whole URL", () => {
    const flows = [
      F.tab(z),
      F.fn("f", z, 'msg.url = "http://api.weather.example.com/v1?key=x";\n// https://fine.example.com\nmsg.local = "http://192.168.1.4/";\nreturn msg;', [[]]),
      F.node("tpl", "template", z, { template: '<img src="https://cdn.example.com/a.png">' }, [[]]),
    ];
    const t = transport(flows);
    assert.deepEqual(Object.keys(t), ["f:func"]);
    assert.match(t["f:func"].title, /api\.weather\.example\.com/);
    assert.doesNotMatch(JSON.stringify(t), /key=x/);
  });
});
