/**
 * The audit's public face: a flows array (and what the runtime knows) in, a report
 * out. Pure and synchronous, so the editor can run it on every edit.
 */
import type { AuditOptions, AuditReport, Finding } from "./types";
import { buildGraph, label } from "./graph";
import { Contexts } from "./walk";
import { unprotectedPaths, minimizeRemoveToCloud } from "./paths";
import { unencryptedTransports } from "./transport";
import { plainSecrets } from "./secrets";
import { ownNodes } from "./own-nodes";
import { instanceFindings } from "./instance";
import { applyAcceptances, readAcceptances, rank, ENV_NAME, GLOBAL } from "./acceptance";

export function audit(flows: unknown, options: AuditOptions = {}): AuditReport {
  const g = buildGraph(flows);
  const ctxs = new Contexts(g);
  const facts = options.facts ?? {};
  const notes: string[] = [];
  const findings: Finding[] = [
    ...unprotectedPaths({ g, ctxs }),
    ...minimizeRemoveToCloud({ g, ctxs }),
    ...unencryptedTransports(g),
    ...plainSecrets(g),
    ...ownNodes(g, facts, notes),
    ...instanceFindings(g, facts.instance, notes),
  ];
  const { accepted, unreadable } = readAcceptances(g);
  for (const u of unreadable) {
    findings.push({
      id: `acceptances-unreadable:${u.holder.id}`,
      rule: "acceptances-unreadable",
      severity: "medium",
      title: `The accepted findings stored in ${label(u.holder)} cannot be read`,
      explanation:
        `The environment variable ${ENV_NAME} of ${label(u.holder)} is not a JSON object (${u.error}), so the ` +
        "findings accepted there are shown again.",
      nodes: [u.holder.id],
      fix: { text: `Correct or delete ${ENV_NAME} in its environment variables, then accept the findings again.` },
      dormant: false,
      anchor: u.storedIn === GLOBAL ? null : u.storedIn,
    });
  }
  const unusedAcceptances = applyAcceptances(findings, accepted, notes);
  findings.sort(
    (a, b) =>
      Number(a.dormant) - Number(b.dormant) ||
      rank(b.severity) - rank(a.severity) ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  if (g.skipped > 0) {
    notes.push(`${g.skipped} entr${g.skipped === 1 ? "y" : "ies"} of the flows had no id or type and were skipped.`);
  }
  return {
    findings,
    unusedAcceptances,
    notes,
    counts: {
      nodes: g.nodes.length,
      wires: g.wires,
      sources: g.nodes.filter((n) => n.cls.source !== null).length,
      sinks: g.nodes.filter((n) => n.cls.sink !== null).length,
    },
  };
}

/** Findings that should stop a CI job: high, active (not in disabled nodes), not accepted. */
export function blocking(report: AuditReport): Finding[] {
  return report.findings.filter((f) => f.severity === "high" && !f.dormant && !f.accepted);
}
