/** The minimize node's config: its types, the joi schema the runtime and the editor preview share, and its errors. */
import { Joi, pathString } from "../core/validation";
import { parsePath } from "../core/paths";

export type Mode = "keep" | "remove";
export type Op = "keep" | "remove" | "round" | "coordinates" | "time" | "bucket" | "cap";
export type TimeUnit = "minute" | "hour" | "day";
export type EpochUnit = "auto" | "s" | "ms";

export interface Bucket {
  below: number;
  label: string;
}

export interface RuleConfig {
  path: string;
  op: Op;
  /** round: decimal places; coordinates (method decimals): decimal places. */
  decimals?: number;
  /** round: a step such as 0.5 or 10 (instead of decimals). */
  step?: number;
  /** coordinates: `decimals` or `geohash`. */
  method?: "decimals" | "geohash";
  /** coordinates (method geohash): geohash length 1..12. */
  precision?: number;
  /** time: truncate to this unit. */
  unit?: TimeUnit;
  /** time: how a number is read (auto: below 1e11 is seconds, else milliseconds). */
  epoch?: EpochUnit;
  /** bucket: ascending upper bounds (exclusive) with their labels. */
  buckets?: Bucket[];
  /** bucket: the label of values at or above the last bound. */
  above?: string;
  /** cap: the longest string that may leave (in UTF-16 code units, never splitting a pair). */
  max?: number;
}

export interface MinimizeConfig {
  mode: Mode;
  /** The message property the rules apply to, e.g. `payload`. */
  property: string;
  rules: RuleConfig[];
  onTypeMismatch: "error" | "drop-field";
  /** keep mode: what happens to a property that is not an object (string, Buffer...). */
  nonObject: "error" | "pass";
  /** Strip every top-level message property not on the keep list. */
  stripMetadata: boolean;
  /** Top-level properties kept besides `_msgid`, `topic`, `privacy` and the property. */
  keepProperties: string[];
}

/** Message properties that always survive stripping: the id, the topic, the trail. */
export const ALWAYS_KEPT: readonly string[] = ["_msgid", "topic", "privacy", "_linkSource"];

/**
 * Top-level properties that Node-RED's own nodes set for transport (http in and request,
 * tcp, udp, websocket, mqtt, file): the trail names these when it strips them. Any other
 * stripped property is only counted: its name came from the message, not from a config,
 * and a name can be personal data.
 */
export const TRANSPORT_PROPERTIES: ReadonlySet<string> = new Set([
  "req",
  "res",
  "headers",
  "cookies",
  "responseCookies",
  "responseUrl",
  "redirectList",
  "statusCode",
  "url",
  "method",
  "_session",
  "ip",
  "port",
  "fromip",
  "qos",
  "retain",
  "responseTopic",
  "correlationData",
  "contentType",
  "userProperties",
  "messageExpiryInterval",
  "filename",
]);

const OPS: readonly Op[] = ["keep", "remove", "round", "coordinates", "time", "bucket", "cap"];

const ruleSchema = Joi.object({
  path: pathString().required(),
  op: Joi.string()
    .valid(...OPS)
    .default("keep"),
  decimals: Joi.number().integer().min(0).max(15),
  step: Joi.number().positive(),
  method: Joi.string().valid("decimals", "geohash").default("decimals"),
  precision: Joi.number().integer().min(1).max(12),
  unit: Joi.string().valid("minute", "hour", "day"),
  epoch: Joi.string().valid("auto", "s", "ms").default("auto"),
  buckets: Joi.array().items(Joi.object({ below: Joi.number().required(), label: Joi.string().min(1).required() })),
  above: Joi.string().min(1),
  max: Joi.number().integer().min(0),
}).unknown(true);

/** Joi schema of the engine's part of a node's config (shared by node and preview). */
export const minimizeSchema = Joi.object({
  mode: Joi.string().valid("keep", "remove").default("keep"),
  property: pathString()
    .default("payload")
    .custom((value: string, helpers) =>
      parsePath(value).hasWildcard ? helpers.message({ custom: '{{#label}} cannot contain "*"' }) : value,
    ),
  rules: Joi.array().items(ruleSchema).default([]),
  onTypeMismatch: Joi.string().valid("error", "drop-field").default("error"),
  nonObject: Joi.string().valid("error", "pass").default("error"),
  stripMetadata: Joi.boolean().default(true),
  keepProperties: Joi.array()
    .items(
      Joi.string()
        .trim()
        .pattern(/^[A-Za-z_$][\w$]*$/, "a top-level property name"),
    )
    .default([]),
}).unknown(true);

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** A message the rules cannot be applied to; the message names the path, never a value. */
export class MinimizeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MinimizeError";
  }
}
