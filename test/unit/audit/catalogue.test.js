"use strict";
// The catalogue and the host judgement behind "local": loopback, home network, internet,
// unknown; and the catalogue's shape (a type in one entry only).
const assert = require("node:assert/strict");
const { classifyHost, parseEndpoint, CATALOGUE, entryFor, PROTECTIVE, audit } = require("../../../dist/audit");
const F = require("../../helpers/audit-flows");

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

  // Type names checked against each package's registerType calls (see the comments in
  // src/audit/catalogue.ts): a flow with the node as source or sink gives the finding.
  describe("contrib type names", () => {
    const z = "t";
    const paths = (flows) => audit(flows).findings.filter((f) => f.rule === "unprotected-path");
    const base = () => [F.tab(z), F.broker("local", "localhost"), F.broker("cloud", "mqtts://broker.example.com", { usetls: true })];

    const SOURCES = [
      "ha-events-calendar", "ha-sentence", "zwavejs-controller", "zwavejs-device", "zwave-js", "zwave-device",
      "shelly-cloud", "deconz-battery", "hue-buttons", "hue-contact", "hue-brightness", "hue-button", "hue-switch", "hue-tap",
      "pi-gpiod in", "e-mail mta", "pushbullet in", "slack-rtm-in", "Slack Bot In", "discordMessage",
      "influxdb in", "mongodb in", "redis-in", "Tasmota Generic", "owntracks", "telegram receiver",
    ];
    for (const type of SOURCES) {
      it(`${type} is a source: reaching a cloud broker is a high finding`, () => {
        const flows = [...base(), F.node("src", type, z, {}, ["out"]), F.mqttOut("out", z, "cloud")];
        const found = paths(flows);
        assert.equal(found.length, 1, type);
        assert.equal(found[0].id, "unprotected-path:src>out");
        assert.equal(found[0].severity, "high");
      });
    }

    const CLOUD_SINKS = [
      "gotify-notification", "Slack Bot Out", "discordSendMessage", "pushbullet", "aws-s3-out", "AWS S3", "AWS SQS", "AWS SNS",
      "aws-mqtt out", "google-cloud-gcs-write", "google-cloud-bigquery-insert", "google-cloud-log", "GSheet",
      "iot-device-send-telemetry", "firebase-out", "ifttt out", "slack-web-out", "discordMessageManager",
    ];
    for (const type of CLOUD_SINKS) {
      it(`${type} is a cloud sink: MQTT data reaching it is a high finding`, () => {
        const props = type === "gotify-notification" ? { server: "gs" } : {};
        const extra = type === "gotify-notification" ? [{ id: "gs", type: "gotify-server", url: "https://push.example.com" }] : [];
        const flows = [...base(), ...extra, F.mqttIn("in", z, "local", "home/#", ["snk"]), F.node("snk", type, z, props, [])];
        const found = paths(flows);
        assert.equal(found.length, 1, type);
        assert.equal(found[0].id, "unprotected-path:in>snk");
        assert.equal(found[0].severity, "high");
      });
    }

    it("gotify-notification judges the host of its gotify-server: on this machine it is local", () => {
      const flows = [...base(), { id: "gs", type: "gotify-server", url: "http://127.0.0.1:8080" },
        F.mqttIn("in", z, "local", "home/#", ["snk"]), F.node("snk", "gotify-notification", z, { server: "gs" }, [])];
      assert.deepEqual(paths(flows), []);
    });

    it("redis out (node-red-node-redis) judges the host on the node; redis-out the one of its config", () => {
      const mk = (sink, extra = []) => [...base(), ...extra, F.mqttIn("in", z, "local", "home/#", ["snk"]), sink];
      assert.equal(paths(mk(F.node("snk", "redis out", z, { hostname: "redis.example.com", port: "6379" }, [])))[0].severity, "high");
      assert.equal(paths(mk(F.node("snk", "redis out", z, { hostname: "127.0.0.1", port: "6379" }, [])))[0].severity, "low");
      const cfg = { id: "rc", type: "redis-config", name: "r", options: "{}" };
      assert.equal(paths(mk(F.node("snk", "redis-out", z, { server: "rc" }, []), [cfg])).length, 1);
    });

    it("what a query node reads goes back into the same database without a finding, elsewhere with one", () => {
      const influx = { id: "db", type: "influxdb", hostname: "127.0.0.1", port: "8086" };
      const other = { id: "db2", type: "influxdb", hostname: "influx.example.com", port: "8086" };
      const flows = [...base(), influx, other,
        F.node("q", "influxdb in", z, { influxdb: "db" }, [["same", "far"]]),
        F.node("same", "influxdb out", z, { influxdb: "db" }, []),
        F.node("far", "influxdb out", z, { influxdb: "db2" }, [])];
      assert.deepEqual(paths(flows).map((f) => f.id), ["unprotected-path:q>far"]);
      const mongo = { id: "m", type: "mongodb", hostname: "127.0.0.1", port: "27017" };
      const back = [...base(), mongo, F.node("q", "mongodb in", z, { mongodb: "m" }, ["o"]), F.node("o", "mongodb out", z, { mongodb: "m" }, [])];
      assert.deepEqual(paths(back), []);
    });

    it("names no package registers, and config nodes, are not in the catalogue", () => {
      for (const t of ["zwave-in", "Tasmota Shutter", "rpi-gpiod in", "gotify", "discord-send-messages", "google-cloud-storage write",
        "google-sheets", "azure-iot-hub", "aws-sqs", "aws-iot-device", "sqlitedb"]) {
        assert.equal(entryFor(t), undefined, t);
      }
    });
  });
});
