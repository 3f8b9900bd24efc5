/**
 * What settings.js says about the instance, as InstanceFacts: one reading shared by the
 * editor plugin (Node-RED's settings object) and the `audit --settings` command (the
 * exported object of the file). `listen` is where the server really listens, when the
 * caller knows (an embedding app may bind elsewhere than uiHost).
 */
import type { InstanceFacts, PassphraseJudgement } from "./types";
import { PASSPHRASE_GOOD, PASSPHRASE_MIN } from "./own-nodes";

export function instanceFacts(
  settings: Record<string, unknown>,
  listen?: { host?: string; https?: boolean },
): InstanceFacts {
  const secret = settings.credentialSecret;
  const credentialSecret: InstanceFacts["credentialSecret"] =
    typeof secret === "string" && secret !== "" ? "set" : secret === false ? "disabled" : "generated";
  const enabled = settings.httpAdminRoot !== false && settings.disableEditor !== true;
  const uiHost = typeof settings.uiHost === "string" ? settings.uiHost : "";
  return {
    adminAuth: Boolean(settings.adminAuth),
    credentialSecret,
    httpNodeAuth: Boolean(settings.httpNodeAuth),
    editor: {
      enabled,
      host: listen?.host ?? uiHost,
      https: listen?.https ?? Boolean(settings.https),
    },
  };
}

/** Judges a passphrase by its length; the passphrase itself never leaves the caller. */
export function judgePassphrase(passphrase: unknown): PassphraseJudgement {
  if (typeof passphrase !== "string" || passphrase === "") return "missing";
  // UTF-16 length, as the keyring's own check counts.
  const n = passphrase.length;
  return n < PASSPHRASE_MIN ? "too-short" : n < PASSPHRASE_GOOD ? "short" : "ok";
}
