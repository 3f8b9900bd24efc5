/**
 * HTTP for answers we do not control: Node's fetch with a deadline over the whole
 * exchange (headers and body), a cap on the body size, and failures that say what went
 * wrong (timeout, network, HTTP status, too large, not JSON) so a report can say so.
 *
 * Redirects are followed by hand, only within the origin asked for: a registry answer
 * that points elsewhere must not receive the list of installed modules (a 307 re-sends
 * a POST body), nor make us trust another host's JSON. A redirected POST is refused.
 */

export type FetchFailureKind = "timeout" | "network" | "http" | "redirect" | "too-large" | "bad-json" | "aborted";

/** Redirects followed at most; a registry or manifest host needs one, rarely two. */
export const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_REASON = 120;

export class FetchFailure extends Error {
  constructor(
    readonly kind: FetchFailureKind,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = "FetchFailure";
  }
}

export interface FetchOptions {
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
  maxBytes: number;
  /** Aborts the request (node closing). */
  signal?: AbortSignal;
}

export type JsonFetcher = (url: string, options: FetchOptions) => Promise<unknown>;

/** Origin and path only: never echo credentials or query strings into reports. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return "(invalid URL)";
  }
}

// Content-Length is only a shortcut: fetch decompresses gzip/br bodies, so the cap is
// enforced again on the decoded bytes as they arrive (a small compressed bomb fails too).
async function readCapped(res: Response, maxBytes: number): Promise<Buffer> {
  const declared = Number(res.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw new FetchFailure("too-large", `answer larger than ${maxBytes} bytes`);
  }
  if (!res.body) return Buffer.alloc(0);
  const reader: ReadableStreamDefaultReader<Uint8Array> = res.body.getReader();
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new FetchFailure("too-large", `answer larger than ${maxBytes} bytes`);
    }
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks);
}

/** A network error's cause, cut short and stripped of control characters (it is shown in a status). */
function sanitisedCause(e: unknown): string {
  if (!(e instanceof Error) || !(e.cause instanceof Error)) return "";
  // eslint-disable-next-line no-control-regex
  const text = e.cause.message.replace(/[\u0000-\u001f\u007f-\u009f]+/g, " ").trim();
  return text ? `: ${text.length > MAX_REASON ? `${text.slice(0, MAX_REASON)}...` : text}` : "";
}

/** The next URL of a redirect response, when it stays on `origin`; throws otherwise. */
function sameOriginTarget(res: Response, current: URL, origin: string, method: string, where: string): URL {
  const location = res.headers.get("location");
  if (!location) throw new FetchFailure("redirect", `redirect without a location from ${where}`, res.status);
  let next: URL;
  try {
    next = new URL(location, current);
  } catch {
    throw new FetchFailure("redirect", `redirect to an invalid URL from ${where}`, res.status);
  }
  if (next.origin !== origin)
    throw new FetchFailure("redirect", `redirect to another origin refused (${where})`, res.status);
  if (method !== "GET")
    throw new FetchFailure(
      "redirect",
      `redirect of a ${method} refused (${where}): a body is never sent twice`,
      res.status,
    );
  return next;
}

/** Fetches a URL and parses its JSON body; throws FetchFailure for anything else. */
export async function fetchJson(url: string, options: FetchOptions): Promise<unknown> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  const where = describeUrl(url);
  const method = options.method ?? "GET";
  try {
    let current = new URL(url);
    const origin = current.origin;
    let res = await fetch(current, {
      method,
      headers: options.headers,
      body: options.body,
      signal,
      redirect: "manual",
    });
    for (let hops = 0; REDIRECT_STATUSES.has(res.status); hops++) {
      await res.body?.cancel().catch(() => undefined);
      if (hops >= MAX_REDIRECTS)
        throw new FetchFailure("redirect", `more than ${MAX_REDIRECTS} redirects from ${where}`, res.status);
      current = sameOriginTarget(res, current, origin, method, where);
      res = await fetch(current, { method, headers: options.headers, signal, redirect: "manual" });
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      throw new FetchFailure("http", `HTTP ${res.status} from ${where}`, res.status);
    }
    const body = await readCapped(res, options.maxBytes);
    try {
      return JSON.parse(body.toString("utf8"));
    } catch {
      throw new FetchFailure("bad-json", `answer from ${where} is not JSON`);
    }
  } catch (e) {
    if (e instanceof FetchFailure) throw e;
    if (options.signal?.aborted) throw new FetchFailure("aborted", `request to ${where} aborted`);
    if (timeout.aborted) throw new FetchFailure("timeout", `no answer from ${where} within ${options.timeoutMs} ms`);
    throw new FetchFailure("network", `cannot reach ${where}${sanitisedCause(e)}`);
  }
}
