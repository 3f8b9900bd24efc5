/**
 * Secrets in plain sight: values that look like passwords, tokens or API keys in the
 * parts of a node that Node-RED writes to flows.json in clear (everything but its
 * credentials): properties, inject and change values, HTTP headers, env variables of
 * type string, function code, templates, commands, descriptions and URLs
 * (https://user:pass@host, ?apikey=...). A finding says where (node, property, line),
 * never what: no part of the value is copied into it.
 */
import type { Finding, FlowObject } from "./types";
import { label, tabOf, type Graph } from "./graph";

/** Words that make a property name a secret's name ("apiKey", "mqtt_password"). */
const SECRET_WORDS = new Set([
  "password",
  "passwd",
  "pwd",
  "pass",
  "passphrase",
  "secret",
  "token",
  "apikey",
  "bearer",
  "psk",
  "credential",
  "credentials",
  "authorization",
  "accesstoken",
  "authtoken",
]);
/** "<word> key" pairs that name a secret ("api key", "access key"); "key" alone is too common. */
const KEY_PREFIXES = new Set([
  "api",
  "access",
  "private",
  "secret",
  "app",
  "auth",
  "encryption",
  "master",
  "subscription",
]);
/** A last word that makes the name describe a secret rather than hold one ("passwordType"). */
const NOT_A_VALUE = new Set([
  "type",
  "types",
  "mode",
  "field",
  "property",
  "prop",
  "name",
  "names",
  "label",
  "length",
  "len",
  "expiry",
  "expires",
  "url",
  "uri",
  "endpoint",
  "header",
  "path",
  "file",
  "enabled",
  "required",
  "hint",
  "location",
  "store",
  "source",
  "from",
  "prefix",
  "format",
  "env",
  "var",
  "ttl",
  "timeout",
  "id",
]);
/** Query parameters that carry a key (OpenWeatherMap calls it appid). */
const SECRET_PARAMS = new Set([
  "apikey",
  "api_key",
  "key",
  "token",
  "access_token",
  "auth",
  "password",
  "pass",
  "pwd",
  "secret",
  "appid",
  "app_key",
  "apitoken",
  "api_token",
  "auth_token",
  "client_secret",
  "signature",
  "sig",
]);
/** Property values of a typed input that are references, not literals. */
const REFERENCE_TYPES = new Set(["env", "msg", "flow", "global", "cred", "jsonata", "node", "date", "num", "bool"]);
/** Values that are choices or placeholders, not secrets. */
const NOT_SECRET_VALUES = new Set([
  "none",
  "basic",
  "bearer",
  "digest",
  "true",
  "false",
  "null",
  "undefined",
  "password",
  "secret",
  "token",
  "str",
  "env",
  "msg",
  "flow",
  "global",
  "cred",
  "__pwrd__",
  "apikey",
  "api_key",
]);
const CODE_FIELDS = new Set(["func", "initialize", "finalize", "template", "command", "info", "format"]);
const SKIP_KEYS = new Set([
  "id",
  "type",
  "z",
  "g",
  "x",
  "y",
  "w",
  "h",
  "wires",
  "credentials",
  "links",
  "scope",
  "nodes",
  "d",
]);

