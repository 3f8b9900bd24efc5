/**
 * Config and message validation with joi. Every node validates its config once,
 * when it is created, and every message it accepts, with the same two functions,
 * so every error names the field that is wrong in the same words.
 */
import Joi from "joi";
import { parsePath, PathError, type PropertyPath } from "./paths";

export { Joi };

export type Validated<T> = { ok: true; value: T } | { ok: false; error: string; field: string };

const BASE_OPTIONS: Joi.ValidationOptions = {
  abortEarly: true,
  convert: true,
  // Node-RED adds x, y, z, wires, type, id, name, g, d... to every node's config.
  allowUnknown: true,
  stripUnknown: false,
  errors: { wrap: { label: '"' } },
};

function describe(error: Joi.ValidationError): { message: string; field: string } {
  const detail = error.details[0];
  const field = detail && detail.path.length > 0 ? detail.path.join(".") : "value";
  return { message: detail ? detail.message : error.message, field };
}

/** Validates a node's config. The error reads `invalid config: "field" must be ...`. */
export function validateConfig<T>(schema: Joi.Schema<T>, raw: unknown): Validated<T> {
  const result = schema.validate(raw, BASE_OPTIONS);
  if (result.error) {
    const { message, field } = describe(result.error);
    return { ok: false, error: `invalid config: ${message}`, field };
  }
  return { ok: true, value: result.value };
}

export class MessageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MessageError";
  }
}

/**
 * Validates part of a message and returns it converted; throws a MessageError naming
 * the property (`msg.consent.subject is required`) so the node can call done(err).
 */
export function validateMessage<T>(schema: Joi.Schema<T>, value: unknown, label: string): T {
  const result = schema.validate(value, { ...BASE_OPTIONS, allowUnknown: false, errors: { wrap: { label: false } } });
  if (result.error) {
    const detail = result.error.details[0];
    const where = detail && detail.path.length > 0 ? `${label}.${detail.path.join(".")}` : label;
    const reason = detail ? detail.message.replace(/^("?)[^"\s]*\1\s*/, "") : result.error.message;
    throw new MessageError(`${where} ${reason}`);
  }
  return result.value;
}

/** A joi string that must be a valid property path; the value stays a string. */
export const pathString = (): Joi.StringSchema =>
  Joi.string()
    .trim()
    .min(1)
    .custom((value: string, helpers) => {
      try {
        parsePath(value);
        return value;
      } catch (e) {
        return helpers.message({ custom: `{{#label}} ${e instanceof PathError ? e.message : String(e)}` });
      }
    });

/** Parses a path that has already passed `pathString()`. */
export function compilePath(text: string): PropertyPath {
  return parsePath(text);
}

/**
 * Node-RED's editor stores typed lists as JSON arrays, but older flows or hand-written
 * flows may hold a comma/newline separated string. Accepts both.
 */
export const stringList = (): Joi.ArraySchema<string[]> => Joi.array().items(Joi.string().trim().min(1)).default([]);

/** Splits "a, b\nc" into ["a","b","c"]; leaves arrays as they are. */
export function toList(value: unknown): unknown {
  if (typeof value !== "string") return value;
  return value
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter((s) => s !== "");
}
