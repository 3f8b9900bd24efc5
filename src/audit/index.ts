/**
 * The privacy audit engine (free of Node and Node-RED): scripts/build.js also bundles
 * this module for the browser, where the editor's sidebar runs it on every edit.
 */
export { audit, blocking } from "./audit";
export { acceptInFlows, withAcceptance, storePlace, checkReason, ENV_NAME, GLOBAL, MAX_REASON } from "./acceptance";
export { PASSPHRASE_MIN, PASSPHRASE_GOOD } from "./own-nodes";
export { classifyHost, parseEndpoint } from "./hosts";
export { instanceFacts, judgePassphrase } from "./settings-facts";
export { CATALOGUE, PROTECTIVE, FIX_TYPES, entryFor } from "./catalogue";
export { SEVERITIES } from "./types";
export type {
  AuditReport,
  AuditOptions,
  AuditFacts,
  InstanceFacts,
  Finding,
  Severity,
  RuleId,
  Acceptance,
  FlowObject,
} from "./types";
