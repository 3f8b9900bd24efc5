/**
 * Consent: who agreed to what, for which purpose, under which policy version, until
 * when. This engine holds the in-memory index a gate looks up per message, turns a
 * manager command into receipts, and answers queries. It does no I/O: a backend
 * (consent-journal.ts, or memory) makes receipts durable before they are applied here.
 */
import { randomUUID } from "node:crypto";
import { Joi, MessageError, validateMessage } from "../core/validation";
import { Slicer } from "./slices";
import type { Checkpoint } from "./hash-chain";

/**
 * A purpose declared on the store. Beyond id, description and policy version (all a gate
 * needs), what the consent page shows the person it is about, in words, all optional.
 */
export interface PurposeDef {
  id: string;
  description: string;
  policyVersion: string;
  /** Plain-language title ("Room temperature to the cloud dashboard"). */
  title?: string;
  /** What data: "room temperature", "front door camera snapshots". */
  dataCategories?: string[];
  /** Who receives it: "Acme Cloud analytics", "only this house". */
  recipients?: string[];
  /** How long it is kept: "30 days". */
  retention?: string;
  policyUrl?: string;
  /** A purpose of the W3C Data Privacy Vocabulary, as its IRI (https://w3id.org/dpv#ServiceOptimisation). */
  dpvPurpose?: string;
}

export type ConsentStatus = "granted" | "withdrawn";

/**
 * One decision by one person about one purpose. It is what the manager sends back, and
 * what the journal keeps: receipts are never changed after they are written.
 * Field names follow the spirit of the Kantara consent receipt (receipt id, subject,
 * purpose, policy version, consent timestamp, collection method).
 */
export interface ConsentReceipt {
  receiptId: string;
  subject: string;
  purpose: string;
  status: ConsentStatus;
  /** ISO 8601, when the decision was recorded. */
  timestamp: string;
  /** ISO 8601 or null (no expiry). Always null for a withdrawal. */
  expiresAt: string | null;
  policyVersion: string;
  method: string;
  note?: string;
  /** The key that signed it (receipt-signing.ts); absent when the store has no signing key. */
  kid?: string;
  /** The Ed25519 signature of its JWS, base64url: the JWS is rebuilt from the fields, kid and sig. */
  sig?: string;
}

export type BlockReason =
  "no-consent" | "withdrawn" | "expired" | "policy-outdated" | "no-subject" | "store-unavailable";

/**
 * The latest decision for one subject and purpose: only what the gate needs, kept
 * small because a store may hold millions. The full receipt stays in the journal
 * (`ref` is the byte offset of its line) or, for the memory backend, in `ref` itself.
 */
export class ConsentEntry {
  constructor(
    readonly purpose: string,
    public granted: boolean,
    /** granted: expiry in ms since epoch (0 = none); withdrawn: when it was withdrawn. */
    public at: number,
    public policyVersion: string,
    public ref: number | ConsentReceipt,
  ) {}
}

export type ConsentState = "granted" | BlockReason;

export interface PurposeState {
  purpose: string;
  state: ConsentState;
  allowed: boolean;
  receiptId: string | null;
  timestamp: string | null;
  expiresAt: string | null;
  policyVersion: string | null;
  currentPolicyVersion: string | null;
}

export type Action = "grant" | "withdraw" | "query" | "list" | "export" | "link" | "revoke-link";

/** A validated msg.consent: every field normalised (see readId, ttlSeconds, expiryMillis). */
export interface ConsentCommand {
  action: Action;
  subject?: string;
  purpose?: string | string[];
  /** Milliseconds since 1970. */
  expiresAt?: number;
  /** Seconds. */
  ttl?: number;
  policyVersion?: string;
  method?: string;
  note?: string;
}

/**
 * How a subject, purpose, policy version or method may look. One rule per kind, used by
 * the manager's commands, the store's config and the gate's messages alike, so a value
 * one of them accepts names the same record in the others (" alice " granted at the
 * manager is "alice" at the gate too).
 */
export interface IdRule {
  /** Longest value after trimming, in UTF-16 code units (as JavaScript counts length). */
  max: number;
  /** Whether a number stands for its decimal text (subject 42 is "42"). */
  numbers: boolean;
  /** Refuse names that would reach an object's prototype when used as a key. */
  reserved: boolean;
}

