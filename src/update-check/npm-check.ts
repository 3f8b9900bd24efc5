/**
 * This Node-RED and its node modules against an npm registry: the latest version from
 * the abbreviated metadata (`application/vnd.npm.install-v1+json`) and advisories from
 * the bulk advisory endpoint `npm audit` uses (`POST /-/npm/v1/security/advisories/bulk`,
 * answer `{ "<pkg>": [{ id, url, title, severity, vulnerable_versions, cwe, cvss }] }`).
 *
 * The registry is whatever the user configured (node config, npm's environment, .npmrc);
 * there is no built-in host. An advisory endpoint that fails is "unavailable", never
 * "no vulnerabilities".
 */
import semver from "semver";
import { FetchFailure, describeUrl, type JsonFetcher } from "./bounded-fetch";

// ---------------------------------------------------------------- registry config

/** Parses .npmrc text (ini key=value, `;`/`#` comments, `${VAR}` from the environment). */
export function parseNpmrc(text: string, env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === "" || line.startsWith(";") || line.startsWith("#") || line.startsWith("[")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim();
    let value = line.slice(eq + 1).trim();
    if (/^".*"$/.test(value)) value = value.slice(1, -1);
    value = value.replace(/\$\{([^}]+)\}/g, (_m, name: string) => env[name] ?? "");
    out[key] = value;
  }
  return out;
}

export interface RegistrySources {
  /** From the node's config; wins over everything. */
  configured?: string;
  env: Record<string, string | undefined>;
  /** Text of `<userDir>/.npmrc`, if any. */
  userNpmrc?: string;
  /** Text of `~/.npmrc`, if any. */
  homeNpmrc?: string;
}

export interface RegistryConfig {
  /** Base URL ending in "/", or null when nothing is configured. */
  url: string | null;
  source: "node" | "environment" | "userDir .npmrc" | "home .npmrc" | "none";
  /** Registries for scopes (`@scope:registry=`), for metadata only, like npm. */
  scopes: Record<string, string>;
}

function normalizeRegistry(url: string): string | null {
  try {
    const u = new URL(url.trim());
    if (u.protocol !== "http:" && u.protocol !== "https:") return null;
    if (!u.pathname.endsWith("/")) u.pathname += "/";
    return u.toString();
  } catch {
    return null;
  }
}

/** Where npm would look, in npm's order: environment, project (user dir) .npmrc, ~/.npmrc. */
export function resolveRegistry(sources: RegistrySources): RegistryConfig {
  const scopes: Record<string, string> = Object.create(null) as Record<string, string>;
  const files: Array<[RegistryConfig["source"], string | undefined]> = [
    ["home .npmrc", sources.homeNpmrc],
    ["userDir .npmrc", sources.userNpmrc],
  ];
  let url: string | null = null;
  let source: RegistryConfig["source"] = "none";
  // Later sources override earlier ones, as npm layers its config.
  for (const [name, text] of files) {
    if (text === undefined) continue;
    const conf = parseNpmrc(text, sources.env);
    for (const [k, v] of Object.entries(conf)) {
      const m = /^(@[^:]+):registry$/.exec(k);
      const norm = normalizeRegistry(v);
      if (m && norm) scopes[m[1]] = norm;
    }
    const reg = conf.registry !== undefined ? normalizeRegistry(conf.registry) : null;
    if (reg) {
      url = reg;
      source = name;
    }
  }
  const envValue = sources.env.npm_config_registry ?? sources.env.NPM_CONFIG_REGISTRY;
  const envReg = envValue ? normalizeRegistry(envValue) : null;
  if (envReg) {
    url = envReg;
    source = "environment";
  }
  const configured = sources.configured ? normalizeRegistry(sources.configured) : null;
  if (configured) {
    url = configured;
    source = "node";
  }
  return { url, source, scopes };
}

// ---------------------------------------------------------------- installed modules

export interface InstalledModule {
  name: string;
  version: string;
}

