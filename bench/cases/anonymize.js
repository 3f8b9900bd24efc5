"use strict";
/**
 * privacy-anonymize next to the core change node: field rules on a 20-field record,
 * and scan on 1 KiB and 64 KiB of device-log text, beside a plain regex pass over the
 * same text (raw) and the scan engine alone (raw). MB/s = text size / cost per message.
 */
const crypto = require("node:crypto");
const path = require("node:path");
const { performance } = require("node:perf_hooks");

const KEYRING = {
  id: "bench-anon-keyring",
  type: "privacy-keyring",
  activeKid: "bench-1",
  credentials: { keys: JSON.stringify({ "bench-1": crypto.createHash("sha256").update("bench key").digest("base64url") }) },
};

// Device-log text: one line in four carries personal data, the rest is the readings,
// versions, timestamps and serials that make up most of a real log.
const PII_LINES = [
  "doorbell[412]: ring from 192.168.1.23 (mac b8:27:eb:12:34:56) fw 2.14.3",
  "support: customer alice.smith@example.com asks for a call on +44 20 7946 0958",
  "dhcpd: DHCPACK on 10.0.0.57 to dc:a6:32:01:02:03 (kitchen-sensor) via eth0",
  "payment with card 4111 1111 1111 1111 approved, iban DE89 3704 0044 0532 0130 00",
  "mosquitto: client from 2001:db8::42 as cam-garage, see https://example.com/cam?id=7",
  "tracker: fix at 52.5200, 13.4050 hdop 0.9; courier 0171 1234567",
];
const PLAIN_LINES = [
  "zigbee2mqtt: kitchen/temp temperature 21.4 humidity 40 battery 87 linkquality 255",
  "node-red: [info] [mqtt-broker:broker] Connected to broker: broker.local",
  "ups: input 229.8 V, output 230.1 V, load 23 %, runtime 1843 s, serial 3S1510X12345",
  "backup: copied 1043 files (2.3 GB) in 00:12:45 to /mnt/nas/backup/2024-03-15",
  "homeassistant: sensor.living_room_co2 changed to 612 ppm at 2024-03-15T10:22:33Z",
  "lora: rx rssi=-112 snr=7.25 freq=868.1 sf=7 counter 48213 firmware v4.2.1",
];
function logText(bytes) {
  let text = "";
  for (let i = 0; text.length < bytes; i++) {
    const line = i % 4 === 0 ? PII_LINES[(i / 4) % PII_LINES.length] : PLAIN_LINES[i % PLAIN_LINES.length];
    text += `2024-03-15T10:${String(i % 60).padStart(2, "0")}:00Z ${line}\n`;
  }
  return text.slice(0, bytes);
}
const SMALL = logText(1024);
const LARGE = logText(65536);

function record(i) {
  return {
    deviceId: `doorbell-${i % 500}`, email: `user${i % 300}@example.com`, phone: "+44 20 7946 0958", name: "Alice Example",
    ip: `192.168.1.${i % 250}`, age: 20 + (i % 60), seen: "2024-03-15T10:22:33Z", temp: 21.5, hum: 40, battery: 87,
    rssi: -67, fw: "2.14.3", model: "DB-2", event: "ring", seq: i, online: true, lux: 120, co2: 612,
    // never seen before: pseudonyms of these always cost an HMAC
    session: crypto.randomUUID(), trace: crypto.randomUUID(),
  };
}

const FIELD_RULES = [
  { path: "deviceId", op: "pseudonymize", prefix: "dev_" },
  { path: "email", op: "pseudonymize" },
  { path: "phone", op: "mask", keepLast: 2 },
  { path: "name", op: "redact" },
  { path: "ip", op: "generalize", kind: "ip" },
  { path: "age", op: "generalize", kind: "range", width: 10 },
  { path: "seen", op: "generalize", kind: "date", granularity: "hour" },
  { path: "temp", op: "noise", epsilon: 1, sensitivity: 0.5, decimals: 1 },
];

const HOPS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
const perRecord = (def) => HOPS.map((h) => def(`r${h}`));
const FIELD_RULES_NEW_IDS = FIELD_RULES.map((r) => (r.path === "deviceId" ? { ...r, path: "session" } : r.path === "email" ? { ...r, path: "trace" } : r));
const anonymize = (extra) => ({ type: "privacy-anonymize", keyring: KEYRING.id, onError: "error", ...extra });
const EMAIL_RE = /[\w.+-]+@[\w-]+\.[\w.-]+/g;

let scanEngine;
function engine() {
  if (!scanEngine) {
    const { Anonymizer } = require(path.join(__dirname, "..", "..", "nodes", "lib", "anonymize.js"));
    scanEngine = new Anonymizer({ rules: [{ path: "", op: "scan", entities: ["url", "email", "iban", "card", "mac", "ipv6", "ipv4", "coordinates", "phone"], action: { op: "replace" }, actions: {} }], onError: "error" });
  }
  return scanEngine;
}

