/**
 * privacy-consent-store (config node): declares the purposes and owns the consent
 * store. The manager and the gate reach it through `consentStore` (typed below).
 */
import type { RedAPI, NodeDef } from "../core/red-types";
import { Joi, validateConfig } from "../core/validation";
import { ConsentStore, journalPath, type Backend, type ConsentStoreNode } from "../consent/consent-store";
import { POLICY_VERSION_RULE, PURPOSE_RULE, idSchema, type PurposeDef } from "../consent/consent";
import { onClose } from "../core/node-adapter";

interface StoreConfig {
  backend: Backend;
  file: string;
  purposes: PurposeDef[];
  retainDays: number;
  redisUrl: string;
  redisPrefix: string;
  maxLagSeconds: number;
}

const SCHEMA = Joi.object<StoreConfig>({
  backend: Joi.string().valid("file", "memory", "redis").default("file"),
  file: Joi.string().trim().allow("").max(1000).default(""),
  purposes: Joi.array()
    .items(
      Joi.object({
        // The purpose rule every command and gate uses, and no spaces inside (an id, not a title).
        id: idSchema(PURPOSE_RULE)
          .custom((v: string, helpers) => (/\s/.test(v) ? helpers.message({ custom: "{{#label}} must not contain spaces" }) : v))
          .required(),
        description: Joi.string().allow("").max(2000).default(""),
        policyVersion: idSchema(POLICY_VERSION_RULE).required(),
      }),
    )
    .unique("id")
    .default([]),
  retainDays: Joi.number().integer().min(0).max(36500).empty("").default(0),
  redisUrl: Joi.string().trim().allow("").max(2000).pattern(/^rediss?:\/\//).default("")
    .when("backend", { is: "redis", then: Joi.string().trim().required() }),
  redisPrefix: Joi.string().allow("").max(200).default(""),
  // How far behind the shared stream an instance's index may be before its gates block.
  maxLagSeconds: Joi.number().min(0.2).max(60).empty("").default(3),
});

export = function (RED: RedAPI) {
  function PrivacyConsentStore(this: ConsentStoreNode, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const checked = validateConfig(SCHEMA, def);
    if (!checked.ok) {
      node.consentStoreError = checked.error;
      node.error(checked.error);
      return;
    }
    const config = checked.value;
    const store = new ConsentStore({
      backend: config.backend,
      purposes: config.purposes,
      file: config.backend === "file" ? journalPath(RED.settings.userDir, config.file, node.id) : undefined,
      owner: node.name ? `${node.name} (${node.id})` : node.id,
      retainDays: config.retainDays,
      warn: (text) => node.warn(text),
      redis:
        config.backend === "redis"
          ? {
              url: config.redisUrl,
              prefix: config.redisPrefix || undefined,
              username: node.credentials?.username,
              password: node.credentials?.password,
              maxLagMs: Math.round(config.maxLagSeconds * 1000),
            }
          : undefined,
    });
    node.consentStore = store;
    // A config node has no place on the canvas; its status still reaches Status nodes
    // and the editor's config list, and the gates and managers using it show it too.
    const reason = config.backend === "redis" ? undefined : store.unavailable;
    if (config.backend === "redis") {
      // Loading from Redis is asynchronous; until then gates block with store-unavailable.
      node.status({ fill: "yellow", shape: "ring", text: "connecting to redis" });
      void store.loaded.then(() => {
        // The URL may hold a password (redis://user:pass@host): never logged.
        const where = config.redisUrl.replace(/\/\/[^@/]*@/, "//");
        if (!store.unavailable) node.log(`loaded ${store.index.subjectCount} subjects from ${where}`);
      }).catch(() => undefined);
      store.onAvailable(() => {
        node.consentStoreError = undefined;
        node.status({ fill: "green", shape: "dot", text: "redis" });
      });
    } else if (reason) {
      node.consentStoreError = reason;
      node.error(`consent store unavailable: ${reason}`);
      node.status({ fill: "red", shape: "ring", text: "unavailable" });
    } else if (store.loadReport) {
      node.log(`loaded ${store.loadReport.receipts} receipts (${store.index.subjectCount} subjects) from ${journalPath(RED.settings.userDir, config.file, node.id)}`);
    }
    store.onUnavailable((why, short) => {
      node.consentStoreError = why;
      node.error(`consent store unavailable: ${why}`);
      node.status({ fill: "red", shape: "ring", text: `${short}: unavailable` });
    });
    onClose(node, async () => {
      await store.close();
      node.status({});
    });
  }
  RED.nodes.registerType("privacy-consent-store", PrivacyConsentStore, {
    credentials: { username: { type: "text" }, password: { type: "password" } },
  });
};