export const SUBJECT_RULE: IdRule = { max: 512, numbers: true, reserved: false };
export const PURPOSE_RULE: IdRule = { max: 200, numbers: false, reserved: true };
export const POLICY_VERSION_RULE: IdRule = { max: 100, numbers: true, reserved: false };
export const METHOD_RULE: IdRule = { max: 100, numbers: false, reserved: false };

/**
 * Why a value is refused. `absent`: there is no usable value at all (missing, empty,
 * not a string or a finite number), which a gate reports as no-subject rather than as
 * an error. The texts are fixed, so refusing allocates nothing.
 */
export class IdRefusal {
  constructor(
    readonly problem: string,
    readonly absent: boolean,
  ) {}
}

const REFUSED = {
  type: new IdRefusal("must be a string or a number", true),
  typeString: new IdRefusal("must be a string", true),
  empty: new IdRefusal("must not be empty", true),
  unsafe: new IdRefusal(
    `must lie between -${Number.MAX_SAFE_INTEGER} and ${Number.MAX_SAFE_INTEGER} (send a larger id as a string)`,
    false,
  ),
  control: new IdRefusal("must not contain control characters, line separators or unpaired surrogates", false),
  reserved: new IdRefusal("must not be __proto__, constructor or prototype", false),
};
const TOO_LONG = new Map<number, IdRefusal>();
function tooLong(max: number): IdRefusal {
  let r = TOO_LONG.get(max);
  if (r === undefined) {
    r = new IdRefusal(`must be at most ${max} characters long`, false);
    TOO_LONG.set(max, r);
  }
  return r;
}

/**
 * True when the text holds a control character (C0, DEL, C1), a line or paragraph
 * separator, or an unpaired surrogate. The journal is UTF-8: an unpaired surrogate
 * would be read back as U+FFFD and so name someone else after a restart; a control
 * character makes ids that look alike in a log or the editor but differ.
 */
function hasForbiddenChar(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029) return true;
    if (c >= 0xd800 && c <= 0xdfff) {
      // A high surrogate followed by a low one is one character; anything else is unpaired.
      const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (c > 0xdbff || next < 0xdc00 || next > 0xdfff) return true;
      i++;
    }
  }
  return false;
}

/**
 * Unicode NFC, so that "José" typed on a phone (one é) and sent by a sensor (e and a
 * combining accent) name one person: a withdrawal in either form blocks both. ASCII, the
 * common case, is returned as it is without allocating.
 */
export function nfc(text: string): string {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return text.normalize("NFC");
  return text;
}

/** How many times shorter NFC makes a text at most (in UTF-16 units: 4), with a margin. */
const NFC_MAX_SHRINK = 8;

const NO_RECEIPTS: readonly ConsentReceipt[] = Object.freeze([]);

/**
 * Finds one subject's receipts in journal lines (a file's bytes or a stream's text): a
 * cheap search first for what a line naming the subject holds (the journal writes
 * JSON.stringify output), in the form normalised now and in the decomposed form lines
 * written before normalisation may hold; only such a line is parsed.
 */
export function subjectReceipts(subject: string): (line: string | Buffer) => readonly ConsentReceipt[] {
  const texts = [...new Set([subject, subject.normalize("NFD")])].map((s) => `"subject":${JSON.stringify(s)}`);
  const bytes = texts.map((t) => Buffer.from(t, "utf8"));
  return (line) => {
    const named = typeof line === "string" ? texts.some((t) => line.includes(t)) : bytes.some((b) => line.includes(b));
    if (!named) return NO_RECEIPTS; // most lines of a long journal: nothing allocated
    const receipts = parseJournalLine(typeof line === "string" ? line : line.toString("utf8")) ?? [];
    return receipts.filter((r) => nfc(r.subject) === subject);
  };
}

/**
 * The one normalisation of a subject, purpose, policy version or method: a string,
 * trimmed and in Unicode NFC, or (where the rule allows) a finite number as its decimal text; not empty,
 * not longer than the rule's max, no control characters. Returns the value or why not.
 * Allocates nothing for a value that needs no trimming (the gate calls it per message).
 */
