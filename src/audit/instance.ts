/**
 * The Node-RED instance, where its settings are known (the runtime tells the sidebar;
 * the command reads --settings). Nothing is reported about what is not known.
 */
import type { Finding, InstanceFacts } from "./types";
import { classifyHost } from "./hosts";
import type { Graph } from "./graph";

function base(id: Finding["rule"]): Pick<Finding, "id" | "rule" | "dormant" | "anchor"> {
  return { id: id, rule: id, dormant: false, anchor: null };
}

export function instanceFindings(g: Graph, facts: InstanceFacts | undefined, notes: string[]): Finding[] {
  const out: Finding[] = [];
  if (!facts || facts.adminAuth === undefined) {
    notes.push(
      "The instance (adminAuth, credentialSecret, httpNodeAuth, https) was not checked: its settings were not given " +
        "(the command takes --settings settings.js).",
    );
  }
  if (!facts) return out;
  const editor = facts.editor;
  const host = editor?.host ?? "";
  const everyInterface = host === "" || host === "0.0.0.0" || host === "::";
  const onlyHere = !everyInterface && classifyHost(host) === "loopback";
  if (editor?.enabled && facts.adminAuth === false) {
    out.push({
      ...base("instance-admin-auth"),
      severity: onlyHere ? "low" : "high",
      title: "The editor has no login (adminAuth)",
      explanation: onlyHere
        ? "The editor only listens on this machine, but anyone with an account on it can open the editor, read " +
          "every flow and deploy new ones."
        : "Anyone who can reach this Node-RED on the network can open the editor, read every flow, deploy a flow " +
          "that sends your data anywhere, and run commands with the exec node.",
      nodes: [],
      fix: {
        text:
          "Set adminAuth in settings.js (node-red admin hash-pw makes the password hash), with a read-only " +
          "default user at most.",
      },
    });
  }
  if (facts.credentialSecret === "disabled" || facts.credentialsFile === "plain") {
    out.push({
      ...base("instance-credential-secret"),
      severity: "high",
      title: "Credentials are stored unencrypted",
      explanation:
        "credentialSecret is false, so the credentials file (passwords, tokens, keys of every node) is plain " +
        "JSON on disk and in every backup of it.",
      nodes: [],
      fix: { text: "Set credentialSecret in settings.js to a long random string and deploy once to re-encrypt." },
    });
  } else if (facts.credentialSecret === "generated") {
    out.push({
      ...base("instance-credential-secret"),
      severity: "medium",
      title: "Credentials are encrypted with a generated key",
      explanation:
        "No credentialSecret is set, so Node-RED encrypted the credentials with a key it generated and keeps in " +
        ".config.runtime.json, in the same directory: a copy or backup of that directory (or a git repository " +
        "of it) holds both the lock and the key.",
      nodes: [],
      fix: {
        text:
          "Set credentialSecret in settings.js to the key now in .config.runtime.json (_credentialSecret), or to " +
          "a new one and re-enter the credentials; keep it out of the backups of the user directory.",
      },
    });
  }
  const httpIns = g.nodes.filter((n) => n.type === "http in");
  if (facts.httpNodeAuth === false && httpIns.length > 0) {
    out.push({
      ...base("instance-http-node-auth"),
      severity: onlyHere ? "low" : "medium",
      title: `${httpIns.length} HTTP route${httpIns.length === 1 ? "" : "s"} without a login (httpNodeAuth)`,
      explanation:
        "httpNodeAuth is not set, so the routes of the http in nodes answer anyone who can reach this " +
        "Node-RED, unless each flow checks a login itself.",
      nodes: httpIns.map((n) => n.id),
      fix: { text: "Set httpNodeAuth in settings.js, or check a token in each route's flow before answering." },
      dormant: httpIns.every((n) => n.disabled),
    });
  }
  if (editor?.enabled && everyInterface && !editor.https) {
    out.push({
      ...base("instance-editor-https"),
      severity: "high",
      title: "The editor listens on every interface without https",
      explanation:
        "The editor is reachable from the network over plain http: the login password, the access token and " +
        "every flow (with its addresses and settings) cross the network in clear text.",
      nodes: [],
      fix: { text: "Set https in settings.js (or put a TLS reverse proxy in front), or set uiHost to 127.0.0.1." },
    });
  }
  return out;
}
