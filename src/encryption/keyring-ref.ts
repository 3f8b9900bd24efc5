/**
 * How a node reaches the keyring of a privacy-keyring config node, typed without
 * `any`: the config node instance carries `getKeyring()`.
 */
import type { Keyring } from "./keyring";
import type { RedAPI, RedNode } from "../core/red-types";
import { failClosed } from "../core/node-adapter";
import { errorText, type StatusReporter } from "../core/status";

export interface KeyringConfigNode extends RedNode {
  /** The keyring; throws an Error with a clear reason (never a key) when it cannot be built. */
  getKeyring(): Keyring;
}

function isKeyringNode(node: RedNode | null): node is KeyringConfigNode {
  return (
    node !== null &&
    node.type === "privacy-keyring" &&
    typeof (node as Partial<KeyringConfigNode>).getKeyring === "function"
  );
}

/** The keyring config node with this id, or an Error saying why there is none. */
export function keyringNode(RED: RedAPI, id: unknown): KeyringConfigNode {
  if (typeof id !== "string" || id === "") throw new Error("no keyring selected");
  const node = RED.nodes.getNode(id);
  if (!isKeyringNode(node)) throw new Error("the selected keyring is missing or not deployed");
  return node;
}

/**
 * The keyring of the config node `id`, for a node that cannot work without one: when
 * there is none, the node is put into its fail-closed state (red status, one log line,
 * every message errors) and undefined is returned.
 */
export function keyringOrFailClosed(
  RED: RedAPI,
  node: RedNode,
  status: StatusReporter,
  id: unknown,
): Keyring | undefined {
  try {
    return keyringNode(RED, id).getKeyring();
  } catch (e) {
    failClosed(node, status, errorText(e));
    return undefined;
  }
}