export function readId(value: unknown, rule: IdRule): string | IdRefusal {
  let text: string;
  if (typeof value === "string") {
    text = value.trim();
  } else if (typeof value === "number" && rule.numbers) {
    if (!Number.isFinite(value)) return REFUSED.type;
    // Beyond 2^53 a number is not the id that was sent (12345678901234567890 reads as ...000).
    if (Math.abs(value) > Number.MAX_SAFE_INTEGER) return REFUSED.unsafe;
    text = String(value);
  } else {
    return rule.numbers ? REFUSED.type : REFUSED.typeString;
  }
  if (text === "") return REFUSED.empty;
  // NFC shortens a text at most fourfold (a canonical decomposition is at most four code
  // points): one far longer is refused before normalising it, which takes time per character.
  if (text.length > rule.max * NFC_MAX_SHRINK) return tooLong(rule.max);
  text = nfc(text);
  if (text.length > rule.max) return tooLong(rule.max);
  if (hasForbiddenChar(text)) return REFUSED.control;
  if (rule.reserved && (text === "__proto__" || text === "constructor" || text === "prototype"))
    return REFUSED.reserved;
  return text;
}

/** A joi schema applying `readId`: the value comes out normalised, the error names the field. */
export function idSchema(rule: IdRule): Joi.AnySchema {
  return Joi.any().custom((value: unknown, helpers) => {
    const r = readId(value, rule);
    return typeof r === "string" ? r : helpers.message({ custom: `{{#label}} ${r.problem}` });
  });
}

const MAX_PURPOSES = 100;

/** One purpose or a list of distinct purposes; the error names the item that is wrong. */
const PURPOSES = Joi.any().custom((value: unknown, helpers) => {
  if (!Array.isArray(value)) {
    const r = readId(value, PURPOSE_RULE);
    if (typeof r === "string") return r;
    return helpers.message({
      custom: `{{#label}} ${r === REFUSED.typeString ? "must be a purpose id or a list of them" : r.problem}`,
    });
  }
  if (value.length < 1 || value.length > MAX_PURPOSES)
    return helpers.message({ custom: `{{#label}} must list 1 to ${MAX_PURPOSES} purposes` });
  const out: string[] = [];
  for (let i = 0; i < value.length; i++) {
    const r = readId(value[i], PURPOSE_RULE);
    if (typeof r !== "string") return helpers.message({ custom: `{{#label}} item ${i + 1} ${r.problem}` });
    if (out.includes(r)) return helpers.message({ custom: `{{#label}} item ${i + 1} repeats an earlier purpose` });
    out.push(r);
  }
  return out;
});

/** The longest ttl and the latest expiry: 100 years (consent for longer is not consent). */
export const MAX_TTL_SECONDS = 100 * 365 * 86400;

const TTL_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 7 * 86400 };
const TTL_TEXT = /^(\d{1,20}(?:\.\d{1,20})?)\s*([smhdw]?)$/i;

/**
 * ttl in seconds: a number of seconds, or a string "3600", "90s", "30m", "12h", "30d",
 * "2w". Throws a MessageError naming msg.consent.ttl when it is not one, not above 0,
 * or more than 100 years (a huge ttl used to end in "RangeError: Invalid time value").
 */
export function ttlSeconds(ttl: unknown): number {
  let seconds: number;
  if (typeof ttl === "number") {
    seconds = ttl;
  } else {
    const m = typeof ttl === "string" ? TTL_TEXT.exec(ttl.trim()) : null;
    if (!m)
      throw new MessageError('msg.consent.ttl must be a number of seconds or a duration such as "30m", "12h" or "90d"');
    seconds = Number(m[1]) * (m[2] === "" ? 1 : TTL_UNITS[m[2].toLowerCase()]);
  }
  if (Number.isNaN(seconds))
    throw new MessageError('msg.consent.ttl must be a number of seconds or a duration such as "30m", "12h" or "90d"');
  if (!(seconds > 0)) throw new MessageError("msg.consent.ttl must be more than 0");
  if (!(seconds <= MAX_TTL_SECONDS))
    throw new MessageError(`msg.consent.ttl must be at most 100 years (${MAX_TTL_SECONDS} seconds)`);
  return seconds;
}

/**
 * An expiry: a Date (from any realm: a function node's Date is not this realm's),
 * milliseconds since 1970 (a number or a string of digits), or a date text such as ISO
 * 8601. Returns milliseconds; how far ahead it may be is checked against "now" in plan().
 */
export function expiryMillis(value: unknown): number {
  let t = NaN;
  if (typeof value === "number") t = value;
  else if (typeof value === "string") t = /^\s*\d{1,16}\s*$/.test(value) ? Number(value) : Date.parse(value);
  else if (Object.prototype.toString.call(value) === "[object Date]") t = Date.prototype.getTime.call(value as Date);
  // 8.64e15 ms is the last moment a Date can hold.
  if (!Number.isFinite(t) || Math.abs(t) > 8.64e15)
    throw new MessageError("msg.consent.expiresAt must be a date (ISO 8601 text, a Date or milliseconds since 1970)");
  return t;
}

