/**
 * privacy-decrypt: opens JWE compact strings (dir + A256GCM, any producer) with the
 * keyring, and CryptoJS passphrase ciphertexts with the node's legacy passphrase.
 */
import type { RedAPI, RedNode, NodeDef, NodeMessage } from "../core/red-types";
import { onInput } from "../core/node-adapter";
import { whenReady } from "../core/in-order";
import { setupCryptoNode } from "../encryption/crypto-node-config";
import { decryptValue } from "../encryption/jwe";
import { planTransformInSlices } from "../encryption/message-crypto";
import { appendTrail } from "../core/trail";

export = function (RED: RedAPI) {
  function PrivacyDecryptNode(this: RedNode, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const setup = setupCryptoNode(RED, node, def);
    if (!setup) return;
    const { status, keyring, targets, order, slices } = setup;
    const legacy = node.credentials?.legacyPassphrase || undefined;
    let decrypted = 0;

    onInput(
      node,
      status,
      (msg: NodeMessage) =>
        order.run(() => {
          const kids = new Set<string>();
          let legacyCount = 0;
          const planned = planTransformInSlices(
            msg,
            targets,
            (value) => {
              const r = decryptValue(value, keyring, legacy);
              if (r.format === "cryptojs") legacyCount++;
              else kids.add(r.kid);
              return r.value;
            },
            slices,
          );
          return whenReady(planned, (plan) => {
            appendTrail(msg, {
              type: "privacy-decrypt",
              id: node.id,
              decrypted: plan.count,
              kids: [...kids],
              legacy: legacyCount,
            });
            plan.apply();
            decrypted += plan.count;
            return msg;
          });
        }),
      { okStatus: () => ({ fill: "green", shape: "dot", text: `${decrypted} decrypted` }) },
    );
  }

  RED.nodes.registerType("privacy-decrypt", PrivacyDecryptNode, {
    credentials: { legacyPassphrase: { type: "password" } },
  });
};
