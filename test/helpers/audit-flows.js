"use strict";
/**
 * Small builders for flows in audit tests: a tab, nodes wired by id, config nodes.
 * Every flow node gets x/y so the same flows can be deployed and shown in the editor.
 */
let pos = 0;

function tab(id, extra = {}) {
  return { id, type: "tab", label: id, disabled: false, info: "", env: [], ...extra };
}

/** A flow node on tab z: wires is an array of id arrays (one per output), or one id array. */
function node(id, type, z, props = {}, wires = []) {
  const w = wires.length > 0 && !Array.isArray(wires[0]) ? [wires] : wires;
  pos++;
  return { id, type, z, name: "", x: 120 + (pos % 8) * 150, y: 60 + Math.floor(pos / 8) * 60, ...props, wires: w };
}

const broker = (id, host, extra = {}) => ({ id, type: "mqtt-broker", name: id, broker: host, port: "1883", usetls: false, ...extra });
const mqttIn = (id, z, brokerId, topic, wires) => node(id, "mqtt in", z, { topic, qos: "0", datatype: "auto-detect", broker: brokerId }, wires);
const mqttOut = (id, z, brokerId, topic = "out") => node(id, "mqtt out", z, { topic, broker: brokerId }, []);
const httpReq = (id, z, url, wires = [[]]) => node(id, "http request", z, { method: "POST", ret: "txt", url, tls: "", headers: [] }, wires);
const fn = (id, z, func, wires, outputs = 1) => node(id, "function", z, { func, outputs }, wires);
const change = (id, z, wires) => node(id, "change", z, { rules: [{ t: "set", p: "topic", pt: "msg", to: "x", tot: "str" }] }, wires);
const debug = (id, z) => node(id, "debug", z, { active: true, tosidebar: true, complete: "payload", targetType: "msg" }, []);
const gate = (id, z, storeId, allowed, blocked = []) =>
  node(id, "privacy-consent-gate", z, { store: storeId, purposeFrom: "config", purpose: "cloud", subjectProperty: "topic", onBlocked: "output", outputs: 2 }, [allowed, blocked]);
const store = (id, purposes = [{ id: "cloud", description: "cloud analytics", policyVersion: "1" }]) =>
  ({ id, type: "privacy-consent-store", name: id, backend: "memory", file: "", retainDays: 0, purposes });
const minimize = (id, z, wires, mode = "keep") =>
  node(id, "privacy-minimize", z, { property: "payload", mode, rules: [{ path: "t", op: mode === "keep" ? "keep" : "remove" }] }, wires);
const anonymize = (id, z, wires, rules = [{ path: "owner", op: "redact" }], keyring = "") =>
  node(id, "privacy-anonymize", z, { property: "payload", keyring, rules, onError: "error" }, wires);
const keyring = (id, extra = {}) => ({ id, type: "privacy-keyring", name: id, activeKid: "k1", source: "env", envVar: "KEYS", salt: "", ...extra });
const encrypt = (id, z, keyringId, wires) => node(id, "privacy-encrypt", z, { keyring: keyringId, property: "payload", fields: [] }, wires);
const decrypt = (id, z, keyringId, wires) => node(id, "privacy-decrypt", z, { keyring: keyringId, property: "payload", fields: [] }, wires);

module.exports = { tab, node, broker, mqttIn, mqttOut, httpReq, fn, change, debug, gate, store, minimize, anonymize, keyring, encrypt, decrypt };