/** A joi schema from a function that throws a MessageError "msg.consent.<field> ...". */
function thrown(read: (value: unknown) => number): Joi.AnySchema {
  return Joi.any().custom((value: unknown, helpers) => {
    try {
      return read(value);
    } catch (e) {
      return helpers.message({ custom: `{{#label}} ${(e as Error).message.replace(/^msg\.consent\.\w+ /, "")}` });
    }
  });
}

const COMMAND = Joi.object({
  action: Joi.string().valid("grant", "withdraw", "query", "list", "export", "link", "revoke-link").required(),
  subject: Joi.when("action", { is: "list", then: Joi.forbidden(), otherwise: idSchema(SUBJECT_RULE).required() }),
  purpose: Joi.when("action", {
    switch: [
      { is: "grant", then: PURPOSES.required() },
      { is: Joi.valid("withdraw", "query"), then: PURPOSES },
    ],
    otherwise: Joi.forbidden(),
  }),
  expiresAt: Joi.when("action", { is: "grant", then: thrown(expiryMillis), otherwise: Joi.forbidden() }),
  ttl: Joi.when("action", { is: "grant", then: thrown(ttlSeconds), otherwise: Joi.forbidden() }),
  policyVersion: Joi.when("action", {
    is: Joi.valid("grant", "withdraw"),
    then: idSchema(POLICY_VERSION_RULE),
    otherwise: Joi.forbidden(),
  }),
  method: Joi.when("action", {
    is: Joi.valid("grant", "withdraw"),
    then: idSchema(METHOD_RULE),
    otherwise: Joi.forbidden(),
  }),
  note: Joi.when("action", {
    is: Joi.valid("grant", "withdraw"),
    then: Joi.string().max(1000),
    otherwise: Joi.forbidden(),
  }),
})
  .oxor("expiresAt", "ttl")
  .messages({ "object.oxor": "{{#label}} must give expiresAt or ttl, not both" })
  .required();

const PROTOTYPE_KEYS = ["__proto__", "constructor", "prototype"] as const;

/** Validates msg.consent; throws MessageError naming the problem. */
export function parseCommand(raw: unknown): ConsentCommand {
  // Such a key (JSON.parse makes an own "__proto__") is no field of a command; joi copies
  // the object before checking it, so it could become a prototype rather than be refused.
  if (typeof raw === "object" && raw !== null) {
    for (const key of PROTOTYPE_KEYS) {
      if (Object.prototype.hasOwnProperty.call(raw, key)) {
        throw new MessageError(`msg.consent must not have a key named ${key}`);
      }
    }
  }
  return validateMessage<ConsentCommand>(COMMAND, raw, "msg.consent");
}

export interface StoreOptions {
  purposes: readonly PurposeDef[];
  now?: () => number;
  newId?: () => string;
}

/** A consent that ended (withdrawn, or expired) before `cutoff`; a live one never has. */
function endedBefore(e: ConsentEntry, cutoff: number): boolean {
  const endedAt = !e.granted || e.at !== 0 ? e.at : Infinity;
  return endedAt < cutoff;
}

/** A planned change: receipts to make durable, then apply. */
export interface Plan {
  receipts: ConsentReceipt[];
  /** true when the command named one purpose (the answer is one receipt, not a list). */
  single: boolean;
}

export class ConsentIndex {
  private readonly subjects = new Map<string, ConsentEntry[]>();
  private purposes = new Map<string, PurposeDef>();
  /** Purpose ids and policy versions repeat millions of times in a journal: one copy each. */
  private readonly interned = new Map<string, string>();
  private applied = 0;
  now: () => number;
  private readonly newId: () => string;

  constructor(options: StoreOptions) {
    this.setPurposes(options.purposes);
    this.now = options.now ?? Date.now;
    this.newId = options.newId ?? randomUUID;
  }

  setPurposes(purposes: readonly PurposeDef[]): void {
    this.purposes = new Map(purposes.map((p) => [p.id, p]));
  }

  purposeList(): PurposeDef[] {
    return [...this.purposes.values()];
  }

  get subjectCount(): number {
    return this.subjects.size;
  }

  /** How many receipts were applied (journal lines may hold several). */
  get receiptCount(): number {
    return this.applied;
  }

