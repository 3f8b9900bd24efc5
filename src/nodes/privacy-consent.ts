/**
 * privacy-consent (manager): grant, withdraw, query, list and export consent through
 * msg.consent. A grant or withdraw is answered only once its receipt is durable.
 */
import type { RedAPI, RedNode, NodeDef, NodeMessage } from "../core/red-types";
import { Joi } from "../core/validation";
import { configure, failClosed, onInput } from "../core/node-adapter";
import { Metrics, type NodeStatus } from "../core/status";
import { appendTrail, privacyOf } from "../core/trail";
import type { ConsentStoreNode, LinkMade } from "../consent/consent-store";
import { METHOD_RULE, idSchema } from "../consent/consent";
import { copyContainer } from "../core/paths";
import { isPlainObject } from "../core/objects";

/**
 * The message the answer is built in. RED.util.cloneMessage (lodash cloneDeep) would turn
 * an own "__proto__" key (JSON.parse makes them) anywhere in the message into the
 * prototype of the copy. A one-level copy keeps every own key as data; msg.privacy and its
 * trail are copied too, because they are what this node changes, and a message that
 * fails must reach a Catch node as it came in. Everything else is only passed on.
 */
function answerCopy(msg: NodeMessage): NodeMessage {
  const out = copyContainer(msg as Record<string, unknown>);
  const privacy = out.privacy;
  if (isPlainObject(privacy)) {
    const p = copyContainer(privacy);
    if (Array.isArray(p.trail)) p.trail = p.trail.slice();
    out.privacy = p;
  }
  return out;
}

interface ManagerConfig {
  store: string;
  method: string;
}

const SCHEMA = Joi.object<ManagerConfig>({
  store: Joi.string().trim().min(1).required(),
  method: idSchema(METHOD_RULE).empty(Joi.string().trim().valid("")).default("node-red"),
});

export = function (RED: RedAPI) {
  function PrivacyConsent(this: RedNode, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const rt = configure(node, SCHEMA, def);
    if (!rt) return;
    const storeNode = RED.nodes.getNode<ConsentStoreNode>(rt.config.store);
    const store = storeNode?.consentStore;
    if (!storeNode || !store) {
      failClosed(
        node,
        rt.status,
        storeNode?.consentStoreError
          ? `consent store unavailable: ${storeNode.consentStoreError}`
          : 'invalid config: "store" is not a deployed privacy-consent-store',
      );
      return;
    }
    const metrics = new Metrics();
    let unavailableText = "store unavailable";
    const okStatus = (): NodeStatus =>
      store.unavailable
        ? { fill: "red", shape: "ring", text: unavailableText }
        : { fill: "green", shape: "dot", text: metrics.summary(["granted", "withdrawn"]) };
    if (store.unavailable) rt.status.showNow({ fill: "red", shape: "ring", text: "store unavailable" });
    else rt.status.showNow(okStatus());
    // The store can stop while running (its journal replaced or removed): say so at once.
    const stop = store.onUnavailable((_why, short) => {
      unavailableText = `${short}: store unavailable`;
      rt.status.showNow({ fill: "red", shape: "ring", text: unavailableText });
    });
    // A redis store becomes available after loading, and again after an outage.
    const stopUp = store.onAvailable(() => rt.status.showNow(okStatus()));
    node.on("close", (_removed: boolean, done: () => void) => {
      stop();
      stopUp();
      done();
    });
    onInput(
      node,
      rt.status,
      async (msg: NodeMessage) => {
        const action =
          typeof msg.consent === "object" && msg.consent !== null
            ? (msg.consent as { action?: unknown }).action
            : undefined;
        const out = answerCopy(msg);
        // A malformed msg.privacy must fail before the change is made, not after.
        privacyOf(out);
        // A personal link needs the store's page: the URL is built from the token here,
        // and the token itself never reaches the journal (only its hash).
        if ((action === "link" || action === "revoke-link") && !storeNode.consentPage) {
          const needs = "needs the consent page: enable it on the consent store";
          throw new Error(`msg.consent.action "${String(action)}" ${needs}`);
        }
        let payload = await store.execute(msg.consent, rt.config.method);
        if (action === "link") {
          const made = payload as LinkMade;
          const url = storeNode.consentPage?.linkUrl(made.token);
          payload = { subject: made.subject, url, createdAt: made.createdAt };
        }
        // Nothing can fail from here on: the change is durable, the message is changed whole.
        const receipts = Array.isArray(payload) ? payload.length : action === "grant" || action === "withdraw" ? 1 : 0;
        if (action === "grant") metrics.add("granted", receipts);
        if (action === "withdraw") metrics.add("withdrawn", receipts);
        out.payload = payload;
        appendTrail(out, { type: "privacy-consent", id: node.id, action: String(action), receipts });
        return out;
      },
      { okStatus },
    );
  }
  RED.nodes.registerType("privacy-consent", PrivacyConsent);
};
