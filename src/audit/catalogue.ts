/**
 * The catalogue: what each node type means for personal data. One entry per family of
 * types says whether the node brings data about people or homes into Node-RED
 * (`source`), sends it out of the house or stores it (`sink`, judged from its config:
 * an http request to localhost is local), and whether a message it receives goes on
 * (`flow`, "pass" unless the node provably starts a new message).
 *
 * Types not listed pass messages on and are neither source nor sink, so a node from a
 * package the catalogue does not know never hides a path. To teach the audit a new
 * node, add its type to an entry below (or a new entry) and a test in
 * test/unit/audit/catalogue.test.js.
 */
import type { FlowObject } from "./types";
import { classifyHost, parseEndpoint, describeHost, type Endpoint, type HostClass } from "./hosts";

/** Reads config nodes by id (a broker, a database connection). */
export type ConfigLookup = (id: unknown) => FlowObject | undefined;

export interface SourceInfo {
  /** What comes in, for the finding: "MQTT messages from 192.168.1.5". */
  what: string;
  /**
   * Where it came from, when a sink can write back to the same place (a broker): data
   * republished where it was read exposes nothing new, so that pair is no finding.
   */
  origin?: string;
}

/** Where a sink puts data: public (leaves the house), lan, storage (kept here), unknown. */
export type SinkClass = Exclude<HostClass, "loopback"> | "storage";

export interface SinkInfo {
  cls: SinkClass;
  /** "MQTT broker broker.hivemq.com", "file", "Telegram": never a URL or a secret. */
  where: string;
  /** Same meaning as SourceInfo.origin. */
  key?: string;
}

export type Flow = "pass" | "block";

export interface CatalogueEntry {
  types: readonly string[];
  /** Type prefixes (dashboard widgets are ui_*, ui-*). */
  prefixes?: readonly string[];
  source?: (node: FlowObject, config: ConfigLookup) => SourceInfo | null;
  /** null: the node keeps the data in the house (local). */
  sink?: (node: FlowObject, config: ConfigLookup) => SinkInfo | null;
  flow?: Flow | ((node: FlowObject) => Flow);
}

/** How our own nodes protect what passes through them (`gate`: only its first output). */
export type Protection = "gate" | "minimize" | "anonymize" | "encrypt" | "decrypt";
export const PROTECTIVE: Readonly<Record<string, Protection>> = {
  "privacy-consent-gate": "gate",
  "privacy-minimize": "minimize",
  "privacy-anonymize": "anonymize",
  "privacy-encrypt": "encrypt",
  "privacy-decrypt": "decrypt",
};

/** The node types that fix an unprotected path, for the finding's help link. */
export const FIX_TYPES = ["privacy-consent-gate", "privacy-minimize", "privacy-anonymize", "privacy-encrypt"] as const;

// ------------------------------------------------------------------ helpers

function str(v: unknown): string {
  return typeof v === "string" ? v : typeof v === "number" ? String(v) : "";
}

const source = (what: string) => () => ({ what });
/** A cloud service: whatever its config, the data leaves the house. */
const cloud = (where: string) => () => ({ cls: "public" as const, where });
/** Kept on this machine, in a file or a local database. */
const storage = (where: string) => () => ({ cls: "storage" as const, where });

/** A sink judged by the host it talks to: loopback is local (no sink), the rest by class. */
function hostSink(label: string, e: Endpoint, key?: string, local: "none" | "storage" = "none"): SinkInfo | null {
  if (e.cls === "loopback") {
    return local === "storage" ? { cls: "storage", where: `${label} on this machine`, key } : null;
  }
  return { cls: e.cls, where: `${label} ${describeHost(e)}`, key };
}

/** The host a config node points at, trying the field names database and broker nodes use. */
export function configEndpoint(cfg: FlowObject | undefined): Endpoint {
  if (!cfg) return { cls: "unknown", host: "", scheme: "" };
  for (const field of ["url", "uri", "broker", "host", "hostname", "server", "path"]) {
    const v = str(cfg[field]);
    if (v.trim() !== "") return parseEndpoint(v);
  }
  return { cls: "unknown", host: "", scheme: "" };
}