  private intern(text: string): string {
    const known = this.interned.get(text);
    if (known !== undefined) return known;
    if (this.interned.size < 10000) this.interned.set(text, text);
    return text;
  }

  /** The latest entry for a subject and purpose, if any. */
  entry(subject: string, purpose: string): ConsentEntry | undefined {
    const list = this.subjects.get(subject);
    if (list === undefined) return undefined;
    for (let i = 0; i < list.length; i++) if (list[i].purpose === purpose) return list[i];
    return undefined;
  }

  /**
   * The gate's question, answered from memory: the entry that allows it, or why not.
   * Allocation-free.
   */
  check(subject: string, purpose: string): ConsentEntry | BlockReason {
    const def = this.purposes.get(purpose);
    if (def === undefined) return "no-consent";
    const entry = this.entry(subject, purpose);
    if (entry === undefined) return "no-consent";
    if (!entry.granted) return "withdrawn";
    if (entry.at !== 0 && entry.at <= this.now()) return "expired";
    if (entry.policyVersion !== def.policyVersion) return "policy-outdated";
    return entry;
  }

  /** Applies a receipt that is already durable (or replayed from the journal); `ref` finds it again. */
  apply(r: ConsentReceipt, ref: number | ConsentReceipt): void {
    const granted = r.status === "granted";
    const at = granted ? (r.expiresAt === null ? 0 : parseTime(r.expiresAt)) : parseTime(r.timestamp);
    // Receipts written before ids were normalised may name them in another form.
    const purpose = this.intern(nfc(r.purpose));
    const policyVersion = this.intern(nfc(r.policyVersion));
    this.applied++;
    const subject = nfc(r.subject);
    const list = this.subjects.get(subject);
    if (list === undefined) {
      // A string read from a journal line may be a slice that keeps the whole line
      // alive; the key lives as long as the store, so it gets a copy of its own.
      this.subjects.set(Buffer.from(subject, "utf8").toString("utf8"), [
        new ConsentEntry(purpose, granted, at, policyVersion, ref),
      ]);
      return;
    }
    let i = 0;
    while (i < list.length && list[i].purpose !== purpose) i++;
    if (i < list.length) {
      // Updated in place: replaying a large journal then allocates only for new pairs.
      const e = list[i];
      e.granted = granted;
      e.at = at;
      e.policyVersion = policyVersion;
      e.ref = ref;
      return;
    }
    // A new array of exactly the right length: push would reserve spare slots.
    const next = new Array<ConsentEntry>(list.length + 1);
    for (let j = 0; j < list.length; j++) next[j] = list[j];
    next[list.length] = new ConsentEntry(purpose, granted, at, policyVersion, ref);
    this.subjects.set(subject, next);
  }

  /**
   * Points every entry at the new place of its receipt (after the journal was
   * rewritten). A million entries take longer than the event loop may be held, so it
   * lets the event loop run every few milliseconds; the caller keeps writers out
   * meanwhile (the map must not change while it is walked) and readers of offsets wait.
   */
  async relocate(move: (offset: number) => number): Promise<void> {
    const slicer = new Slicer();
    for (const list of this.subjects.values()) {
      for (let i = 0; i < list.length; i++) {
        const e = list[i];
        if (typeof e.ref === "number") e.ref = move(e.ref);
      }
      if (slicer.due()) await slicer.pause();
    }
  }

  /**
   * Forgets every subject and purpose whose consent ended (withdrawn, or expired) before
   * `cutoff` (compaction past the retention period); with `onlyLook`, changes nothing
   * and stops at the first one. Returns how many it found. Walks the whole index, in
   * slices; the caller keeps writers out meanwhile.
   */
  async forgetEndedBefore(cutoff: number, onlyLook = false): Promise<number> {
    let found = 0;
    const slicer = new Slicer();
    for (const [subject, list] of this.subjects) {
      let ended = 0;
      for (let i = 0; i < list.length; i++) if (endedBefore(list[i], cutoff)) ended++;
      if (ended > 0) {
        found += ended;
        if (onlyLook) return found;
        // Deleting or replacing the current key while iterating a Map is safe.
        if (ended === list.length) this.subjects.delete(subject);
        else
          this.subjects.set(
            subject,
            list.filter((e) => !endedBefore(e, cutoff)),
          );
      }
      if (slicer.due()) await slicer.pause();
    }
    return found;
  }

