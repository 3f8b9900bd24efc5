/**
 * Receipts people can prove: each receipt is also a JWS (compact serialization, EdDSA
 * with Ed25519) signed by the store's key. Any JOSE library verifies it with the store's
 * public key (a JWK, shown in the editor and on the consent page). Independent of where
 * receipts are kept: a backend stores the `kid` and `sig` of a receipt, and the JWS is
 * rebuilt from them byte for byte (the header and payload are canonical JSON).
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
import type { ConsentReceipt } from "./consent";

/** A public Ed25519 key as a JWK (RFC 8037), with its RFC 7638 thumbprint as kid. */
export interface PublicJwk {
  kty: "OKP";
  crv: "Ed25519";
  x: string;
  kid: string;
  alg: "EdDSA";
  use: "sig";
}

/** The private key as kept in the store's credentials. */
export interface PrivateJwk extends PublicJwk {
  d: string;
}

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicJwk: PublicJwk;
}

/**
 * What a receipt's JWS payload holds: the receipt without kid and sig, which are kept
 * beside it (they cannot sign themselves).
 */
export type SignedFields = Omit<ConsentReceipt, "kid" | "sig">;

const B64URL = /^[A-Za-z0-9_-]+$/;

/** RFC 7638 thumbprint of an Ed25519 public key: what names it (kid). */
export function thumbprint(x: string): string {
  return createHash("sha256").update(`{"crv":"Ed25519","kty":"OKP","x":"${x}"}`).digest("base64url");
}

function publicJwkOf(x: string): PublicJwk {
  return { kty: "OKP", crv: "Ed25519", x, kid: thumbprint(x), alg: "EdDSA", use: "sig" };
}

/** A fresh key pair (what the editor's Generate button asks the runtime for). */
export function generateSigningKey(): PrivateJwk {
  const { privateKey } = generateKeyPairSync("ed25519");
  const jwk = privateKey.export({ format: "jwk" });
  return { ...publicJwkOf(String(jwk.x)), d: String(jwk.d) };
}

/** Why a private JWK text cannot be used, or the key. Never puts the key in a message. */
export function loadSigningKey(text: string): SigningKey {
  let v: Partial<PrivateJwk>;
  try {
    v = JSON.parse(text) as Partial<PrivateJwk>;
  } catch {
    throw new Error("the signing key is not JSON (generate a new one in the store's dialog)");
  }
  if (typeof v !== "object" || v === null || v.kty !== "OKP" || v.crv !== "Ed25519") {
    throw new Error('the signing key must be an Ed25519 JWK ("kty":"OKP","crv":"Ed25519")');
  }
  if (typeof v.d !== "string" || typeof v.x !== "string" || !B64URL.test(v.d) || !B64URL.test(v.x)) {
    throw new Error('the signing key must hold "d" and "x" in base64url');
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: { kty: "OKP", crv: "Ed25519", d: v.d, x: v.x }, format: "jwk" });
  } catch {
    throw new Error("the signing key is not a valid Ed25519 key");
  }
  // x must be the public half of d: a key whose x was changed would sign for someone else's kid.
  const x = String(createPublicKey(privateKey).export({ format: "jwk" }).x);
  if (x !== v.x) throw new Error('the signing key\'s "x" is not the public half of its "d"');
  const publicJwk = publicJwkOf(x);
  return { kid: publicJwk.kid, privateKey, publicJwk };
}

/** Checks a public JWK (a retired key listed in the config); returns it normalised. */
export function readPublicJwk(value: unknown): PublicJwk {
  const v = value as Partial<PublicJwk> | null;
  if (typeof v !== "object" || v === null || v.kty !== "OKP" || v.crv !== "Ed25519" || typeof v.x !== "string") {
    throw new Error("a retired key must be an Ed25519 public JWK");
  }
  if (!B64URL.test(v.x) || Buffer.from(v.x, "base64url").length !== 32) {
    throw new Error('a retired key\'s "x" must be 32 bytes in base64url');
  }
  return publicJwkOf(v.x);
}

/** The JWS payload of a receipt: its fields in a fixed order (kid and sig are not signed). */
export function receiptPayload(r: SignedFields): string {
  const p: SignedFields = {
    receiptId: r.receiptId,
    subject: r.subject,
    purpose: r.purpose,
    status: r.status,
    timestamp: r.timestamp,
    expiresAt: r.expiresAt,
    policyVersion: r.policyVersion,
    method: r.method,
  };
  if (r.note !== undefined) p.note = r.note;
  return JSON.stringify(p);
}

function protectedHeader(kid: string): string {
  return Buffer.from(JSON.stringify({ alg: "EdDSA", kid, typ: "consent-receipt+jws" })).toString("base64url");
}

function signingInput(r: SignedFields, kid: string): string {
  return `${protectedHeader(kid)}.${Buffer.from(receiptPayload(r)).toString("base64url")}`;
}

/** Signs a receipt: returns what a backend keeps beside it. */
export function signReceipt(r: SignedFields, key: SigningKey): { kid: string; sig: string } {
  const sig = sign(null, Buffer.from(signingInput(r, key.kid)), key.privateKey).toString("base64url");
  return { kid: key.kid, sig };
}

/** The compact JWS of a signed receipt, or undefined for an unsigned one. */
export function receiptJws(r: ConsentReceipt): string | undefined {
  if (r.kid === undefined || r.sig === undefined) return undefined;
  return `${signingInput(r, r.kid)}.${r.sig}`;
}

/** Verifies a compact JWS against public keys; returns the receipt or throws. (The page and tests.) */
export function verifyReceiptJws(jws: string, keys: readonly PublicJwk[]): SignedFields {
  const parts = jws.split(".");
  if (parts.length !== 3) throw new Error("not a compact JWS");
  const header = JSON.parse(Buffer.from(parts[0], "base64url").toString("utf8")) as { alg?: string; kid?: string };
  if (header.alg !== "EdDSA") throw new Error("not an EdDSA JWS");
  const jwk = keys.find((k) => k.kid === header.kid);
  if (jwk === undefined) throw new Error("signed by an unknown key");
  const key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: jwk.x }, format: "jwk" });
  if (!verify(null, Buffer.from(`${parts[0]}.${parts[1]}`), key, Buffer.from(parts[2], "base64url"))) {
    throw new Error("the signature does not verify");
  }
  return JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8")) as SignedFields;
}
