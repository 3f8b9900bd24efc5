/**
 * `npx @privacy-toolkit/node-red-privacy context keygen|rekey|status`: make a key for
 * the encrypted context store, re-encrypt a store under its active key, list which key
 * each scope file is under. Keys come from the same environment variables the store
 * reads; no command prints a key except keygen, whose job it is (on stdout only, so
 * `$(...)` captures it and nothing else).
 */
import fs from "node:fs";
import path from "node:path";
import { DEFAULT_KEY_ENV, DEFAULT_PASSPHRASE_ENV, generateKeyPair, loadKeys, type ContextKeys } from "../context/keys";
import { rekeyStore, storeStatus } from "../context/rekey";
import { DEFAULT_BASE } from "../context/store";
import { need, options, reportError, UsageError } from "./args";
import type { CliIO } from "./io";

const USAGE = `usage: node-red-privacy context <command> [options]

  keygen [--kid NAME] [--out FILE]
        print a new key as kid:key (or write FILE as ${DEFAULT_KEY_ENV}=kid:key, mode 0600)
  rekey --dir USERDIR [--base NAME] [--key-env VAR] [--passphrase-env VAR] [--force]
        re-encrypt every scope under the active key (the first kid of ${DEFAULT_KEY_ENV});
        stop Node-RED first
  status --dir USERDIR [--base NAME] [--key-env VAR] [--passphrase-env VAR]
        list the scope files, the kid each is under and whether it opens

USERDIR is Node-RED's user directory (the store's "dir"); the store lives in
USERDIR/${DEFAULT_BASE} unless its config sets another "base".
Keys: ${DEFAULT_KEY_ENV}="new:KEY,old:KEY" (the first is active) and/or ${DEFAULT_PASSPHRASE_ENV}.`;

const STORE_OPTIONS = {
  dir: "value",
  base: "value",
  "key-env": "value",
  "passphrase-env": "value",
} as const;

function keygen(args: string[], io: CliIO): number {
  const opts = options(args, { kid: "value", out: "value" });
  const date = new Date(io.now()).toISOString().slice(0, 10).replace(/-/g, "");
  const pair = generateKeyPair(typeof opts.kid === "string" ? opts.kid : `ctx-${date}`);
  const kid = pair.slice(0, pair.lastIndexOf(":"));
  if (typeof opts.out === "string") {
    // "wx": never overwrite a key that data may already be encrypted under.
    fs.writeFileSync(opts.out, `${DEFAULT_KEY_ENV}=${pair}\n`, { mode: 0o600, flag: "wx" });
    io.err(`wrote ${opts.out} (mode 0600): an environment file for systemd, docker --env-file or your shell`);
  } else {
    io.out(pair);
  }
  io.err(`new key "${kid}". Put it first in ${DEFAULT_KEY_ENV} (kid:key pairs, comma separated, the first one`);
  io.err("encrypts), keep the old pairs after it until `context rekey` has run, and keep a copy of every key");
  io.err("somewhere other than the backups of the Node-RED user directory: without it the context is lost.");
  return 0;
}

function storeDir(opts: Record<string, string | true>): string {
  const base = typeof opts.base === "string" ? opts.base : DEFAULT_BASE;
  if (/[\\/]/.test(base) || base === "." || base === "..") throw new UsageError("--base must be a folder name");
  return path.resolve(need(opts, "dir"), base);
}

function keysFor(opts: Record<string, string | true>, baseDir: string, required: boolean): ContextKeys | undefined {
  const keyEnv = typeof opts["key-env"] === "string" ? opts["key-env"] : DEFAULT_KEY_ENV;
  const passphraseEnv = typeof opts["passphrase-env"] === "string" ? opts["passphrase-env"] : DEFAULT_PASSPHRASE_ENV;
  if (!required && !process.env[keyEnv] && !process.env[passphraseEnv]) return undefined;
  // A rekey never makes a salt: a store without one has no passphrase data to rewrite.
  return loadKeys({ keyEnv, passphraseEnv, env: process.env, baseDir, mayCreateSalt: false });
}

async function rekey(args: string[], io: CliIO): Promise<number> {
  const opts = options(args, { ...STORE_OPTIONS, force: "flag" });
  const baseDir = storeDir(opts);
  const keys = keysFor(opts, baseDir, true) as ContextKeys;
  const result = await rekeyStore(baseDir, keys, { force: opts.force === true });
  const from = Object.entries(result.from).map(([kid, n]) => `${n} from "${kid}"`);
  const detail = from.length ? ` (${from.join(", ")})` : "";
  io.out(`re-encrypted ${result.files} scope file(s) under "${result.activeKid}"${detail}`);
  if (result.files > 0) io.out(`keys other than "${result.activeKid}" can now be removed from the environment`);
  return 0;
}

async function status(args: string[], io: CliIO): Promise<number> {
  const opts = options(args, STORE_OPTIONS);
  const baseDir = storeDir(opts);
  const keys = keysFor(opts, baseDir, false);
  const files = await storeStatus(baseDir, keys);
  const byKid = new Map<string, number>();
  let problems = 0;
  for (const f of files) {
    const kid = f.kid ?? "(none)";
    byKid.set(kid, (byKid.get(kid) ?? 0) + 1);
    if (f.problem) problems++;
    const problem = f.problem ? `  PROBLEM: ${f.problem}` : "";
    io.out(`${path.relative(baseDir, f.file)}  ${f.bytes} bytes  kid ${kid}${problem}`);
  }
  const summary = [...byKid].map(([kid, n]) => `${n} under "${kid}"`).join(", ");
  io.out(`${files.length} scope file(s) in ${baseDir}${summary ? `: ${summary}` : ""}`);
  if (keys) {
    io.out(problems === 0 ? `all open with the keys given (active "${keys.activeKid}")` : `${problems} do not open`);
  } else io.out("no key in the environment: headers only, nothing decrypted");
  return problems === 0 ? 0 : 1;
}

/** Runs `context ...`; resolves to the exit code (0 ok, 1 failed, 2 usage). */
export async function run(argv: string[], io: CliIO): Promise<number> {
  const [, command, ...rest] = argv;
  try {
    switch (command) {
      case "keygen":
        return keygen(rest, io);
      case "rekey":
        return await rekey(rest, io);
      case "status":
        return await status(rest, io);
      case "help":
      case "--help":
        io.out(USAGE);
        return 0;
      default:
        throw new UsageError(command === undefined ? "no command given" : `unknown command context ${command}`);
    }
  } catch (e) {
    return reportError(e, USAGE, io);
  }
}