const NAME = /^(@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/i;

export function isValidPackageName(name: string): boolean {
  return typeof name === "string" && name.length <= 214 && NAME.test(name);
}

/**
 * The modules installed in a Node-RED user directory: the dependencies its package.json
 * declares, at the version actually found in node_modules. `readText` returns a file's
 * text or undefined when it is missing.
 */
export function listInstalled(
  userDir: string,
  readText: (file: string) => string | undefined,
  join: (...p: string[]) => string,
): InstalledModule[] {
  const pkgText = readText(join(userDir, "package.json"));
  if (pkgText === undefined) return [];
  let pkg: unknown;
  try {
    pkg = JSON.parse(pkgText);
  } catch {
    return [];
  }
  const deps = typeof pkg === "object" && pkg !== null ? (pkg as { dependencies?: unknown }).dependencies : undefined;
  if (typeof deps !== "object" || deps === null) return [];
  const out: InstalledModule[] = [];
  for (const name of Object.keys(deps).sort()) {
    if (!isValidPackageName(name)) continue;
    const text = readText(join(userDir, "node_modules", ...name.split("/"), "package.json"));
    if (text === undefined) continue;
    try {
      const version = (JSON.parse(text) as { version?: unknown }).version;
      if (typeof version === "string" && semver.valid(version)) out.push({ name, version });
    } catch {
      // A broken package.json in node_modules is not ours to report.
    }
  }
  return out;
}

// ---------------------------------------------------------------- registry answers

export function packumentUrl(registry: string, name: string): string {
  // Scoped names keep their "@" and encode the slash, as npm does.
  return new URL(name.replace("/", "%2f"), registry).toString();
}

export function advisoriesUrl(registry: string): string {
  return new URL("-/npm/v1/security/advisories/bulk", registry).toString();
}

export interface Packument {
  latest: string;
  /** Deprecation message of the installed version, if the author deprecated it. */
  deprecated?: string;
}

/** Reads dist-tags.latest (and the installed version's deprecation) from abbreviated metadata. */
export function readPackument(json: unknown, name: string, installed: string): Packument {
  if (typeof json !== "object" || json === null || Array.isArray(json))
    throw new FetchFailure("bad-json", `metadata for ${name} is not an object`);
  const doc = json as { name?: unknown; "dist-tags"?: unknown; versions?: unknown };
  if (doc.name !== undefined && doc.name !== name)
    throw new FetchFailure("bad-json", `metadata for ${name} names another package`);
  const tags = doc["dist-tags"];
  const latest = typeof tags === "object" && tags !== null ? (tags as { latest?: unknown }).latest : undefined;
  if (typeof latest !== "string" || !semver.valid(latest))
    throw new FetchFailure("bad-json", `metadata for ${name} has no valid dist-tags.latest`);
  const out: Packument = { latest };
  const versions = doc.versions;
  if (typeof versions === "object" && versions !== null && Object.prototype.hasOwnProperty.call(versions, installed)) {
    const v = (versions as Record<string, unknown>)[installed];
    const dep = typeof v === "object" && v !== null ? (v as { deprecated?: unknown }).deprecated : undefined;
    if (typeof dep === "string" && dep !== "") out.deprecated = dep.slice(0, 500);
  }
  return out;
}

export type Severity = "info" | "low" | "moderate" | "high" | "critical";
const SEVERITIES: readonly Severity[] = ["info", "low", "moderate", "high", "critical"];

export interface Advisory {
  id: number | string;
  severity: Severity;
  title: string;
  url: string;
  vulnerableVersions: string;
}

function text(v: unknown, max: number): string {
  return typeof v === "string" ? v.slice(0, max) : "";
}

/**
 * Reads the bulk advisory answer. Each advisory is kept only when its range really
 * covers the installed version (checked here with semver, not taken on trust); a range
 * semver cannot read is kept, because dropping it could hide a vulnerability.
 */
export function readAdvisories(json: unknown, installed: readonly InstalledModule[]): Map<string, Advisory[]> {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new FetchFailure("bad-json", "advisory answer is not an object");
  }
  const doc = json as Record<string, unknown>;
  const out = new Map<string, Advisory[]>();
  for (const mod of installed) {
    const list = Object.prototype.hasOwnProperty.call(doc, mod.name) ? doc[mod.name] : undefined;
    if (list === undefined) {
      out.set(mod.name, []);
      continue;
    }
    if (!Array.isArray(list)) throw new FetchFailure("bad-json", `advisories for ${mod.name} are not a list`);
    const found: Advisory[] = [];
    for (const a of list) {
      if (typeof a !== "object" || a === null)
        throw new FetchFailure("bad-json", `an advisory for ${mod.name} is not an object`);
      const adv = a as Record<string, unknown>;
      const range = text(adv.vulnerable_versions, 1000);
      const validRange = semver.validRange(range);
      if (validRange !== null && !semver.satisfies(mod.version, range, { includePrerelease: true })) continue;
      const severity = SEVERITIES.includes(adv.severity as Severity) ? (adv.severity as Severity) : "high";
      const id = typeof adv.id === "number" || typeof adv.id === "string" ? adv.id : "unknown";
      found.push({ id, severity, title: text(adv.title, 300), url: text(adv.url, 500), vulnerableVersions: range });
    }
    out.set(mod.name, found);
  }
  return out;
}

// ---------------------------------------------------------------- the check

export type ModuleStatus = "up-to-date" | "update-available" | "vulnerable" | "unknown";

export interface ModuleReport {
  name: string;
  installed: string;
  latest: string | null;
  status: ModuleStatus;
  /** null: the advisory endpoint did not answer, so nothing is known. */
  advisories: Advisory[] | null;
  deprecated?: string;
  error?: string;
}

export interface Failure {
  what: "registry" | "metadata" | "advisories" | "manifest" | "inventory" | "state";
  reason: string;
  message: string;
  name?: string;
}

export interface NodeRedResult {
  registry: string | null;
  nodeRed: ModuleReport;
  modules: ModuleReport[];
  summary: {
    /** Packages checked: Node-RED itself and each module. */
    checked: number;
    upToDate: number;
    updatesAvailable: number;
    vulnerable: number | null;
    unknown: number;
    advisories: "ok" | "unavailable";
  };
  failures: Failure[];
  /** True when nothing answered at all (offline). */
  offline: boolean;
}

