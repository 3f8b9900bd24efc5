/**
 * The consent page a person opens through their link: what each purpose collects, who
 * receives it, for how long, its state, and one switch to give or withdraw; their
 * receipts; downloads. Rendered on the server as one small HTML document with no script,
 * no external font, image or style (homes are often offline), so a strict
 * Content-Security-Policy holds: the one inline style is allowed by its hash.
 * The texts come from the locale files (texts are passed in), chosen from Accept-Language.
 */
import { createHash, randomUUID } from "node:crypto";
import type { ConsentState, PurposeDef } from "./consent";
import type { IssuedReceipt } from "./consent-store";
import type { PublicJwk } from "./receipt-signing";

export type PageTexts = Record<string, string>;

/** What the page shows of one purpose. */
export interface PagePurpose {
  def: PurposeDef;
  state: ConsentState;
  /** When the current decision was made, and until when a grant runs. */
  since: string | null;
  expiresAt: string | null;
  /** The policy version the person decided on (may be older than the current one). */
  decidedVersion: string | null;
}

export interface PageModel {
  lang: string;
  storeName: string;
  subject: string;
  purposes: PagePurpose[];
  history: IssuedReceipt[];
  publicKey: PublicJwk | undefined;
  retiredKeys: readonly PublicJwk[];
  /** The page's own URL path (the forms post to it). */
  base: string;
  csrf: string;
  /** A purpose just saved (after the fsync), or a problem to show. */
  saved?: string;
  problem?: string;
}

const CSS = `
:root{color-scheme:light dark;--fg:#1b1b1b;--bg:#fff;--muted:#555;--line:#ccc;
--on:#0a6b2d;--off:#8a1c1c;--focus:#1a4fd6}
@media (prefers-color-scheme:dark){:root{--fg:#eee;--bg:#161616;--muted:#bbb;--line:#555;
--on:#6fd08c;--off:#ff9b9b;--focus:#8fb0ff}}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:44rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.5rem 0}h2{font-size:1.2rem;margin:1.5rem 0 .5rem}h3{font-size:1.05rem;margin:0}
.lead,.muted{color:var(--muted)}
.purpose{border:1px solid var(--line);border-radius:.5rem;padding:.75rem;margin:.75rem 0}
.row{display:flex;gap:.75rem;align-items:flex-start;justify-content:space-between}
dl{margin:.5rem 0 0;display:grid;grid-template-columns:max-content 1fr;gap:.15rem .75rem}
dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere}
.state{font-weight:600}.state-granted{color:var(--on)}.state-other{color:var(--off)}.state .muted{font-weight:400}
button.switch{flex:none;min-width:7.5rem;min-height:2.75rem;padding:.25rem .75rem;border-radius:1.5rem;
border:2px solid var(--fg);
font:inherit;font-weight:600;cursor:pointer;background:var(--bg);color:var(--fg)}
button.switch[aria-checked=true]{background:var(--on);border-color:var(--on);color:var(--bg)}
a,button{outline-offset:3px}
a:focus-visible,button:focus-visible,summary:focus-visible{outline:3px solid var(--focus)}
a{color:var(--focus)}
.notice{border-left:4px solid var(--on);padding:.5rem .75rem;margin:.75rem 0}
.notice.problem{border-color:var(--off)}
ol.history{padding-left:1.25rem}ol.history li{margin:.35rem 0}
code,pre{font-size:.8rem;overflow-wrap:anywhere;white-space:pre-wrap}
`.trim();

/** The hash of the one inline style, for the Content-Security-Policy. */
export const STYLE_HASH = `sha256-${createHash("sha256").update(CSS).digest("base64")}`;

