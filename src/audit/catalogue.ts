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
  // node-red-node-serialport (registerType in io/serialport/25-serial.js)
  { types: ["serial in"], source: source("serial device data") },
  {
    types: ["serial request"],
    source: source("serial device data"),
  },
  { types: ["watch"], source: source("file changes") },
  { types: ["file in"], source: source("the contents of a file") },
  // node-red-node-tail
  { types: ["tail"], source: source("lines appended to a file") },
  // node-red-node-email (registerType in social/email/61-email.js; "e-mail mta" is its SMTP server)
  { types: ["e-mail in", "e-mail mta"], source: source("e-mail") },
  // node-red-node-pi-gpio ("rpi-gpio in"), node-red-node-pi-gpiod ("pi-gpiod in")
  { types: ["rpi-gpio in", "pi-gpiod in"], source: source("GPIO inputs (motion, door and button sensors)") },
  // node-red-node-ping
  { types: ["ping"], source: source("presence (which devices answer on the network)") },

  // ---- home automation
  // node-red-contrib-home-assistant-websocket (NodeType in src/const.ts, registered in src/index.ts)
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
      "ha-events-calendar",
      "ha-sentence",
    ],
    source: () => ({ what: "Home Assistant states and events", origin: "homeassistant" }),
  },
  // Calls into Home Assistant stay with Home Assistant.
  { types: ["api-call-service", "ha-api", "ha-entity", "ha-sensor", "ha-binary-sensor", "ha-fire-event"] },
  // node-red-contrib-zigbee2mqtt (registerType in nodes/{in,get,bridge,out}.js)
  {
    types: ["zigbee2mqtt-in", "zigbee2mqtt-get", "zigbee2mqtt-bridge", "zigbee2mqtt-out"],
    source: (n) =>
      n.type === "zigbee2mqtt-out" ? null : { what: "Zigbee device states (zigbee2mqtt)", origin: "zigbee" },
  },
  // node-red-contrib-zwave-js: "zwavejs-controller", "zwavejs-device" since 11.0 (nodes/ZWaveJS*.js;
  // "zwavejs-runtime" is its config node), "zwave-js", "zwave-device" up to 10.x (zwave-js/*.js).
  {
    types: ["zwavejs-controller", "zwavejs-device", "zwave-js", "zwave-device"],
    source: () => ({ what: "Z-Wave device events", origin: "zwave" }),
  },
  // node-red-contrib-tasmota (registerType in nodes/*.js)
  {
    types: ["Tasmota Sensor", "Tasmota Switch", "Tasmota Light", "Tasmota Button", "Tasmota Generic"],
    source: () => ({ what: "Tasmota device states", origin: "tasmota" }),
  },
  // node-red-contrib-shelly (registerType in shelly/99-shelly.js; "shelly-cloud" reads them from Shelly Cloud)
  {
    types: ["shelly-gen1", "shelly-gen2", "shelly-cloud"],
    source: () => ({ what: "Shelly device states", origin: "shelly" }),
  },
  // node-red-contrib-deconz (registerType in nodes/{in,get,event,battery}.js)
  {
    types: ["deconz-input", "deconz-get", "deconz-event", "deconz-battery"],
    source: () => ({ what: "deCONZ device states", origin: "deconz" }),
  },
  // node-red-contrib-huemagic (registerType in huemagic/*.js): "hue-buttons", "hue-contact",
  // "hue-brightness" since 4.0; "hue-button", "hue-switch", "hue-tap" up to 3.x.
  {
    types: [
      "hue-motion",
      "hue-contact",
      "hue-temperature",
      "hue-brightness",
      "hue-buttons",
      "hue-button",
      "hue-switch",
      "hue-tap",
    ],
    source: () => ({ what: "Hue sensor events", origin: "hue" }),
  },
  // node-red-contrib-owntracks (registerType in owntracks.js)
  { types: ["owntracks"], source: source("locations (OwnTracks)") },
  // node-red-contrib-telegrambot (registerType in telegrambot/99-telegrambot.js)
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
  // node-red-node-email
  { types: ["e-mail"], sink: cloud("e-mail") },
  // node-red-contrib-telegrambot
  { types: ["telegram sender", "telegram reply"], sink: () => ({ cls: "public", where: "Telegram", key: "telegram" }) },
  // node-red-node-pushover ("pushover"), node-red-contrib-pushover ("pushover", "pushover api" in some versions)
  { types: ["pushover", "pushover api"], sink: cloud("Pushover") },
  // node-red-node-pushbullet (registerType in social/pushbullet/57-pushbullet.js)
  { types: ["pushbullet in"], source: () => ({ what: "Pushbullet pushes", origin: "pushbullet" }) },
  { types: ["pushbullet"], sink: () => ({ cls: "public", where: "Pushbullet", key: "pushbullet" }) },
  // node-red-node-twilio, node-red-node-twitter
  { types: ["twilio out"], sink: cloud("Twilio") },
  { types: ["twitter out"], sink: cloud("Twitter") },
  // node-red-contrib-slack (slackpost.js): "slack-rtm-in", "slack-rtm-out", "slack-web-out" since
  // 2.0; "Slack Bot In", "Slack Bot Out", "slack" (webhook) up to 0.1.
  { types: ["slack-rtm-in", "Slack Bot In"], source: () => ({ what: "Slack messages", origin: "slack" }) },
  {
    types: ["slack", "slack-web-out", "slack-rtm-out", "Slack Bot Out"],
    sink: () => ({ cls: "public", where: "Slack", key: "slack" }),
  },
  // node-red-contrib-discord-advanced ("discordMessage", "discordMessageManager"),
  // node-red-contrib-discord ("discordMessage", "discordSendMessage")
  { types: ["discordMessage"], source: () => ({ what: "Discord messages", origin: "discord" }) },
  {
    types: ["discordMessageManager", "discordSendMessage"],
    sink: () => ({ cls: "public", where: "Discord", key: "discord" }),
  },
  // node-red-contrib-ifttt (nodes/ifttt.js)
  { types: ["ifttt out"], sink: cloud("IFTTT") },
  // node-red-contrib-gotify ("gotify-notification"; the server's url is on its "gotify-server" config node)
  { types: ["gotify-notification"], sink: (n, config) => hostSink("Gotify", configEndpoint(config(n.server))) },

  // ---- databases
  // What a query node reads back was stored there before: copying it within the same
  // database (origin = key) is no finding; sending it elsewhere is.
  // node-red-contrib-influxdb (registerType in influxdb.js)
  {
    types: ["influxdb in"],
    source: (n) => ({ what: "what it reads from InfluxDB", origin: `influxdb:${str(n.influxdb)}` }),
  },
  {
    types: ["influxdb out", "influxdb batch"],
    sink: (n, config) =>
      hostSink("InfluxDB", configEndpoint(config(n.influxdb)), `influxdb:${str(n.influxdb)}`, "storage"),
  },
  // node-red-node-mysql (storage/mysql/68-mysql.js)
  { types: ["mysql"], sink: (n, config) => hostSink("MySQL", configEndpoint(config(n.mydb)), undefined, "storage") },
  // node-red-contrib-postgresql ("postgresql", config postgreSQLConfig), node-red-contrib-postgres
  // and its forks ("postgres", config postgresdb)
  {
    types: ["postgresql", "postgres"],
    sink: (n, config) =>
      hostSink("PostgreSQL", configEndpoint(config(n.postgreSQLConfig ?? n.postgresdb)), undefined, "storage"),
  },
  // node-red-node-mongodb ("mongodb in", "mongodb out"), node-red-contrib-mongodb4 ("mongodb4")
  {
    types: ["mongodb in"],
    source: (n) => ({ what: "what it reads from MongoDB", origin: `mongodb:${str(n.mongodb)}` }),
  },
  {
    types: ["mongodb out", "mongodb4"],
    sink: (n, config) => {
      const id = n.mongodb ?? n.clientNode;
      return hostSink("MongoDB", configEndpoint(config(id)), `mongodb:${str(id)}`, "storage");
    },
  },
  // node-red-node-sqlite ("sqlitedb" is its config node)
  { types: ["sqlite"], sink: storage("an SQLite database") },
  // node-red-contrib-redis ("redis-in", "redis-out", "redis-command", config redis-config),
  // node-red-node-redis ("redis out", host and port on the node)
  { types: ["redis-in"], source: (n) => ({ what: "what it reads from Redis", origin: `redis:${str(n.server)}` }) },
  {
    types: ["redis-out", "redis-command", "redis out"],
    sink: (n, config) =>
      n.type === "redis out"
        ? hostSink("Redis", parseEndpoint(n.hostname), undefined, "storage")
        : hostSink("Redis", configEndpoint(config(n.server)), `redis:${str(n.server)}`, "storage"),
  },

  // ---- cloud services
  // node-red-node-aws ("amazon s3 out"), node-red-contrib-aws-s3 ("aws-s3-out", later "aws-s3"),
  // node-red-contrib-aws ("AWS S3", "AWS SQS", "AWS SNS"), node-red-contrib-aws-iot-hub ("aws-mqtt out";
  // "aws-iot-device" is its config node)
  {
    types: ["amazon s3 out", "aws-s3", "aws-s3-out", "AWS S3", "AWS SQS", "AWS SNS", "aws-mqtt out"],
    sink: cloud("AWS"),
  },
  // node-red-contrib-google-cloud (NODE_TYPE in pubsub-out.js, gcs-write.js, bigquery-insert.js,
  // stackdriver-log.js), node-red-contrib-google-sheets ("GSheet")
  {
    types: [
      "google-cloud-pubsub out",
      "google-cloud-gcs-write",
      "google-cloud-bigquery-insert",
      "google-cloud-log",
      "GSheet",
    ],
    sink: cloud("Google"),
  },
  // node-red-contrib-firebase ("firebase modify"),
  // @gogovega/node-red-contrib-firebase-realtime-database ("firebase-out")
  { types: ["firebase modify", "firebase-out"], sink: cloud("Firebase") },
  // node-red-contrib-azure-iot-hub (iot-hub/azureiothub.js), node-red-contrib-azure-iot-device
  { types: ["azureiothub", "azureiothubregistry", "iot-device-send-telemetry"], sink: cloud("Azure IoT Hub") },
  // node-red-contrib-ibm-watson-iot ("wiotp out"), node-red-contrib-scx-ibmiotapp ("ibmiot out")
  { types: ["wiotp out", "ibmiot out"], sink: cloud("IBM Watson IoT") },
  // node-red-node-dropbox, node-red-node-box
  { types: ["dropbox out", "box out"], sink: cloud("cloud file storage") },
  // node-red-contrib-thingspeak42; "thingspeak": not tied to a package
  { types: ["thingspeak42", "thingspeak"], sink: cloud("ThingSpeak") },
  // not verified against a package
  { types: ["ttn-downlink", "ttn downlink"], sink: cloud("The Things Network") },

  // ---- stays here, or does not hand on the message it got
  { types: ["debug", "comment", "http response", "status"], flow: "block" },
  // Our own nodes that answer with something else (receipts, update reports).
  { types: ["privacy-consent", "privacy-update-check"], flow: "block" },
  { types: ["function"], flow: functionFlow },
  // Dashboards show data to the people of the house: node-red-dashboard (ui_*),
  // @flowfuse/node-red-dashboard (ui-*).
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
