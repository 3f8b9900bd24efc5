/**
 * What every privacy node does the same way around its own engine: validate config
 * once and fail closed when it is invalid; run each message so that it is either sent
 * whole or ends in done(err); keep a coalesced status; release everything on close.
 * It knows Node-RED only through the structural types in red-types.ts.
 */
import type Joi from "joi";
import type { DoneFunction, NodeMessage, RedNode, SendFunction } from "./red-types";
import { StatusReporter, errorText, shortText, type NodeStatus } from "./status";
import { validateConfig } from "./validation";

/** What a node's engine returns for one message: messages to send, or null to send nothing. */
export type Output = NodeMessage | Array<NodeMessage | NodeMessage[] | null> | null;

export interface NodeRuntime<C> {
  /** The validated config. */
  config: C;
  status: StatusReporter;
}

/**
 * Validates config; on failure the node shows a red status, logs one line naming the
 * field, and answers every message with done(err). Returns the config, or undefined.
 */
export function configure<C>(node: RedNode, schema: Joi.Schema<C>, raw: unknown): NodeRuntime<C> | undefined {
  const status = new StatusReporter(
    (s) => node.status(s),
    250,
    Date.now,
    (err) => node.error(`status failed: ${errorText(err)}`),
  );
  node.on("close", (_removed, done) => {
    status.close();
    done();
  });
  const result = validateConfig(schema, raw);
  if (!result.ok) {
    failClosed(node, status, result.error);
    return undefined;
  }
  return { config: result.value, status };
}

/** Puts a node into its fail-closed state: red status, one log line, every message errors. */
export function failClosed(node: RedNode, status: StatusReporter, reason: string): void {
  status.showNow({ fill: "red", shape: "ring", text: shortText(reason) });
  node.error(reason);
  node.on("input", (_msg: NodeMessage, _send: SendFunction, done: DoneFunction) => {
    done(new Error(reason));
  });
}

export interface InputOptions {
  /** Builds the status shown after messages were handled; called at most a few times a second. */
  okStatus?: () => NodeStatus;
  /** The status for an error, when the node has a better one than the error's first 40 characters. */
  errorStatus?: (err: Error) => NodeStatus | undefined;
}

/**
 * Registers the input handler. `handle` may return its output or a promise of it; a
 * throw or a rejection sends nothing and calls done(err) with a red status.
 */
export function onInput(
  node: RedNode,
  status: StatusReporter,
  handle: (msg: NodeMessage) => Output | Promise<Output>,
  options: InputOptions = {},
): void {
  const succeed = (out: Output, send: SendFunction, done: DoneFunction): void => {
    try {
      if (out !== null) send(out);
    } catch (err) {
      // Runs inside a promise callback too: a throw here must end in done(err), never
      // in an unhandled rejection.
      fail(err, done);
      return;
    }
    done();
    if (options.okStatus) status.show(options.okStatus);
  };
  const fail = (err: unknown, done: DoneFunction): void => {
    const error = err instanceof Error ? err : new Error(errorText(err));
    let shown: NodeStatus | undefined;
    try {
      shown = options.errorStatus?.(error);
    } catch {
      shown = undefined; // a throwing status builder must not hide the error itself
    }
    status.showNow(shown ?? { fill: "red", shape: "dot", text: shortText(error.message) });
    done(error);
  };
  node.on("input", (msg: NodeMessage, send: SendFunction, done: DoneFunction) => {
    let out: Output | Promise<Output>;
    try {
      out = handle(msg);
    } catch (err) {
      fail(err, done);
      return;
    }
    if (out !== null && typeof (out as Promise<Output>).then === "function") {
      (out as Promise<Output>)
        .then(
          (value) => succeed(value, send, done),
          (err: unknown) => fail(err, done),
        )
        // a throw in send or done would otherwise be an unhandled rejection, which ends the process
        .catch((err: unknown) => node.error(`input handling failed: ${errorText(err)}`));
    } else {
      succeed(out as Output, send, done);
    }
  });
}

/** Registers work to do on close (timers, files, sockets), awaited before Node-RED goes on. */
export function onClose(node: RedNode, release: (removed: boolean) => void | Promise<void>): void {
  node.on("close", (removed, done) => {
    Promise.resolve()
      .then(() => release(removed))
      .catch((err: unknown) => node.error(`close failed: ${errorText(err)}`))
      .finally(() => done());
  });
}
