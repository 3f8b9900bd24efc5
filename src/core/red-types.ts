/**
 * The small part of Node-RED's API our adapters use, typed here so engines and
 * adapters need no `any` and no dependency on node-red itself.
 */
import type { NodeStatus } from "./status";

export interface NodeMessage {
  _msgid?: string;
  payload?: unknown;
  topic?: string;
  [key: string]: unknown;
}

export type SendFunction = (msg: NodeMessage | Array<NodeMessage | NodeMessage[] | null> | null) => void;
export type DoneFunction = (err?: Error) => void;
export type InputHandler = (msg: NodeMessage, send: SendFunction, done: DoneFunction) => void;
export type CloseHandler = (removed: boolean, done: () => void) => void;

export interface NodeDef {
  id: string;
  type: string;
  name?: string;
  z?: string;
  [key: string]: unknown;
}

export interface RedNode {
  id: string;
  type: string;
  name?: string;
  credentials?: Record<string, string | undefined>;
  status(status: NodeStatus): void;
  log(msg: string): void;
  warn(msg: string): void;
  error(err: string | Error, msg?: NodeMessage): void;
  send(msg: NodeMessage | Array<NodeMessage | NodeMessage[] | null>): void;
  on(event: "input", handler: InputHandler): void;
  on(event: "close", handler: CloseHandler): void;
}

export interface RedUtil {
  cloneMessage<T>(msg: T): T;
  getMessageProperty(msg: NodeMessage, expr: string): unknown;
  setMessageProperty(msg: NodeMessage, expr: string, value: unknown, createMissing?: boolean): boolean;
  evaluateNodeProperty(value: string, type: string, node: RedNode, msg: NodeMessage): unknown;
}

export interface RedSettings {
  userDir?: string;
  [key: string]: unknown;
}

export interface RegisterOptions {
  credentials?: Record<string, { type: "text" | "password" }>;
  settings?: Record<string, { value: unknown; exportable?: boolean }>;
}

export interface RedAPI {
  nodes: {
    createNode(node: RedNode, def: NodeDef): void;
    registerType(type: string, ctor: (this: RedNode, def: NodeDef) => void, opts?: RegisterOptions): void;
    getNode<T extends RedNode = RedNode>(id: string): T | null;
    /** The deployed flows' node configs (config nodes included). */
    eachNode?(cb: (def: NodeDef) => void): void;
    getCredentials?(id: string): Record<string, unknown> | undefined;
  };
  plugins?: { registerPlugin(id: string, definition: Record<string, unknown>): void };
  /** The HTTP(S) server Node-RED (or the app embedding it) listens on. */
  server?: { address(): unknown; setSecureContext?: unknown };
  util: RedUtil;
  settings: RedSettings;
  log: { info(m: string): void; warn(m: string): void; error(m: string): void; debug(m: string): void };
  _(key: string, substitutions?: Record<string, string | number>): string;
  httpAdmin: {
    get(path: string, ...handlers: Array<(req: unknown, res: unknown, next?: () => void) => void>): void;
    post(path: string, ...handlers: Array<(req: unknown, res: unknown, next?: () => void) => void>): void;
  };
  auth?: { needsPermission(permission: string): (req: unknown, res: unknown, next: () => void) => void };
  /** Node-RED's HTTP node server (an express app), where http-in nodes and pages live. */
  httpNode?: {
    all(path: string, ...handlers: Array<(req: unknown, res: unknown, next: () => void) => void>): void;
  };
}
