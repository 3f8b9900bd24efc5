"use strict";
// Realistic home-automation flows (test/fixtures/audit/*.json) and, for each, the
// findings a careful reviewer would list. The audit must find every one of them, at
// the reviewer's severity, and nothing else (a finding the reviewer would not list is
// noise that teaches people to ignore the sidebar).
const assert = require("node:assert/strict");
const path = require("node:path");
const { audit, instanceFacts } = require("../../../dist/audit");

const FIXTURES = path.join(__dirname, "..", "..", "fixtures", "audit");

const REVIEWS = {
  "mqtt-dashboard": {
    expected: {
      // Door contacts and climate readings of every room, retained on a cloud broker.
      "unprotected-path:mqdash-z2m-in>mqdash-cloud-out": "high",
      // mosquitto in Docker ("mosquitto" resolves on the home network) without TLS.
      "unencrypted-transport:mqdash-broker-local": "low",
    },
    // Not findings: the dashboard widgets (shown at home), the battery alert published
    // back to the broker it came from, the HTTP API answering from flow context.
  },
  "location-tracking": {
    expected: {
      // Every position, at full precision, kept by InfluxDB Cloud.
      "unprotected-path:loc-owntracks>loc-history": "high",
      // Exact coordinates sent to Google for each fix.
      "unprotected-path:loc-owntracks>loc-address": "high",
      // ...with the Google API key in the URL, in flows.json.
      "plain-secret:loc-address:url": "high",
      // A plain-text history of where everyone was, on the Node-RED disk.
      "unprotected-path:loc-owntracks>loc-log": "low",
    },
    // Not findings: Home Assistant presence (local), the weather request (coordinates
    // coarsened by a minimize first), the broker (TLS), InfluxDB Cloud (https).
  },
  "doorbell-snapshot": {
    expected: {
      // The ring and the camera picture of whoever stands at the door, to Telegram and Pushover.
      "unprotected-path:door-ha-trigger>door-telegram": "high",
      "unprotected-path:door-snapshot>door-telegram": "high",
      "unprotected-path:door-ha-trigger>door-pushover": "high",
      "unprotected-path:door-snapshot>door-pushover": "high",
      // A failing node's message (with the picture) mailed by the catch-all.
      "unprotected-path:door-ha-trigger>door-mail": "high",
      "unprotected-path:door-snapshot>door-mail": "high",
      // The camera's admin password in the snapshot URL, the Pushover token in code.
      "plain-secret:door-snapshot:url": "high",
      "plain-secret:door-pushover-fn:func": "high",
      // The snapshot (and that password) over plain http on the home network.
      "unencrypted-transport:door-snapshot": "low",
    },
    // Not findings: the face recognition upload (behind a consent gate whose purpose is
    // declared), the e-mail node's token setting (a property path, not a token).
  },
  "energy-logging": {
    settings: { adminAuth: { type: "credentials", users: [] }, credentialSecret: "from the environment", uiHost: "0.0.0.0" },
    expected: {
      // Per-device power every 10 s shows when people are home, asleep, cooking.
      "unprotected-path:energy-shelly-in>energy-influx-out": "low",
      "unprotected-path:energy-tasmota>energy-mysql-out": "low",
      // The per-device daily totals (through flow context) go to a cloud dashboard...
      "unprotected-path:energy-shelly-in>energy-dashboard-upload": "high",
      // ...with its bearer token in the request headers.
      "plain-secret:energy-dashboard-upload:headers": "high",
      // The instance: an http in route without httpNodeAuth, the editor on every interface over http.
      "instance-http-node-auth": "medium",
      "instance-editor-https": "high",
    },
    // Not findings: PVOutput (aggregated by a minimize, key from ${PVOUTPUT_KEY}), the
    // local broker and InfluxDB on this machine without TLS.
  },
};

const SECRETS = ["Kamera2023!", "azGDORePK8gMaC0QOYAMyEEuzJnyUi", "AIzaSyD4Zk0c9XmP7qRtLw2nBv8sHj3kEe1Fg0Q", "7f3e9a1c5b2d4e6f8a0b1c2d3e4f5a6b"];

describe("audit: realistic home-automation flows", () => {
  for (const [name, review] of Object.entries(REVIEWS)) {
    it(`${name}: finds every finding a careful reviewer lists, and nothing else`, () => {
      const flows = require(path.join(FIXTURES, `${name}.json`));
      const facts = review.settings ? { instance: instanceFacts(review.settings) } : {};
      const report = audit(flows, { facts });
      const got = Object.fromEntries(report.findings.map((f) => [f.id, f.severity]));
      const missing = Object.keys(review.expected).filter((id) => !(id in got));
      assert.deepEqual(missing, [], `missed: ${missing.join(", ")}`);
      assert.deepEqual(got, review.expected);
      for (const f of report.findings) {
        assert.ok(f.title && f.explanation && f.fix.text, `${f.id} explains itself`);
        assert.ok(f.dormant === false && f.accepted === undefined);
        if (f.rule === "unprotected-path") {
          const [src, sink] = f.id.slice("unprotected-path:".length).split(">");
          assert.equal(f.nodes[0], src.split("/").pop());
          assert.equal(f.nodes[f.nodes.length - 1], sink.split("/").pop());
        }
      }
      const text = JSON.stringify(report);
      for (const s of SECRETS) assert.ok(!text.includes(s), `no secret in the report of ${name}`);
    });
  }
});