/** Recognisable token formats (each linear-time: bounded classes, no nested repetition). */
const TOKEN_PATTERNS: ReadonlyArray<[string, RegExp]> = [
  ["an AWS access key", /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/],
  ["a GitHub token", /\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{60,255})\b/],
  ["a Slack token", /\bxox[abposr]-[A-Za-z0-9-]{10,255}/],
  ["a Slack webhook", /hooks\.slack\.com\/services\/[A-Za-z0-9]{6,}\/[A-Za-z0-9]{6,}\/[A-Za-z0-9]{10,}/],
  ["a Discord webhook", /discord(?:app)?\.com\/api\/webhooks\/\d{5,}\/[\w-]{20,}/],
  ["a Telegram bot token", /\b\d{8,10}:[A-Za-z0-9_-]{35}\b/],
  ["a Google API key", /\bAIza[0-9A-Za-z_-]{35}\b/],
  ["a Stripe key", /\b[sr]k_(?:live|test)_[0-9a-zA-Z]{16,255}\b/],
  ["an OpenAI key", /\bsk-(?:proj-)?[A-Za-z0-9_-]{32,255}\b/],
  ["an access token (JWT)", /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{10,}/],
  ["a private key", /-----BEGIN (?:[A-Z]{2,10} )?PRIVATE KEY-----/],
  ["an IFTTT key", /maker\.ifttt\.com\/trigger\/[^/\s"'`]{1,200}\/with\/key\/[A-Za-z0-9_-]{10,}/],
  ["a bearer token", /\bBearer\s+[A-Za-z0-9._~+/-]{16,}=*/],
];
const BASIC_AUTH = /\bBasic\s+([A-Za-z0-9+/]{8,}={0,2})/g;
/**
 * Something every pattern above (and a URL) needs: one pass of this decides whether
 * the thirteen are worth running, which most strings of a flow (names, topics, paths)
 * are not.
 */
const MAY_HOLD_TOKEN =
  /AKIA|ASIA|gh[pousr]_|github_pat_|xox[abposr]-|hooks\.slack|discord|\d{8}:|AIza|k_(?:live|test)_|sk-|eyJ|-----BEGIN|Bearer|Basic|:\/\//;
const URL_PATTERN = /\b[a-z][a-z0-9+.-]{1,15}:\/\/[^\s"'`<>]{1,2000}/gi;
const CODE_ASSIGN = /(?:^|[^\w$])["']?([A-Za-z_$][\w$-]{0,60})["']?\s*[:=]\s*(["'`])([^"'`\n\\]{4,500})\2/g;

function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .split(/[^A-Za-z0-9]+/)
    .filter((w) => w !== "")
    .map((w) => w.toLowerCase());
}

const KIND_OF_WORD: Readonly<Record<string, string>> = {
  password: "a password",
  passwd: "a password",
  pwd: "a password",
  pass: "a password",
  passphrase: "a passphrase",
  secret: "a secret",
  token: "a token",
  accesstoken: "a token",
  authtoken: "a token",
  bearer: "a token",
  apikey: "an API key",
  psk: "a pre-shared key",
  credential: "a credential",
  credentials: "a credential",
  authorization: "an authorization header",
};

// Flows repeat the same few property names: each is judged once.
const kindCache = new Map<string, string | null>();

/** What secret a property or variable name says it holds ("an API key" for "apiKey"), or null. */
export function secretKind(name: string): string | null {
  const known = kindCache.get(name);
  if (known !== undefined) return known;
  const kind = judgeName(name);
  if (kindCache.size < 10000) kindCache.set(name, kind);
  return kind;
}

function judgeName(name: string): string | null {
  const ws = words(name);
  if (ws.length === 0 || NOT_A_VALUE.has(ws[ws.length - 1])) return null;
  for (let i = 0; i < ws.length; i++) {
    if (SECRET_WORDS.has(ws[i])) return KIND_OF_WORD[ws[i]] ?? "a secret";
    if (ws[i] === "key" && i > 0 && KEY_PREFIXES.has(ws[i - 1])) {
      return ws[i - 1] === "private" ? "a private key" : "an API key";
    }
  }
  // Names written as one word: "apikey", "mqttpassword", "accesstoken".
  const joined = ws.join("");
  if (/password|passwd/.test(joined)) return "a password";
  if (/apikey|accesskey|secretkey/.test(joined)) return "an API key";
  if (/privatekey/.test(joined)) return "a private key";
  if (/authtoken|accesstoken/.test(joined)) return "a token";
  if (/clientsecret/.test(joined)) return "a secret";
  return null;
}

export function isSecretName(name: string): boolean {
  return secretKind(name) !== null;
}

/** Whether a value under a secret's name is a real value, not a placeholder or reference. */
function isLiteralSecret(value: string): boolean {
  const v = value.trim();
  if (v.length < 4 || NOT_SECRET_VALUES.has(v.toLowerCase())) return false;
  if (/^\*+$|^\.+$|^x+$/i.test(v)) return false;
  // ${ENV}, {{mustache}}, $(ENV), <your key here>, env.get(...), msg.x.
  if (/^\$\{[^}]*\}$|^\{\{[^}]*\}\}$|^\$\([^)]*\)$|^<[^>]*>$/.test(v)) return false;
  // A text that shows where a secret goes ("Authorization: Bearer <token>") is a how-to, not a secret.
  if (/<[A-Za-z][\w -]{0,40}>/.test(v)) return false;
  if (/^(?:env|process\.env|msg|flow|global|context)\b/.test(v)) return false;
  // A property path ("oauth2Response.access_token" tells the e-mail node where the token is).
  if (/^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+$/.test(v)) return false;
  return true;
}

