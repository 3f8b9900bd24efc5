/**
 * The rollback counter: the highest manifest version a node accepted, kept in a small
 * JSON file in the user directory so a restart does not forget it (otherwise an attacker
 * could replay an old, validly signed manifest after every reboot). Replaced by the
 * shared atomic writer, so a crash leaves the old or the new counter, never a torn one.
 */
import fs from "node:fs";
import path from "node:path";
import { writeFileAtomicSync } from "../core/atomic-file";

export interface StoredTrust {
  version: number;
  digest: string;
  name: string;
  expires: string;
  acceptedAt: string;
}

/** Reads the stored counter; a missing file is version 0. A corrupt file throws (fail closed). */
export function readTrust(file: string): StoredTrust | null {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
  const parsed = JSON.parse(text) as Partial<StoredTrust>;
  if (!Number.isSafeInteger(parsed.version) || typeof parsed.digest !== "string") {
    throw new Error(`rollback state ${path.basename(file)} is corrupt`);
  }
  return parsed as StoredTrust;
}

export function writeTrust(file: string, state: StoredTrust): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomicSync(file, `${JSON.stringify(state, null, 2)}\n`);
}

/** The state file for one node: `<userDir>/privacy-update-check/<node id>.json`. */
export function trustFile(userDir: string, nodeId: string): string {
  return path.join(userDir, "privacy-update-check", `${nodeId.replace(/[^A-Za-z0-9._-]/g, "_")}.json`);
}
