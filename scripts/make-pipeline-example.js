"use strict";
// Writes examples/smart-home-privacy-pipeline.json (kept as code so positions and ids
// stay readable). Run: node scripts/make-pipeline-example.js
const fs = require("node:fs");
const path = require("node:path");

const z = "pipe-tab";
const inject = (id, name, topic, payload, x, y, wires) => ({
  id, type: "inject", z, name, props: [{ p: "payload" }, { p: "topic", vt: "str" }], repeat: "", crontab: "", once: false, onceDelay: 0.1,
  topic, payload: JSON.stringify(payload), payloadType: "json", x, y, wires: [wires],
});
const debug = (id, name, x, y, full = false) => ({ id, type: "debug", z, name, active: true, tosidebar: true, console: false, tostatus: false, complete: full ? "true" : "payload", targetType: full ? "full" : "msg", statusVal: "", statusType: "auto", x, y, wires: [] });
const consentCmd = (id, name, action, subject, x, y) => ({
  id, type: "inject", z, name, props: [{ p: "consent", v: JSON.stringify({ action, subject, purpose: "cloud-analytics", method: "inject button" }), vt: "json" }],
  repeat: "", crontab: "", once: false, onceDelay: 0.1, topic: "", x, y, wires: [["pipe-consent"]],
});

