/**
 * privacy-consent-gate: lets a message through only when its subject has a live
 * consent for the purpose. Default deny. The check is a lookup in the store's memory.
 */
import { hasOwn } from "../core/objects";
import type { RedAPI, RedNode, NodeDef, NodeMessage } from "../core/red-types";
import { Joi, pathString, compilePath, MessageError } from "../core/validation";
import { configure, failClosed, onInput, type Output } from "../core/node-adapter";
import type { Key } from "../core/paths";
import type { NodeStatus } from "../core/status";
import { appendTrail, privacyOf } from "../core/trail";
import { PURPOSE_RULE, SUBJECT_RULE, idSchema, readId, type BlockReason } from "../consent/consent";
import type { ConsentStoreNode } from "../consent/consent-store";

interface GateConfig {
  store: string;
  purpose: string;
  purposeFrom: "config" | "msg";
  subjectProperty: string;
  onBlocked: "output" | "drop";
}

const SCHEMA = Joi.object<GateConfig>({
  store: Joi.string().trim().min(1).required(),
  purposeFrom: Joi.string().valid("config", "msg").default("config"),
  purpose: Joi.when("purposeFrom", {
    is: "config",
    then: idSchema(PURPOSE_RULE).required(),
    otherwise: Joi.string().allow("").optional(),
  }),
  subjectProperty: pathString().default("topic"),
  onBlocked: Joi.string().valid("output", "drop").default("output"),
});

/**
 * Reads the subject along a parsed path (no wildcards; forbidden keys were refused when
 * it was parsed). Own properties only, nothing allocated: it runs for every message.
 */
function subjectReader(segments: readonly Key[]): (msg: NodeMessage) => unknown {
  return (msg) => {
    let value: unknown = msg;
    for (let i = 0; i < segments.length; i++) {
      if (typeof value !== "object" || value === null || ArrayBuffer.isView(value)) return undefined;
      const key = segments[i];
      if (Array.isArray(value)) {
        if (typeof key !== "number" || key >= value.length) return undefined;
        value = value[key];
      } else {
        if (!hasOwn(value, key)) return undefined;
        value = (value as Record<string, unknown>)[key as string];
      }
    }
    return value;
  };
}

export = function (RED: RedAPI) {
  function PrivacyConsentGate(this: RedNode, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const rt = configure(node, SCHEMA, def);
    if (!rt) return;
    const { config, status } = rt;
    const subjectPath = compilePath(config.subjectProperty);
    if (subjectPath.hasWildcard) {
      failClosed(node, status, 'invalid config: "subjectProperty" must name one property (no "*")');
      return;
    }
    const storeNode = RED.nodes.getNode<ConsentStoreNode>(config.store);
    if (!storeNode) {
      failClosed(node, status, 'invalid config: "store" is not a deployed privacy-consent-store');
      return;
    }
    // A store whose config is bad or whose journal is locked still leaves the gate
    // working: it blocks every message with reason store-unavailable.
    const store = storeNode.consentStore;
    let passed = 0;
    let blocked = 0;
    let unavailableText = "store unavailable";
    const okStatus = (): NodeStatus =>
      !store || store.unavailable
        ? { fill: "red", shape: "ring", text: `${unavailableText}, ${blocked} blocked` }
        : {
            fill: blocked > 0 && passed === 0 ? "yellow" : "green",
            shape: "dot",
            text: `${passed} passed, ${blocked} blocked`,
          };
    if (!store || store.unavailable) status.showNow({ fill: "red", shape: "ring", text: "store unavailable" });
    else status.showNow(okStatus());
    // The store can stop while running (its journal replaced or removed): say so at once.
    if (store) {
      const stop = store.onUnavailable((_why, short) => {
        unavailableText = `${short}: store unavailable`;
        status.showNow({ fill: "red", shape: "ring", text: unavailableText });
      });
      // A redis store becomes available after loading, and again after an outage.
      const stopUp = store.onAvailable(() => status.showNow(okStatus()));
      node.on("close", (_removed: boolean, done: () => void) => {
        stop();
        stopUp();
        done();
      });
    }
    const readSubject = subjectReader(subjectPath.segments as readonly Key[]);
    const toOutput = config.onBlocked === "output";

    onInput(
      node,
      status,
      (msg: NodeMessage): Output => {
        let purpose: string;
        if (config.purposeFrom === "msg") {
          // The same normalisation as the store's: a purpose granted there is found here.
          const p = readId(msg.purpose, PURPOSE_RULE);
          if (typeof p !== "string") {
            throw new MessageError(
              p.absent
                ? "msg.purpose must be a non-empty string (the gate takes its purpose from the message)"
                : `msg.purpose ${p.problem}`,
            );
          }
          purpose = p;
        } else {
          purpose = config.purpose;
        }
        // Trimmed like the store trims it: " alice " granted at the manager is "alice" here.
        // No usable value is no-subject; a value the store could never hold is an error.
        const s = readId(readSubject(msg), SUBJECT_RULE);
        let subject = "";
        if (typeof s === "string") subject = s;
        else if (!s.absent) throw new MessageError(`msg.${config.subjectProperty} (the subject) ${s.problem}`);
        let result: ReturnType<NonNullable<typeof store>["check"]> | BlockReason;
        if (subject === "") result = "no-subject";
        else if (!store) result = "store-unavailable";
        else result = store.check(subject, purpose);
        if (typeof result !== "string") {
          appendTrail(msg, { type: "privacy-consent-gate", id: node.id, purpose, allowed: true });
          passed++;
          return msg;
        }
        const privacy = privacyOf(msg);
        privacy.blocked = { reason: result, subject: subject === "" ? null : subject, purpose };
        privacy.trail.push({ type: "privacy-consent-gate", id: node.id, purpose, allowed: false, reason: result });
        blocked++;
        return toOutput ? [null, msg] : null;
      },
      // the reporter builds the text at most four times a second, not per message
      { okStatus },
    );
  }
  RED.nodes.registerType("privacy-consent-gate", PrivacyConsentGate);
};
