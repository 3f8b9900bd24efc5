/**
 * Verifies a journal's hash chain in a worker thread while the main thread parses the
 * same file into the index: on a machine with a second core the chain costs the load
 * almost no wall time. The load waits for the answer before the store is used, so a
 * broken chain still fails closed. Reads the descriptor it is given (threads share the
 * process's descriptors), never a path that could name another file by now.
 */
import { workerData } from "node:worker_threads";
import type { MessagePort } from "node:worker_threads";
import { scanLinesSync } from "./journal-io";
import { ChainVerifier, lineHash, type ChainHead, type Checkpoint } from "./hash-chain";

export interface ChainJob {
  fd: number;
  size: number;
  head: ChainHead | undefined;
  /** Set to 1 (and notified) once the answer is on the port. */
  signal: Int32Array;
  port: MessagePort;
}

export type ChainAnswer =
  | { ok: true; breaks: ReturnType<ChainVerifier["finish"]>; broken: number; end: ChainHead }
  | { ok: false; error: string };

const CHECKPOINT_START = Buffer.from('{"checkpoint":');

/** Runs the check over complete lines [0, size) of fd; what the main thread would do inline. */
export function verifyChain(fd: number, size: number, head: ChainHead | undefined): Extract<ChainAnswer, { ok: true }> {
  const verifier = new ChainVerifier(head);
  let lineNo = 0;
  scanLinesSync(fd, size, (bytes, _offset, withNewline) => {
    lineNo++;
    verifier.feed(bytes, lineHash(withNewline));
    if (lineNo === 2 && bytes.subarray(0, CHECKPOINT_START.length).equals(CHECKPOINT_START)) {
      try {
        const c = (JSON.parse(bytes.toString("utf8")) as { checkpoint?: Checkpoint }).checkpoint;
        if (c !== undefined) verifier.checkpoint(c);
      } catch {
        // not a checkpoint: the chain check alone decides
      }
    }
  });
  const breaks = verifier.finish();
  return { ok: true, breaks, broken: verifier.broken, end: verifier.end };
}

function run(job: ChainJob): void {
  let answer: ChainAnswer;
  try {
    answer = verifyChain(job.fd, job.size, job.head);
  } catch (e) {
    answer = { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
  job.port.postMessage(answer);
  Atomics.store(job.signal, 0, 1);
  Atomics.notify(job.signal, 0);
}

if (workerData !== null && typeof workerData === "object" && "signal" in workerData) run(workerData as ChainJob);