/** The page's Content-Security-Policy: nothing but this document, its style and its own forms. */
export const PAGE_CSP = [
  "default-src 'none'",
  `style-src '${STYLE_HASH}'`,
  "img-src data:",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** A text with {name} filled in (values escaped). */
function t(texts: PageTexts, key: string, values: Record<string, string> = {}): string {
  const raw = texts[key] ?? key;
  const fill = (_m: string, name: string): string => (values[name] === undefined ? `{${name}}` : esc(values[name]));
  return esc(raw).replace(/\{(\w+)\}/g, fill);
}

/** A time in the page's language (UTC: the server does not know the reader's zone). */
function when(iso: string | null, lang: string): string {
  if (iso === null) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" }).format(d)} UTC`;
}

/** The DPV purpose's name from its IRI: "ServiceOptimisation" -> "Service Optimisation". */
export function dpvLabel(iri: string): string {
  const name = iri.slice(iri.lastIndexOf("#") + 1);
  return name.replace(/([a-z])([A-Z])/g, "$1 $2");
}

const STATE_KEY: Record<ConsentState, string> = {
  granted: "state.granted",
  withdrawn: "state.withdrawn",
  expired: "state.expired",
  "policy-outdated": "state.renew",
  "no-consent": "state.never",
  "no-subject": "state.never",
  "store-unavailable": "state.never",
};

function purposeBlock(p: PagePurpose, m: PageModel, texts: PageTexts, i: number): string {
  const d = p.def;
  const title = d.title || d.id;
  const on = p.state === "granted";
  const id = `p${i}`;
  const rows: string[] = [];
  const row = (label: string, value: string): void => {
    if (value !== "") rows.push(`<dt>${t(texts, label)}</dt><dd>${value}</dd>`);
  };
  row("field.data", esc((d.dataCategories ?? []).join(", ")));
  row("field.recipients", esc((d.recipients ?? []).join(", ")));
  row("field.retention", esc(d.retention ?? ""));
  const version = esc(d.policyVersion);
  const policy = d.policyUrl ? `<a href="${esc(d.policyUrl)}" rel="noreferrer">${version}</a>` : version;
  row("field.policy", policy);
  row("field.type", d.dpvPurpose ? esc(dpvLabel(d.dpvPurpose)) : "");
  let state = t(texts, STATE_KEY[p.state]);
  if (p.state === "granted" && p.expiresAt !== null) {
    state += ` ${t(texts, "state.until", { date: when(p.expiresAt, m.lang) })}`;
  }
  if (p.state === "policy-outdated" && p.decidedVersion !== null) {
    state += ` ${t(texts, "state.renewWhy", { old: p.decidedVersion, current: d.policyVersion })}`;
  }
  if (p.since !== null) {
    state += ` <span class="muted">(${t(texts, "state.since", { date: when(p.since, m.lang) })})</span>`;
  }
  const description = d.description ? `<p class="muted">${esc(d.description)}</p>` : "";
  return `<section class="purpose" aria-labelledby="${id}-t">
<div class="row"><div><h3 id="${id}-t">${esc(title)}</h3>${description}</div>
<form method="post" action="${esc(m.base)}">
<input type="hidden" name="csrf" value="${esc(m.csrf)}"><input type="hidden" name="purpose" value="${esc(d.id)}">
<input type="hidden" name="give" value="${on ? "0" : "1"}">
<button class="switch" type="submit" role="switch" aria-checked="${on}"
 aria-labelledby="${id}-t ${id}-s" aria-describedby="${id}-st">
<span id="${id}-s">${t(texts, on ? "switch.on" : "switch.off")}</span></button>
</form></div>
<p id="${id}-st" class="state ${on ? "state-granted" : "state-other"}">${state}</p>
<dl>${rows.join("")}</dl>
</section>`;
}

function historyList(m: PageModel, texts: PageTexts): string {
  if (m.history.length === 0) return `<p class="muted">${t(texts, "history.none")}</p>`;
  const titles = new Map(m.purposes.map((p) => [p.def.id, p.def.title || p.def.id]));
  const items = [...m.history].reverse().map((r) => {
    const key = r.status === "granted" ? "history.granted" : "history.withdrawn";
    const what = t(texts, key, { purpose: titles.get(r.purpose) ?? r.purpose });
    const how = t(texts, "history.how", { method: r.method, version: r.policyVersion });
    const time = `<time datetime="${esc(r.timestamp)}">${esc(when(r.timestamp, m.lang))}</time>`;
    return `<li>${time}: ${what} <span class="muted">${how}</span></li>`;
  });
  return `<ol class="history" reversed>${items.join("")}</ol>`;
}

function keys(m: PageModel, texts: PageTexts): string {
  const jwk = (k: PublicJwk): string => `<pre><code>${esc(JSON.stringify(k))}</code></pre>`;
  const active = m.publicKey ? jwk(m.publicKey) : `<p>${t(texts, "keys.none")}</p>`;
  const retiredList = m.retiredKeys.map(jwk).join("");
  const retired = m.retiredKeys.length > 0 ? `<h3>${t(texts, "keys.retired")}</h3>${retiredList}` : "";
  const summary = `<summary>${t(texts, "keys.summary")}</summary>`;
  return `<details>${summary}<p>${t(texts, "keys.explain")}</p>${active}${retired}</details>`;
}

/** The whole page. */
export function renderPage(m: PageModel, texts: PageTexts): string {
  const savedDef = m.saved === undefined ? undefined : m.purposes.find((p) => p.def.id === m.saved)?.def;
  const savedTitle = m.saved === undefined ? undefined : savedDef?.title || m.saved;
  const purposes = m.purposes.map((p, i) => purposeBlock(p, m, texts, i)).join("\n");
  const notice =
    m.problem !== undefined
      ? `<p class="notice problem" role="alert">${esc(m.problem)}</p>`
      : savedTitle !== undefined
        ? `<p class="notice" role="status">${t(texts, "saved", { purpose: savedTitle })}</p>`
        : "";
  return `<!doctype html>
<html lang="${esc(m.lang)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${t(texts, "title", { house: m.storeName })}</title>
<link rel="icon" href="data:,">
<style>${CSS}</style></head>
<body><main>
<h1>${t(texts, "heading", { house: m.storeName })}</h1>
<p class="lead">${t(texts, "intro", { subject: m.subject, house: m.storeName })}</p>
${notice}
<h2>${t(texts, "purposes")}</h2>
${m.purposes.length === 0 ? `<p>${t(texts, "purposes.none")}</p>` : purposes}
<h2>${t(texts, "history")}</h2>
${historyList(m, texts)}
<h2>${t(texts, "downloads")}</h2>
<ul><li><a href="${esc(m.base)}/receipts.json" download>${t(texts, "download.receipts")}</a></li>
<li><a href="${esc(m.base)}/record.json" download>${t(texts, "download.record")}</a></li></ul>
${keys(m, texts)}
</main></body></html>
`;
}

/** The one 404 for every unknown, wrong, revoked or missing token: the same bytes each time. */
export const NOT_FOUND_HTML =
  '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Not found</title></head>' +
  "<body><p>Not found</p></body></html>\n";

/** Chooses en or de (or another language with texts) from an Accept-Language header. */
export function pickLanguage(header: string | undefined, available: readonly string[], fallback = "en"): string {
  if (!header) return fallback;
  const wanted = header
    .split(",")
    .map((part) => {
      const [tag, ...params] = part.trim().split(";");
      const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)).find((x) => x !== null);
      return { tag: tag.trim().toLowerCase(), q: q ? Number(q[1]) : 1 };
    })
    .filter((w) => w.tag !== "" && w.q > 0)
    .sort((a, b) => b.q - a.q);
  for (const w of wanted) {
    const base = w.tag.split("-")[0];
    if (available.includes(base)) return base;
  }
  return fallback;
}