function brokerOf(node: FlowObject, config: ConfigLookup): FlowObject | undefined {
  return config(node.broker);
}

/** A host named in a shell command (curl https://..., wget, mosquitto_pub -h host). */
function commandEndpoint(command: string): Endpoint | null {
  const url = /\b(?:https?|wss?|mqtts?|ftp):\/\/[^\s"'`]+/i.exec(command);
  if (url) return parseEndpoint(url[0]);
  const h = /\bmosquitto_pub\b[^\n]*?\s-h\s+([^\s"']+)/.exec(command);
  return h ? parseEndpoint(h[1]) : null;
}

/**
 * Whether an http request sends anything of the message: not a GET or HEAD with a fixed
 * URL that leaves the payload out (fetching a camera snapshot sends nothing of the
 * doorbell event that triggered it). msg.method ("use") or a templated URL do send.
 */
function httpSendsData(node: FlowObject): boolean {
  const method = str(node.method || "GET").toUpperCase();
  const payloadToQuery = node.paytoqs === true || node.paytoqs === "query" || node.paytoqs === "body";
  const fixedUrl = str(node.url) !== "" && !/\{\{|\$\{/.test(str(node.url));
  return !((method === "GET" || method === "HEAD") && !payloadToQuery && fixedUrl);
}

/**
 * Whether a function node can hand on what it received: not when it has no output,
 * and not when its code never names `msg` (it can only send messages it makes itself).
 */
export function functionFlow(node: FlowObject): Flow {
  if (node.outputs === 0 || node.outputs === "0") return "block";
  const code = str(node.func);
  // Comments and string literals do not use the message.
  const stripped = code
    .replace(/\/\*[\s\S]*?\*\//g, " ")
    .replace(/\/\/[^\n]*/g, " ")
    .replace(/(["'`])(?:\\.|(?!\1)[^\\\n])*\1/g, '""');
  return /\bmsg\b|\barguments\b/.test(stripped) ? "pass" : "block";
}

// ------------------------------------------------------------------ the catalogue

export const CATALOGUE: readonly CatalogueEntry[] = [
  // ---- core: what comes in
  {
    types: ["mqtt in"],
    source: (n, config) => {
      const broker = brokerOf(n, config);
      const topic = str(n.topic);
      const e = configEndpoint(broker);
      const on = e.cls === "loopback" ? "on " : "";
      const where = e.cls === "unknown" ? "" : ` from the broker ${on}${describeHost(e)}`;
      return { what: `MQTT messages${topic ? ` on ${topic}` : ""}${where}`, origin: `mqtt:${str(n.broker)}` };
    },
  },
  { types: ["http in"], source: (n) => ({ what: `HTTP requests to ${str(n.url) || "a route"}` }) },
  { types: ["websocket in"], source: source("WebSocket messages") },
  { types: ["tcp in"], source: source("TCP data") },
  { types: ["udp in"], source: source("UDP datagrams") },
  { types: ["serial in"], source: source("serial device data") },
  {
    types: ["serial request"],
    source: source("serial device data"),
  },
  { types: ["watch"], source: source("file changes") },
  { types: ["file in"], source: source("the contents of a file") },
  { types: ["tail"], source: source("lines appended to a file") },
  { types: ["e-mail in"], source: source("e-mail") },
  { types: ["rpi-gpio in", "rpi-gpiod in"], source: source("GPIO inputs (motion, door and button sensors)") },
  { types: ["ping"], source: source("presence (which devices answer on the network)") },

  // ---- home automation
  {
    types: [
      "server-state-changed",
      "trigger-state",
      "poll-state",
      "server-events",
      "api-current-state",
      "api-get-history",
      "api-render-template",
      "ha-webhook",
      "ha-zone",
      "ha-device",
      "ha-tag",
      "ha-get-entities",
    ],
    source: () => ({ what: "Home Assistant states and events", origin: "homeassistant" }),
  },
  // Calls into Home Assistant stay with Home Assistant.
  { types: ["api-call-service", "ha-api", "ha-entity", "ha-sensor", "ha-binary-sensor", "ha-fire-event"] },
  {
    types: ["zigbee2mqtt-in", "zigbee2mqtt-get", "zigbee2mqtt-bridge", "zigbee2mqtt-out"],
    source: (n) =>
      n.type === "zigbee2mqtt-out" ? null : { what: "Zigbee device states (zigbee2mqtt)", origin: "zigbee" },
  },
  {
    types: ["zwave-js", "zwave-device", "zwave-in"],
    source: () => ({ what: "Z-Wave device events", origin: "zwave" }),
  },
  {
    types: [
      "Tasmota Sensor",
      "Tasmota Switch",
      "Tasmota Light",
      "Tasmota Button",
      "Tasmota Generic",
      "Tasmota Shutter",
    ],
    source: () => ({ what: "Tasmota device states", origin: "tasmota" }),
  },
  { types: ["shelly-gen1", "shelly-gen2"], source: () => ({ what: "Shelly device states", origin: "shelly" }) },
  {
    types: ["deconz-input", "deconz-get", "deconz-event"],
    source: () => ({ what: "deCONZ device states", origin: "deconz" }),
  },
  {
    types: ["hue-motion", "hue-button", "hue-temperature"],
    source: () => ({ what: "Hue sensor events", origin: "hue" }),
  },
  { types: ["owntracks"], source: source("locations (OwnTracks)") },
  {
    types: ["telegram receiver", "telegram command", "telegram event"],
    source: () => ({ what: "Telegram messages", origin: "telegram" }),
  },

  // ---- core: what goes out
  {
    types: ["mqtt out"],
    sink: (n, config) => hostSink("MQTT broker", configEndpoint(brokerOf(n, config)), `mqtt:${str(n.broker)}`),
  },
  {
    types: ["http request"],
    sink: (n) => (httpSendsData(n) ? hostSink("HTTP request to", parseEndpoint(n.url, "http")) : null),
    // What it fetches from a device in the house (a camera snapshot, the router's list
    // of connected phones) is data about the home; a reply from the internet is not.
    source: (n) => {
      const e = parseEndpoint(n.url, "http");
      return e.cls === "lan" || e.cls === "loopback" ? { what: `what it fetches from ${describeHost(e)}` } : null;
    },
  },
  {
    types: ["websocket out"],
    sink: (n, config) => {
      // A listener serves clients of this Node-RED; a client connects out.
      if (str(n.client) === "") return null;
      return hostSink("WebSocket to", configEndpoint(config(n.client)));
    },
  },
  {
    types: ["tcp out"],
    sink: (n) => (str(n.beserver || "client") === "client" ? hostSink("TCP to", parseEndpoint(n.host)) : null),
  },
  { types: ["tcp request"], sink: (n) => hostSink("TCP to", parseEndpoint(n.server)) },
  {
    types: ["udp out"],
    sink: (n) => {
      if (str(n.multicast) === "broad" || str(n.multicast) === "multi") return { cls: "lan", where: "UDP broadcast" };
      return hostSink("UDP to", parseEndpoint(n.addr));
    },
  },
  { types: ["serial out"] },
  {
    types: ["exec"],
    sink: (n) => {
      const e = commandEndpoint(str(n.command));
      return e ? hostSink("a command sending to", e) : null;
    },
  },
  { types: ["file"], sink: storage("a file") },

  // ---- messengers and notification services
  { types: ["e-mail"], sink: cloud("e-mail") },
  { types: ["telegram sender", "telegram reply"], sink: () => ({ cls: "public", where: "Telegram", key: "telegram" }) },
  { types: ["pushover", "pushover api"], sink: cloud("Pushover") },
  { types: ["pushbullet"], sink: cloud("Pushbullet") },
  { types: ["twilio out"], sink: cloud("Twilio") },
  { types: ["twitter out"], sink: cloud("Twitter") },
  { types: ["slack", "slack-web-out", "slack-rtm-out"], sink: cloud("Slack") },
  { types: ["discordMessageManager", "discord-send-messages"], sink: cloud("Discord") },
  { types: ["ifttt out"], sink: cloud("IFTTT") },
  { types: ["gotify"], sink: (n) => hostSink("Gotify", parseEndpoint(n.server ?? n.url)) },

  // ---- databases
  {
    types: ["influxdb out", "influxdb batch"],
    sink: (n, config) => hostSink("InfluxDB", configEndpoint(config(n.influxdb)), undefined, "storage"),
  },
  { types: ["mysql"], sink: (n, config) => hostSink("MySQL", configEndpoint(config(n.mydb)), undefined, "storage") },
  {
    types: ["postgresql", "postgres"],
    sink: (n, config) =>
      hostSink("PostgreSQL", configEndpoint(config(n.postgreSQLConfig ?? n.postgresdb)), undefined, "storage"),
  },
  {
    types: ["mongodb out", "mongodb4"],
    sink: (n, config) => hostSink("MongoDB", configEndpoint(config(n.mongodb ?? n.clientNode)), undefined, "storage"),
  },
  { types: ["sqlite", "sqlitedb"], sink: storage("an SQLite database") },
  {
    types: ["redis-out", "redis-command"],
    sink: (n, config) => hostSink("Redis", configEndpoint(config(n.server)), undefined, "storage"),
  },

  // ---- cloud services
  { types: ["amazon s3 out", "aws-s3", "aws-sqs", "aws-iot-device"], sink: cloud("AWS") },
  {
    types: ["google-cloud-pubsub out", "google-cloud-storage write", "GSheet", "google-sheets"],
    sink: cloud("Google"),
  },
  { types: ["firebase modify", "firebase-out"], sink: cloud("Firebase") },
  { types: ["azureiothub", "azure-iot-hub", "azureiothubregistry"], sink: cloud("Azure IoT Hub") },
  { types: ["wiotp out", "ibmiot out"], sink: cloud("IBM Watson IoT") },
  { types: ["dropbox out", "box out"], sink: cloud("cloud file storage") },
  { types: ["thingspeak42", "thingspeak"], sink: cloud("ThingSpeak") },
  { types: ["ttn-downlink", "ttn downlink"], sink: cloud("The Things Network") },

  // ---- stays here, or does not hand on the message it got
  { types: ["debug", "comment", "http response", "status"], flow: "block" },
  // Our own nodes that answer with something else (receipts, update reports).
  { types: ["privacy-consent", "privacy-update-check"], flow: "block" },
  { types: ["function"], flow: functionFlow },
  // Dashboards show data to the people of the house.
  { types: [], prefixes: ["ui_", "ui-"] },
];

const BY_TYPE = new Map<string, CatalogueEntry>();
for (const e of CATALOGUE) for (const t of e.types) BY_TYPE.set(t, e);

export function entryFor(type: string): CatalogueEntry | undefined {
  const exact = BY_TYPE.get(type);
  if (exact) return exact;
  return CATALOGUE.find((e) => e.prefixes?.some((p) => type.startsWith(p)));
}

export interface Classification {
  source: SourceInfo | null;
  sink: SinkInfo | null;
  flow: Flow;
  protection: Protection | null;
}

export function classify(node: FlowObject, config: ConfigLookup): Classification {
  const protection = PROTECTIVE[node.type] ?? null;
  const e = entryFor(node.type);
  const flow = e?.flow === undefined ? "pass" : typeof e.flow === "function" ? e.flow(node) : e.flow;
  return {
    source: e?.source ? e.source(node, config) : null,
    sink: e?.sink ? e.sink(node, config) : null,
    flow,
    protection,
  };
}

export { classifyHost };
