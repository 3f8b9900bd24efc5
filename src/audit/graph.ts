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
      n.out = n.returns ? [] : [idList(o.links).map(resolve).filter((i): i is number => i !== undefined)];
      wires += n.out.flat().length;
      continue;
    }
    const w = Array.isArray(o.wires) ? o.wires : [];
    n.out = w.map((port) => idList(port).map(resolve).filter((i): i is number => i !== undefined));
    wires += n.out.reduce((s, p) => s + p.length, 0);
    if (n.type === "link call") {
      n.calls =
        o.linkType === "dynamic"
          ? linkIns.filter((l) => l.template === n.template).map((l) => l.idx)
          : idList(o.links).map(resolve).filter((i): i is number => i !== undefined);
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
    }
    else if (scope === "group") fed = (byZ.get(w.z) ?? []).filter((n) => n.obj.g !== undefined && n.obj.g === w.obj.g);
    else fed = byZ.get(w.z) ?? [];
    for (const n of fed) if (!QUIET.has(n.type)) n.watchers.push(w.idx);
  }
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
