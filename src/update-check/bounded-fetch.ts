/**
 * HTTP for answers we do not control: Node's fetch with a deadline over the whole
 * exchange (headers and body), a cap on the body size, and failures that say what went
 * wrong (timeout, network, HTTP status, too large, not JSON) so a report can say so.
 */

export type FetchFailureKind = "timeout" | "network" | "http" | "too-large" | "bad-json" | "aborted";

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
  const reader = res.body.getReader();
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

/** Fetches a URL and parses its JSON body; throws FetchFailure for anything else. */
export async function fetchJson(url: string, options: FetchOptions): Promise<unknown> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  const where = describeUrl(url);
  try {
    const res = await fetch(url, {
      method: options.method ?? "GET",
      headers: options.headers,
      body: options.body,
      signal,
      redirect: "follow",
    });
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
    const cause = e instanceof Error && e.cause instanceof Error ? `: ${e.cause.message}` : "";
    throw new FetchFailure("network", `cannot reach ${where}${cause}`);
  }
}