const flow = [
  { id: z, type: "tab", label: "Smart home privacy pipeline", disabled: false, info: "Sensors -> consent gate -> minimize -> anonymize -> encrypt -> file.", env: [{ name: "PRIVACY_PIPELINE_FILE", value: "privacy-pipeline.jsonl", type: "str" }] },
  {
    id: "pipe-comment", type: "comment", z, name: "Smart home privacy pipeline: read me first", x: 200, y: 40, wires: [],
    info: [
      "Three simulated sensors send readings for two people, alice and bob (the message topic is the person).",
      "",
      "1. Press **thermostat (alice)**: the gate blocks it (debug **blocked** shows msg.privacy.blocked.reason = \"no-consent\").",
      "2. Press **alice agrees**: the debug **receipts** shows her consent receipt (receiptId, purpose cloud-analytics, policyVersion 1).",
      "3. Press the three sensors again. For alice the reading goes through **minimize** (rounded temperature, location to 2 decimals, firmware and transport metadata removed),",
      "   **anonymize** (the owner's email and the device MAC become keyed pseudonyms, emails, phones and IPs in the doorbell note become <EMAIL>, <PHONE>, 192.168.1.0),",
      "   and **encrypt** (a JWE string, appended to the file named by the tab's PRIVACY_PIPELINE_FILE variable).",
      "   Debug **what leaves** shows the JWE; debug **decrypted at home** shows what is inside it, with msg.privacy.trail listing every step.",
      "   bob's tracker is still blocked until **bob agrees**.",
      "4. Press **alice withdraws**: her next reading is blocked with reason \"withdrawn\".",
      "5. The people can do this themselves: the consent store publishes a consent page. npm start prints alice's and bob's personal links;",
      "   in your own Node-RED open the store, type a person's id and press Make link (a QR code to scan with a phone).",
      "",
      "The keyring reads its key from the environment variable PRIVACY_DEMO_KEYS (npm start sets it). In your own Node-RED, open the keyring, choose Credentials, press Generate and deploy.",
      "The update check looks at this Node-RED's modules once a day (and when you press **check updates now**).",
      "",
      "5. Open the **privacy** tab of the sidebar: the audit checks these flows as you edit them. The pipeline above is clean;",
      "   the red group at the bottom is a deliberately leaky branch (disabled, so nothing leaves) and shows up as a finding.",
    ].join("\n"),
  },
  inject("pipe-thermostat", "thermostat (alice)", "alice", { device: "thermostat-livingroom", temperature: 21.37, humidity: 40.2, setpoint: 21, firmware: "2.1.0", owner: "alice@example.com", location: { lat: 48.137154, lon: 11.576124 } }, 150, 100, ["pipe-gate"]),
  inject("pipe-doorbell", "doorbell log (alice)", "alice", { device: "doorbell-front", time: "2026-11-25T18:42:17.512Z", note: "Parcel for Alice, courier asked to call +49 170 1234567 or mail alice@example.com; visitor phone on 192.168.1.23" }, 160, 160, ["pipe-gate"]),
  inject("pipe-tracker", "bike tracker (bob)", "bob", { device: "tracker-bike", mac: "a4:5e:60:d1:22:9f", owner: "bob@example.com", fix: { lat: 48.140213, lon: 11.558392 }, speed: 17.3, battery: 64 }, 150, 220, ["pipe-gate"]),
  { id: "pipe-gate", type: "privacy-consent-gate", z, name: "cloud analytics consent", store: "pipe-store", purposeFrom: "config", purpose: "cloud-analytics", subjectProperty: "topic", onBlocked: "output", outputs: 2, x: 440, y: 160, wires: [["pipe-minimize"], ["pipe-blocked"]] },
  debug("pipe-blocked", "blocked", 660, 240, true),
  {
    id: "pipe-minimize", type: "privacy-minimize", z, name: "only what analytics needs", property: "payload", mode: "remove",
    rules: [
      { path: "firmware", op: "remove" },
      { path: "setpoint", op: "remove" },
      { path: "temperature", op: "round", step: 0.5 },
      { path: "humidity", op: "round", decimals: 0 },
      { path: "location", op: "coordinates", method: "decimals", decimals: 2 },
      { path: "fix", op: "coordinates", method: "decimals", decimals: 2 },
      { path: "time", op: "time", unit: "hour" },
      { path: "speed", op: "round", step: 5 },
      { path: "battery", op: "bucket", buckets: [{ below: 20, label: "low" }, { below: 80, label: "ok" }], above: "full" },
    ],
    onTypeMismatch: "error", nonObject: "error", stripMetadata: true, keepProperties: "", aggregate: false, windowSize: 15, windowUnit: "min", aggregateKey: "topic", aggregateFields: "", maxKeys: 1000,
    x: 680, y: 160, wires: [["pipe-anonymize"]],
  },
  {
    id: "pipe-anonymize", type: "privacy-anonymize", z, name: "pseudonyms and PII scan", property: "payload", keyring: "pipe-keyring",
    rules: [
      { path: "owner", op: "pseudonymize", prefix: "person_" },
      { path: "mac", op: "pseudonymize", prefix: "dev_" },
      { path: "note", op: "scan", action: { op: "replace" }, actions: { ipv4: { op: "generalize" } } },
    ],
    onError: "error", k: "", quasiIdentifiers: [], maxSuppression: 0.05,
    x: 920, y: 160, wires: [["pipe-encrypt"]],
  },
  { id: "pipe-encrypt", type: "privacy-encrypt", z, name: "", keyring: "pipe-keyring", property: "payload", fields: [], x: 1130, y: 160, wires: [["pipe-file", "pipe-leaves", "pipe-decrypt"]] },
  { id: "pipe-file", type: "file", z, name: "append to PRIVACY_PIPELINE_FILE", filename: "PRIVACY_PIPELINE_FILE", filenameType: "env", appendNewline: true, createDir: true, overwriteFile: "false", encoding: "utf8", x: 1390, y: 100, wires: [[]] },
  debug("pipe-leaves", "what leaves", 1340, 160),
  { id: "pipe-decrypt", type: "privacy-decrypt", z, name: "", keyring: "pipe-keyring", property: "payload", fields: [], x: 1310, y: 220, wires: [["pipe-home"]] },
  debug("pipe-home", "decrypted at home", 1510, 220, true),
  consentCmd("pipe-alice-yes", "alice agrees", "grant", "alice", 140, 320),
  consentCmd("pipe-alice-no", "alice withdraws", "withdraw", "alice", 150, 360),
  consentCmd("pipe-bob-yes", "bob agrees", "grant", "bob", 140, 400),
  consentCmd("pipe-bob-no", "bob withdraws", "withdraw", "bob", 150, 440),
  { id: "pipe-consent", type: "privacy-consent", z, name: "", store: "pipe-store", method: "node-red", x: 400, y: 380, wires: [["pipe-receipts"]] },
  debug("pipe-receipts", "receipts", 600, 380),
  { id: "pipe-update-now", type: "inject", z, name: "check updates now", props: [], repeat: "", crontab: "", once: false, onceDelay: 0.1, topic: "", x: 170, y: 520, wires: [["pipe-update"]] },
  { id: "pipe-update", type: "privacy-update-check", z, name: "daily update check", check: "node-red", registry: "", manifestType: "url", manifest: "", publicKeys: "", interval: 24, timeout: 10, maxSize: 10240, x: 400, y: 520, wires: [["pipe-update-report"]] },
  debug("pipe-update-report", "update report", 620, 520),
  // A deliberately leaky branch, disabled (nothing runs, nothing leaves), so that the
  // privacy sidebar has a finding to show: exact phone locations to a cloud service,
  // through no gate, minimize, anonymize or encrypt. Every shipped flow must otherwise
  // audit clean (test/unit/audit/examples.test.js).
  {
    id: "pipe-leak-group", type: "group", z, name: "Deliberately leaky (disabled): see the privacy tab",
    style: { stroke: "#b00020", "stroke-opacity": "1", fill: "#fbe3e6", "fill-opacity": "0.5", label: true, "label-position": "nw", color: "#b00020" },
    nodes: ["pipe-leak-comment", "pipe-leak-in", "pipe-leak-person", "pipe-leak-upload", "pipe-leak-reply"],
    x: 54, y: 579, w: 912, h: 122,
  },
  {
    id: "pipe-leak-comment", type: "comment", z, g: "pipe-leak-group", name: "Why this branch is a finding (read me)", x: 220, y: 620, wires: [],
    info: [
      "These disabled nodes would send every position a phone reports (OwnTracks in HTTP mode) to a cloud service,",
      "exactly as measured and with the person's name: no consent gate, no minimize, no anonymize, no encrypt on the way.",
      "",
      "The **privacy** tab of the sidebar lists it under *In disabled nodes*: click it to see the path on the canvas.",
      "To fix it, put a **minimize** between *who and where* and the upload (keep only what the service needs, coordinates",
      "coarsened), or a **consent gate** if the person must agree first. Or accept the finding with a reason.",
    ].join("\n"),
  },
  {
    id: "pipe-leak-in", type: "http in", z, g: "pipe-leak-group", d: true, name: "OwnTracks (HTTP mode)", url: "/owntracks", method: "post",
    upload: false, swaggerDoc: "", x: 170, y: 660, wires: [["pipe-leak-person"]],
  },
  {
    id: "pipe-leak-person", type: "change", z, g: "pipe-leak-group", d: true, name: "who and where",
    rules: [{ t: "set", p: "payload.person", pt: "msg", to: 'req.headers["x-limit-u"]', tot: "msg" }], x: 400, y: 660, wires: [["pipe-leak-upload"]],
  },
  {
    id: "pipe-leak-upload", type: "http request", z, g: "pipe-leak-group", d: true, name: "location cloud (unprotected)", method: "POST", ret: "obj",
    paytoqs: "ignore", url: "https://location-cloud.example.com/v1/positions", tls: "", persist: false, proxy: "", insecureHTTPParser: false,
    authType: "", senderr: false, headers: [], x: 640, y: 660, wires: [["pipe-leak-reply"]],
  },
  { id: "pipe-leak-reply", type: "http response", z, g: "pipe-leak-group", d: true, name: "", statusCode: "200", headers: {}, x: 870, y: 660, wires: [] },
  { id: "pipe-keyring", type: "privacy-keyring", name: "demo keys (PRIVACY_DEMO_KEYS)", activeKid: "demo-1", source: "env", envVar: "PRIVACY_DEMO_KEYS", salt: "" },
  {
    id: "pipe-store", type: "privacy-consent-store", name: "Maple Street 12", backend: "file", file: "", retainDays: 0,
    // The consent page (npm start prints each person's link): what is collected, in words.
    page: true, pagePath: "/privacy/consent", pageBase: "", retiredKeys: [],
    purposes: [{
      id: "cloud-analytics", description: "Readings go to a cloud analytics dashboard", policyVersion: "1", title: "Home readings on the cloud dashboard",
      dataCategories: ["room temperature", "humidity", "front door log", "bike location"], recipients: ["Acme Cloud analytics"], retention: "30 days",
      dpvPurpose: "https://w3id.org/dpv#ServiceOptimisation",
    }],
  },
];

fs.writeFileSync(path.join(__dirname, "..", "examples", "smart-home-privacy-pipeline.json"), JSON.stringify(flow, null, 2) + "\n");
console.log(`wrote ${flow.length} nodes`);
