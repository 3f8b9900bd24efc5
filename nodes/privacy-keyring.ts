/**
 * privacy-keyring (config node): named 256-bit keys from credentials, an env var or a
 * passphrase (scrypt, salt in the config). Nodes call `getKeyring()`; it throws a clear
 * reason (never a key) when the keys are missing or invalid.
 */
import type { RedAPI, RedNode, NodeDef } from "./lib/red-types";
import { buildKeyring, GCM_WARN_AT, type KeySource, type Keyring } from "./lib/keyring";
import type { KeyringConfigNode } from "./lib/keyring-ref";
import { Joi, validateConfig } from "./lib/validation";
import { errorText } from "./lib/status";

interface KeyringConfig {
  name: string;
  activeKid: string;
  source: KeySource;
  envVar: string;
  salt: string;
}

const schema = Joi.object<KeyringConfig>({
  name: Joi.string().allow("").default(""),
  activeKid: Joi.string().trim().pattern(/^[A-Za-z0-9._:@+-]{1,64}$/).required(),
  source: Joi.string().valid("credentials", "env", "passphrase").default("credentials"),
  envVar: Joi.string().trim().allow("").default(""),
  salt: Joi.string().trim().allow("").default(""),
});

/** Node context, used to keep GCM use counts across restarts when a persistent store is set. */
interface ContextStore {
  get(key: string): unknown;
  set(key: string, value: unknown): void;
}
interface KeyringNodeInstance extends KeyringConfigNode {
  context(): ContextStore;
}

interface AdminRequest {
  params: { id?: string };
}
interface AdminResponse {
  json(body: unknown): void;
  status(code: number): AdminResponse;
}

const USES_KEY = "gcmUses";

export = function (RED: RedAPI) {
  function PrivacyKeyringNode(this: RedNode, def: NodeDef) {
    RED.nodes.createNode(this, def);
    // Node-RED's node object gets our getKeyring(); context() is part of every node.
    const node = this as unknown as KeyringNodeInstance;
    const creds = node.credentials ?? {};
    let keyring: Keyring | undefined;
    let failure = "";
    const checked = validateConfig(schema, def);
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
    const label = def.name ? `keyring "${String(def.name)}"` : "keyring";
    if (keyring === undefined) node.error(`${label} unavailable: ${failure}`);

    if (keyring !== undefined) restoreUses(node, keyring);
    node.on("close", (_removed, done) => {
      if (keyring !== undefined) saveUses(node, keyring);
      done();
    });

    node.getKeyring = (): Keyring => {
      if (keyring === undefined) throw new Error(`${label} unavailable: ${failure}`);
      return keyring;
    };
  }

  function restoreUses(node: KeyringNodeInstance, keyring: Keyring): void {
    try {
      const saved = node.context().get(USES_KEY);
      if (typeof saved !== "object" || saved === null) return;
      for (const [kid, n] of Object.entries(saved as Record<string, unknown>)) {
        if (keyring.hasKid(kid) && typeof n === "number" && Number.isSafeInteger(n) && n > 0) keyring.seedGcmUse(kid, n);
      }
      const active = keyring.gcmUseCount(keyring.activeKid);
      if (active >= GCM_WARN_AT) node.warn(`key "${keyring.activeKid}" has encrypted ${active} messages: add a new key and make it active (rotate)`);
    } catch {
      // An async-only context store cannot answer synchronously: counts start at zero.
    }
  }

  function saveUses(node: KeyringNodeInstance, keyring: Keyring): void {
    try {
      node.context().set(USES_KEY, keyring.gcmUseCounts());
    } catch {
      // see restoreUses
    }
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
