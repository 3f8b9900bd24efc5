import type { NodeDef, NodeMessage, RedAPI, RedNode } from "../core/red-types";
import { configure, failClosed, onClose, onInput, type NodeRuntime } from "../core/node-adapter";
import { Joi, toList, validateConfig } from "../core/validation";
import { parsePath, pathsConflict, type PropertyPath } from "../core/paths";
import { appendTrail, trailOf, type TrailEntry } from "../core/trail";
import { Metrics, errorText, shortText } from "../core/status";
import {
  allows,
  compile,
  ConfigError,
  minimize,
  minimizeSchema,
  type MinimizeConfig,
  type Plan,
} from "../minimize/minimize";
import { Aggregator, keyOf, systemClock, windowMessage, type Clock, type WindowResult } from "../minimize/aggregate";

const TYPE = "privacy-minimize";

interface NodeConfig extends MinimizeConfig {
  aggregate: boolean;
  windowSize: number;
  windowUnit: "s" | "min" | "h";
  aggregateKey: string;
  aggregateFields: string[];
  maxKeys: number;
}

const UNIT_MS = { s: 1000, min: 60_000, h: 3_600_000 } as const;
const WINDOW_PATH = parsePath("window");
const PRIVACY_PATH = parsePath("privacy");

const schema: Joi.Schema<NodeConfig> = minimizeSchema.keys({
  aggregate: Joi.boolean().default(false),
  windowSize: Joi.number().positive().default(15),
  windowUnit: Joi.string().valid("s", "min", "h").default("min"),
  aggregateKey: Joi.string().trim().allow("").default("topic"),
  aggregateFields: Joi.array().items(Joi.string().trim().min(1)).default([]),
  maxKeys: Joi.number().integer().min(1).default(1000),
});

/** The editor stores lists as "a, b" text; hand-written flows may use arrays. */
function normalize(raw: Record<string, unknown>): Record<string, unknown> {
  return { ...raw, keepProperties: toList(raw.keepProperties), aggregateFields: toList(raw.aggregateFields) };
}

/** Everything compiled from a config: shared by the node and the editor's preview. */
interface Compiled {
  plan: Plan;
  aggregate: null | { fields: string[]; windowMs: number; keyPath: PropertyPath | null; maxKeys: number };
}

/**
 * Compiles and checks a config. Everything that would make a message or a window fail
 * whatever the data is refused here, when the node is created (and by the editor's
 * preview, which calls this too): a window that fails when its timer fires has no message
 * to fail and no done() to call.
 */
function compileAll(config: NodeConfig): Compiled {
  const plan = compile(config);
  if (!config.aggregate) return { plan, aggregate: null };
  if (config.aggregateFields.length === 0)
    throw new ConfigError('invalid config: "aggregateFields" needs at least one numeric field');
  const fieldPaths: PropertyPath[] = [];
  for (const f of config.aggregateFields) {
    let path: PropertyPath;
    try {
      path = parsePath(f);
    } catch (e) {
      throw new ConfigError(`invalid config: "aggregateFields" ${errorText(e)}`);
    }
    if (path.hasWildcard) throw new ConfigError(`invalid config: "aggregateFields" (${f}) cannot contain "*"`);
    if (!allows(plan, path.segments as Array<string | number>)) {
      const why = config.mode === "keep" ? "is not on the keep list" : "is removed by a rule";
      throw new ConfigError(`invalid config: "aggregateFields" (${f}) ${why}, so it would never be counted`);
    }
    // each field's stats are written at its path in one summary: every pair must fit together
    for (const other of fieldPaths) {
      const why = pathsConflict(other, path);
      if (why !== null)
        throw new ConfigError(
          `invalid config: "aggregateFields" (${other.text}) and (${path.text}) cannot both be in a summary: ${why}`,
        );
    }
    fieldPaths.push(path);
  }
  let keyPath: PropertyPath | null = null;
  if (config.aggregateKey !== "") {
    try {
      keyPath = parsePath(config.aggregateKey);
    } catch (e) {
      throw new ConfigError(`invalid config: "aggregateKey" ${errorText(e)}`);
    }
    if (keyPath.hasWildcard)
      throw new ConfigError(`invalid config: "aggregateKey" (${keyPath.text}) cannot contain "*"`);
  }
  checkSummaryPaths(plan.property, keyPath, fieldPaths);
  return {
    plan,
    aggregate: {
      fields: config.aggregateFields,
      windowMs: config.windowSize * UNIT_MS[config.windowUnit],
      keyPath,
      maxKeys: config.maxKeys,
    },
  };
}

