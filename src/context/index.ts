/**
 * `require("@privacy-toolkit/node-red-privacy/context")`: a Node-RED context store
 * module, for settings.js:
 *
 *   contextStorage: {
 *     default: { module: require("@privacy-toolkit/node-red-privacy/context"), config: {} },
 *   }
 *
 * Node-RED calls the module with the store's config and then open(); see store.ts.
 */
import { EncryptedContextStore, type ContextStoreConfig } from "./store";

const MODULE_NAME = "@privacy-toolkit/node-red-privacy/context";

function encryptedContextStore(config: ContextStoreConfig): EncryptedContextStore {
  return new EncryptedContextStore(config);
}

// Node-RED logs a store module's own toString() at start-up ("module=..."); else "custom".
encryptedContextStore.toString = (): string => MODULE_NAME;

export = encryptedContextStore;