module.exports = {
  name: "anonymize",
  description: "privacy-anonymize field rules and text scan, beside core change and a plain regex",
  messages: 1000,
  configNodes: [KEYRING],
  // ten records, one per hop: each hop anonymizes a fresh record, not the output of the one before
  makeMessage: (i) => ({ ...Object.fromEntries(HOPS.map((h) => [`r${h}`, record(i)])), small: SMALL, large: LARGE }),
  variants: [
    { name: "change (set msg.x)", baseline: true, node: { type: "change", rules: [{ t: "set", p: "x", pt: "msg", to: "1", tot: "num" }] } },
    {
      name: "change (8 rules on the record)",
      hops: perRecord((r) => ({
        type: "change",
        rules: [
          { t: "set", p: `${r}.deviceId`, pt: "msg", to: "x", tot: "str" },
          { t: "set", p: `${r}.email`, pt: "msg", to: "x", tot: "str" },
          { t: "set", p: `${r}.phone`, pt: "msg", to: "x", tot: "str" },
          { t: "delete", p: `${r}.name`, pt: "msg" },
          { t: "set", p: `${r}.ip`, pt: "msg", to: "x", tot: "str" },
          { t: "set", p: `${r}.age`, pt: "msg", to: "x", tot: "str" },
          { t: "set", p: `${r}.seen`, pt: "msg", to: "x", tot: "str" },
          { t: "set", p: `${r}.temp`, pt: "msg", to: "1", tot: "num" },
        ],
      })),
    },
    { name: "anonymize: 1 rule (mask) on a 20-field record", hops: perRecord((r) => anonymize({ property: r, rules: [{ path: "phone", op: "mask", keepLast: 2 }] })) },
    { name: "anonymize: 8 field rules on a 20-field record", hops: perRecord((r) => anonymize({ property: r, rules: FIELD_RULES })) },
    { name: "anonymize: 8 field rules, pseudonymized ids never seen before", hops: perRecord((r) => anonymize({ property: r, rules: FIELD_RULES_NEW_IDS })) },
    { name: "anonymize: scan 1 KiB", node: anonymize({ property: "small", rules: [{ path: "", op: "scan" }] }) },
    { name: "raw: email regex replace, 1 KiB", raw: (msg) => msg.small.replace(EMAIL_RE, "<EMAIL>") },
    { name: "raw: scan engine alone, 1 KiB", raw: (msg) => engine().run(msg.small) },
    { name: "anonymize: scan 64 KiB", hops: [1, 2, 3].map(() => anonymize({ property: "large", rules: [{ path: "", op: "scan" }] })) },
    { name: "raw: email regex replace, 64 KiB", raw: (msg) => msg.large.replace(EMAIL_RE, "<EMAIL>") },
    { name: "raw: scan engine alone, 64 KiB", raw: (msg) => engine().run(msg.large) },
  ],
  goals: [
    { variant: "anonymize: 8 field rules on a 20-field record", maxRatio: 3, note: "field rules at most 3x the change node's marginal cost" },
    { variant: "anonymize: 8 field rules on a 20-field record", against: "change (8 rules on the record)", note: "same number of fields touched by change" },
    { variant: "anonymize: 8 field rules, pseudonymized ids never seen before", against: "change (8 rules on the record)", note: "no memo hits: two HMACs per record" },
    { variant: "anonymize: scan 1 KiB", against: "raw: email regex replace, 1 KiB", note: "scan (9 types) vs one plain regex pass" },
    { variant: "anonymize: scan 64 KiB", against: "raw: email regex replace, 64 KiB", note: "scan (9 types) vs one plain regex pass" },
  ],
  /** MB/s of the engine alone and entity density of the texts, printed under the table. */
  extra: async (log) => {
    const { scanText } = require(path.join(__dirname, "..", "..", "nodes", "lib", "pii-scan.js"));
    const out = {};
    for (const [label, text] of [["1 KiB", SMALL], ["64 KiB", LARGE]]) {
      const n = label === "1 KiB" ? 4000 : 60;
      for (let i = 0; i < 5; i++) scanText(text);
      const t0 = performance.now();
      for (let i = 0; i < n; i++) engine().run(text);
      const ms = (performance.now() - t0) / n;
      const entities = scanText(text).length;
      out[label] = { engineMBps: text.length / 1e6 / (ms / 1000), entitiesPerKiB: entities / (text.length / 1024) };
      log(`scan engine alone, ${label}: ${out[label].engineMBps.toFixed(1)} MB/s, ${out[label].entitiesPerKiB.toFixed(1)} entities per KiB`);
    }
    log("node MB/s = text bytes / cost per message from the table (1 KiB: 1024 B, 64 KiB: 65536 B)");
    return out;
  },
};
