/**
 * The shapes the audit reads and reports. The engine is pure: a flows array (as in
 * flows.json or RED.nodes' export) and optional facts in, a report out. It runs in
 * Node (the `audit` command) and in the browser (the editor's privacy sidebar), so it
 * imports nothing from Node or Node-RED.
 */

/** One entry of a flows array: a tab, subflow, group, config node or flow node. */
export interface FlowObject {
  id: string;
  type: string;
  z?: string;
  d?: boolean;
  wires?: string[][];
  [key: string]: unknown;
}

export type Severity = "high" | "medium" | "low";
export const SEVERITIES: readonly Severity[] = ["high", "medium", "low"];

export type RuleId =
  | "unprotected-path"
  | "unencrypted-transport"
  | "plain-secret"
  | "keyring-passphrase"
  | "consent-purposes"
  | "minimize-remove-to-cloud"
  | "anonymize-key"
  | "instance-admin-auth"
  | "instance-credential-secret"
  | "instance-http-node-auth"
  | "instance-editor-https"
  | "acceptances-unreadable";

/** What an accepted finding carries: who decided what, when, and at which severity. */
export interface Acceptance {
  reason: string;
  /** ISO time of the decision. */
  at: string;
  /**
   * The severity when it was accepted: an acceptance holds only while the finding is
   * no more severe than that, so a LAN broker accepted as "low" that moves to a public
   * host (high) is shown again.
   */
  severity: Severity;
  /** Where it is stored: a tab id, or "global" (the global-config node's env). */
  storedIn: string;
}

export interface Finding {
  /** Stable across edits and restarts: the rule and the node ids it is about. */
  id: string;
  rule: RuleId;
  severity: Severity;
  /** One line, for lists. */
  title: string;
  /** Plain language: what happens and why it matters. */
  explanation: string;
  /** Node ids on its path (source first), or the nodes it is about. */
  nodes: string[];
  fix: {
    text: string;
    /** The node type whose help explains the fix (the sidebar links to it). */
    nodeType?: string;
  };
  /** Lives only in disabled nodes or tabs: it would apply if they were enabled. */
  dormant: boolean;
  /**
   * The tab whose env stores this finding's acceptance, or null for the global-config
   * node (findings about the instance, shared config nodes and subflow templates).
   */
  anchor: string | null;
  accepted?: Acceptance;
}

/** What the running Node-RED knows that flows.json does not. Every field is optional. */
export interface InstanceFacts {
  /** settings.adminAuth is set. */
  adminAuth?: boolean;
  /** credentialSecret: a string in settings, false (credentials unencrypted), or absent (generated). */
  credentialSecret?: "set" | "generated" | "disabled";
  /** The credentials file beside flows.json, when the command could read it. */
  credentialsFile?: "encrypted" | "plain" | "absent";
  /** settings.httpNodeAuth is set. */
  httpNodeAuth?: boolean;
  /** The editor: off (httpAdminRoot false / disableEditor) or where it listens. */
  editor?: {
    enabled: boolean;
    /** The address the editor listens on; "" or "0.0.0.0" or "::" is every interface. */
    host?: string;
    https: boolean;
  };
}

/**
 * How a keyring's passphrase compares with what the audit asks for, judged where the
 * credential is readable (the runtime, or the editor while it is being typed). Never
 * the passphrase, and not even its exact length.
 */
export type PassphraseJudgement = "too-short" | "short" | "ok" | "missing";

export interface AuditFacts {
  instance?: InstanceFacts;
  keyrings?: Record<string, { passphrase?: PassphraseJudgement }>;
}

export interface AuditOptions {
  facts?: AuditFacts;
}

export interface AuditReport {
  /** Every finding, accepted ones included (each with `accepted`), most severe first. */
  findings: Finding[];
  /** Acceptances whose finding no longer exists (fixed, or the nodes are gone). */
  unusedAcceptances: Array<{ id: string; storedIn: string }>;
  /** What could not be judged from what was given (never a finding). */
  notes: string[];
  counts: { nodes: number; wires: number; sources: number; sinks: number };
}
