/**
 * Serves the consent page over plain node:http requests (Node-RED's httpNode is an
 * express app whose req and res are these). Public by nature, so:
 * - the token in the link is the only key; a wrong, revoked or missing token, or any
 *   other path below the page, gets the same 404, byte for byte;
 * - a form post must carry the per-page token that is also in a SameSite=Strict,
 *   HttpOnly cookie, and come from this origin (Origin header) when the browser says;
 * - every answer carries a strict Content-Security-Policy, Cache-Control: no-store and
 *   Referrer-Policy: no-referrer;
 * - requests are rate-limited per presented token (before it is looked up, so a limit
 *   tells nothing about whether a token is valid).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { ConsentStore } from "./consent-store";
import { NOT_FOUND_HTML, PAGE_CSP, consentRecord, pickLanguage, renderPage, type PageTexts } from "./consent-page";

export interface PageOptions {
  store: ConsentStore;
  storeName: string;
  /** The page's path as the browser sees it (httpNodeRoot + page path), without a trailing slash. */
  publicPath: string;
  /** Page texts per language ("en", "de"). */
  texts: Record<string, PageTexts>;
  warn: (text: string) => void;
  now?: () => number;
}

const COOKIE = "nrp_consent_csrf";
const MAX_BODY = 4096;

/** A token bucket per key: `capacity` requests at once, then one every `refillMs`. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  constructor(
    private readonly capacity = 30,
    private readonly refillMs = 2000,
    private readonly maxKeys = 5000,
    private readonly now: () => number = Date.now,
  ) {}

  take(key: string): boolean {
    const t = this.now();
    let b = this.buckets.get(key);
    if (b === undefined) {
      // Many keys (someone trying tokens): forget the oldest rather than grow without bound.
      if (this.buckets.size >= this.maxKeys) {
        const oldest = this.buckets.keys().next();
        if (!oldest.done) this.buckets.delete(oldest.value);
      }
      b = { tokens: this.capacity, at: t };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(this.capacity, b.tokens + (t - b.at) / this.refillMs);
    b.at = t;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

function securityHeaders(res: ServerResponse): void {
  res.setHeader("Content-Security-Policy", PAGE_CSP);
  res.setHeader("Cache-Control", "no-store");
  res.setHeader("Referrer-Policy", "no-referrer");
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("X-Frame-Options", "DENY");
}

function send(res: ServerResponse, status: number, type: string, body: string, extra: Record<string, string> = {}) {
  res.statusCode = status;
  securityHeaders(res);
  res.setHeader("Content-Type", type);
  for (const [k, v] of Object.entries(extra)) res.setHeader(k, v);
  res.setHeader("Content-Length", Buffer.byteLength(body));
  res.end(body);
}

/** The one answer for everything that is not a valid link: same status, headers and bytes. */
export function notFound(res: ServerResponse): void {
  send(res, 404, "text/html; charset=utf-8", NOT_FOUND_HTML);
}

function cookieValue(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const i = part.indexOf("=");
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

function sameText(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined || a.length === 0 || a.length !== b.length || a.length > 100) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/** The form body (application/x-www-form-urlencoded, at most 4 KiB); express may have parsed it already. */
function readForm(req: IncomingMessage & { body?: unknown }): Promise<URLSearchParams> {
  const parsed = req.body;
  if (typeof parsed === "object" && parsed !== null && !Buffer.isBuffer(parsed) && Object.keys(parsed).length > 0) {
    const out = new URLSearchParams();
    for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) if (typeof v === "string") out.set(k, v);
    return Promise.resolve(out);
  }
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error("form too large"));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(new URLSearchParams(Buffer.concat(chunks).toString("utf8"))));
    req.on("error", reject);
  });
}

/**
 * Whether a post comes from this page's origin. Browsers say so in Sec-Fetch-Site; the
 * Origin header is "null" under this page's own Referrer-Policy: no-referrer, so it
 * counts only when it names an origin. Without either (an old browser), the SameSite
 * cookie and the form token still decide.
 */
