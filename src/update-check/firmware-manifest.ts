/**
 * Signed firmware manifests and the device check made against them.
 *
 * Envelope (JSON):
 *   { "signed": { "_type": "firmware-manifest", "specVersion": 1, "name": "acme-sensors",
 *                 "version": 7, "expires": "2027-01-31T00:00:00Z",
 *                 "models": { "TH-100": { "latest": "2.4.1", "minimumSecure": "2.3.0",
 *                                         "endOfSupport": "2029-06-30", "releaseNotes": "https://..." } } },
 *     "signatures": [ { "keyid": "<hex sha256 of the raw 32-byte Ed25519 public key>",
 *                       "sig": "<base64 Ed25519 signature over canonicalJson(signed)>" } ] }
 *
 * The signature covers the canonical serialization of `signed` (keys sorted by UTF-16
 * code units, no whitespace, JSON.stringify for strings and numbers: RFC 8785 for the
 * values a manifest holds), so re-indenting the file does not break it and nothing
 * outside `signed` is trusted. Checks follow TUF's order: signature first (nothing inside
 * `signed` is interpreted before it is authenticated), then rollback, then expiry (freeze).
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from "node:crypto";
import semver from "semver";
import { isPlainObject } from "../core/objects";

export class ManifestFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ManifestFormatError";
  }
}

const MAX_DEPTH = 32;

/** Canonical JSON of a value made of null, booleans, finite numbers, strings, arrays and plain objects. */
export function canonicalJson(value: unknown, depth = 0): string {
  if (depth > MAX_DEPTH) throw new ManifestFormatError("nested too deeply");
  if (value === null || typeof value === "boolean") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new ManifestFormatError("numbers must be finite");
    return JSON.stringify(value);
  }
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v, depth + 1)).join(",")}]`;
  if (typeof value === "object") {
    if (!isPlainObject(value)) throw new ManifestFormatError("only plain objects can be signed");
    const obj = value;
    // Default sort compares UTF-16 code units, which is what RFC 8785 asks for.
    const keys = Object.keys(obj).sort();
    const parts: string[] = [];
    for (const k of keys) {
      if (obj[k] === undefined) continue;
      parts.push(`${JSON.stringify(k)}:${canonicalJson(obj[k], depth + 1)}`);
    }
    return `{${parts.join(",")}}`;
  }
  throw new ManifestFormatError(`cannot serialize a ${typeof value}`);
}

// DER prefix of an Ed25519 SubjectPublicKeyInfo; the 32 raw key bytes follow it.
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

export interface PublicKeyInfo {
  keyid: string;
  key: KeyObject;
  /** Raw 32-byte key, base64: the form keygen prints and the node config takes. */
  raw: string;
}

export function keyIdOf(raw: Buffer): string {
  return createHash("sha256").update(raw).digest("hex");
}

/** Reads an Ed25519 public key given as base64 of the 32 raw bytes, or as PEM (SPKI). */
export function parsePublicKey(text: string): PublicKeyInfo {
  const t = text.trim();
  let key: KeyObject;
  if (t.startsWith("-----BEGIN")) {
    try {
      key = createPublicKey(t);
    } catch {
      throw new ManifestFormatError("public key is not a valid PEM key");
    }
    if (key.asymmetricKeyType !== "ed25519") throw new ManifestFormatError("public key is not an Ed25519 key");
  } else {
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(t))
      throw new ManifestFormatError("public key must be base64 of 32 bytes or PEM");
    const raw = Buffer.from(t.replace(/-/g, "+").replace(/_/g, "/"), "base64");
    if (raw.length !== 32) throw new ManifestFormatError(`public key must be 32 bytes, got ${raw.length}`);
    key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: "der", type: "spki" });
  }
  const der = key.export({ format: "der", type: "spki" });
  const raw = der.subarray(der.length - 32);
  return { keyid: keyIdOf(raw), key, raw: raw.toString("base64") };
}

/** Reads an Ed25519 private key (PKCS#8 PEM, as keygen writes it). */
export function parsePrivateKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new ManifestFormatError("private key is not a valid PEM key");
  }
  if (key.asymmetricKeyType !== "ed25519") throw new ManifestFormatError("private key is not an Ed25519 key");
  return key;
}

export interface GeneratedKeyPair {
  privatePem: string;
  publicKey: string;
  keyid: string;
}

export function generateKeyPair(): GeneratedKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const info = parsePublicKey(publicKey.export({ format: "pem", type: "spki" }).toString());
  return {
    privatePem: privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
    publicKey: info.raw,
    keyid: info.keyid,
  };
}

export interface ManifestModel {
  latest: string;
  minimumSecure: string;
  /** Last day of security updates (YYYY-MM-DD or ISO date-time); null: not published. */
  endOfSupport: string | null;
  releaseNotes?: string;
}

export interface SignedManifest {
  _type: "firmware-manifest";
  specVersion: 1;
  name: string;
  version: number;
  expires: string;
  models: Record<string, ManifestModel>;
}

export interface Signature {
  keyid: string;
  sig: string;
}

export interface Envelope {
  signed: SignedManifest;
  signatures: Signature[];
}

/** A version as semver, tolerating firmware habits ("v2.4", "2.4.1-rc1"); null when none. */
export function toSemver(version: string): semver.SemVer | null {
  if (typeof version !== "string" || version.length > 64) return null;
  const strict = semver.parse(version, { loose: true });
  if (strict) return strict;
  return semver.coerce(version, { includePrerelease: true });
}

/** Parses an ISO date or date-time; a bare date means the end of that day (UTC). */
export function parseDate(text: string): number | null {
  if (typeof text !== "string") return null;
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) {
    const t = Date.parse(`${text}T23:59:59.999Z`);
    return Number.isNaN(t) ? null : t;
  }
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text)) return null;
  const t = Date.parse(text);
  return Number.isNaN(t) ? null : t;
}

const MAX_MODELS = 10000;

/** Checks the shape of `signed`; throws ManifestFormatError naming the field. */
export function validateSigned(signed: unknown): SignedManifest {
  if (!isPlainObject(signed)) throw new ManifestFormatError("signed must be an object");
  if (signed._type !== "firmware-manifest") throw new ManifestFormatError('signed._type must be "firmware-manifest"');
  if (signed.specVersion !== 1) throw new ManifestFormatError("signed.specVersion must be 1");
  if (typeof signed.name !== "string" || signed.name.length === 0 || signed.name.length > 200) {
    throw new ManifestFormatError("signed.name must be a non-empty string");
  }
  if (!Number.isSafeInteger(signed.version) || (signed.version as number) < 1) {
    throw new ManifestFormatError("signed.version must be a positive integer");
  }
  if (typeof signed.expires !== "string" || parseDate(signed.expires) === null) {
    throw new ManifestFormatError("signed.expires must be an ISO date-time");
  }
  if (!isPlainObject(signed.models)) throw new ManifestFormatError("signed.models must be an object");
  const names = Object.keys(signed.models);
  if (names.length > MAX_MODELS) throw new ManifestFormatError(`signed.models has more than ${MAX_MODELS} models`);
  for (const name of names) {
    const m = signed.models[name];
    const where = `signed.models[${JSON.stringify(name)}]`;
    if (!isPlainObject(m)) throw new ManifestFormatError(`${where} must be an object`);
    if (typeof m.latest !== "string" || !toSemver(m.latest))
      throw new ManifestFormatError(`${where}.latest must be a version`);
    if (typeof m.minimumSecure !== "string" || !toSemver(m.minimumSecure)) {
      throw new ManifestFormatError(`${where}.minimumSecure must be a version`);
    }
    if (m.endOfSupport !== null && (typeof m.endOfSupport !== "string" || parseDate(m.endOfSupport) === null)) {
      throw new ManifestFormatError(`${where}.endOfSupport must be an ISO date or null`);
    }
    if (m.releaseNotes !== undefined && (typeof m.releaseNotes !== "string" || !/^https?:\/\//.test(m.releaseNotes))) {
      throw new ManifestFormatError(`${where}.releaseNotes must be an http(s) URL`);
    }
  }
  return signed as unknown as SignedManifest;
}

/** Signs `signed` (validated first) and returns the envelope, keeping other keys' signatures. */
export function signManifest(signed: unknown, privateKey: KeyObject, existing: Signature[] = []): Envelope {
  const body = validateSigned(signed);
  const pub = parsePublicKey(createPublicKey(privateKey).export({ format: "pem", type: "spki" }).toString());
  const sig = sign(null, Buffer.from(canonicalJson(body), "utf8"), privateKey).toString("base64");
  const others = existing.filter((s) => s.keyid !== pub.keyid);
  return { signed: body, signatures: [...others, { keyid: pub.keyid, sig }] };
}

export type RejectReason = "malformed" | "untrusted-key" | "bad-signature" | "rollback" | "expired" | "clock-behind";

export type VerifyResult =
  | { ok: true; manifest: SignedManifest; keyid: string; digest: string }
  | { ok: false; reason: RejectReason; message: string };

export interface TrustState {
  /** Highest version accepted before (0: none). */
  version: number;
  /** sha256 of the canonical `signed` of that version. */
  digest?: string;
  /** When it was accepted (ms): a clock now far before it cannot judge expiry. */
  acceptedAt?: number;
}

/** How far the clock may step back (NTP corrections, time zones gone wrong) before we distrust it. */
const CLOCK_SLACK_MS = 60 * 60 * 1000;

export interface VerifyOptions {
  trustedKeys: readonly PublicKeyInfo[];
  now: number;
  /** What this client accepted before; omit to check signature and expiry only. */
  trust?: TrustState;
}

const HEX64 = /^[0-9a-f]{64}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Verifies an envelope (parsed JSON) against trusted keys, the clock and the last accepted version. */
export function verifyManifest(envelope: unknown, options: VerifyOptions): VerifyResult {
  const reject = (reason: RejectReason, message: string): VerifyResult => ({ ok: false, reason, message });
  if (!isPlainObject(envelope)) return reject("malformed", "manifest must be a JSON object");
  if (!Array.isArray(envelope.signatures) || envelope.signatures.length === 0 || envelope.signatures.length > 16) {
    return reject("malformed", "signatures must be a list of 1 to 16 signatures");
  }
  for (const s of envelope.signatures) {
    if (
      !isPlainObject(s) ||
      typeof s.keyid !== "string" ||
      !HEX64.test(s.keyid) ||
      typeof s.sig !== "string" ||
      !BASE64.test(s.sig)
    ) {
      return reject("malformed", "each signature must be { keyid: hex sha256, sig: base64 }");
    }
  }
  let bytes: Buffer;
  try {
    bytes = Buffer.from(canonicalJson(envelope.signed), "utf8");
  } catch (e) {
    return reject("malformed", `signed cannot be serialized: ${e instanceof Error ? e.message : String(e)}`);
  }
  const signatures = envelope.signatures as Signature[];
  const byId = new Map(options.trustedKeys.map((k) => [k.keyid, k]));
  const candidates = signatures.filter((s) => byId.has(s.keyid));
  if (candidates.length === 0) return reject("untrusted-key", "no signature by a trusted key");
  const good = candidates.find((s) => {
    try {
      return verify(null, bytes, (byId.get(s.keyid) as PublicKeyInfo).key, Buffer.from(s.sig, "base64"));
    } catch {
      return false;
    }
  });
  if (!good) return reject("bad-signature", "signature does not verify");
  let manifest: SignedManifest;
  try {
    manifest = validateSigned(envelope.signed);
  } catch (e) {
    return reject("malformed", e instanceof Error ? e.message : String(e));
  }
  const digest = createHash("sha256").update(bytes).digest("hex");
  const trust = options.trust;
  if (trust && manifest.version < trust.version) {
    return reject("rollback", `version ${manifest.version} is older than version ${trust.version} accepted before`);
  }
  if (trust && manifest.version === trust.version && trust.digest !== undefined && trust.digest !== digest) {
    return reject("rollback", `version ${manifest.version} was accepted before with different content`);
  }
  // Setting the clock back would make an expired manifest look fresh again (a freeze by
  // another route), so a clock earlier than our own last acceptance is not believed.
  if (trust?.acceptedAt !== undefined && options.now < trust.acceptedAt - CLOCK_SLACK_MS) {
    return reject(
      "clock-behind",
      `system clock is before ${new Date(trust.acceptedAt).toISOString()}, when a manifest was already accepted`,
    );
  }
  const expires = parseDate(manifest.expires) as number;
  if (expires <= options.now) return reject("expired", `manifest expired at ${manifest.expires}`);
  return { ok: true, manifest, keyid: good.keyid, digest };
}

export type DeviceStatus =
  "up-to-date" | "update-available" | "security-update-required" | "end-of-support" | "unknown-model";

export interface InventoryItem {
  deviceId: string;
  model: string;
  version: string;
}

export interface DeviceReport extends InventoryItem {
  status: DeviceStatus;
  latest?: string;
  minimumSecure?: string;
  endOfSupport?: string | null;
  /** Days until (negative: since) the end of support; null when none is published. */
  supportEndsInDays?: number | null;
  releaseNotes?: string;
}

export class InventoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InventoryError";
  }
}

const MAX_DEVICES = 10000;

/** Validates an inventory (`msg.payload`); throws InventoryError naming the element. */
export function validateInventory(value: unknown, label = "msg.payload"): InventoryItem[] {
  if (!Array.isArray(value)) throw new InventoryError(`${label} must be a list of { deviceId, model, version }`);
  if (value.length > MAX_DEVICES) throw new InventoryError(`${label} has more than ${MAX_DEVICES} devices`);
  return value.map((item: unknown, i) => {
    const where = `${label}[${i}]`;
    if (!isPlainObject(item)) throw new InventoryError(`${where} must be an object`);
    const { deviceId, model, version } = item;
    if (
      !(typeof deviceId === "string" && deviceId.length > 0) &&
      !(typeof deviceId === "number" && Number.isFinite(deviceId))
    ) {
      throw new InventoryError(`${where}.deviceId is required`);
    }
    if (typeof model !== "string" || model.length === 0 || model.length > 200)
      throw new InventoryError(`${where}.model is required`);
    if (typeof version !== "string" || !toSemver(version))
      throw new InventoryError(`${where}.version must be a version string`);
    return { deviceId: String(deviceId), model, version };
  });
}

const DAY = 24 * 60 * 60 * 1000;

/**
 * One device against the manifest. When several apply, the most urgent wins:
 * security-update-required (act now), then end-of-support (replace it), then update-available.
 */
export function checkDevice(manifest: SignedManifest, item: InventoryItem, now: number): DeviceReport {
  const model = Object.prototype.hasOwnProperty.call(manifest.models, item.model)
    ? manifest.models[item.model]
    : undefined;
  if (!model) return { ...item, status: "unknown-model" };
  const installed = toSemver(item.version) as semver.SemVer;
  const latest = toSemver(model.latest) as semver.SemVer;
  const minimum = toSemver(model.minimumSecure) as semver.SemVer;
  const eos = model.endOfSupport === null ? null : parseDate(model.endOfSupport);
  let status: DeviceStatus;
  if (semver.lt(installed, minimum)) status = "security-update-required";
  else if (eos !== null && eos < now) status = "end-of-support";
  else if (semver.lt(installed, latest)) status = "update-available";
  else status = "up-to-date";
  const report: DeviceReport = {
    ...item,
    status,
    latest: model.latest,
    minimumSecure: model.minimumSecure,
    endOfSupport: model.endOfSupport,
    supportEndsInDays: eos === null ? null : Math.floor((eos - now) / DAY),
  };
  if (model.releaseNotes !== undefined) report.releaseNotes = model.releaseNotes;
  return report;
}

export type DeviceSummary = Record<DeviceStatus, number> & { devices: number };

export function checkDevices(
  manifest: SignedManifest,
  inventory: readonly InventoryItem[],
  now: number,
): { devices: DeviceReport[]; summary: DeviceSummary } {
  const devices = inventory.map((item) => checkDevice(manifest, item, now));
  const summary: DeviceSummary = {
    devices: devices.length,
    "up-to-date": 0,
    "update-available": 0,
    "security-update-required": 0,
    "end-of-support": 0,
    "unknown-model": 0,
  };
  for (const d of devices) summary[d.status] += 1;
  return { devices, summary };
}
