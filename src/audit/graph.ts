/**
 * Reads a flows array into a graph the rules can walk: every flow node with its wires
 * (per output), link out -> link in, link call -> link in (and return), catch and
 * complete nodes fed by the nodes in their scope, junctions, subflow templates with
 * their inputs and outputs, and which nodes are disabled (their own flag, their tab's,
 * or, inside a subflow template, the template node's).
 *
 * Subflows are not copied per instance: a walk enters a template through an instance
 * and keeps the instance on a stack (see paths.ts), so nodes inside a template keep
 * their own ids and a message entering one instance never leaves by another.
 */
import type { FlowObject } from "./types";
import { classify, type Classification, type ConfigLookup } from "./catalogue";

export interface GNode {
  idx: number;
  id: string;
  type: string;
  obj: FlowObject;
  /** Tab or subflow template id ("" when missing). */
  z: string;
  /** The subflow template this node belongs to, or null on a tab. */
  template: string | null;
  disabled: boolean;
  /** Per output port, the nodes it feeds (after link out -> link in). */
  out: number[][];
  /** catch and complete nodes that receive this node's message on error or completion. */
  watchers: number[];
  /** A subflow instance: its template id. */
  instanceOf: string | null;
  /** A link call: the link in nodes it may call. */
  calls: number[] | null;
  /** A link out in return mode. */
  returns: boolean;
  /** Nodes that read what this node writes to flow or global context (they start messages with it). */
  contextTo: number[];
  cls: Classification;
}

export interface Template {
  id: string;
  obj: FlowObject;
  /** Nodes fed by the subflow's input. */
  inputs: number[];
  /** Node idx -> the subflow outputs its ports feed: [port, output index]. */
  exits: Map<number, Array<[number, number]>>;
  /** Outputs wired straight from the subflow's input. */
  passthrough: number[];
  /** Instances of this template: node idx. */
  instances: number[];
}

