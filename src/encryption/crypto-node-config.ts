/** The config shared by privacy-encrypt and privacy-decrypt, how to read it, and the nodes' common setup. */
import { Joi, pathString, toList, compilePath } from "../core/validation";
import { configure, onClose } from "../core/node-adapter";
import { InOrder, type SliceOptions } from "../core/in-order";
import type { NodeDef, RedAPI, RedNode } from "../core/red-types";
import type { StatusReporter } from "../core/status";
import type { Keyring } from "./keyring";
import { keyringOrFailClosed } from "./keyring-ref";
import type { Targets } from "./message-crypto";

export interface CryptoNodeConfig {
  name: string;
  keyring: string;
  property: string;
  fields: string[];
}

const plainPath = (): Joi.StringSchema =>
  pathString().custom((value: string, helpers) =>
    compilePath(value).hasWildcard ? helpers.message({ custom: "{{#label}} cannot hold a wildcard" }) : value,
  );

export const cryptoNodeSchema = Joi.object<CryptoNodeConfig>({
  name: Joi.string().allow("").default(""),
  keyring: Joi.string().trim().min(1).required().messages({
    "any.required": "{{#label}} is required: select a keyring",
    "string.empty": "{{#label}} is required: select a keyring",
  }),
  property: plainPath().default("payload"),
  fields: Joi.array().items(pathString()).default([]),
});

/** Node-RED stores the field list as an array; hand-written flows may hold text. */
export function normalizeRaw(def: Record<string, unknown>): Record<string, unknown> {
  const property = typeof def.property === "string" ? def.property.replace(/^msg\./, "") : def.property;
  const fields = toList(def.fields ?? []);
  return {
    ...def,
    property: property === "" || property === undefined ? "payload" : property,
    fields: Array.isArray(fields)
      ? (fields as unknown[]).map((f) => (typeof f === "string" ? f.replace(/^msg\./, "") : f))
      : fields,
  };
}

export function targetsOf(c: CryptoNodeConfig): Targets {
  return { property: compilePath(c.property), fields: c.fields.map(compilePath) };
}

export interface CryptoNodeSetup {
  config: CryptoNodeConfig;
  status: StatusReporter;
  keyring: Keyring;
  targets: Targets;
  /**
   * A message with many values (a wildcard over a long array) is handled a slice at a
   * time so it never blocks the event loop; messages behind it wait their turn here.
   */
  order: InOrder;
  /** Slice options that stop a sliced message once the node is closed. */
  slices: SliceOptions;
}

/** Validates an encrypt or decrypt node and finds its keyring; undefined when it failed closed. */
export function setupCryptoNode(RED: RedAPI, node: RedNode, def: NodeDef): CryptoNodeSetup | undefined {
  const rt = configure(node, cryptoNodeSchema, normalizeRaw(def));
  if (!rt) return undefined;
  const keyring = keyringOrFailClosed(RED, node, rt.status, rt.config.keyring);
  if (!keyring) return undefined;
  let closed = false;
  onClose(node, () => {
    closed = true;
  });
  const slices: SliceOptions = { stopped: () => (closed ? "the node was closed" : undefined) };
  return { config: rt.config, status: rt.status, keyring, targets: targetsOf(rt.config), order: new InOrder(), slices };
}
