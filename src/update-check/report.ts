/**
 * The update check's report and its status text. A check that fails keeps showing the
 * last good results, marked stale, so an offline evening never reads as "all fine" nor
 * wipes what was known.
 */
import type { NodeStatus } from "../core/status";
import type { Failure, NodeRedResult } from "./npm-check";
import type { DeviceReport, DeviceSummary } from "./firmware-manifest";

export type CheckKind = "node-red" | "devices";
export type ReportFields = Record<string, unknown>;

export interface Report {
  kind: CheckKind;
  checkedAt: string;
  /** Every part of this check answered correctly. */
  ok: boolean;
  /** The result fields below come from the last good check, not this one. */
  stale: boolean;
  lastOkAt: string | null;
  failures: Failure[];
  [field: string]: unknown;
}

/** Answers that arrived but cannot be a manifest: rejected, not "offline". */
export const BAD_ANSWERS: ReadonlySet<string> = new Set(["too-large", "bad-json"]);

export function ago(ms: number): string {
  const m = Math.floor(ms / 60000);
  if (m < 1) return "just now";
  if (m < 60) return `${m}m ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ago`;
  return `${Math.floor(h / 24)}d ago`;
}

/** A failure reason in a few words for the status. */
export function shortReason(reason: string): string {
  if (reason === "timeout" || reason === "network" || reason === "aborted") return "offline";
  if (reason.startsWith("http-")) return `HTTP ${reason.slice(5)}`;
  if (reason === "bad-json") return "bad answer";
  if (reason === "too-large") return "answer too large";
  return reason;
}

/** Builds reports for one node and remembers its last good results. */
export class ReportBook {
  private lastGood: { at: number; fields: ReportFields } | undefined;

  constructor(private readonly kind: CheckKind) {}

  /**
   * `good`: this check produced real results, which become the last good ones. Otherwise
   * the last good results (if any) are shown, marked stale, and `fresh` (e.g. "unknown"
   * statuses) only when there are none.
   */
  report(fresh: ReportFields | null, failures: Failure[], good: boolean, now: number): Report {
    const base = { kind: this.kind, checkedAt: new Date(now).toISOString(), ok: failures.length === 0 };
    if (fresh && good) {
      this.lastGood = { at: now, fields: fresh };
      return { ...base, stale: false, lastOkAt: base.checkedAt, failures, ...fresh };
    }
    const last = this.lastGood;
    const lastOkAt = last ? new Date(last.at).toISOString() : null;
    if (last) return { ...base, stale: true, lastOkAt, failures, ...last.fields };
    return { ...base, stale: false, lastOkAt, failures, ...(fresh ?? {}) };
  }

  sinceLastOk(now: number): string {
    return this.lastGood ? `last ok ${ago(now - this.lastGood.at)}` : "never ok";
  }
}

/** Status of a check of this Node-RED that got answers. */
export function nodeRedStatus(s: NodeRedResult["summary"], failures: readonly Failure[]): NodeStatus {
  const parts: string[] = [];
  if (s.vulnerable) parts.push(`${s.vulnerable} vulnerable`);
  if (s.updatesAvailable) parts.push(`${s.updatesAvailable} update${s.updatesAvailable > 1 ? "s" : ""}`);
  if (s.advisories === "unavailable") parts.push("advisories unavailable");
  else if (failures.length > 0) parts.push(`${failures.length} failed`);
  const fill = s.vulnerable
    ? "red"
    : s.advisories === "unavailable" || failures.length > 0
      ? "yellow"
      : s.updatesAvailable
        ? "blue"
        : "green";
  return {
    fill,
    shape: fill === "yellow" ? "ring" : "dot",
    text: parts.length ? parts.join(", ") : `up to date (${s.checked})`,
  };
}

export function deviceStatus(devices: readonly DeviceReport[], s: DeviceSummary): NodeStatus {
  const parts: string[] = [];
  if (s["security-update-required"]) parts.push(`${s["security-update-required"]} insecure`);
  if (s["end-of-support"]) parts.push(`${s["end-of-support"]} end of support`);
  if (s["update-available"]) parts.push(`${s["update-available"]} update${s["update-available"] > 1 ? "s" : ""}`);
  if (s["unknown-model"]) parts.push(`${s["unknown-model"]} unknown`);
  const fill = s["security-update-required"]
    ? "red"
    : s["end-of-support"] || s["unknown-model"]
      ? "yellow"
      : s["update-available"]
        ? "blue"
        : "green";
  return { fill, shape: "dot", text: parts.length ? parts.join(", ") : `${devices.length} up to date` };
}