  entries(): IterableIterator<[string, ConsentEntry[]]> {
    return this.subjects.entries();
  }

  /** Purposes a subject has a record for. */
  heldPurposes(subject: string): string[] {
    return (this.subjects.get(subject) ?? []).map((e) => e.purpose);
  }

  /** Turns a validated grant or withdraw into receipts; throws MessageError, changes nothing. */
  plan(cmd: ConsentCommand, defaultMethod: string): Plan {
    const subject = String(cmd.subject);
    const now = this.now();
    const timestamp = new Date(now).toISOString();
    const method = cmd.method ?? defaultMethod;
    let purposes: string[];
    if (cmd.purpose === undefined) {
      // Withdraw without a purpose: every declared purpose, and any the subject still
      // holds a record for (a purpose removed from the store is withdrawn too).
      const held = this.heldPurposes(subject);
      purposes = [...new Set([...this.purposes.keys(), ...held])];
    } else {
      purposes = Array.isArray(cmd.purpose) ? cmd.purpose : [cmd.purpose];
    }
    const single = typeof cmd.purpose === "string";
    if (cmd.action === "grant") {
      const unknown = purposes.filter((p) => !this.purposes.has(p));
      if (unknown.length > 0)
        throw new MessageError(
          `msg.consent.purpose: unknown purpose ${unknown.map((p) => `"${p}"`).join(", ")} (declared: ` +
            `${[...this.purposes.keys()].join(", ") || "none"})`,
        );
      let expiresAt: string | null = null;
      if (cmd.expiresAt !== undefined) {
        const t = cmd.expiresAt;
        if (!(t > now))
          throw new MessageError(`msg.consent.expiresAt ${new Date(t).toISOString()} is not in the future`);
        if (t - now > MAX_TTL_SECONDS * 1000)
          throw new MessageError(`msg.consent.expiresAt ${new Date(t).toISOString()} is more than 100 years ahead`);
        expiresAt = new Date(t).toISOString();
      } else if (cmd.ttl !== undefined) {
        expiresAt = new Date(now + cmd.ttl * 1000).toISOString();
      }
      if (cmd.policyVersion !== undefined) {
        for (const p of purposes) {
          const current = this.purposes.get(p)!.policyVersion;
          if (cmd.policyVersion !== current) {
            throw new MessageError(
              `msg.consent.policyVersion "${cmd.policyVersion}" is not the current version "${current}" of ` +
                `purpose "${p}"`,
            );
          }
        }
      }
      return {
        single,
        receipts: purposes.map((p) =>
          this.receipt(
            subject,
            p,
            "granted",
            timestamp,
            expiresAt,
            this.purposes.get(p)!.policyVersion,
            method,
            cmd.note,
          ),
        ),
      };
    }
    // withdraw: a purpose the store does not declare may still be held from before.
    const unknown = purposes.filter((p) => !this.purposes.has(p) && this.entry(subject, p) === undefined);
    if (unknown.length > 0)
      throw new MessageError(
        `msg.consent.purpose: unknown purpose ${unknown.map((p) => `"${p}"`).join(", ")} (declared: ` +
          `${[...this.purposes.keys()].join(", ") || "none"})`,
      );
    return {
      single,
      receipts: purposes.map((p) => {
        const version =
          cmd.policyVersion ?? this.purposes.get(p)?.policyVersion ?? this.entry(subject, p)?.policyVersion ?? "";
        return this.receipt(subject, p, "withdrawn", timestamp, null, version, method, cmd.note);
      }),
    };
  }

  private receipt(
    subject: string,
    purpose: string,
    status: ConsentStatus,
    timestamp: string,
    expiresAt: string | null,
    policyVersion: string,
    method: string,
    note: string | undefined,
  ): ConsentReceipt {
    const r: ConsentReceipt = {
      receiptId: this.newId(),
      subject,
      purpose,
      status,
      timestamp,
      expiresAt,
      policyVersion,
      method,
    };
    if (note !== undefined) r.note = note;
    return r;
  }

  /** The current state of one subject and purpose, in words; `receipt` is the entry's receipt. */
  state(subject: string, purpose: string, receipt: ConsentReceipt | undefined): PurposeState {
    const def = this.purposes.get(purpose);
    const result = this.check(subject, purpose);
    return {
      purpose,
      state: typeof result === "string" ? result : "granted",
      allowed: typeof result !== "string",
      receiptId: receipt?.receiptId ?? null,
      timestamp: receipt?.timestamp ?? null,
      expiresAt: receipt?.expiresAt ?? null,
      policyVersion: receipt?.policyVersion ?? null,
      currentPolicyVersion: def?.policyVersion ?? null,
    };
  }

