"use strict";
/**
 * A generated home-automation flow of a given size for the audit's benchmark: five
 * tabs of sources (mqtt in, http in), processing nodes (function,
 * change, switch, delay, template), our protective nodes, link out/in pairs between
 * tabs, a subflow with three instances and a catch node per tab, and sinks (mqtt out to
 * a cloud broker, http request, file, InfluxDB). Wires only go forward (no loops), and
 * the same seed gives the same flow.
 *
 * Every node is one Node-RED 4 can run without extra packages (the InfluxDB sink is an
 * http request), so the same flow is deployed to time the editor's deploy.
 */

function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Returns { flows, nodes: flow node count, wires }. */
function generateAuditFlow({ nodes: total = 1000, wires: wireTarget = 1500, seed = 42 } = {}) {
  const rand = rng(seed);
  const pick = (arr) => arr[Math.floor(rand() * arr.length)];
  const tabs = Array.from({ length: 5 }, (_, i) => ({ id: `bench-tab-${i}`, type: "tab", label: `generated ${i}` }));
  // Brokers as the editor saves them (every field its validators check), never connected.
  const broker = (id, name, host, tls) => ({
    id, type: "mqtt-broker", name, broker: host, port: tls ? "8883" : "1883", clientid: "", autoConnect: false, usetls: tls,
    protocolVersion: "4", keepalive: "60", cleansession: true, autoUnsubscribe: true, birthTopic: "", birthQos: "0",
    birthRetain: "false", birthPayload: "", birthMsg: {}, closeTopic: "", closeQos: "0", closeRetain: "false", closePayload: "",
    closeMsg: {}, willTopic: "", willQos: "0", willRetain: "false", willPayload: "", willMsg: {}, userProps: "", sessionExpiry: "",
  });
  const config = [
    broker("bench-broker-local", "local", "127.0.0.1", false),
    broker("bench-broker-cloud", "cloud", "mqtt.example.com", true),
    { id: "bench-keyring", type: "privacy-keyring", name: "bench", activeKid: "k1", source: "env", envVar: "BENCH_AUDIT_KEYS", salt: "" },
    { id: "bench-store", type: "privacy-consent-store", name: "bench", backend: "memory", file: "", retainDays: 0, purposes: [{ id: "cloud", description: "", policyVersion: "1" }] },
  ];
  const sf = {
    id: "bench-sf", type: "subflow", name: "normalise", info: "", category: "", env: [], color: "#DDAA99",
    in: [{ x: 40, y: 40, wires: [{ id: "bench-sf-fn" }] }], out: [{ x: 400, y: 40, wires: [{ id: "bench-sf-ch", port: 0 }] }],
  };
  const sfNodes = [
    { id: "bench-sf-fn", type: "function", z: "bench-sf", name: "normalise", func: "msg.payload = msg.payload || {};\nreturn msg;", outputs: 1, x: 140, y: 40, wires: [["bench-sf-ch"]] },
    { id: "bench-sf-ch", type: "change", z: "bench-sf", name: "", rules: [{ t: "set", p: "unit", pt: "msg", to: "C", tot: "str" }], x: 280, y: 40, wires: [[]] },
  ];
  const made = [];
  const kinds = [
    [0.07, "source"], [0.2, "function"], [0.13, "change"], [0.1, "switch"], [0.06, "delay"], [0.05, "template"],
    [0.05, "protect"], [0.04, "link"], [0.1, "sink"], [0.2, "debug"],
  ];
  const kindAt = () => {
    let r = rand();
    for (const [p, k] of kinds) if ((r -= p) < 0) return k;
    return "debug";
  };
  const base = (i, tab) => ({ id: `bench-n${i}`, z: tab.id, name: "", x: 100 + (i % 20) * 60, y: 40 + Math.floor(i / 20) * 40, wires: [[]] });
  // 3 subflow instances, 5 catch nodes, 2 link pairs per "link" slot are counted in total.
  let i = 0;
  const budget = total - sfNodes.length - 3 - tabs.length;
  while (made.length < budget) {
    const tab = tabs[i % tabs.length];
    const n = base(i, tab);
    const kind = i < 5 ? "source" : kindAt();
    if (kind === "source") {
      const t = pick(["mqtt in", "mqtt in", "http in"]);
      if (t === "mqtt in") Object.assign(n, { type: t, topic: `home/${i}/#`, qos: "0", datatype: "auto-detect", broker: "bench-broker-local", nl: false, rap: true, rh: 0, inputs: 0 });
      else Object.assign(n, { type: t, url: `/hook/${i}`, method: "post", upload: false });
    } else if (kind === "function") Object.assign(n, { type: "function", func: "msg.payload.t = Math.round(msg.payload.t * 10) / 10;\nreturn msg;", outputs: 1 });
    else if (kind === "change") Object.assign(n, { type: "change", rules: [{ t: "set", p: "topic", pt: "msg", to: `room/${i}`, tot: "str" }] });
    else if (kind === "switch") Object.assign(n, { type: "switch", property: "payload", propertyType: "msg", rules: [{ t: "gt", v: "20", vt: "num" }, { t: "else" }], checkall: "true", outputs: 2, wires: [[], []] });
    else if (kind === "delay") Object.assign(n, { type: "delay", pauseType: "rate", timeout: "5", timeoutUnits: "seconds", rate: "1", nbRateUnits: "1", rateUnits: "second", randomFirst: "1", randomLast: "5", randomUnits: "seconds", drop: true, allowrate: false, outputs: 1 });
    else if (kind === "template") Object.assign(n, { type: "template", field: "payload", fieldType: "msg", format: "handlebars", syntax: "mustache", template: "{{payload.t}} C", output: "str" });
    else if (kind === "protect") {
      const t = pick(["privacy-minimize", "privacy-consent-gate", "privacy-anonymize", "privacy-encrypt"]);
      if (t === "privacy-minimize") {
        Object.assign(n, {
          type: t, property: "payload", mode: "keep", rules: [{ path: "t", op: "round", decimals: 1 }], onTypeMismatch: "error", nonObject: "error",
          stripMetadata: true, keepProperties: "", aggregate: false, windowSize: 15, windowUnit: "min", aggregateKey: "topic", aggregateFields: "", maxKeys: 1000,
        });
      }
      else if (t === "privacy-consent-gate") Object.assign(n, { type: t, store: "bench-store", purposeFrom: "config", purpose: "cloud", subjectProperty: "topic", onBlocked: "output", outputs: 2, wires: [[], []] });
      else if (t === "privacy-anonymize") Object.assign(n, { type: t, property: "payload", keyring: "", rules: [{ path: "owner", op: "redact" }], onError: "error", k: "", quasiIdentifiers: [], maxSuppression: 0.05 });
      else Object.assign(n, { type: t, keyring: "bench-keyring", property: "payload", fields: [] });
    } else if (kind === "link") {
      // A link out here, its link in on the next tab.
      const target = tabs[(i + 1) % tabs.length];
      Object.assign(n, { type: "link out", mode: "link", links: [`bench-n${i + 1}`], wires: [] });
      made.push(n);
      i++;
      const li = base(i, target);
      Object.assign(li, { type: "link in", links: [n.id] });
      made.push(li);
      i++;
      continue;
    } else if (kind === "sink") {
      const t = pick(["mqtt out", "http request", "file", "influx"]);
      if (t === "mqtt out") Object.assign(n, { type: t, topic: `cloud/${i}`, qos: "", retain: "", broker: "bench-broker-cloud", wires: [] });
      else if (t === "http request") Object.assign(n, { type: t, method: "POST", ret: "txt", url: `https://api${i % 7}.example.com/ingest`, tls: "", persist: false, authType: "", senderr: false, headers: [] });
      else if (t === "file") Object.assign(n, { type: t, filename: `/tmp/bench-audit-${i}.log`, filenameType: "str", appendNewline: true, createDir: false, overwriteFile: "false", encoding: "none", wires: [[]] });
      else Object.assign(n, { type: "http request", name: "influx write", method: "POST", ret: "txt", url: "https://influx.example.com:8086/write?db=home", tls: "", persist: false, authType: "", senderr: false, headers: [] });
    } else Object.assign(n, { type: "debug", active: false, tosidebar: true, console: false, tostatus: false, complete: "payload", targetType: "msg", wires: [] });
    made.push(n);
    i++;
  }
  // Subflow instances and one catch per tab.
  for (let k = 0; k < 3; k++) made.push({ ...base(i++, tabs[k]), type: "subflow:bench-sf" });
  for (const tab of tabs) made.push({ ...base(i++, tab), type: "catch", scope: null, uncaught: false, wires: [[]] });
  // Wires: forward only, within a tab (links cross tabs), until the target count.
  const byTab = new Map(tabs.map((t) => [t.id, made.filter((n) => n.z === t.id)]));
  const canSend = (n) => n.wires.length > 0 && n.type !== "link out";
  const canReceive = (n) => !["mqtt in", "http in", "link in", "catch"].includes(n.type);
  let wires = made.filter((n) => n.type === "link out").length;
  let guard = 0;
  while (wires < wireTarget - 1 && guard++ < wireTarget * 50) {
    const tabNodes = byTab.get(pick(tabs).id);
    const a = Math.floor(rand() * tabNodes.length);
    const src = tabNodes[a];
    if (!canSend(src)) continue;
    const b = a + 1 + Math.floor(rand() * Math.min(12, tabNodes.length - a - 1));
    const dst = tabNodes[b];
    if (!dst || !canReceive(dst)) continue;
    const port = Math.floor(rand() * src.wires.length);
    if (src.wires[port].includes(dst.id)) continue;
    src.wires[port].push(dst.id);
    wires++;
  }
  const flows = [...tabs, ...config, sf, ...sfNodes, ...made];
  // The subflow's inner wire counts; its input and output ports are not node wires.
  return { flows, nodes: made.length + sfNodes.length, wires: wires + 1 };
}

module.exports = { generateAuditFlow };