/**
 * A summary message is written in this order (windowMessage): the stats at the property,
 * the key at its path, msg.window, msg.privacy. Refuses paths that would not all be there:
 * a key inside the property goes into the stats object, so it must fit beside the fields.
 */
function checkSummaryPaths(
  property: PropertyPath,
  keyPath: PropertyPath | null,
  fields: readonly PropertyPath[],
): void {
  const fail = (a: string, b: string, why: string): never => {
    throw new ConfigError(`invalid config: ${a} and ${b} cannot both be in a summary: ${why}`);
  };
  const prop = `"property" (${property.text})`;
  const reserved = [
    { name: "msg.window", path: WINDOW_PATH },
    { name: "msg.privacy", path: PRIVACY_PATH },
  ];
  for (const r of reserved) {
    const why = pathsConflict(property, r.path);
    if (why !== null) fail(prop, r.name, why);
  }
  if (keyPath === null) return;
  const key = `"aggregateKey" (${keyPath.text})`;
  for (const r of reserved) {
    const why = pathsConflict(keyPath, r.path);
    if (why !== null) fail(key, r.name, why);
  }
  const p = property.segments;
  const inside = keyPath.segments.length > p.length && p.every((s, i) => s === keyPath.segments[i]);
  if (!inside) {
    const why = pathsConflict(property, keyPath);
    if (why !== null) fail(prop, key, why);
    return;
  }
  const rest = keyPath.segments.slice(p.length);
  const relative: PropertyPath = { text: keyPath.text, segments: rest, hasWildcard: false };
  for (const f of fields) {
    const why = pathsConflict(f, relative);
    if (why !== null) fail(`"aggregateFields" (${f.text})`, key, why);
  }
}

function configFrom(raw: unknown): { ok: true; config: NodeConfig; compiled: Compiled } | { ok: false; error: string } {
  const checked = validateConfig(schema, normalize((raw ?? {}) as Record<string, unknown>));
  if (!checked.ok) return { ok: false, error: checked.error };
  try {
    return { ok: true, config: checked.value, compiled: compileAll(checked.value) };
  } catch (e) {
    return { ok: false, error: errorText(e) };
  }
}

/** Runs minimization (and, when on, aggregation) for one message; shared with the preview. */
class Engine {
  readonly aggregator: Aggregator | null;

  constructor(
    private readonly id: string,
    private readonly compiled: Compiled,
    clock: Clock,
    onEmit: (msgs: NodeMessage[]) => void,
    onError: (err: unknown) => void,
  ) {
    const a = compiled.aggregate;
    this.aggregator =
      a === null
        ? null
        : new Aggregator({
            windowMs: a.windowMs,
            fields: a.fields,
            maxKeys: a.maxKeys,
            onTypeMismatch: compiled.plan.config.onTypeMismatch,
            clock,
            onEmit: (windows) => onEmit(this.windowMessages(windows)),
            onError,
          });
  }

  /** The minimized message, or (aggregating) the windows this message closed. */
  handle(msg: NodeMessage): NodeMessage | NodeMessage[] | null {
    const { plan } = this.compiled;
    const agg = this.aggregator;
    if (agg !== null && msg.flush !== undefined && msg.flush !== false) return this.windowMessages(agg.flushAll());
    const { msg: out, summary } = minimize(plan, msg);
    if (agg === null) {
      appendTrail(out, { type: TYPE, id: this.id, ...summary });
      return out;
    }
    const value = plan.propertyKeys.reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], out);
    const values = agg.read(value, `msg.${plan.config.property}`);
    const key = keyOf(msg, this.compiled.aggregate?.keyPath ?? null);
    return this.windowMessages(agg.add(key, values, trailOf(msg)));
  }

  windowMessages(windows: WindowResult[]): NodeMessage[] {
    const a = this.compiled.aggregate;
    if (a === null) return [];
    return windows.map(
      (w) =>
        windowMessage(w, {
          property: this.compiled.plan.property,
          keyPath: a.keyPath,
          entry: this.entry(w),
        }) as NodeMessage,
    );
  }

  private entry(w: WindowResult): TrailEntry {
    const a = this.compiled.aggregate;
    return {
      type: TYPE,
      id: this.id,
      mode: this.compiled.plan.config.mode,
      aggregated: {
        windowMs: a?.windowMs,
        messages: w.messages,
        fields: Array.from(w.fields.keys()),
        key: a?.keyPath?.text ?? null,
      },
    };
  }
}

/** Sends a list of messages on the one output; nothing for an empty list. */
function asOutput(out: NodeMessage | NodeMessage[] | null): NodeMessage | Array<NodeMessage[]> | null {
  if (out === null || !Array.isArray(out)) return out;
  return out.length === 0 ? null : [out];
}