  /** The purposes a query is about: those named, or every declared and held one. */
  queryPurposes(subject: string, purpose: string | string[] | undefined): string[] {
    if (typeof purpose === "string") return [purpose];
    return purpose ?? [...new Set([...this.purposes.keys(), ...this.heldPurposes(subject)])];
  }

  /** list: every subject with the state of each purpose it has a record for, and the purposes. */
  list(): { purposes: PurposeDef[]; subjects: Array<{ subject: string; purposes: Record<string, ConsentState> }> } {
    const subjects: Array<{ subject: string; purposes: Record<string, ConsentState> }> = [];
    for (const [subject, list] of this.subjects) {
      const purposes: Record<string, ConsentState> = {};
      for (const e of list) {
        const r = this.check(subject, e.purpose);
        purposes[e.purpose] = typeof r === "string" ? r : "granted";
      }
      subjects.push({ subject, purposes });
    }
    return { purposes: this.purposeList(), subjects };
  }
}

const ISO_UTC = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})Z$/;

/** ms since epoch of an ISO time as toISOString writes it (fast path), else Date.parse. */
export function parseTime(text: string): number {
  const m = ISO_UTC.exec(text);
  if (m === null) return Date.parse(text);
  const year = +m[1];
  const month = +m[2];
  const day = +m[3];
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = month === 2 ? (leap ? 29 : 28) : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
  // Out-of-range fields: let Date.parse decide (it answers NaN), never roll over silently.
  // Years 0-99 too: Date.UTC reads them as 1900-1999.
  if (year < 100 || month < 1 || month > 12 || day < 1 || day > days || +m[4] > 23 || +m[5] > 59 || +m[6] > 59)
    return Date.parse(text);
  return Date.UTC(year, month - 1, day, +m[4], +m[5], +m[6], +m[7]);
}

/** A journal line: the receipts of one command, written and fsynced together. */
export interface JournalRecord {
  receipts: ConsentReceipt[];
}

const STATUS = new Set(["granted", "withdrawn"]);

/**
 * A receipt's times must be real times: an expiry that does not parse would read as NaN,
 * and NaN <= now is false, so a hand-edited "expiresAt": "soon" would never expire.
 */
function timesValid(timestamp: string, expiresAt: string | null): boolean {
  return Number.isFinite(parseTime(timestamp)) && (expiresAt === null || Number.isFinite(parseTime(expiresAt)));
}

/** Checks a parsed journal line; returns its receipts or undefined when it is not one. */
export function receiptsOf(value: unknown): ConsentReceipt[] | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const receipts = (value as { receipts?: unknown }).receipts;
  if (!Array.isArray(receipts)) return undefined;
  for (const r of receipts) {
    if (typeof r !== "object" || r === null) return undefined;
    const c = r as Record<string, unknown>;
    if (typeof c.receiptId !== "string" || typeof c.subject !== "string" || typeof c.purpose !== "string")
      return undefined;
    if (typeof c.status !== "string" || !STATUS.has(c.status) || typeof c.timestamp !== "string") return undefined;
    if (c.expiresAt !== null && typeof c.expiresAt !== "string") return undefined;
    if (typeof c.policyVersion !== "string" || typeof c.method !== "string") return undefined;
    if (c.kid !== undefined && typeof c.kid !== "string") return undefined;
    if (c.sig !== undefined && typeof c.sig !== "string") return undefined;
    if (!timesValid(c.timestamp, c.expiresAt)) return undefined;
  }
  return receipts as ConsentReceipt[];
}

// The journal writes each line with JSON.stringify in this exact key order. Reading a
// million lines, a whole-line pattern is about 3x faster than JSON.parse; any line that
// does not match it exactly (older format, several receipts, hand edits) takes JSON.parse.
const STR = '"((?:[^"\\\\\\u0000-\\u001f]|\\\\.)*)"';
const PLAIN = '"([^"\\\\\\u0000-\\u001f]*)"';
const FAST_LINE = new RegExp(
  `^\\{"receipts":\\[\\{"receiptId":${PLAIN},"subject":${STR},"purpose":${STR},"status":"(granted|withdrawn)",` +
    `"timestamp":${PLAIN},"expiresAt":(?:null|${PLAIN}),"policyVersion":${STR},"method":${STR}(?:,"note":${STR})?` +
    `(?:,"kid":${PLAIN},"sig":${PLAIN})?\\}\\]`,
);

