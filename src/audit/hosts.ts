/**
 * Where an address points: this machine, the home network, the internet, or nobody can
 * tell from the flow (empty, or filled in from the message). The audit names a host in
 * a finding, never a URL: URLs carry user:password and ?apikey= parts.
 */

/** loopback: this machine. lan: a private network. public: the internet. unknown: not in the flow. */
export type HostClass = "loopback" | "lan" | "public" | "unknown";

export interface Endpoint {
  cls: HostClass;
  /** The host (lowercase, no port, no brackets), "" when unknown. */
  host: string;
  /** The scheme when one was given ("http", "mqtts", ...), lowercase, without ":". */
  scheme: string;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
// Names that only resolve inside a home network (mDNS, router and RFC 8375 suffixes).
const LAN_SUFFIXES = [".local", ".lan", ".home", ".home.arpa", ".internal", ".localdomain", ".intranet", ".fritz.box"];

function ipv4Class(host: string): HostClass | null {
  const m = IPV4.exec(host);
  if (!m) return null;
  const [a, b] = [Number(m[1]), Number(m[2])];
  if ([a, b, Number(m[3]), Number(m[4])].some((x) => x > 255)) return "public";
  if (a === 127 || a === 0) return "loopback";
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) return "lan";
  // Link-local, and the shared address space VPN meshes such as Tailscale use.
  if ((a === 169 && b === 254) || (a === 100 && b >= 64 && b <= 127)) return "lan";
  return "public";
}

function ipv6Class(host: string): HostClass | null {
  if (!host.includes(":")) return null;
  const h = host.toLowerCase();
  if (h === "::1" || h === "::" || /^0*:(0*:)*0*1$/.test(h)) return "loopback";
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  if (v4) return ipv4Class(v4[1]);
  if (/^f[cd][0-9a-f]{2}:/.test(h) || /^fe[89ab][0-9a-f]:/.test(h)) return "lan";
  return "public";
}

/** Classifies a bare host name or address. */
export function classifyHost(raw: string): HostClass {
  let host = raw.trim().toLowerCase();
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  if (host.endsWith(".")) host = host.slice(0, -1);
  if (host === "" || /[{}$<>]/.test(host)) return "unknown";
  if (host === "localhost" || host.endsWith(".localhost")) return "loopback";
  const ip = ipv4Class(host) ?? ipv6Class(host);
  if (ip) return ip;
  if (LAN_SUFFIXES.some((s) => host.endsWith(s))) return "lan";
  // A single-label name ("mosquitto", "homeassistant") resolves through the local
  // resolver or a container network, not the internet.
  if (!host.includes(".")) return "lan";
  return "public";
}

/**
 * Reads an address as typed in a node: a URL with or without scheme ("example.com/x"
 * is what http request turns into http://example.com/x), or a bare host[:port].
 * Mustache ({{...}}) or ${ENV} in the host part makes it unknown.
 */
export function parseEndpoint(text: unknown, defaultScheme = ""): Endpoint {
  if (typeof text !== "string" || text.trim() === "") return { cls: "unknown", host: "", scheme: defaultScheme };
  const src = text.trim();
  const schemeMatch = /^([a-z][a-z0-9+.-]*):\/\//i.exec(src);
  const scheme = schemeMatch ? schemeMatch[1].toLowerCase() : defaultScheme;
  const rest = schemeMatch ? src.slice(schemeMatch[0].length) : src;
  // Authority ends at the first / ? or #; user info ends at the last @ before it.
  const authority = rest.split(/[/?#]/, 1)[0];
  const hostPort = authority.slice(authority.lastIndexOf("@") + 1);
  let host: string;
  if (hostPort.startsWith("[")) {
    host = hostPort.slice(0, hostPort.indexOf("]") + 1);
  } else {
    // "a:b:c" without brackets is an IPv6 address with no port.
    host = hostPort.split(":").length > 2 ? hostPort : hostPort.split(":", 1)[0];
  }
  const cls = classifyHost(host);
  return { cls, host: cls === "unknown" ? "" : host.replace(/^\[|\]$/g, "").toLowerCase(), scheme };
}

/** Schemes that carry data in clear text over the network. */
export const CLEAR_SCHEMES = new Set(["http", "ws", "mqtt", "tcp", "ftp", "telnet", "redis", "amqp"]);

/** "this machine", "your network (host)", "host": how a finding names a destination. */
export function describeHost(e: Endpoint): string {
  switch (e.cls) {
    case "loopback":
      return "this machine";
    case "lan":
      return `${e.host} on your network`;
    case "public":
      return e.host;
    default:
      return "an address set by the message";
  }
}