export interface Graph {
  byId: Map<string, FlowObject>;
  tabs: Map<string, FlowObject>;
  templates: Map<string, Template>;
  nodes: GNode[];
  index: Map<string, number>;
  config: ConfigLookup;
  wires: number;
  /** Objects left out: no id or type, or not an object at all. */
  skipped: number;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function asFlowObject(v: unknown): FlowObject | null {
  if (!isObj(v) || typeof v.id !== "string" || typeof v.type !== "string") return null;
  return v as FlowObject;
}

/** Accepts a flows array, or the `{ flows: [...], rev }` shape of the admin API. */
export function flowsArray(input: unknown): unknown[] {
  if (Array.isArray(input)) return input;
  if (isObj(input) && Array.isArray(input.flows)) return input.flows;
  throw new TypeError("flows must be an array of nodes (flows.json) or { flows: [...] }");
}

function idList(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

export function buildGraph(input: unknown): Graph {
  const list = flowsArray(input);
  const byId = new Map<string, FlowObject>();
  const tabs = new Map<string, FlowObject>();
  const subflows = new Map<string, FlowObject>();
  const flowObjs: FlowObject[] = [];
  let skipped = 0;
  for (const raw of list) {
    const o = asFlowObject(raw);
    if (!o) {
      skipped++;
      continue;
    }
    byId.set(o.id, o);
    if (o.type === "tab") tabs.set(o.id, o);
    else if (o.type === "subflow") subflows.set(o.id, o);
    // A flow node has wires (link out and debug have empty ones); config nodes, groups and tabs have none.
    else if (Array.isArray(o.wires) || o.type === "junction" || o.type === "link out") flowObjs.push(o);
  }
  const config: ConfigLookup = (id) => (typeof id === "string" && id !== "" ? byId.get(id) : undefined);

  const nodes: GNode[] = [];
  const index = new Map<string, number>();
  for (const o of flowObjs) {
    const z = typeof o.z === "string" ? o.z : "";
    const template = subflows.has(z) ? z : null;
    const tab = tabs.get(z);
    const disabled = o.d === true || (tab !== undefined && tab.disabled === true);
    const idx = nodes.length;
    index.set(o.id, idx);
    nodes.push({
      idx,
      id: o.id,
      type: o.type,
      obj: o,
      z,
      template,
      disabled,
      out: [],
      watchers: [],
      instanceOf: o.type.startsWith("subflow:") ? o.type.slice("subflow:".length) : null,
      calls: null,
      returns: o.type === "link out" && o.mode === "return",
      contextTo: [],
      cls: classify(o, config),
    });
  }
  // Link targets in a subflow are in the same template; elsewhere anywhere on the tabs.
  const resolve = (id: string): number | undefined => index.get(id);
  let wires = 0;
  const linkIns = nodes.filter((n) => n.type === "link in");
  for (const n of nodes) {
    const o = n.obj;
    if (n.type === "link out") {
      n.out = n.returns
        ? []
        : [
            idList(o.links)
              .map(resolve)
              .filter((i): i is number => i !== undefined),
          ];
      wires += n.out.flat().length;
      continue;
    }
    const w = Array.isArray(o.wires) ? o.wires : [];
    n.out = w.map((port) =>
      idList(port)
        .map(resolve)
        .filter((i): i is number => i !== undefined),
    );
    wires += n.out.reduce((s, p) => s + p.length, 0);
    if (n.type === "link call") {
      n.calls =
        o.linkType === "dynamic"
          ? linkIns.filter((l) => l.template === n.template).map((l) => l.idx)
          : idList(o.links)
              .map(resolve)
              .filter((i): i is number => i !== undefined);
    }
  }
  // catch and complete: every node in scope feeds them (the message they get is the
  // one the failing or finishing node received).
  const byZ = new Map<string, GNode[]>();
  for (const n of nodes) {
    const l = byZ.get(n.z);
    if (l) l.push(n);
    else byZ.set(n.z, [n]);
  }
  const QUIET = new Set(["catch", "complete", "status", "comment", "junction", "link in", "link out"]);
  for (const w of nodes) {
    if (w.type !== "catch" && w.type !== "complete") continue;
    const scope = w.obj.scope;
    let fed: GNode[];
    if (Array.isArray(scope)) {
      fed = idList(scope)
        .map(resolve)
        .filter((i): i is number => i !== undefined)
        .map((i) => nodes[i]);
    } else if (scope === "group")
      fed = (byZ.get(w.z) ?? []).filter((n) => n.obj.g !== undefined && n.obj.g === w.obj.g);
    else fed = byZ.get(w.z) ?? [];
    for (const n of fed) if (!QUIET.has(n.type)) n.watchers.push(w.idx);
  }
  linkContext(nodes);
  const templates = new Map<string, Template>();
  for (const [id, sf] of subflows) {
    const ins = Array.isArray(sf.in) ? sf.in : [];
    const inputs: number[] = [];
    for (const port of ins) {
      if (!isObj(port)) continue;
      for (const t of Array.isArray(port.wires) ? port.wires : []) {
        const i = isObj(t) && typeof t.id === "string" ? resolve(t.id) : undefined;
        if (i !== undefined) inputs.push(i);
      }
    }
    const exits = new Map<number, Array<[number, number]>>();
    const passthrough: number[] = [];
    const outs = Array.isArray(sf.out) ? sf.out : [];
    outs.forEach((port, k) => {
      if (!isObj(port)) return;
      for (const t of Array.isArray(port.wires) ? port.wires : []) {
        if (!isObj(t) || typeof t.id !== "string") continue;
        if (t.id === id) {
          passthrough.push(k);
          continue;
        }
        const i = resolve(t.id);
        if (i === undefined) continue;
        const p = typeof t.port === "number" ? t.port : 0;
        const l = exits.get(i);
        if (l) l.push([p, k]);
        else exits.set(i, [[p, k]]);
      }
    });
    templates.set(id, { id, obj: sf, inputs, exits, passthrough, instances: [] });
  }
  for (const n of nodes) if (n.instanceOf) templates.get(n.instanceOf)?.instances.push(n.idx);
  return { byId, tabs, templates, nodes, index, config, wires, skipped };
}

// ------------------------------------------------------------------ context

interface ContextRef {
  scope: "flow" | "global";
  /** The top-level key ("energy" for "energy.today"); "" when the code computes it. */
  key: string;
}

const CONTEXT_SCOPES = new Set(["flow", "global"]);

/** "#:(file)::energy.today" -> "energy". */
function contextKey(raw: string): string {
  const k = raw.replace(/^#:\([^)]*\)::/, "").trim();
  return k.split(/[.[]/, 1)[0];
}

function codeRefs(code: string, op: "set" | "get"): ContextRef[] {
  const out: ContextRef[] = [];
  const re = new RegExp(`\\b(flow|global)\\.${op}\\(\\s*(?:(["'\`])([^"'\`\\n]{1,200})\\2|[^)\\s])`, "g");
  for (const m of code.matchAll(re)) {
    out.push({ scope: m[1] as ContextRef["scope"], key: m[3] ? contextKey(m[3]) : "" });
  }
  return out;
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

/**
 * What a node writes to and reads from flow and global context. A function's
 * flow.set("x", ...) and a change rule setting flow.x from the message write the
 * message's data there; a function's flow.get, a change rule's "to" of type flow, an
 * inject property of type flow, and {{flow.x}} in a template read it into a new message.
 */
function contextRefs(o: FlowObject): { writes: ContextRef[]; reads: ContextRef[] } {
  const writes: ContextRef[] = [];
  const reads: ContextRef[] = [];
  const ref = (scope: unknown, key: unknown): ContextRef | null =>
    typeof scope === "string" && CONTEXT_SCOPES.has(scope)
      ? { scope: scope as ContextRef["scope"], key: contextKey(str(key)) }
      : null;
  if (o.type === "function") {
    const code = `${str(o.func)}\n${str(o.initialize)}`;
    writes.push(...codeRefs(code, "set"));
    reads.push(...codeRefs(code, "get"));
  } else if (o.type === "change" && Array.isArray(o.rules)) {
    for (const r of o.rules) {
      if (typeof r !== "object" || r === null) continue;
      const rule = r as Record<string, unknown>;
      if (rule.t === "set" || rule.t === "change") {
        // Setting context from a constant writes no message data.
        const w = rule.tot === "str" || rule.tot === "num" || rule.tot === "bool" ? null : ref(rule.pt, rule.p);
        if (w) writes.push(w);
        const rd = ref(rule.tot, rule.to);
        if (rd) reads.push(rd);
      } else if (rule.t === "move") {
        const rd = ref(rule.pt, rule.p);
        if (rd) reads.push(rd);
        const w = ref(rule.tot, rule.to);
        if (w) writes.push(w);
      }
    }
  } else if (o.type === "inject") {
    for (const p of Array.isArray(o.props) ? o.props : []) {
      if (typeof p !== "object" || p === null) continue;
      const prop = p as Record<string, unknown>;
      const v = prop.p === "payload" && prop.v === undefined ? o.payload : prop.v;
      const vt = prop.p === "payload" && prop.vt === undefined ? o.payloadType : prop.vt;
      const rd = ref(vt, v);
      if (rd) reads.push(rd);
    }
  } else if (o.type === "template") {
    for (const m of str(o.template).matchAll(/\{\{\{?\s*(flow|global)\.([\w$]+)/g))
      reads.push(ref(m[1], m[2]) as ContextRef);
  }
  return { writes, reads };
}

/** Writer -> reader edges through context (flow: same tab; subflow templates are left out). */
function linkContext(nodes: GNode[]): void {
  const refs = nodes.map((n) => (n.template === null ? contextRefs(n.obj) : { writes: [], reads: [] }));
  const readers = nodes.filter((n) => refs[n.idx].reads.length > 0);
  if (readers.length === 0) return;
  for (const w of nodes) {
    for (const wr of refs[w.idx].writes) {
      for (const r of readers) {
        if (r === w || w.contextTo.includes(r.idx)) continue;
        const hit = refs[r.idx].reads.some(
          (rd) =>
            rd.scope === wr.scope &&
            (wr.scope === "global" || r.z === w.z) &&
            (!rd.key || !wr.key || rd.key === wr.key),
        );
        if (hit) w.contextTo.push(r.idx);
      }
    }
  }
}

/** The tab a node lives on, or null inside a subflow template or for a global config node. */
export function tabOf(g: Graph, id: string): string | null {
  const o = g.byId.get(id);
  if (!o) return null;
  if (o.type === "tab") return o.id;
  const z = typeof o.z === "string" ? o.z : "";
  return g.tabs.has(z) ? z : null;
}

/** A readable name for a node: its name, or its type and id. */
export function label(o: FlowObject | undefined): string {
  if (!o) return "a node that is missing";
  const name =
    typeof o.name === "string" && o.name.trim() !== "" ? o.name.trim() : typeof o.label === "string" ? o.label : "";
  return name ? `"${name}" (${o.type})` : `${o.type} [${o.id}]`;
}
