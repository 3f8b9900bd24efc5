/**
 * Walks messages through the graph the way Node-RED delivers them. A state is a node
 * reached (at its input), the stack of subflow instances and link calls the message is
 * in, and whether it is encrypted (a decrypt node later makes it plain again).
 *
 * The stack is what keeps the walk honest: a message entering a subflow through one
 * instance leaves through that instance's outputs, and a link out in return mode
 * answers the link call that sent the message, not every link call in the house.
 * Stacks deeper than MAX_DEPTH (a routine that calls itself) stop the walk there.
 */
import type { Graph, GNode } from "./graph";

export const MAX_DEPTH = 16;
export type Enc = 0 | 1;
type Kind = "" | "sf" | "call";

/** Interned stacks: 0 is the top level; each other is a parent and one frame. */
export class Contexts {
  readonly parent: number[] = [-1];
  readonly frame: number[] = [-1];
  readonly kind: Kind[] = [""];
  readonly depth: number[] = [0];
  /** Any frame disabled: a disabled subflow instance or link call runs nothing. */
  readonly disabled: boolean[] = [false];
  private readonly ids = new Map<string, number>();
  private readonly templateContexts = new Map<string, number[]>();

  constructor(private readonly g: Graph) {}

  push(ctx: number, frame: number, kind: Kind): number | null {
    if (this.depth[ctx] >= MAX_DEPTH) return null;
    const key = `${ctx},${frame}`;
    let c = this.ids.get(key);
    if (c === undefined) {
      c = this.parent.length;
      this.parent.push(ctx);
      this.frame.push(frame);
      this.kind.push(kind);
      this.depth.push(this.depth[ctx] + 1);
      this.disabled.push(this.disabled[ctx] || this.g.nodes[frame].disabled);
      this.ids.set(key, c);
    }
    return c;
  }

  /** The subflow instances (outermost first) a context runs in, as node ids. */
  instancePath(ctx: number): string[] {
    const out: string[] = [];
    for (let c = ctx; c > 0; c = this.parent[c]) if (this.kind[c] === "sf") out.push(this.g.nodes[this.frame[c]].id);
    return out.reverse();
  }

  /** Every stack a node of this template runs under (one per instance, nested ones too). */
  forNode(n: GNode): number[] {
    if (n.template === null) return [0];
    return this.forTemplate(n.template, new Set());
  }

  private forTemplate(id: string, seen: Set<string>): number[] {
    const known = this.templateContexts.get(id);
    if (known) return known;
    if (seen.has(id)) return [];
    seen.add(id);
    const out: number[] = [];
    const t = this.g.templates.get(id);
    for (const i of t ? t.instances : []) {
      const inst = this.g.nodes[i];
      const parents = inst.template === null ? [0] : this.forTemplate(inst.template, seen);
      for (const p of parents) {
        const c = this.push(p, i, "sf");
        if (c !== null) out.push(c);
      }
    }
    this.templateContexts.set(id, out);
    return out;
  }
}

export interface WalkPolicy {
  /** Walk into disabled nodes, tabs, instances (for dormant findings). */
  includeDisabled: boolean;
  /** What leaves a node on a port given the state it came in with; null: nothing. */
  transfer(n: GNode, enc: Enc, port: number): Enc | null;
}

export interface Reached {
  node: GNode;
  ctx: number;
  enc: Enc;
  /** Node indices from the start to here (start included). */
  path(): number[];
}

/**
 * Breadth-first from one node's outputs (the start itself is not entered), so the
 * first time a node is reached is by a shortest route. `visit` sees every state once.
 * Returns whether a disabled node or instance was left out on the way.
 */
export function walkFrom(
  g: Graph,
  ctxs: Contexts,
  start: GNode,
  startCtx: number,
  policy: WalkPolicy,
  visit: (r: Reached) => void,
): boolean {
  const N = g.nodes.length;
  const nodes = g.nodes;
  const parentOf = new Map<number, number>();
  const queue: number[] = [];
  const startKey = -1;
  // Whether a disabled node or instance stopped the walk somewhere: only then can a
  // walk that includes them find more.
  let stopped = false;
  const arrive = (ctx: number, t: number, enc: Enc, from: number): void => {
    if (!policy.includeDisabled && (nodes[t].disabled || ctxs.disabled[ctx])) {
      stopped = true;
      return;
    }
    const key = (ctx * N + t) * 2 + enc;
    if (parentOf.has(key)) return;
    parentOf.set(key, from);
    queue.push(key);
  };
  const emit = (ctx: number, n: GNode, enc: Enc, from: number): void => {
    for (let p = 0; p < n.out.length; p++) {
      const e = policy.transfer(n, enc, p);
      if (e === null) continue;
      for (const t of n.out[p]) arrive(ctx, t, e, from);
    }
    if (n.template === null) return;
    const exits = g.templates.get(n.template)?.exits.get(n.idx);
    if (!exits) return;
    // Leaving a subflow: back to the nearest instance on the stack (a link call
    // waiting inside the template never gets its answer).
    let c = ctx;
    while (c > 0 && ctxs.kind[c] !== "sf") c = ctxs.parent[c];
    if (c <= 0) return;
    const inst = nodes[ctxs.frame[c]];
    for (const [port, k] of exits) {
      const e = policy.transfer(n, enc, port);
      if (e === null) continue;
      for (const t of inst.out[k] ?? []) arrive(ctxs.parent[c], t, e, from);
    }
  };
  const pathOf = (key: number): number[] => {
    const out: number[] = [];
    for (let k = key; k !== startKey; k = parentOf.get(k) ?? startKey) out.push(Math.floor(k / 2) % N);
    out.push(start.idx);
    return out.reverse();
  };

  emit(startCtx, start, 0, startKey);
  for (let qi = 0; qi < queue.length; qi++) {
    const key = queue[qi];
    const enc = (key % 2) as Enc;
    const idx = Math.floor(key / 2) % N;
    const ctx = Math.floor(key / 2 / N);
    const n = nodes[idx];
    visit({ node: n, ctx, enc, path: () => pathOf(key) });
    for (const w of n.watchers) arrive(ctx, w, enc, key);
    // What it stores in context, as it came in, is read back later by another node that
    // starts a message of its own (outside any link call: only nodes on tabs take part).
    for (const r of n.contextTo) arrive(0, r, enc, key);
    if (n.instanceOf !== null) {
      const t = g.templates.get(n.instanceOf);
      if (!t) continue;
      const inner = ctxs.push(ctx, idx, "sf");
      if (inner !== null) for (const i of t.inputs) arrive(inner, i, enc, key);
      for (const k of t.passthrough) for (const x of n.out[k] ?? []) arrive(ctx, x, enc, key);
      continue;
    }
    if (n.calls !== null) {
      const inner = ctxs.push(ctx, idx, "call");
      if (inner !== null) for (const i of n.calls) arrive(inner, i, enc, key);
      continue;
    }
    if (n.returns) {
      if (ctxs.kind[ctx] !== "call") continue;
      const caller = nodes[ctxs.frame[ctx]];
      for (const x of caller.out[0] ?? []) arrive(ctxs.parent[ctx], x, enc, key);
      continue;
    }
    emit(ctx, n, enc, key);
  }
  return stopped;
}
