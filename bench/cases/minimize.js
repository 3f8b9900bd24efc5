"use strict";
// privacy-minimize on a 20-field IoT reading, next to the core change node deleting
// the same fields. Keep mode with 5 rules (3 of them transforms) lets 5 fields out and
// removes 15; the baseline is a change node with the 15 delete rules that give the
// same payload shape. Remove mode (5 remove rules) is compared with 5 change deletes.
// In a chain of 10 copies only the first hop finds the fields it removes, for the node
// and the change node alike; the `raw` rows time the engine alone on full readings.
const FIELDS = {
  deviceId: "dev-0042", owner: "Alex Example", serial: "SN-88-1234", firmware: "2.4.1", mac: "a4:2b:b0:11:22:33",
  ip: "192.168.1.42", ssid: "home-wifi", temperature: 21.456, humidity: 44.2, pressure: 1013.25,
  co2: 612, voc: 0.42, pm25: 7.1, battery: 87, rssi: -61, lat: 52.520008, lon: 13.404954,
  ts: "2024-05-01T10:23:45.678Z", uptime: 123456, note: "living room, next to the window",
};
const KEPT = ["temperature", "humidity", "co2", "pressure", "ts"];
const REMOVED = Object.keys(FIELDS).filter((k) => !KEPT.includes(k));
const REMOVE5 = ["owner", "serial", "mac", "ip", "ssid"];

const KEEP_RULES = [
  { path: "temperature", op: "round", decimals: 1 },
  { path: "humidity", op: "round", step: 5 },
  { path: "co2", op: "keep" },
  { path: "pressure", op: "keep" },
  { path: "ts", op: "time", unit: "hour", epoch: "auto" },
];

const minimizeNode = (mode, rules) => ({
  type: "privacy-minimize", property: "payload", mode, rules, onTypeMismatch: "error", nonObject: "error",
  stripMetadata: true, keepProperties: "", aggregate: false, windowSize: 15, windowUnit: "min", aggregateKey: "topic", aggregateFields: "", maxKeys: 1000,
});
const changeDeletes = (fields) => ({ type: "change", rules: fields.map((f) => ({ t: "delete", p: `payload.${f}`, pt: "msg" })) });

function engine(mode, rules) {
  const M = require("../../dist/minimize/minimize");
  const { validateConfig } = require("../../dist/core/validation");
  const v = validateConfig(M.minimizeSchema, { mode, rules });
  if (!v.ok) throw new Error(v.error);
  const plan = M.compile(v.value);
  return (msg) => M.minimize(plan, msg);
}

module.exports = {
  name: "minimize",
  description: "privacy-minimize on a 20-field IoT reading vs core change deletes",
  messages: 5000,
  makeMessage: (i) => ({ topic: `sensor/${i % 50}`, payload: { ...FIELDS, co2: 600 + (i % 50) } }),
  variants: [
    { name: "change: delete 15 fields", baseline: true, node: changeDeletes(REMOVED) },
    { name: "minimize keep: 5 rules", node: minimizeNode("keep", KEEP_RULES) },
    { name: "change: delete 5 fields", node: changeDeletes(REMOVE5) },
    { name: "minimize remove: 5 rules", node: minimizeNode("remove", REMOVE5.map((f) => ({ path: f, op: "remove" }))) },
    { name: "raw engine keep: 5 rules (no Node-RED)", raw: engine("keep", KEEP_RULES) },
    { name: "raw engine remove: 5 rules (no Node-RED)", raw: engine("remove", REMOVE5.map((f) => ({ path: f, op: "remove" }))) },
  ],
  goals: [
    { variant: "minimize keep: 5 rules", against: "change: delete 15 fields", maxRatio: 2, note: "issue goal: at most 2x the change node" },
    { variant: "minimize remove: 5 rules", against: "change: delete 5 fields", maxRatio: 2, note: "same goal, denylist" },
  ],
};