interface PreviewRequest {
  body?: { config?: unknown; msg?: unknown };
}
interface PreviewResponse {
  status(code: number): PreviewResponse;
  json(body: unknown): void;
}

/** A clock for the preview: frozen, with no timers, so a sample folds into one window. */
const frozenClock = (): Clock => {
  const t = Date.now();
  return { now: () => t, setTimeout: () => undefined, clearTimeout: () => undefined };
};

function preview(body: PreviewRequest["body"]): { status: number; body: unknown } {
  if (
    !body ||
    typeof body !== "object" ||
    typeof body.msg !== "object" ||
    body.msg === null ||
    Array.isArray(body.msg)
  ) {
    return { status: 400, body: { ok: false, error: "send { config, msg } with msg a JSON object" } };
  }
  const c = configFrom(body.config);
  if (!c.ok) return { status: 200, body: { ok: false, error: c.error } };
  // the frozen clock never fires, so neither callback runs
  const engine = new Engine(
    "preview",
    c.compiled,
    frozenClock(),
    () => undefined,
    () => undefined,
  );
  try {
    const sample = body.msg as NodeMessage;
    if (engine.aggregator === null) return { status: 200, body: { ok: true, msg: engine.handle(sample) } };
    const single = minimize(c.compiled.plan, sample).msg;
    engine.handle(sample);
    return {
      status: 200,
      body: { ok: true, msg: single, windows: engine.windowMessages(engine.aggregator.flushAll()) },
    };
  } catch (e) {
    return { status: 200, body: { ok: false, error: errorText(e) } };
  }
}

export = function (RED: RedAPI) {
  function PrivacyMinimize(this: RedNode, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const rt: NodeRuntime<NodeConfig> | undefined = configure(node, schema, normalize(def));
    if (!rt) return;
    let compiled: Compiled;
    try {
      compiled = compileAll(rt.config);
    } catch (e) {
      failClosed(node, rt.status, errorText(e));
      return;
    }
    const metrics = new Metrics();
    const engine = new Engine(
      node.id,
      compiled,
      systemClock,
      (msgs) => {
        metrics.add("windows", msgs.length);
        rt.status.show(okStatus);
        if (msgs.length > 0) node.send([msgs]);
      },
      // a window closed by the timer has no message to fail: log it, show it, keep running
      (err) => {
        metrics.fail(err);
        node.error(`aggregation: windows could not be sent: ${errorText(err)}`);
        rt.status.showNow({ fill: "red", shape: "dot", text: shortText(errorText(err)) });
      },
    );
    const aggregating = engine.aggregator !== null;
    // okStatus runs at most a few times a second (the status reporter coalesces), so it
    // translates each time; English where the message catalogue is not loaded (the test helper).
    const statusText = (key: string, subs: Record<string, number>, english: string): string => {
      const text = RED._(`${TYPE}.status.${key}`, subs);
      return text === `${TYPE}.status.${key}` ? english : text;
    };
    const okStatus = () => {
      const n = metrics.get("in");
      const w = metrics.get("windows");
      const text = aggregating
        ? statusText("windows", { in: n, windows: w }, `${n} in, ${w} windows`)
        : statusText("minimized", { count: n }, `${n} minimized`);
      return { fill: "green" as const, shape: "dot" as const, text };
    };
    onInput(
      node,
      rt.status,
      (msg) => {
        const out = engine.handle(msg);
        metrics.add("in");
        if (Array.isArray(out)) metrics.add("windows", out.length);
        return asOutput(out);
      },
      { okStatus },
    );
    onClose(node, () => {
      const agg = engine.aggregator;
      if (agg === null) return;
      // Readings still in an open window leave now rather than being lost with the node.
      const rest = engine.windowMessages(agg.flushAll());
      agg.close();
      if (rest.length > 0) node.send([rest]);
    });
  }
  RED.nodes.registerType(TYPE, PrivacyMinimize);

  // The preview runs the same engine on a sample pasted in the editor, for users who
  // may change flows; without Node-RED's auth it is not offered at all.
  const auth = RED.auth;
  if (auth) {
    const permission = auth.needsPermission(`${TYPE}.write`);
    RED.httpAdmin.post(
      `/${TYPE}/preview`,
      (req, res, next) => permission(req, res, next ?? (() => undefined)),
      (req, res) => {
        const r = preview((req as PreviewRequest).body);
        (res as PreviewResponse).status(r.status).json(r.body);
      },
    );
  }
};