function sameOrigin(req: IncomingMessage): boolean {
  const site = req.headers["sec-fetch-site"];
  if (site !== undefined && site !== "same-origin") return false;
  const origin = req.headers.origin;
  if (origin === undefined || origin === "null") return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

/** The page handler; `rest` is what follows the page path ("<token>", "<token>/receipts.json"). */
export function pageHandler(options: PageOptions): (req: IncomingMessage, res: ServerResponse, rest: string) => void {
  const limiter = new RateLimiter();
  const languages = Object.keys(options.texts);
  const now = options.now ?? Date.now;
  return (req, res, rest) => {
    const serve = async (): Promise<void> => {
      const parts = rest.split("/");
      const token = parts[0] ?? "";
      const sub = parts.length === 2 ? parts[1] : parts.length === 1 ? "" : undefined;
      const method = req.method ?? "GET";
      if (token === "" || sub === undefined || !["GET", "HEAD", "POST"].includes(method)) return notFound(res);
      if (!limiter.take(createHash("sha256").update(token).digest("base64"))) {
        return send(res, 429, "text/plain; charset=utf-8", "Too many requests\n", { "Retry-After": "60" });
      }
      const subject = options.store.subjectOfToken(token);
      if (subject === undefined) return notFound(res);
      const base = `${options.publicPath}/${token}`;
      const lang = pickLanguage(req.headers["accept-language"], languages);
      const texts = options.texts[lang];
      const store = options.store;
      if (sub === "receipts.json" || sub === "record.json") {
        if (method === "POST") return notFound(res);
        const view = await store.subjectView(subject);
        const keys = { publicKey: store.publicKey, retiredKeys: store.retiredKeys };
        const at = new Date(now());
        const body =
          sub === "receipts.json"
            ? {
                subject,
                store: options.storeName,
                exportedAt: at.toISOString(),
                publicKeys: [keys.publicKey, ...keys.retiredKeys].filter(Boolean),
                receipts: view.history,
              }
            : consentRecord({
                storeName: options.storeName,
                subject,
                purposes: view.purposes,
                receipts: view.history,
                ...keys,
                now: at,
              });
        const file = sub === "receipts.json" ? "consent-receipts.json" : "consent-record.json";
        const json = `${JSON.stringify(body, null, 2)}\n`;
        const disposition = `attachment; filename="${file}"`;
        return send(res, 200, "application/json; charset=utf-8", json, { "Content-Disposition": disposition });
      }
      if (sub !== "") return notFound(res);
      let saved: string | undefined;
      let problem: string | undefined;
      let status = 200;
      if (method === "POST") {
        const form = await readForm(req).catch(() => undefined);
        const token = form?.get("csrf") ?? undefined;
        if (form === undefined || !sameOrigin(req) || !sameText(cookieValue(req, COOKIE), token)) {
          status = 403;
          problem = texts.refused;
        } else {
          const purpose = form.get("purpose") ?? "";
          const give = form.get("give");
          if (!store.index.purposeList().some((p) => p.id === purpose) || (give !== "1" && give !== "0")) {
            status = 400;
            problem = texts.refused;
          } else {
            try {
              // The same journal as the manager: answered only once the receipt is fsynced.
              const action = give === "1" ? "grant" : "withdraw";
              await store.execute({ action, subject, purpose, method: "consent page" }, "consent page");
              // Post/redirect/get: a reload does not post again.
              res.statusCode = 303;
              securityHeaders(res);
              res.setHeader("Location", `${base}?saved=${encodeURIComponent(purpose)}`);
              res.end();
              return;
            } catch (e) {
              options.warn(`consent page: a change could not be saved: ${e instanceof Error ? e.message : String(e)}`);
              status = 503;
              problem = texts.unavailable;
            }
          }
        }
      } else {
        const q = new URL(req.url ?? "/", "http://x").searchParams.get("saved");
        if (q !== null && store.index.purposeList().some((p) => p.id === q)) saved = q;
      }
      const csrf = randomBytes(16).toString("base64url");
      const view = await store.subjectView(subject);
      const html = renderPage(
        {
          lang,
          storeName: options.storeName,
          subject,
          purposes: view.purposes,
          history: view.history,
          publicKey: store.publicKey,
          retiredKeys: store.retiredKeys,
          base,
          csrf,
          saved,
          problem,
        },
        texts,
      );
      const secure = (req.socket as { encrypted?: boolean }).encrypted === true ? "; Secure" : "";
      const cookie = `${COOKIE}=${csrf}; Path=${base}; HttpOnly; SameSite=Strict${secure}`;
      send(res, status, "text/html; charset=utf-8", html, { "Set-Cookie": cookie });
    };
    serve().catch((e: unknown) => {
      options.warn(`consent page failed: ${e instanceof Error ? e.message : String(e)}`);
      if (!res.headersSent) notFound(res);
      else res.end();
    });
  };
}
