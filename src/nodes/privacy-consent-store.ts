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
}

const SCHEMA = Joi.object<StoreConfig>({
  backend: Joi.string().valid("file", "memory").default("file"),
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
    });
    node.consentStore = store;
    // A config node has no place on the canvas; its status still reaches Status nodes
    // and the editor's config list, and the gates and managers using it show it too.
    const reason = store.unavailable;
    if (reason) {
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
  RED.nodes.registerType("privacy-consent-store", PrivacyConsentStore);
};
