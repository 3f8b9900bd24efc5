/**
 * Privacy budgets: how much epsilon (and delta) noise rules may spend on one subject for
 * one purpose in one period (a UTC day, week from Monday, or month). A budget is named,
 * and the name is the budget: every node of a runtime that names it spends from the same
 * ledger (shareLedger), so a copied node or a second node in the flow adds up with the
 * first instead of starting afresh. Nodes that name one budget must define it alike.
 *
 * Composition is basic (sequential) composition: k releases at (eps_i, delta_i) cost
 * (sum eps_i, sum delta_i). Amounts are counted as integers (epsilon in 1e-9, delta in
 * 1e-15 units, charges rounded up, capacities down), so sums never drift and a budget
 * is never overspent by rounding. A spend is checked and recorded in one synchronous
 * step, so messages handled concurrently cannot both take the last of a budget.
 *
 * Subjects are kept as HMAC-SHA256(file salt, subject), never as given: the file and
 * the trail hold no subject. The ledger is saved whole with the shared atomic writer;
 * saves are coalesced (one write covers every spend made while the previous one ran)
 * and a message leaves only after the write that holds its spend.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { createHmac, randomBytes } from "node:crypto";
import { writeFileAtomic } from "../core/atomic-file";

export type BudgetPeriod = "day" | "week" | "month";

export interface BudgetDef {
  name: string;
  /** What the budget is for (defaults to its name); spending is per subject and purpose. */
  purpose: string;
  epsilon: number;
  /** 0 for pure epsilon-DP rules only. */
  delta: number;
  period: BudgetPeriod;
  /** When spent: fail the message ("error") or drop the noised field ("drop"). */
  onSpent: "error" | "drop";
}

const EPS_UNIT = 1e9;
const DELTA_UNIT = 1e15;
/** Subjects tracked per budget and period; more is refused rather than growing without bound. */
export const MAX_SUBJECTS = 100_000;

const charge = (x: number, unit: number): number => Math.ceil(x * unit - 1e-6);
const capacity = (x: number, unit: number): number => Math.floor(x * unit + 1e-6);

export class BudgetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BudgetError";
  }
}

/** A spend refused: the budget for this subject is spent until `resets`. */
export class BudgetSpentError extends Error {
  constructor(
    readonly budget: string,
    readonly subject: string,
    readonly resets: number,
  ) {
    super(`budget "${budget}" spent for ${subject}, resets ${formatReset(resets)}`);
    this.name = "BudgetSpentError";
  }
}

