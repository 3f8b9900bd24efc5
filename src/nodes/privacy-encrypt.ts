/**
 * privacy-encrypt: replaces msg.<property>, or each listed field, by a JWE compact
 * string (dir + A256GCM) under the keyring's active kid.
 */
import type { RedAPI, RedNode, NodeDef, NodeMessage } from "../core/red-types";
import { onInput } from "../core/node-adapter";
import { whenReady } from "../core/in-order";
import { setupCryptoNode } from "../encryption/crypto-node-config";
import { GCM_LIMIT, GCM_WARN_AT, retryGcmUseStore } from "../encryption/keyring";
import { encryptValue } from "../encryption/jwe";
import { planTransformInSlices } from "../encryption/message-crypto";
import { appendTrail } from "../core/trail";

export = function (RED: RedAPI) {
  function PrivacyEncryptNode(this: RedNode, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const setup = setupCryptoNode(RED, node, def);
    if (!setup) return;
    const { status, keyring, targets, order, slices } = setup;
    // A deploy of this node alone also reads a fixed use count file again.
    retryGcmUseStore();
    let encrypted = 0;
    let warnedKid = "";

    onInput(
      node,
      status,
      (msg: NodeMessage) =>
        order.run(() => {
          const { kid, key } = keyring.activeKey();
          let uses = keyring.gcmUseCount(kid);
          const planned = planTransformInSlices(
            msg,
            targets,
            (value) => {
              if (uses >= GCM_LIMIT) {
                throw new Error(`key "${kid}" has encrypted 2^32 values: add a new key and make it active`);
              }
              const out = encryptValue(value, kid, key).jwe;
              uses = keyring.recordGcmUse(kid);
              return out;
            },
            slices,
          );
          return whenReady(planned, (plan) => {
            appendTrail(msg, { type: "privacy-encrypt", id: node.id, kid, encrypted: plan.count });
            plan.apply();
            encrypted += plan.count;
            if (uses >= GCM_WARN_AT && warnedKid !== kid) {
              warnedKid = kid;
              const advice = "add a new key to the keyring and make it active";
              node.warn(`key "${kid}" has encrypted ${uses} values (limit 2^32): ${advice}`);
            }
            return msg;
          });
        }),
      {
        okStatus: () =>
          warnedKid === keyring.activeKid
            ? { fill: "yellow", shape: "dot", text: `rotate key ${keyring.activeKid}` }
            : { fill: "green", shape: "dot", text: `${encrypted} encrypted (${keyring.activeKid})` },
      },
    );
  }

  RED.nodes.registerType("privacy-encrypt", PrivacyEncryptNode);
};