function decodeBase64(b64: string): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  let bits = 0;
  let acc = 0;
  let out = "";
  for (const ch of b64.replace(/=+$/, "")) {
    const v = alphabet.indexOf(ch);
    if (v < 0) return "";
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += String.fromCharCode((acc >> bits) & 0xff);
    }
  }
  return out;
}

/** Secrets a URL carries: a password in its user info, a key in its query. */
function urlSecrets(url: string): string[] {
  const kinds: string[] = [];
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^/?#\s]*)/i.exec(url);
  if (m) {
    const at = m[1].lastIndexOf("@");
    if (at > 0) {
      const info = m[1].slice(0, at);
      const colon = info.indexOf(":");
      if (colon >= 0 && isLiteralSecret(info.slice(colon + 1)) && !/[{}$]/.test(info.slice(colon + 1))) {
        kinds.push("a password in a URL");
      }
    }
  }
  const q = url.indexOf("?");
  if (q >= 0) {
    for (const part of url.slice(q + 1).split(/[&#]/)) {
      const eq = part.indexOf("=");
      if (eq <= 0) continue;
      const name = part.slice(0, eq).toLowerCase();
      const value = part.slice(eq + 1);
      if ((SECRET_PARAMS.has(name) || isSecretName(name)) && isLiteralSecret(value) && !/[{}$]/.test(value)) {
        kinds.push(`an API key in a URL (?${part.slice(0, eq)}=)`);
      }
    }
  }
  return kinds;
}

/** What secrets a text holds, by kind (never the values). */
export function scanText(text: string): string[] {
  const kinds: string[] = [];
  if (!MAY_HOLD_TOKEN.test(text)) return kinds;
  for (const [kind, re] of TOKEN_PATTERNS) if (re.test(text)) kinds.push(kind);
  for (const m of text.matchAll(BASIC_AUTH)) {
    if (/^[\x20-\x7e]+:[\x20-\x7e]+$/.test(decodeBase64(m[1]))) {
      kinds.push("a basic-auth password");
      break;
    }
  }
  for (const m of text.matchAll(URL_PATTERN)) kinds.push(...urlSecrets(m[0]));
  return kinds;
}

function assignedSecrets(text: string): string[] {
  const kinds: string[] = [];
  for (const m of text.matchAll(CODE_ASSIGN)) {
    const kind = secretKind(m[1]);
    if (kind && isLiteralSecret(m[3])) kinds.push(kind);
  }
  return kinds;
}

/** Secrets in code: token formats and URLs, plus literals assigned to secret names, with line numbers. */
export function scanCode(code: string): Array<{ kind: string; line: number }> {
  const out: Array<{ kind: string; line: number }> = [];
  // Most code holds no secret: one pass over the whole text decides whether to look line by line.
  if (scanText(code).length === 0 && assignedSecrets(code).length === 0) return out;
  const lines = code.split("\n");
  lines.forEach((text, i) => {
    if (text.length > 5000) return;
    const kinds = [...scanText(text), ...assignedSecrets(text)];
    for (const kind of new Set(kinds)) out.push({ kind, line: i + 1 });
  });
  return out;
}

interface Hit {
  kind: string;
  where: string;
}

/** The name a value is stored under: inject props {p, v}, change rules {p, to}, env {name, value}, headers. */
function nameOf(parent: Record<string, unknown>, key: string): { name: string; refType: unknown } {
  const s = (v: unknown): string => (typeof v === "string" ? v : "");
  if ((key === "v" || key === "to") && s(parent.p) !== "") {
    return { name: s(parent.p), refType: key === "v" ? parent.vt : parent.tot };
  }
  if (key === "value" && s(parent.name) !== "") return { name: s(parent.name), refType: parent.type };
  if (key === "valueValue" && s(parent.keyValue) !== "") return { name: s(parent.keyValue), refType: parent.valueType };
  return { name: key, refType: parent[`${key}Type`] };
}

function scanValue(
  value: unknown,
  path: string,
  parent: Record<string, unknown>,
  key: string,
  hits: Hit[],
  depth: number,
): void {
  if (typeof value === "string") {
    if (value.length > 200000) return;
    if (CODE_FIELDS.has(key) && depth === 0) {
      for (const h of scanCode(value)) hits.push({ kind: h.kind, where: `${path}, line ${h.line}` });
      return;
    }
    const { name, refType } = nameOf(parent, key);
    const literal = typeof refType !== "string" || !REFERENCE_TYPES.has(refType);
    const kinds = scanText(value);
    const kind = literal && kinds.length === 0 ? secretKind(name) : null;
    if (kind && isLiteralSecret(value)) kinds.push(kind);
    for (const kind of new Set(kinds)) hits.push({ kind, where: path });
    return;
  }
  if (depth >= 8 || typeof value !== "object" || value === null) return;
  if (Array.isArray(value)) {
    value.slice(0, 1000).forEach((v, i) => scanValue(v, `${path}[${i}]`, parent, key, hits, depth + 1));
    return;
  }
  const obj = value as Record<string, unknown>;
  for (const k of Object.keys(obj)) scanValue(obj[k], `${path}.${k}`, obj, k, hits, depth + 1);
}

export function plainSecrets(g: Graph): Finding[] {
  const out: Finding[] = [];
  for (const o of g.byId.values()) {
    const gi = g.index.get(o.id);
    const disabled = gi !== undefined ? g.nodes[gi].disabled : o.d === true;
    const creds = o.credentials;
    if (typeof creds === "object" && creds !== null && !Array.isArray(creds)) {
      const filled = Object.entries(creds).filter(
        ([k, v]) => !k.startsWith("has_") && typeof v === "string" && v !== "",
      );
      if (filled.length > 0)
        out.push(
          credentialsFinding(
            g,
            o,
            filled.map(([k]) => k),
            disabled,
          ),
        );
    }
    const byProp = new Map<string, Hit[]>();
    for (const key of Object.keys(o)) {
      if (SKIP_KEYS.has(key)) continue;
      const hits: Hit[] = [];
      scanValue(o[key], key, o, key, hits, 0);
      if (hits.length > 0) byProp.set(key, hits);
    }
    for (const [prop, hits] of byProp) {
      const kinds = [...new Set(hits.map((h) => h.kind))];
      const where = [...new Set(hits.map((h) => h.where))];
      out.push({
        id: `plain-secret:${o.id}:${prop}`,
        rule: "plain-secret",
        severity: "high",
        title: `${label(o)} has ${kinds.join(", ")} in plain text`,
        explanation:
          `${label(o)} keeps ${kinds.join(", ")} in ${where.join("; ")}. Node-RED writes this part of a node to ` +
          "flows.json unencrypted: anyone with a backup, a copy of the flows shared for help, or a git repository of " +
          "them can use it.",
        nodes: [o.id],
        fix: { text: fixText(prop) },
        dormant: disabled,
        anchor: tabOf(g, o.id),
      });
    }
  }
  return out;
}

function fixText(prop: string): string {
  if (CODE_FIELDS.has(prop)) {
    return (
      'Read it from an environment variable instead (env.get("NAME") in a function node, ${NAME} in a ' +
      'property), and define NAME on the tab or in the global environment with the type "credential", which ' +
      "Node-RED encrypts, or in the environment of the Node-RED process."
    );
  }
  if (prop === "env") return 'Change the variable\'s type to "credential": Node-RED then keeps its value encrypted.';
  if (prop === "url" || prop === "broker" || prop === "path") {
    return (
      "Take the password or key out of the address: use the node's user and password fields (credentials), " +
      "or an ${ENV} variable of type credential."
    );
  }
  return (
    `Move it out of ${prop}: into the node's credentials (password fields), or an environment variable of ` +
    "type credential referenced as ${NAME}."
  );
}

function credentialsFinding(g: Graph, o: FlowObject, fields: string[], disabled: boolean): Finding {
  return {
    id: `plain-secret:${o.id}:credentials`,
    rule: "plain-secret",
    severity: "high",
    title: `${label(o)} has its credentials in the flow file`,
    explanation:
      `The flows hold ${label(o)}'s credentials (${fields.join(", ")}) in clear. Node-RED keeps credentials in ` +
      "the separate, encrypted credentials file; these were written into the flows by hand or by a tool.",
    nodes: [o.id],
    fix: { text: "Remove the credentials block from the flow file and enter them again in the node's edit dialog." },
    dormant: disabled,
    anchor: tabOf(g, o.id),
  };
}
