/**
 * How a node reaches the keyring of a privacy-keyring config node, typed without
 * `any`: the config node instance carries `getKeyring()`.
 */
import type { Keyring } from "./keyring";
import type { RedAPI, RedNode } from "./red-types";

export interface KeyringConfigNode extends RedNode {
  /** The keyring; throws an Error with a clear reason (never a key) when it cannot be built. */
  getKeyring(): Keyring;
}

function isKeyringNode(node: RedNode | null): node is KeyringConfigNode {
  return node !== null && node.type === "privacy-keyring" && typeof (node as Partial<KeyringConfigNode>).getKeyring === "function";
}

/** The keyring config node with this id, or an Error saying why there is none. */
export function keyringNode(RED: RedAPI, id: unknown): KeyringConfigNode {
  if (typeof id !== "string" || id === "") throw new Error("no keyring selected");
  const node = RED.nodes.getNode(id);
  if (!isKeyringNode(node)) throw new Error("the selected keyring is missing or not deployed");
  return node;
}
