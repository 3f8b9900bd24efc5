/**
 * `npx @privacy-toolkit/node-red-privacy consent migrate --from <journal> --to redis://...`:
 * moves a consent store's file journal into the Redis stream of the `redis` backend.
 * (`consent acknowledge --redis redis://...` accepts a broken stream: redis-acknowledge.ts.)
 *
 * - The same bytes: each journal line becomes one stream entry holding that line, so
 *   whatever a line carries (fields, chain, signature) is carried over unchanged.
 * - Idempotent: the stream may already hold a beginning of the journal (an earlier run,
 *   interrupted or complete); those entries must equal the journal's first lines, and
 *   only the rest is appended. A stream holding anything else is refused, untouched.
 *   Each append is the backend's own idempotent script (a receipt id is never added twice).
 * - Verified on both sides: every journal line must be a valid record before anything is
 *   written (a torn last line, never acknowledged, is left out), and afterwards the whole
 *   stream is read back and compared line by line with the journal.
 * - The hash chain too: the journal's chain (and its `.head`) must hold before anything is
 *   written, and the stream's, read back after its header, must hold after.
 *
 * Exit 0: migrated and verified; 1: refused or verification failed; 2: bad usage.
 */
import fs from "node:fs";
import readline from "node:readline";
import { parseLine } from "../consent/consent";
import { ChainVerifier, lineHash, parseHead, type ChainHead } from "../consent/hash-chain";
import { acknowledgeStream, checkStream } from "../consent/redis-acknowledge";
import {
  DEFAULT_PREFIX,
  REDIS_HEADER,
  StreamChain,
  appendLine,
  checkFormat,
  connectClient,
  lineIds,
  readAll,
  redisKeys,
  type RedisClient,
  type RedisKeys,
} from "../consent/redis-backend";
import { need, options, reportError, UsageError } from "./args";
import type { CliIO } from "./io";

const USAGE = `usage: node-red-privacy consent migrate --from <journal.jsonl> --to <redis-url> [--prefix P]
       node-red-privacy consent acknowledge --redis <redis-url> [--prefix P] [--fingerprint F]

  migrate          moves a store's file journal into Redis; run it again at any time:
                   what is already in Redis is checked, not copied twice
    --from FILE    the file journal of a consent store (it is only read)
    --to URL       redis://host:port or rediss://host:port (TLS)
  acknowledge      shows where a store's Redis stream was changed outside the store; with
                   --fingerprint (the one it shows) accepts what the stream holds now, keeps
                   the stream as found as evidence, and makes its hash chain whole again
    --redis URL    the store's Redis
  --prefix P       the key prefix the store node is configured with
                   (default ${DEFAULT_PREFIX})

User and password may be in the URL, or in the environment: REDIS_USERNAME, REDIS_PASSWORD.`;

interface Options {
  from: string;
  to: string;
  prefix: string;
}