export function formatReset(t: number): string {
  return `${new Date(t).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** Start and end (ms) of the period holding `now`, in UTC. */
export function periodBounds(period: BudgetPeriod, now: number): { start: number; end: number } {
  const d = new Date(now);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const day = Date.UTC(y, m, d.getUTCDate());
  switch (period) {
    case "day":
      return { start: day, end: day + 86_400_000 };
    case "week": {
      const start = day - ((d.getUTCDay() + 6) % 7) * 86_400_000;
      return { start, end: start + 7 * 86_400_000 };
    }
    case "month":
      return { start: Date.UTC(y, m, 1), end: Date.UTC(y, m + 1, 1) };
  }
}

interface BudgetState {
  start: number;
  /** subject key -> [epsilon units, delta units] spent in this period */
  spent: Map<string, [number, number]>;
}

export interface Remaining {
  epsilon: number;
  delta: number;
}

interface SavedLedger {
  version: 1;
  salt: string;
  budgets: Record<string, { start: number; spent: Record<string, [number, number]> }>;
}

/** Where a ledger lives between restarts. */
export interface LedgerStore {
  /** The saved ledger, or undefined when there is none yet; throws when it cannot be read. */
  load(): unknown;
  save(data: string): Promise<void>;
}

/** What makes two definitions one budget (onSpent is what a node does when it is spent). */
function sameBudget(a: BudgetDef, b: BudgetDef): boolean {
  return a.purpose === b.purpose && a.epsilon === b.epsilon && a.delta === b.delta && a.period === b.period;
}

function describeBudget(d: BudgetDef): string {
  return `epsilon ${d.epsilon}, delta ${d.delta} per ${d.period}, purpose "${d.purpose}"`;
}

/** How long a saved budget that no node defines now is kept (longer than any period). */
const KEEP_UNDEFINED_MS = 32 * 86_400_000;

export class BudgetLedger {
  private readonly defs = new Map<string, BudgetDef>();
  /** Who defined each budget (node ids); a budget goes when its last owner lets go. */
  private readonly owners = new Map<string, Set<string>>();
  private readonly state = new Map<string, BudgetState>();
  private readonly salt: Buffer;
  private saving: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private dirty = false;

  constructor(
    defs: readonly BudgetDef[],
    private readonly store?: LedgerStore,
  ) {
    const saved = store ? parseLedger(store.load()) : undefined;
    this.salt = saved ? Buffer.from(saved.salt, "base64") : randomBytes(32);
    if (saved) {
      // Every saved budget, defined now or not: a node that names it may start later.
      for (const [name, b] of Object.entries(saved.budgets)) {
        this.state.set(name, { start: b.start, spent: new Map(Object.entries(b.spent)) });
      }
    }
    this.define("", defs);
  }

  /**
   * Adds `owner`'s budgets. A name another owner defined differently is refused (one name,
   * one budget), and then nothing of this owner's is added.
   */
  define(owner: string, defs: readonly BudgetDef[]): void {
    for (const d of defs) {
      const known = this.defs.get(d.name);
      if (known !== undefined && !sameBudget(known, d)) {
        throw new BudgetError(
          `budget "${d.name}" is defined by another node as ${describeBudget(known)}, here as ` +
            `${describeBudget(d)}: nodes that spend from one budget must define it alike (or use another name)`,
        );
      }
    }
    for (const d of defs) {
      if (!this.defs.has(d.name)) this.defs.set(d.name, d);
      let set = this.owners.get(d.name);
      if (set === undefined) this.owners.set(d.name, (set = new Set()));
      set.add(owner);
    }
  }

  /** Removes `owner`'s hold on its budgets. What was spent stays. */
  release(owner: string): void {
    for (const [name, set] of this.owners) {
      set.delete(owner);
      if (set.size === 0) {
        this.owners.delete(name);
        this.defs.delete(name);
      }
    }
  }

  /** Whether any owner still holds a budget here. */
  get held(): boolean {
    return this.owners.size > 0;
  }

  has(name: string): boolean {
    return this.defs.has(name);
  }

  def(name: string): BudgetDef {
    const d = this.defs.get(name);
    if (!d) throw new BudgetError(`no budget named "${name}"`);
    return d;
  }

  private subjectKey(subject: string): string {
    return createHmac("sha256", this.salt).update(subject, "utf8").digest("base64url").slice(0, 22);
  }

  private current(name: string, now: number): { def: BudgetDef; state: BudgetState; end: number } {
    const def = this.def(name);
    const { start, end } = periodBounds(def.period, now);
    let state = this.state.get(name);
    if (!state || state.start !== start) {
      // a new period: what was spent before no longer counts
      state = { start, spent: new Map() };
      this.state.set(name, state);
      this.dirty = true;
    }
    return { def, state, end };
  }

  /**
   * Spends (epsilon, delta) from `name` for `subject`, or throws BudgetSpentError and
   * spends nothing. Returns what is left for the subject.
   */
  spend(name: string, subject: string, epsilon: number, delta: number, now: number): Remaining {
    const { def, state, end } = this.current(name, now);
    const key = this.subjectKey(subject);
    const used = state.spent.get(key) ?? [0, 0];
    const e = used[0] + charge(epsilon, EPS_UNIT);
    const d = used[1] + charge(delta, DELTA_UNIT);
    if (e > capacity(def.epsilon, EPS_UNIT) || d > capacity(def.delta, DELTA_UNIT)) {
      throw new BudgetSpentError(name, subject, end);
    }
    if (!state.spent.has(key) && state.spent.size >= MAX_SUBJECTS) {
      throw new BudgetError(`budget "${name}" tracks ${MAX_SUBJECTS} subjects this period: no more can be added`);
    }
    state.spent.set(key, [e, d]);
    this.dirty = true;
    return this.left(def, [e, d]);
  }

  /** What is left for `subject` now. */
  remaining(name: string, subject: string, now: number): Remaining {
    const { def, state } = this.current(name, now);
    return this.left(def, state.spent.get(this.subjectKey(subject)) ?? [0, 0]);
  }

  /** When the current period of `name` ends. */
  resets(name: string, now: number): number {
    return periodBounds(this.def(name).period, now).end;
  }

  private left(def: BudgetDef, used: [number, number]): Remaining {
    return {
      epsilon: Math.max(0, capacity(def.epsilon, EPS_UNIT) - used[0]) / EPS_UNIT,
      delta: Math.max(0, capacity(def.delta, DELTA_UNIT) - used[1]) / DELTA_UNIT,
    };
  }

  /**
   * Resolves once every spend made so far is on disk. Spends made while a write runs go
   * into one further write; a failed write rejects (the spends stay counted in memory).
   */
  persist(): Promise<void> {
    if (!this.store) return Promise.resolve();
    if (this.queued) return this.queued;
    if (!this.dirty && !this.saving) return Promise.resolve();
    const run = async (): Promise<void> => {
      this.dirty = false;
      try {
        await (this.store as LedgerStore).save(this.serialize());
      } catch (e) {
        this.dirty = true; // the next persist tries again
        throw e;
      }
    };
    if (!this.saving) {
      const first = run().finally(() => {
        if (this.saving === first) this.saving = undefined;
      });
      this.saving = first;
      return first;
    }
    const prior = this.saving;
    const next = prior
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return run();
      })
      .finally(() => {
        if (this.saving === next) this.saving = undefined;
      });
    this.queued = next;
    this.saving = next;
    return next;
  }

  serialize(now = Date.now()): string {
    const budgets: SavedLedger["budgets"] = {};
    for (const [name, s] of this.state) {
      // A budget no node names any more is forgotten once its last period is surely over.
      if (!this.defs.has(name) && now - s.start > KEEP_UNDEFINED_MS) continue;
      budgets[name] = { start: s.start, spent: Object.fromEntries(s.spent) };
    }
    const saved: SavedLedger = { version: 1, salt: this.salt.toString("base64"), budgets };
    return `${JSON.stringify(saved)}\n`;
  }
}

function parseLedger(raw: unknown): SavedLedger | undefined {
  if (raw === undefined) return undefined;
  const bad = (): never => {
    throw new BudgetError("the budget file is not a privacy budget ledger (version 1)");
  };
  if (typeof raw !== "object" || raw === null) return bad();
  const r = raw as Partial<SavedLedger>;
  const isObject = (v: unknown): v is object => typeof v === "object" && v !== null;
  if (r.version !== 1 || typeof r.salt !== "string" || !isObject(r.budgets)) return bad();
  for (const b of Object.values(r.budgets)) {
    if (!isObject(b) || !Number.isSafeInteger(b.start) || !isObject(b.spent)) return bad();
    for (const v of Object.values(b.spent)) {
      if (!Array.isArray(v) || v.length !== 2 || !v.every((n) => Number.isSafeInteger(n) && n >= 0)) return bad();
    }
  }
  return r as SavedLedger;
}

/** A ledger file, replaced whole by the shared atomic writer. */
export function ledgerFile(file: string): LedgerStore {
  return {
    load: () => {
      let text: string;
      try {
        text = fs.readFileSync(file, "utf8");
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw new BudgetError(`cannot read the budget file ${file}: ${(e as Error).message}`);
      }
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new BudgetError(`the budget file ${file} is not JSON`);
      }
    },
    save: async (data) => {
      await fs.promises.mkdir(path.dirname(file), { recursive: true });
      await writeFileAtomic(file, data);
    },
  };
}

/** One ledger per file in this process (per runtime: the file is in its user directory). */
const SHARED = new Map<string, BudgetLedger>();

/**
 * The ledger kept in `file`, shared by every node of this process that spends from a
 * budget there; `owner` (a node id) adds its budgets to it. Throws BudgetError when the
 * file cannot be read or a budget is defined differently by another node.
 */
export function shareLedger(file: string, owner: string, defs: readonly BudgetDef[]): BudgetLedger {
  let ledger = SHARED.get(file);
  if (ledger === undefined) {
    ledger = new BudgetLedger([], ledgerFile(file));
    SHARED.set(file, ledger);
  }
  ledger.define(owner, defs);
  return ledger;
}

/**
 * Lets go of `owner`'s budgets (a node closing). Resolves once what was spent is on disk;
 * the last owner's close drops the ledger from memory, so the next start reads the file.
 */
export async function unshareLedger(file: string, owner: string): Promise<void> {
  const ledger = SHARED.get(file);
  if (ledger === undefined) return;
  ledger.release(owner);
  try {
    await ledger.persist();
  } finally {
    // Asked after the write: a node may have started on this ledger meanwhile.
    if (!ledger.held && SHARED.get(file) === ledger) SHARED.delete(file);
  }
}
