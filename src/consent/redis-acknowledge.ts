/**
 * Acknowledging a broken consent stream (the `redis` backend), as the store's dialog does
 * for a file journal: what the stream holds now is accepted, the stream as found is kept
 * as evidence, and the chain is made whole again from a checkpoint that names the breaks.
 *
 * - The breaks are those a store finds at load: an entry that does not carry the hash of
 *   the one before it, and newest entries gone (`<prefix>head` names an entry that is not
 *   there). Only the breaks found now can be acknowledged: the caller names them by their
 *   fingerprint, so nothing is accepted unseen.
 * - Evidence: the stream as found is copied to `<prefix>broken-<time>` (COPY, Redis 6.2).
 * - The new stream is built under `<prefix>journal:acknowledging`: first the checkpoint
 *   (linked to the header), then every entry with the same id and the same bytes, linked
 *   anew to the line before it. It replaces the journal with RENAME, in one script, and
 *   only when the journal still ends where it was read (a writer meanwhile: nothing
 *   changes). Ids stay, so `<prefix>receipts` stays true.
 * - Every Node-RED using the store found the break and stopped applying entries: its flows
 *   are restarted (a deploy) to read the stream again.
 */
import { breaksFingerprint, chained, lineHash, relinked, type ChainBreak, type Checkpoint } from "./hash-chain";
import { HeadCheck, REDIS_HEADER, StreamChain, readAll, type RedisClient, type RedisKeys } from "./redis-backend";

export interface StreamCheck {
  breaks: ChainBreak[];
  fingerprint: string;
  /** Entries in the stream (the header not counted). */
  entries: number;
  /** The stream's last id ("0-0" when empty), and its line (the header's when empty). */
  lastId: string;
  lastLine: string;
}

/** Reads the whole stream and finds its breaks, as a store's load does. */
export async function checkStream(client: RedisClient, keys: RedisKeys): Promise<StreamCheck> {
  const head = await HeadCheck.read(client, keys);
  const chain = new StreamChain();
  let entries = 0;
  let lastId = "0-0";
  let lastLine = REDIS_HEADER;
  for await (const { id, line } of readAll(client, keys)) {
    chain.feed(line);
    head.see(id);
    entries++;
    lastId = id;
    lastLine = line;
  }
  const breaks = [...chain.breaks];
  const missing = head.missing();
  if (missing !== undefined) breaks.push(missing);
  return { breaks, fingerprint: breaksFingerprint(breaks), entries, lastId, lastLine };
}

/** Replaces the journal by the rebuilt stream when the journal still ends at ARGV[1]. */
const SWAP_SCRIPT = `
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local lastId = '0-0'
if #last > 0 then lastId = last[1][1] end
if lastId ~= ARGV[1] then return 0 end
redis.call('RENAME', KEYS[2], KEYS[1])
redis.call('SET', KEYS[3], ARGV[2])
return 1`;

export interface Acknowledged {
  evidence: string;
  acknowledged: ChainBreak[];
  entries: number;
}

/**
 * Accepts the breaks named by `fingerprint` (from checkStream): keeps the stream as found,
 * then rebuilds it whole. Throws, changing nothing but the evidence copy, when the breaks
 * are not those found now or the stream changed meanwhile.
 */
export async function acknowledgeStream(
  client: RedisClient,
  keys: RedisKeys,
  fingerprint: string,
  now: Date,
): Promise<Acknowledged> {
  const found = await checkStream(client, keys);
  if (found.breaks.length === 0) throw new Error(`the hash chain of ${keys.journal} is whole: nothing to acknowledge`);
  if (found.fingerprint !== fingerprint) {
    throw new Error(`these are not the breaks found now (${found.fingerprint}): check again and look at them first`);
  }
  const evidence = `${keys.journal.slice(0, -"journal".length)}broken-${now.toISOString()}`;
  if (Number(await client.sendCommand(["COPY", keys.journal, evidence])) !== 1) {
    throw new Error(`cannot keep the stream as evidence: ${evidence} exists already`);
  }
  const temp = `${keys.journal}:acknowledging`;
  await client.sendCommand(["DEL", temp]);
  // The head of the chain as found: its lines (header included) and its last line's hash.
  const checkpoint: Checkpoint = {
    replaced: { lines: found.entries + 1, hash: lineHash(`${found.lastLine}\n`) },
    at: now.toISOString(),
    reason: "acknowledged",
    acknowledged: found.breaks,
    evidence,
  };
  let previous = chained(JSON.stringify({ checkpoint }), lineHash(`${REDIS_HEADER}\n`));
  let newLast = "0-1";
  await client.sendCommand(["XADD", temp, newLast, "line", previous]);
  let inFlight: Array<Promise<unknown>> = [];
  for await (const { id, line } of readAll(client, keys)) {
    const next = relinked(Buffer.from(line, "utf8"), lineHash(`${previous}\n`)).toString("utf8");
    // Sent without waiting: node-redis pipelines them and Redis runs them in order.
    inFlight.push(client.sendCommand(["XADD", temp, id, "line", next]));
    previous = next;
    newLast = id;
    if (inFlight.length >= 1000) {
      await Promise.all(inFlight);
      inFlight = [];
    }
  }
  await Promise.all(inFlight);
  const swapped = await client.sendCommand([
    "EVAL",
    SWAP_SCRIPT,
    "3",
    keys.journal,
    temp,
    keys.head,
    found.lastId,
    newLast,
  ]);
  if (Number(swapped) !== 1) {
    await client.sendCommand(["DEL", temp]);
    throw new Error(`${keys.journal} changed while it was being rebuilt; nothing was acknowledged (run it again)`);
  }
  return { evidence, acknowledged: found.breaks, entries: found.entries };
}
