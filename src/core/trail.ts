/**
 * The `msg.privacy.trail`: one entry per privacy node a message passed, so a flow can
 * show (and a gate can require) what was done to it. Entries hold names and counts,
 * never the values that were protected.
 */
import { isPlainObject } from "./objects";

export interface TrailEntry {
  /** Node type, e.g. "privacy-minimize". */
  type: string;
  /** Node id, so the entry can be traced back to the node in the editor. */
  id: string;
  [summary: string]: unknown;
}

export interface PrivacyInfo {
  trail: TrailEntry[];
  [key: string]: unknown;
}

export class TrailError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TrailError";
  }
}

/**
 * Returns `msg.privacy`, creating it (and its trail) when missing. A `msg.privacy`
 * that is not an object, or a trail that is not an array, is refused rather than
 * overwritten: it may be evidence another node relies on.
 */
export function privacyOf(msg: Record<string, unknown>): PrivacyInfo {
  const existing = Object.prototype.hasOwnProperty.call(msg, "privacy") ? msg.privacy : undefined;
  if (existing === undefined || existing === null) {
    const fresh: PrivacyInfo = { trail: [] };
    msg.privacy = fresh;
    return fresh;
  }
  if (!isPlainObject(existing)) throw new TrailError("msg.privacy must be an object");
  const trail = Object.prototype.hasOwnProperty.call(existing, "trail") ? existing.trail : undefined;
  if (trail === undefined || trail === null) existing.trail = [];
  else if (!Array.isArray(trail)) throw new TrailError("msg.privacy.trail must be an array");
  return existing as PrivacyInfo;
}

/** Appends one entry to the message's trail. */
export function appendTrail(msg: Record<string, unknown>, entry: TrailEntry): void {
  privacyOf(msg).trail.push(entry);
}

/** The entries of a message's trail (empty when there is none or it is malformed). */
export function trailOf(msg: Record<string, unknown>): readonly TrailEntry[] {
  const p = msg.privacy;
  if (!isPlainObject(p) || !Array.isArray(p.trail)) return [];
  return p.trail as TrailEntry[];
}
