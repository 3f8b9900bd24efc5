/** The config shared by privacy-encrypt and privacy-decrypt, and how to read it. */
import { Joi, pathString, toList, compilePath } from "../core/validation";
import type { Targets } from "./message-crypto";

export interface CryptoNodeConfig {
  name: string;
  keyring: string;
  property: string;
  fields: string[];
}

const plainPath = (): Joi.StringSchema =>
  pathString().custom((value: string, helpers) => (compilePath(value).hasWildcard ? helpers.message({ custom: "{{#label}} cannot hold a wildcard" }) : value));

export const cryptoNodeSchema = Joi.object<CryptoNodeConfig>({
  name: Joi.string().allow("").default(""),
  keyring: Joi.string().trim().min(1).required().messages({ "any.required": "{{#label}} is required: select a keyring", "string.empty": "{{#label}} is required: select a keyring" }),
  property: plainPath().default("payload"),
  fields: Joi.array().items(pathString()).default([]),
});

/** Node-RED stores the field list as an array; hand-written flows may hold text. */
export function normalizeRaw(def: Record<string, unknown>): Record<string, unknown> {
  const property = typeof def.property === "string" ? def.property.replace(/^msg\./, "") : def.property;
  const fields = toList(def.fields ?? []);
  return { ...def, property: property === "" || property === undefined ? "payload" : property, fields: Array.isArray(fields) ? fields.map((f) => (typeof f === "string" ? f.replace(/^msg\./, "") : f)) : fields };
}

export function targetsOf(c: CryptoNodeConfig): Targets {
  return { property: compilePath(c.property), fields: c.fields.map(compilePath) };
}