/**
 * A consent record shaped after ISO/IEC TS 27560 (consent record information structure):
 * a header, the processing each purpose covers (DPV purpose IRIs, data categories,
 * recipients, retention), the parties, and the events (every receipt with its JWS).
 */
export function consentRecord(input: {
  storeName: string;
  subject: string;
  purposes: PagePurpose[];
  receipts: IssuedReceipt[];
  publicKey: PublicJwk | undefined;
  retiredKeys: readonly PublicJwk[];
  now: Date;
}): Record<string, unknown> {
  const recipients = [...new Set(input.purposes.flatMap((p) => p.def.recipients ?? []))];
  return {
    header: {
      schema: "ISO/IEC TS 27560:2023 consent record (shape after the standard)",
      producer: "@privacy-toolkit/node-red-privacy",
      recordId: randomUUID(),
      recordCreatedAt: input.now.toISOString(),
      piiPrincipalId: input.subject,
      controller: input.storeName,
      signatureKeys: [input.publicKey, ...input.retiredKeys].filter((k) => k !== undefined),
    },
    processing: input.purposes.map((p) => ({
      purposeId: p.def.id,
      purpose: p.def.title || p.def.id,
      description: p.def.description,
      dpvPurpose: p.def.dpvPurpose ?? "https://w3id.org/dpv#Purpose",
      dataCategories: p.def.dataCategories ?? [],
      recipients: p.def.recipients ?? [],
      retention: p.def.retention ?? null,
      policyVersion: p.def.policyVersion,
      policyUrl: p.def.policyUrl ?? null,
      legalBasis: "https://w3id.org/dpv#Consent",
      state: p.state,
      stateSince: p.since,
      expiresAt: p.expiresAt,
    })),
    parties: [
      { role: "controller", name: input.storeName },
      { role: "pii-principal", id: input.subject },
      ...recipients.map((name) => ({ role: "recipient", name })),
    ],
    events: input.receipts.map((r) => ({
      eventId: r.receiptId,
      eventTime: r.timestamp,
      eventType: r.status === "granted" ? "given" : "withdrawn",
      purposeId: r.purpose,
      policyVersion: r.policyVersion,
      method: r.method,
      expiresAt: r.expiresAt,
      ...(r.jws !== undefined ? { jws: r.jws } : {}),
    })),
  };
}
