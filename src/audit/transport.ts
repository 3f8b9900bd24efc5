/**
 * Unencrypted transports: connections that carry data (and often a password) in clear
 * over a network. An MQTT broker without TLS, http:// and ws:// addresses, plain TCP
 * and UDP, an InfluxDB without TLS; each to a host other than this machine. On the
 * home network that is "low" (anyone on the Wi-Fi can listen), on the internet "high".
 * A connection only counts when some node uses it; if only disabled nodes do, the
 * finding is dormant.
 */
import type { Finding, FlowObject, Severity } from "./types";
import { label, tabOf, type Graph, type GNode } from "./graph";
import { parseEndpoint, describeHost, CLEAR_SCHEMES, type Endpoint } from "./hosts";
import { configEndpoint } from "./catalogue";

function severityOf(e: Endpoint): Severity | null {
  if (e.cls === "public") return "high";
  if (e.cls === "lan") return "low";
  return null;
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

function usersOf(g: Graph, configId: string, fields: readonly string[]): GNode[] {
  return g.nodes.filter((n) => fields.some((f) => n.obj[f] === configId));
}

interface Conn {
  subject: FlowObject;
  users: GNode[];
  endpoint: Endpoint;
  what: string;
  fix: string;
  /** Our node whose help explains the fix, where one helps (encrypting before a plain broker). */
  helpType?: string;
}

function finding(g: Graph, c: Conn, id: string): Finding | null {
  const severity = severityOf(c.endpoint);
  if (!severity || c.users.length === 0) return null;
  const where = describeHost(c.endpoint);
  const isConfig = !Array.isArray(c.subject.wires);
  return {
    id,
    rule: "unencrypted-transport",
    severity,
    title: `${c.what} to ${where} is not encrypted`,
    explanation:
      `${label(c.subject)} talks to ${where} without TLS, so what it sends, and any user name and password it logs ` +
      `in with, cross the ${c.endpoint.cls === "public" ? "internet" : "home network"} in clear text` +
      `${isConfig ? ` (used by ${c.users.length} node${c.users.length === 1 ? "" : "s"})` : ""}.`,
    nodes: [c.subject.id, ...c.users.map((u) => u.id).filter((u) => u !== c.subject.id)],
    fix: c.helpType ? { text: c.fix, nodeType: c.helpType } : { text: c.fix },
    dormant: c.users.every((u) => u.disabled),
    // A broker shared by every tab belongs to none: its acceptance goes to the global env.
    anchor: tabOf(g, c.subject.id),
  };
}

function brokerEndpoint(b: FlowObject): { e: Endpoint; tls: boolean } {
  const e = parseEndpoint(b.broker);
  const tls = b.usetls === true || ["mqtts", "wss", "ssl", "tls"].includes(e.scheme);
  return { e, tls };
}

function influxEndpoint(cfg: FlowObject): { e: Endpoint; tls: boolean } {
  const v = str(cfg.influxdbVersion) || "1.x";
  if (v !== "1.x" && str(cfg.url) !== "") {
    const e = parseEndpoint(cfg.url);
    return { e, tls: e.scheme === "https" };
  }
  return { e: parseEndpoint(cfg.hostname), tls: cfg.usetls === true || cfg.protocol === "https" };
}

/** Clear-text URLs written into code, templates and commands (only internet hosts: a LAN address there is usual). */
const CODE_FIELDS = ["func", "initialize", "finalize", "template", "command"];
const URL_IN_TEXT = /\b(https?|wss?|mqtts?):\/\/[^\s"'`<>)\]]+/gi;

export function unencryptedTransports(g: Graph): Finding[] {
  const out: Finding[] = [];
  const push = (f: Finding | null): void => {
    if (f) out.push(f);
  };
  for (const o of g.byId.values()) {
    if (o.type === "mqtt-broker") {
      const { e, tls } = brokerEndpoint(o);
      if (tls) continue;
      push(
        finding(
          g,
          {
            subject: o,
            users: usersOf(g, o.id, ["broker"]),
            endpoint: e,
            what: "MQTT",
            fix:
              `Turn on "Use TLS" in ${label(o)} (port 8883 on most brokers) with a TLS configuration that checks ` +
              "the server certificate, or reach the broker through a VPN. For data that must stay private even " +
              "from the broker, encrypt it before the mqtt out node.",
            helpType: "privacy-encrypt",
          },
          `unencrypted-transport:${o.id}`,
        ),
      );
    } else if (o.type === "websocket-client") {
      const e = parseEndpoint(o.path);
      if (e.scheme !== "ws") continue;
      push(
        finding(
          g,
          {
            subject: o,
            users: usersOf(g, o.id, ["client"]),
            endpoint: e,
            what: "WebSocket",
            fix: `Use a wss:// address in ${label(o)}.`,
          },
          `unencrypted-transport:${o.id}`,
        ),
      );
    } else if (o.type === "influxdb") {
      const { e, tls } = influxEndpoint(o);
      if (tls) continue;
      push(
        finding(
          g,
          {
            subject: o,
            users: usersOf(g, o.id, ["influxdb"]),
            endpoint: e,
            what: "InfluxDB",
            fix: `Use https (TLS) in ${label(o)}.`,
          },
          `unencrypted-transport:${o.id}`,
        ),
      );
    }
  }
  for (const n of g.nodes) {
    const o = n.obj;
    if (n.type === "http request") {
      const e = parseEndpoint(o.url, "http");
      if (e.scheme !== "http") continue;
      const conn: Conn = { subject: o, users: [n], endpoint: e, what: "HTTP", fix: "Use an https:// address." };
      push(finding(g, conn, `unencrypted-transport:${n.id}`));
    } else if ((n.type === "tcp out" && str(o.beserver || "client") === "client") || n.type === "tcp request") {
      if (str(o.tls) !== "") continue;
      const e = parseEndpoint(n.type === "tcp out" ? o.host : o.server);
      push(
        finding(
          g,
          {
            subject: o,
            users: [n],
            endpoint: e,
            what: "TCP",
            fix: "Give the node a TLS configuration, or send through a VPN.",
          },
          `unencrypted-transport:${n.id}`,
        ),
      );
    } else if (n.type === "udp out") {
      if (str(o.multicast) === "broad" || str(o.multicast) === "multi") continue;
      push(
        finding(
          g,
          {
            subject: o,
            users: [n],
            endpoint: parseEndpoint(o.addr),
            what: "UDP",
            fix: "UDP has no encryption: encrypt the payload first (encrypt node) or send through a VPN.",
            helpType: "privacy-encrypt",
          },
          `unencrypted-transport:${n.id}`,
        ),
      );
    } else {
      codeUrls(g, n, push);
    }
  }
  return out;
}

function codeUrls(g: Graph, n: GNode, push: (f: Finding | null) => void): void {
  for (const field of CODE_FIELDS) {
    const text = str(n.obj[field]);
    if (text === "") continue;
    const hosts = new Set<string>();
    for (const m of text.matchAll(URL_IN_TEXT)) {
      const e = parseEndpoint(m[0]);
      if (CLEAR_SCHEMES.has(e.scheme) && e.cls === "public") hosts.add(e.host);
    }
    if (hosts.size === 0) continue;
    const list = [...hosts].sort();
    push({
      id: `unencrypted-transport:${n.id}:${field}`,
      rule: "unencrypted-transport",
      severity: "medium",
      title: `${label(n.obj)} uses a clear-text address (${list.join(", ")})`,
      explanation:
        `The ${field} of ${label(n.obj)} names ${list.length === 1 ? "an address" : "addresses"} on ` +
        `${list.join(", ")} ` +
        "with http://, ws:// or mqtt://: anything sent there crosses the internet in clear text.",
      nodes: [n.id],
      fix: { text: "Use https://, wss:// or mqtts:// in its place." },
      dormant: n.disabled,
      anchor: tabOf(g, n.id),
    });
  }
}

export { configEndpoint };