function parse(args: string[]): Options {
  const opts = options(args, { from: "value", to: "value", prefix: "value" });
  // An empty --from names no journal either.
  const from = opts.from;
  if (typeof from !== "string" || from === "") throw new UsageError("--from is required");
  const to = opts.to;
  if (typeof to !== "string" || !/^rediss?:\/\//.test(to))
    throw new UsageError("--to must be a redis:// or rediss:// URL");
  return { from, to, prefix: typeof opts.prefix === "string" ? opts.prefix : DEFAULT_PREFIX };
}

/** The head kept beside a journal (`<journal>.head`), or undefined. */
function readHead(file: string): ChainHead | undefined {
  try {
    return parseHead(fs.readFileSync(`${file}.head`, "latin1"));
  } catch {
    return undefined;
  }
}

/**
 * The journal's record lines, checked; throws on the first that is not one. With `chain`,
 * each line is also fed to it (the header first), so the caller can check the chain at the end.
 */
async function* journalLines(file: string, chain?: ChainVerifier): AsyncGenerator<string> {
  // A torn last line (no newline at the end) was never acknowledged: left out, as load does.
  const size = fs.statSync(file).size;
  let torn = false;
  if (size > 0) {
    const fd = fs.openSync(file, "r");
    try {
      const last = Buffer.alloc(1);
      fs.readSync(fd, last, 0, 1, size - 1);
      torn = last[0] !== 0x0a;
    } finally {
      fs.closeSync(fd);
    }
  }
  const lines = readline.createInterface({ input: fs.createReadStream(file, "utf8"), crlfDelay: Infinity });
  let n = 0;
  let invalidAt: number | undefined;
  for await (const line of lines) {
    n++;
    if (n === 1) {
      if (line !== REDIS_HEADER) {
        const why = "an older journal: start the store on it once, it adds the header";
        throw new Error(`${file} does not start with the consent journal header (${why})`);
      }
      chain?.feed(Buffer.from(line, "utf8"), lineHash(`${line}\n`));
      continue;
    }
    // Only the last line may be invalid (torn); one followed by another line stops the migration.
    if (invalidAt !== undefined) throw invalid(file, invalidAt);
    const parsed = parseLine(line);
    if (parsed === undefined) {
      invalidAt = n;
      continue;
    }
    chain?.feed(Buffer.from(line, "utf8"), lineHash(`${line}\n`));
    if (parsed.kind === "checkpoint") chain?.checkpoint(parsed.checkpoint);
    yield line;
  }
  if (invalidAt !== undefined && !torn) throw invalid(file, invalidAt);
}

function invalid(file: string, n: number): Error {
  return new Error(
    `${file} line ${n} is not a valid consent record; nothing was migrated. ` +
      "Start the store on it once (its compaction drops invalid lines), or fix the line.",
  );
}

/** The idempotency ids of a line already known valid (receipt ids; see lineIds). */
function idsOf(line: string): string[] {
  const parsed = parseLine(line);
  return parsed === undefined ? [] : lineIds(parsed, line);
}

/** Throws when the journal's hash chain does not hold (or does not reach its head). */
async function checkJournalChain(file: string): Promise<void> {
  const chain = new ChainVerifier(readHead(file));
  for await (const line of journalLines(file, chain)) void line;
  const breaks = chain.finish();
  if (breaks.length > 0) {
    throw new Error(
      `${file} was changed outside the store: ${breaks[0].text}` +
        `${chain.broken > 1 ? ` (and ${chain.broken - 1} more)` : ""}; nothing was migrated. ` +
        "Start the store on it and acknowledge the break in its dialog first.",
    );
  }
}

interface Result {
  lines: number;
  present: number;
  appended: number;
}

async function migrate(client: RedisClient, keys: RedisKeys, file: string): Promise<Result> {
  await checkFormat(client, keys);
  // Checked first, whole, so a journal with a bad line or a broken chain writes nothing.
  await checkJournalChain(file);
  let total = 0;
  for await (const line of journalLines(file)) if (line !== "") total++;
  const existing = readAll(client, keys)[Symbol.asyncIterator]();
  let present = 0;
  let appended = 0;
  let inFlight: Array<Promise<string>> = [];
  let streamEnded = false;
  for await (const line of journalLines(file)) {
    if (!streamEnded) {
      const next = await existing.next();
      if (!next.done) {
        if (next.value.line !== line) {
          throw new Error(
            `the Redis stream ${keys.journal} differs from the journal at entry ${present + 1} (${next.value.id}); ` +
              "refused, nothing written. Use another --prefix, or remove the stream if it is a failed experiment.",
          );
        }
        present++;
        continue;
      }
      streamEnded = true;
    }
    // Sent without waiting: node-redis pipelines them and Redis runs them in order.
    inFlight.push(appendLine(client, keys, line, idsOf(line)));
    appended++;
    if (inFlight.length >= 1000) {
      await Promise.all(inFlight);
      inFlight = [];
    }
  }
  await Promise.all(inFlight);
  if (!streamEnded && !(await existing.next()).done) {
    throw new Error(`the Redis stream ${keys.journal} holds more entries than the journal; refused`);
  }
  return { lines: total, present, appended };
}

/** Reads the stream back and compares it with the journal, line by line. */
async function verify(client: RedisClient, keys: RedisKeys, file: string): Promise<number> {
  const stream = readAll(client, keys)[Symbol.asyncIterator]();
  const chain = new StreamChain();
  let n = 0;
  for await (const line of journalLines(file)) {
    const next = await stream.next();
    n++;
    if (next.done) throw new Error(`verification failed: the stream ends before journal record ${n}`);
    if (next.value.line !== line) {
      throw new Error(`verification failed: stream entry ${next.value.id} differs from journal record ${n}`);
    }
    const broken = chain.feed(next.value.line);
    if (broken !== undefined) {
      throw new Error(`verification failed: the stream's hash chain breaks at entry ${next.value.id}: ${broken.text}`);
    }
  }
  if (!(await stream.next()).done) {
    throw new Error("verification failed: the stream holds more entries than the journal");
  }
  return n;
}

/** Connects to `url`, runs `work`, and always lets go of the connection. */
async function withRedis<T>(url: string, work: (client: RedisClient) => Promise<T>): Promise<T> {
  const client = connectClient(url, process.env.REDIS_USERNAME, process.env.REDIS_PASSWORD);
  // node-redis emits "error" on connection problems; the command reports the failure itself.
  let connectionError = "";
  client.on("error", (e: unknown) => {
    connectionError = e instanceof Error ? e.message : String(e);
  });
  try {
    await Promise.race([
      client.connect(),
      new Promise((_, reject) => {
        setTimeout(() => reject(new Error(connectionError || "connect timeout")), 10000).unref();
      }),
    ]);
    return await work(client);
  } finally {
    try {
      if (client.isOpen) client.destroy();
    } catch {
      // Exiting anyway.
    }
  }
}

async function runMigrate(args: string[], io: CliIO): Promise<number> {
  let options: Options;
  try {
    options = parse(args);
  } catch (e) {
    return reportError(e, USAGE, io);
  }
  const started = io.now();
  try {
    return await withRedis(options.to, async (client) => {
      const keys = redisKeys(options.prefix);
      const result = await migrate(client, keys, options.from);
      const verified = await verify(client, keys, options.from);
      const secs = ((io.now() - started) / 1000).toFixed(1);
      io.out(
        `migrated ${options.from} to ${keys.journal}: ${result.lines} records, ${result.present} already there, ` +
          `${result.appended} appended; verified ${verified} records identical (${secs} s)`,
      );
      return 0;
    });
  } catch (e) {
    io.err(`consent migrate: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}

/**
 * Without --fingerprint: shows the breaks and the fingerprint that accepts them (exit 1
 * when there are any). With it: acknowledges exactly those breaks (see redis-acknowledge).
 */
async function runAcknowledge(args: string[], io: CliIO): Promise<number> {
  let url: string;
  let prefix: string;
  let fingerprint: string | undefined;
  try {
    const opts = options(args, { redis: "value", prefix: "value", fingerprint: "value" });
    url = need(opts, "redis");
    if (!/^rediss?:\/\//.test(url)) throw new UsageError("--redis must be a redis:// or rediss:// URL");
    prefix = typeof opts.prefix === "string" ? opts.prefix : DEFAULT_PREFIX;
    fingerprint = typeof opts.fingerprint === "string" ? opts.fingerprint : undefined;
  } catch (e) {
    return reportError(e, USAGE, io);
  }
  try {
    return await withRedis(url, async (client) => {
      const keys = redisKeys(prefix);
      await checkFormat(client, keys);
      if (fingerprint === undefined) {
        const found = await checkStream(client, keys);
        if (found.breaks.length === 0) {
          io.out(`${keys.journal}: the hash chain of its ${found.entries} entries is whole; nothing to acknowledge`);
          return 0;
        }
        io.out(
          `${keys.journal} was changed outside the store:\n` +
            found.breaks.map((b) => `  - ${b.text}`).join("\n") +
            `\nTo accept what it holds now (the stream as found is kept as evidence), run again with ` +
            `--fingerprint ${found.fingerprint}, then restart the flows of every Node-RED using this store.`,
        );
        return 1;
      }
      const done = await acknowledgeStream(client, keys, fingerprint, new Date(io.now()));
      io.out(
        `acknowledged ${done.acknowledged.length} break(s) of ${keys.journal} (${done.entries} entries, chained anew ` +
          `after a checkpoint); the stream as found is kept in ${done.evidence}. Restart the flows of every ` +
          "Node-RED using this store.",
      );
      return 0;
    });
  } catch (e) {
    io.err(`consent acknowledge: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}

export async function run(argv: string[], io: CliIO): Promise<number> {
  const args = argv.slice(1);
  if (args[0] === undefined || args[0] === "--help" || args[0] === "help") {
    io.out(USAGE);
    return args[0] === undefined ? 2 : 0;
  }
  if (args[0] === "migrate") return runMigrate(args.slice(1), io);
  if (args[0] === "acknowledge") return runAcknowledge(args.slice(1), io);
  io.err(`unknown consent command ${args[0]}\n\n${USAGE}`);
  return 2;
}
