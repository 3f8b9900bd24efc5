/**
 * privacy-keyring (config node): named 256-bit keys from credentials, an env var or a
 * passphrase (scrypt, salt in the config). Nodes call `getKeyring()`; it throws a clear
 * reason (never a key) when the keys are missing or invalid. GCM use counts per key are
 * kept in .privacy-keyring-uses.json in the user directory (see lib/gcm-use-file.ts).
 */
import * as path from "node:path";
import type { RedAPI, RedNode, NodeDef } from "../core/red-types";
import {
  attachGcmUseStore,
  buildKeyring,
  GCM_WARN_AT,
  saveExactGcmUses,
  type KeySource,
  type Keyring,
} from "../encryption/keyring";
import { gcmUseFile } from "../encryption/gcm-use-file";
import type { KeyringConfigNode } from "../encryption/keyring-ref";
import { Joi, validateConfig } from "../core/validation";
import { errorText } from "../core/status";

interface KeyringConfig {
  name: string;
  activeKid: string;
  source: KeySource;
  envVar: string;
  salt: string;
}

const schema = Joi.object<KeyringConfig>({
  name: Joi.string().allow("").default(""),
  activeKid: Joi.string()
    .trim()
    .pattern(/^[A-Za-z0-9._:@+-]{1,64}$/)
    .required(),
  source: Joi.string().valid("credentials", "env", "passphrase").default("credentials"),
  envVar: Joi.string().trim().allow("").default(""),
  salt: Joi.string().trim().allow("").default(""),
});

interface AdminRequest {
  params: { id?: string };
}
interface AdminResponse {
  json(body: unknown): void;
  status(code: number): AdminResponse;
}

/** In the Node-RED user directory: key fingerprints and counts, never a key. */
const USES_FILE = ".privacy-keyring-uses.json";

export = function (RED: RedAPI) {
  // GCM use counts outlive restarts in one file per Node-RED, read again at every
  // deploy of a keyring so a fixed file needs no restart. A file that cannot be read
  // blocks encryption (counts back at zero could pass the 2^32 limit unseen), never
  // decryption: data already encrypted must stay readable.
  const usesFile = RED.settings.userDir ? path.join(RED.settings.userDir, USES_FILE) : undefined;
  function readUses(node: RedNode, label: string): void {
    if (usesFile === undefined) return;
    try {
      attachGcmUseStore(gcmUseFile(usesFile));
    } catch (e) {
      node.error(
        `${label}: encryption blocked until the key use counts can be read (decryption works): ${errorText(e)}`,
      );
    }
  }

  function PrivacyKeyringNode(this: RedNode, def: NodeDef) {
    RED.nodes.createNode(this, def);
    // Node-RED's node object gets our getKeyring().
    const node = this as unknown as KeyringConfigNode;
    const creds = node.credentials ?? {};
    let keyring: Keyring | undefined;
    let failure = "";
    const checked = validateConfig(schema, def);
    const label = def.name ? `keyring "${String(def.name)}"` : "keyring";
    readUses(node, label);
    if (!checked.ok) {
      failure = checked.error;
    } else {
      const c = checked.value;
      try {
        keyring = buildKeyring({
          source: c.source,
          activeKid: c.activeKid,
          keysText: creds.keys,
          envVar: c.envVar,
          envValue: c.envVar ? process.env[c.envVar] : undefined,
          passphrase: creds.passphrase,
          salt: c.salt,
        });
      } catch (e) {
        failure = errorText(e);
      }
    }
    if (keyring === undefined) node.error(`${label} unavailable: ${failure}`);

    if (keyring !== undefined) {
      const active = keyring.gcmUseCount(keyring.activeKid);
      if (active >= GCM_WARN_AT)
        node.warn(
          `key "${keyring.activeKid}" has encrypted ${active} messages: add a new key and make it active (rotate)`,
        );
    }
    node.on("close", (_removed, done) => {
      try {
        saveExactGcmUses();
      } catch (e) {
        node.warn(errorText(e)); // the counts saved ahead of use stay, and are higher
      }
      done();
    });

    node.getKeyring = (): Keyring => {
      if (keyring === undefined) throw new Error(`${label} unavailable: ${failure}`);
      return keyring;
    };
  }

  RED.nodes.registerType("privacy-keyring", PrivacyKeyringNode, {
    credentials: { keys: { type: "password" }, passphrase: { type: "password" } },
  });

  // The edit dialog lists the kids of the deployed keyring (never a key) so the user
  // knows which kids a new keys JSON must keep for old data to stay readable.
  const check = RED.auth ? RED.auth.needsPermission("privacy-keyring.read") : undefined;
  const permission = (q: unknown, s: unknown, next?: () => void): void => {
    const go = next ?? (() => undefined);
    if (check) check(q, s, go);
    else go();
  };
  RED.httpAdmin.get("/privacy-keyring/:id/kids", permission, (req: unknown, res: unknown) => {
    const q = req as AdminRequest;
    const r = res as AdminResponse;
    const found = RED.nodes.getNode(String(q.params.id ?? ""));
    if (found === null || found.type !== "privacy-keyring") {
      // A keyring the user is still editing is not deployed yet: nothing to list, and
      // not an error (a 404 would show as one in the browser console).
      r.json({ deployed: false, kids: [] });
      return;
    }
    try {
      const kr = (found as KeyringConfigNode).getKeyring();
      r.json({ activeKid: kr.activeKid, kids: kr.kids(), uses: kr.gcmUseCounts() });
    } catch (e) {
      r.json({ error: errorText(e) });
    }
  });
};
