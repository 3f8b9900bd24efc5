/**
 * `npx @privacy-toolkit/node-red-privacy manifest keygen|sign|verify|template`: make an
 * Ed25519 key pair, sign a firmware manifest, check a signed one. It writes only the
 * files it is told to and never prints a private key.
 */
import fs from "node:fs";
import {
  generateKeyPair,
  parsePrivateKey,
  parsePublicKey,
  signManifest,
  verifyManifest,
  validateSigned,
  type Signature,
} from "../update-check/firmware-manifest";
import { need, options, reportError, UsageError } from "./args";
import type { CliIO } from "./io";

export { consoleIO, type CliIO } from "./io";

const USAGE = `usage: node-red-privacy manifest <command> [options]

  keygen --out NAME              write NAME.key (private, keep it offline) and NAME.pub
  template [--out FILE]          write an example manifest to fill in
  sign --key NAME.key --in FILE [--out FILE] [--expires-in-days N] [--bump-version]
                                 sign the manifest (a bare "signed" object or an envelope)
  verify --pub NAME.pub|BASE64 --in FILE [--min-version N]
                                 check signature, expiry and (optionally) rollback

Public keys are base64 of the 32 raw Ed25519 bytes; the key id is their sha256 (hex).`;

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

function writeNew(file: string, text: string, mode: number): void {
  // "wx": never overwrite a key someone already relies on.
  fs.writeFileSync(file, text, { mode, flag: "wx" });
}

function keygen(args: string[], io: CliIO): number {
  const opts = options(args, { out: "value" });
  const base = need(opts, "out");
  const pair = generateKeyPair();
  writeNew(`${base}.key`, pair.privatePem, 0o600);
  writeNew(`${base}.pub`, `${pair.publicKey}\n`, 0o644);
  io.out(`private key: ${base}.key (keep it secret and offline)`);
  io.out(`public key:  ${base}.pub`);
  io.out(`keyid:       ${pair.keyid}`);
  io.out(`paste into the node's "Public keys" field: ${pair.publicKey}`);
  return 0;
}

function template(args: string[], io: CliIO): number {
  const opts = options(args, { out: "value" });
  const expires = new Date(io.now() + 30 * 86400000).toISOString().replace(/\.\d{3}Z$/, "Z");
  const body = {
    _type: "firmware-manifest",
    specVersion: 1,
    name: "my-devices",
    version: 1,
    expires,
    models: {
      "EXAMPLE-1": {
        latest: "1.2.0",
        minimumSecure: "1.1.0",
        endOfSupport: "2030-12-31",
        releaseNotes: "https://example.invalid/notes/1.2.0",
      },
    },
  };
  const text = `${JSON.stringify(body, null, 2)}\n`;
  if (typeof opts.out === "string") writeNew(opts.out, text, 0o644);
  else io.out(text.trimEnd());
  return 0;
}

function sign(args: string[], io: CliIO): number {
  const opts = options(args, {
    key: "value",
    in: "value",
    out: "value",
    "expires-in-days": "value",
    "bump-version": "flag",
  });
  const key = parsePrivateKey(fs.readFileSync(need(opts, "key"), "utf8"));
  const input = readJson(need(opts, "in"));
  if (typeof input !== "object" || input === null || Array.isArray(input))
    throw new Error("manifest must be a JSON object");
  const doc = input as { signed?: unknown; signatures?: unknown };
  const isEnvelope = doc.signed !== undefined;
  const inner = isEnvelope ? doc.signed : doc;
  if (typeof inner !== "object" || inner === null) throw new Error("signed must be an object");
  const signed: Record<string, unknown> = { ...(inner as Record<string, unknown>) };
  let existing: Signature[] = isEnvelope && Array.isArray(doc.signatures) ? (doc.signatures as Signature[]) : [];
  if (opts["bump-version"] === true) {
    signed.version = (Number.isSafeInteger(signed.version) ? (signed.version as number) : 0) + 1;
  }
  if (typeof opts["expires-in-days"] === "string") {
    const days = Number(opts["expires-in-days"]);
    if (!(days > 0 && days <= 3650)) throw new UsageError("--expires-in-days must be between 0 and 3650");
    signed.expires = new Date(io.now() + days * 86400000).toISOString().replace(/\.\d{3}Z$/, "Z");
  }
  // Changing the body invalidates everyone's signature over the old body.
  if (opts["bump-version"] === true || typeof opts["expires-in-days"] === "string") existing = [];
  const body = validateSigned(signed);
  if (Date.parse(body.expires) <= io.now()) throw new Error(`refusing to sign: expires ${body.expires} is in the past`);
  const envelope = signManifest(body, key, existing);
  const text = `${JSON.stringify(envelope, null, 2)}\n`;
  if (typeof opts.out === "string") fs.writeFileSync(opts.out, text);
  else io.out(text.trimEnd());
  io.err(
    `signed ${body.name} version ${body.version}, expires ${body.expires}, ` +
      `keyid ${envelope.signatures[envelope.signatures.length - 1].keyid}`,
  );
  return 0;
}

function verifyCmd(args: string[], io: CliIO): number {
  const opts = options(args, { pub: "value", in: "value", "min-version": "value" });
  const pubArg = need(opts, "pub");
  const keyText = fs.existsSync(pubArg) ? fs.readFileSync(pubArg, "utf8") : pubArg;
  const key = parsePublicKey(keyText);
  const minVersion = typeof opts["min-version"] === "string" ? Number(opts["min-version"]) : 0;
  if (!Number.isSafeInteger(minVersion) || minVersion < 0) throw new UsageError("--min-version must be an integer");
  const result = verifyManifest(readJson(need(opts, "in")), {
    trustedKeys: [key],
    now: io.now(),
    trust: { version: minVersion },
  });
  if (!result.ok) {
    io.err(`REJECTED (${result.reason}): ${result.message}`);
    return 1;
  }
  const m = result.manifest;
  io.out(
    `OK ${m.name} version ${m.version}, expires ${m.expires}, ` +
      `${Object.keys(m.models).length} model(s), keyid ${result.keyid}`,
  );
  return 0;
}

/** Runs the CLI; returns the exit code (0 ok, 1 verification or input failed, 2 usage). */
export function run(argv: string[], io: CliIO): number {
  const [group, command, ...rest] = argv;
  try {
    if (group !== "manifest" || command === undefined || command === "help" || command === "--help") {
      if (group === "manifest" && (command === "help" || command === "--help")) {
        io.out(USAGE);
        return 0;
      }
      throw new UsageError(
        group === undefined ? "no command given" : `unknown command ${[group, command].filter(Boolean).join(" ")}`,
      );
    }
    switch (command) {
      case "keygen":
        return keygen(rest, io);
      case "template":
        return template(rest, io);
      case "sign":
        return sign(rest, io);
      case "verify":
        return verifyCmd(rest, io);
      default:
        throw new UsageError(`unknown command manifest ${command}`);
    }
  } catch (e) {
    return reportError(e, USAGE, io);
  }
}