export interface NodeRedCheckInput {
  registry: RegistryConfig;
  /** The running Node-RED's version; null when it cannot be found out. */
  nodeRedVersion: string | null;
  modules: readonly InstalledModule[];
  fetchJson: JsonFetcher;
  timeoutMs: number;
  maxBytes: number;
  signal?: AbortSignal;
  concurrency?: number;
}

function failureReason(e: unknown): string {
  if (e instanceof FetchFailure) return e.kind === "http" ? `http-${e.status}` : e.kind;
  return "error";
}

function failureMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function statusOf(installed: string, latest: string | null, advisories: Advisory[] | null): ModuleStatus {
  if (advisories && advisories.length > 0) return "vulnerable";
  if (latest === null) return "unknown";
  return semver.lt(installed, latest) ? "update-available" : "up-to-date";
}

/** Runs the whole check. Never throws for what the network does: failures are in the result. */
export async function checkNodeRed(input: NodeRedCheckInput): Promise<NodeRedResult> {
  const nrVersion = input.nodeRedVersion === null ? null : (semver.coerce(input.nodeRedVersion)?.version ?? null);
  const all: InstalledModule[] = input.modules.filter((m) => m.name !== "node-red");
  if (nrVersion !== null) all.unshift({ name: "node-red", version: nrVersion });
  const failures: Failure[] = [];
  const registry = input.registry.url;
  const unknownNodeRed: ModuleReport = {
    name: "node-red",
    installed: "unknown",
    latest: null,
    status: "unknown",
    advisories: null,
    error: "Node-RED version unknown",
  };
  const split = (reports: ModuleReport[]): [ModuleReport, ModuleReport[]] =>
    nrVersion === null ? [unknownNodeRed, reports] : [reports[0], reports.slice(1)];
  if (registry === null) {
    failures.push({ what: "registry", reason: "not-configured", message: "registry not configured" });
    const reports = all.map((m): ModuleReport => ({
      name: m.name,
      installed: m.version,
      latest: null,
      status: "unknown",
      advisories: null,
      error: "registry not configured",
    }));
    return finish(null, ...split(reports), failures, true);
  }
  const request = { timeoutMs: input.timeoutMs, maxBytes: input.maxBytes, signal: input.signal };

  const metadata = mapLimit(all, input.concurrency ?? 4, async (m) => {
    const base = m.name.startsWith("@") ? (input.registry.scopes[m.name.split("/")[0]] ?? registry) : registry;
    try {
      const json = await input.fetchJson(packumentUrl(base, m.name), {
        ...request,
        headers: { Accept: "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8" },
      });
      return readPackument(json, m.name, m.version);
    } catch (e) {
      failures.push({ what: "metadata", name: m.name, reason: failureReason(e), message: failureMessage(e) });
      return e instanceof Error ? e : new Error(String(e));
    }
  });
  const body: Record<string, string[]> = {};
  for (const m of all) body[m.name] = [m.version];
  const advisories = input
    .fetchJson(advisoriesUrl(registry), {
      ...request,
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    })
    .then((json) => readAdvisories(json, all))
    .catch((e: unknown) => {
      failures.push({
        what: "advisories",
        reason: failureReason(e),
        message: `advisories unavailable: ${failureMessage(e)}`,
      });
      return null;
    });
  const [packuments, advisoryMap] = await Promise.all([metadata, advisories]);

  const reports = all.map((m, i): ModuleReport => {
    const p = packuments[i];
    const adv = advisoryMap ? (advisoryMap.get(m.name) ?? []) : null;
    const latest = p instanceof Error ? null : p.latest;
    const report: ModuleReport = {
      name: m.name,
      installed: m.version,
      latest,
      status: statusOf(m.version, latest, adv),
      advisories: adv,
    };
    if (!(p instanceof Error) && p.deprecated) report.deprecated = p.deprecated;
    if (p instanceof Error) report.error = p.message;
    return report;
  });
  const offline = advisoryMap === null && packuments.every((p) => p instanceof Error);
  return finish(describeUrl(registry), ...split(reports), failures, offline);
}

function finish(
  registry: string | null,
  nodeRed: ModuleReport,
  modules: ModuleReport[],
  failures: Failure[],
  offline: boolean,
): NodeRedResult {
  const reports = [nodeRed, ...modules];
  const advisoriesOk = reports.every((r) => r.advisories !== null);
  return {
    registry,
    nodeRed,
    modules,
    summary: {
      checked: reports.length,
      upToDate: reports.filter((r) => r.status === "up-to-date").length,
      updatesAvailable: reports.filter(
        (r) => r.latest !== null && semver.valid(r.installed) !== null && semver.lt(r.installed, r.latest),
      ).length,
      vulnerable: advisoriesOk ? reports.filter((r) => r.status === "vulnerable").length : null,
      unknown: reports.filter((r) => r.status === "unknown").length,
      advisories: advisoriesOk ? "ok" : "unavailable",
    },
    failures,
    offline,
  };
}