function unescape(s: string): string {
  return s.includes("\\") ? (JSON.parse(`"${s}"`) as string) : s;
}

/** Parses one journal line; undefined when it is not a valid record of receipts. */
export function parseJournalLine(text: string): ConsentReceipt[] | undefined {
  const fast = fastReceipts(text);
  if (fast !== null) return fast;
  try {
    return receiptsOf(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/**
 * A consent page link made or revoked. Only the SHA-256 of the token is kept (hex): the
 * token itself is in the link the person holds, nowhere else.
 */
export interface LinkEvent {
  subject: string;
  token: string;
  action: "create" | "revoke";
  at: string;
}

export interface LinkRecord {
  link: LinkEvent;
}

/** What a journal line holds: receipts, a link event, or a checkpoint (see hash-chain.ts). */
export type ParsedLine =
  | { kind: "receipts"; receipts: ConsentReceipt[] }
  | { kind: "link"; link: LinkEvent }
  | { kind: "checkpoint"; checkpoint: Checkpoint };

const TOKEN_HASH = /^[0-9a-f]{64}$/;

function linkOf(value: unknown): LinkEvent | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const l = (value as { link?: unknown }).link as Partial<LinkEvent> | undefined;
  if (typeof l !== "object" || l === null) return undefined;
  if (typeof l.subject !== "string" || typeof l.token !== "string" || !TOKEN_HASH.test(l.token)) return undefined;
  if ((l.action !== "create" && l.action !== "revoke") || typeof l.at !== "string") return undefined;
  return { subject: l.subject, token: l.token, action: l.action, at: l.at };
}

function checkpointOf(value: unknown): Checkpoint | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const c = (value as { checkpoint?: unknown }).checkpoint as Partial<Checkpoint> | undefined;
  if (typeof c !== "object" || c === null || typeof c.at !== "string") return undefined;
  const r = c.replaced;
  if (typeof r !== "object" || r === null) return undefined;
  if (typeof r.lines !== "number" || typeof r.hash !== "string") return undefined;
  return c as Checkpoint;
}

/** Parses any journal line; undefined when it is none of the kinds the journal writes. */
export function parseLine(text: string): ParsedLine | undefined {
  const fast = fastReceipts(text);
  if (fast !== null) return fast === undefined ? undefined : { kind: "receipts", receipts: fast };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const receipts = receiptsOf(value);
  if (receipts !== undefined) return { kind: "receipts", receipts };
  const link = linkOf(value);
  if (link !== undefined) return { kind: "link", link };
  const checkpoint = checkpointOf(value);
  if (checkpoint !== undefined) return { kind: "checkpoint", checkpoint };
  return undefined;
}

const PREV_TAIL = ',"prev":"';
const PREV_TAIL_BYTES = PREV_TAIL.length + 64 + 2;

function fastTail(text: string, end: number): boolean {
  const rest = text.length - end;
  if (rest === 1) return text.charCodeAt(end) === 0x7d;
  return rest === PREV_TAIL_BYTES && text.startsWith(PREV_TAIL, end) && text.endsWith('"}');
}

/** The receipts of a line in the exact form the journal writes, null when it is not in that form. */
function fastReceipts(text: string): ConsentReceipt[] | undefined | null {
  const m = FAST_LINE.exec(text);
  // The pattern stops after the receipts: what follows must be "}" or the chain link
  // (checked by the hash chain, not here), so the 75 bytes of the link are not scanned twice.
  if (m !== null && !fastTail(text, m[0].length)) return null;
  if (m !== null) {
    try {
      const r: ConsentReceipt = {
        receiptId: m[1],
        subject: unescape(m[2]),
        purpose: unescape(m[3]),
        status: m[4] as ConsentStatus,
        timestamp: m[5],
        expiresAt: m[6] === undefined ? null : m[6],
        policyVersion: unescape(m[7]),
        method: unescape(m[8]),
      };
      if (m[9] !== undefined) r.note = unescape(m[9]);
      if (m[10] !== undefined) {
        r.kid = m[10];
        r.sig = m[11];
      }
      return timesValid(r.timestamp, r.expiresAt) ? [r] : undefined;
    } catch {
      return undefined;
    }
  }
  return null;
}
