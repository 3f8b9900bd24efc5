/**
 * Unprotected paths: from each node that brings in data about people or homes to each
 * node that sends it out or stores it, crossing no consent gate (its first output),
 * minimize, anonymize or encrypt node (an encrypt undone by a decrypt does not count).
 * One finding per source and sink, with the shortest such path. Paths that only exist
 * through disabled nodes or tabs are reported as dormant.
 */
import type { Finding, Severity } from "./types";
import { label, tabOf, type Graph, type GNode } from "./graph";
import { Contexts, walkFrom, type Enc, type WalkPolicy } from "./walk";
import type { SinkClass, SinkInfo } from "./catalogue";

function protectTransfer(n: GNode, enc: Enc, port: number): Enc | null {
  switch (n.cls.protection) {
    case "gate":
      // Output 1 carries consented messages; output 2 the blocked ones, untouched.
      return port === 0 ? null : enc;
    case "minimize":
    case "anonymize":
      return null;
    case "encrypt":
      return 1;
    case "decrypt":
      return 0;
    default:
      return n.cls.flow === "block" ? null : enc;
  }
}

const SEVERITY: Record<SinkClass, Severity> = { public: "high", unknown: "medium", lan: "low", storage: "low" };

const WHY: Record<SinkClass, string> = {
  public: "It leaves your house: whoever runs that service, and anyone who breaks into it, can read and keep it.",
  unknown: "Where it goes is set by the message, so nothing in the flow shows that it stays at home.",
  lan: "It leaves this machine: anything on your network that can reach that host can read it.",
  storage: "It is kept in plain form: anyone with a copy of that disk or a backup of it can read the history.",
};

export interface PathContext {
  g: Graph;
  ctxs: Contexts;
}

/** The key of a node in a context: the instances it runs in, then its id. */
function keyOf(c: PathContext, n: GNode, ctx: number): string {
  return [...c.ctxs.instancePath(ctx), n.id].join("/");
}

/** The tab that holds what a person sees of a node: its own, or its outermost instance's. */
function visibleTab(c: PathContext, n: GNode, ctx: number): string | null {
  const inst = c.ctxs.instancePath(ctx);
  return tabOf(c.g, inst.length > 0 ? inst[0] : n.id);
}

function pathIds(c: PathContext, path: number[]): string[] {
  const ids: string[] = [];
  for (const i of path) {
    const id = c.g.nodes[i].id;
    if (ids[ids.length - 1] !== id) ids.push(id);
  }
  return ids;
}

function fixType(sink: SinkInfo): string {
  return sink.cls === "storage" ? "privacy-encrypt" : "privacy-minimize";
}

export function unprotectedPaths(c: PathContext): Finding[] {
  const found = new Map<string, Finding>();
  // Sources (in a context) whose active walk left a disabled node out: only their walk
  // through disabled nodes can find dormant paths (most flows have none: one pass).
  const again = new Set<string>();
  for (const includeDisabled of [false, true]) {
    const policy: WalkPolicy = { includeDisabled, transfer: protectTransfer };
    for (const src of c.g.nodes) {
      const info = src.cls.source;
      if (!info) continue;
      for (const sctx of c.ctxs.forNode(src)) {
        const srcKey = keyOf(c, src, sctx);
        const off = src.disabled || c.ctxs.disabled[sctx];
        if (!includeDisabled && off) {
          again.add(srcKey);
          continue;
        }
        if (includeDisabled && !again.has(srcKey)) continue;
        const stopped = walkFrom(c.g, c.ctxs, src, sctx, policy, (r) => {
          const sink = r.node.cls.sink;
          if (!sink || r.enc !== 0 || (info.origin !== undefined && info.origin === sink.key)) return;
          const id = `unprotected-path:${srcKey}>${keyOf(c, r.node, r.ctx)}`;
          if (found.has(id)) return;
          const nodes = pathIds(c, r.path());
          const srcName = label(src.obj);
          const sinkName = label(r.node.obj);
          found.set(id, {
            id,
            rule: "unprotected-path",
            severity: SEVERITY[sink.cls],
            title: `${srcName} reaches ${sink.where} unprotected`,
            explanation:
              `${srcName} brings in ${info.what}. They reach ${sinkName} (${sink.where})${via(nodes)} without ` +
              `passing a consent gate, a minimize, an anonymize or an encrypt node. ${WHY[sink.cls]}`,
            nodes,
            fix: {
              text:
                `Between ${srcName} and ${sinkName}, add what fits: a consent gate if the people concerned must ` +
                "agree, a minimize that keeps only the fields the destination needs, an anonymize that puts " +
                "pseudonyms in " +
                "place of names, e-mail and MAC addresses, or an encrypt node if only you should read it.",
              nodeType: fixType(sink),
            },
            dormant: includeDisabled,
            anchor: visibleTab(c, r.node, r.ctx) ?? visibleTab(c, src, sctx),
          });
        });
        if (stopped) again.add(srcKey);
      }
    }
  }
  return [...found.values()];
}

function fieldsTransfer(n: GNode, enc: Enc): Enc | null {
  if (n.cls.protection === "encrypt") return 1;
  if (n.cls.protection === "decrypt") return 0;
  if (n.cls.protection === "minimize" && n.obj.mode !== "remove") return null;
  return n.cls.flow === "block" ? null : enc;
}

/**
 * A minimize in remove mode lets every field it does not name through, including the
 * ones a device firmware adds next year. Where its output reaches a cloud sink in
 * clear (no keep-mode minimize or encrypt after it), keep mode is the safer choice.
 */
export function minimizeRemoveToCloud(c: PathContext): Finding[] {
  const out: Finding[] = [];
  for (const m of c.g.nodes) {
    if (m.type !== "privacy-minimize" || m.obj.mode !== "remove") continue;
    let hit: { node: GNode; path: number[] } | null = null;
    let dormant = m.disabled;
    for (const includeDisabled of [false, true]) {
      const policy: WalkPolicy = { includeDisabled, transfer: fieldsTransfer };
      for (const ctx of c.ctxs.forNode(m)) {
        walkFrom(c.g, c.ctxs, m, ctx, policy, (r) => {
          if (hit === null && r.enc === 0 && r.node.cls.sink?.cls === "public") hit = { node: r.node, path: r.path() };
        });
        if (hit) break;
      }
      if (hit) {
        dormant = dormant || includeDisabled;
        break;
      }
    }
    const h = hit as { node: GNode; path: number[] } | null;
    if (!h) continue;
    const sink = h.node.cls.sink as SinkInfo;
    out.push({
      id: `minimize-remove-to-cloud:${m.id}`,
      rule: "minimize-remove-to-cloud",
      severity: "medium",
      title: `${label(m.obj)} removes fields but lets the rest reach ${sink.where}`,
      explanation:
        `${label(m.obj)} is in remove mode: it takes out the fields it lists and lets every other field through, ` +
        `and its output reaches ${label(h.node.obj)} (${sink.where}). A field a device or an integration adds ` +
        "later (a location, a name, a MAC address) would go to the cloud without anyone deciding it should.",
      nodes: pathIds(c, h.path),
      fix: {
        text: `Switch ${label(m.obj)} to keep mode and list only the fields ${sink.where} needs.`,
        nodeType: "privacy-minimize",
      },
      dormant,
      anchor: tabOf(c.g, m.id),
    });
  }
  return out;
}

function via(nodes: string[]): string {
  const n = nodes.length - 2;
  return n <= 0 ? "" : ` through ${n} node${n === 1 ? "" : "s"}`;
}
