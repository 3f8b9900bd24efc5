/**
 * privacy-consent-store (config node): declares the purposes and owns the consent
 * store. The manager and the gate reach it through `consentStore` (typed below).
 * It can publish the consent page on Node-RED's HTTP node server, signs receipts with
 * the Ed25519 key kept in its credentials, and offers the editor a few admin routes:
 * generate a key, show the public keys and the journal's integrity, acknowledge a
 * broken chain, make and revoke personal links (with a QR code).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { IncomingMessage, ServerResponse } from "node:http";
import qrcode from "qrcode-generator";
import type { RedAPI, NodeDef } from "../core/red-types";
import { Joi, validateConfig } from "../core/validation";
import { ConsentStore, journalPath, type Backend, type ConsentStoreNode } from "../consent/consent-store";
import { POLICY_VERSION_RULE, PURPOSE_RULE, SUBJECT_RULE, idSchema, readId, type PurposeDef } from "../consent/consent";
import { onClose } from "../core/node-adapter";
import { errorText } from "../core/status";
import {
  generateSigningKey,
  loadSigningKey,
  readPublicJwk,
  type PublicJwk,
  type SigningKey,
} from "../consent/receipt-signing";
import { pageHandler } from "../consent/page-http";
import type { PageTexts } from "../consent/consent-page";

interface StoreConfig {
  backend: Backend;
  file: string;
  purposes: PurposeDef[];
  retainDays: number;
  page: boolean;
  pagePath: string;
  pageBase: string;
  retiredKeys: unknown[];
  redisUrl: string;
  redisPrefix: string;
  maxLagSeconds: number;
}

const TEXT_LIST = Joi.array().items(Joi.string().trim().min(1).max(200)).max(50);

const SCHEMA = Joi.object<StoreConfig>({
  backend: Joi.string().valid("file", "memory", "redis").default("file"),
  file: Joi.string().trim().allow("").max(1000).default(""),
  purposes: Joi.array()
    .items(
      Joi.object({
        // The purpose rule every command and gate uses, and no spaces inside (an id, not a title).
        id: idSchema(PURPOSE_RULE)
          .custom((v: string, helpers) =>
            /\s/.test(v) ? helpers.message({ custom: "{{#label}} must not contain spaces" }) : v,
          )
          .required(),
        description: Joi.string().allow("").max(2000).default(""),
        policyVersion: idSchema(POLICY_VERSION_RULE).required(),
        // What the consent page shows; all optional, so configs of the last release keep working.
        title: Joi.string().trim().allow("").max(200),
        dataCategories: TEXT_LIST,
        recipients: TEXT_LIST,
        retention: Joi.string().trim().allow("").max(200),
        policyUrl: Joi.string()
          .trim()
          .allow("")
          .uri({ scheme: ["http", "https"] }),
        dpvPurpose: Joi.string()
          .trim()
          .allow("")
          .pattern(/^https:\/\/w3id\.org\/dpv(\/[\w-]+)*#[A-Za-z][\w-]*$/),
      }),
    )
    .unique("id")
    .default([]),
  retainDays: Joi.number().integer().min(0).max(36500).empty("").default(0),
  page: Joi.boolean().default(false),
  pagePath: Joi.string()
    .trim()
    .pattern(/^(\/[A-Za-z0-9._~-]+)+$/)
    .max(200)
    .empty("")
    .default("/privacy/consent"),
  pageBase: Joi.string()
    .trim()
    .allow("")
    .uri({ scheme: ["http", "https"] })
    .default(""),
  retiredKeys: Joi.array().max(50).default([]),
  redisUrl: Joi.string()
    .trim()
    .allow("")
    .max(2000)
    .pattern(/^rediss?:\/\//)
    .default("")
    .when("backend", { is: "redis", then: Joi.string().trim().required() }),
  redisPrefix: Joi.string().allow("").max(200).default(""),
  // How far behind the shared stream an instance's index may be before its gates block.
  maxLagSeconds: Joi.number().min(0.2).max(60).empty("").default(3),
});

/** Drops empty optional fields, so a purpose reads as the user wrote it. */
function tidy(p: PurposeDef): PurposeDef {
  const out: PurposeDef = { id: p.id, description: p.description, policyVersion: p.policyVersion };
  if (p.title) out.title = p.title;
  if (p.dataCategories && p.dataCategories.length > 0) out.dataCategories = p.dataCategories;
  if (p.recipients && p.recipients.length > 0) out.recipients = p.recipients;
  if (p.retention) out.retention = p.retention;
  if (p.policyUrl) out.policyUrl = p.policyUrl;
  if (p.dpvPurpose) out.dpvPurpose = p.dpvPurpose;
  return out;
}

/** The page texts of every language with a locale file (en-US is "en"). */
function loadTexts(): Record<string, PageTexts> {
  const dir = path.join(__dirname, "locales");
  const out: Record<string, PageTexts> = {};
  for (const lang of fs.readdirSync(dir)) {
    try {
      const file = path.join(dir, lang, "privacy-consent-store.json");
      const json = JSON.parse(fs.readFileSync(file, "utf8")) as { "privacy-consent-store"?: { page?: PageTexts } };
      const page = json["privacy-consent-store"]?.page;
      if (page) out[lang.split("-")[0].toLowerCase()] = page;
    } catch {
      // a language without page texts
    }
  }
  // Missing keys in a language fall back to English.
  for (const lang of Object.keys(out)) if (lang !== "en") out[lang] = { ...out.en, ...out[lang] };
  return out;
}

type PageStoreNode = ConsentStoreNode;

interface AdminRequest {
  params: { id?: string };
  body?: Record<string, unknown>;
  protocol?: string;
  get?(name: string): string | undefined;
}
interface AdminResponse {
  json(body: unknown): void;
  status(code: number): AdminResponse;
}

/** Page paths served, each answered by the store that publishes it now (or the 404). */
const PAGES = new Map<string, (req: IncomingMessage, res: ServerResponse, rest: string) => void>();
const ROUTED = new Set<string>();

export = function (RED: RedAPI) {
  const texts = loadTexts();
  const root = RED.settings.httpNodeRoot;
  const nodeRoot = (typeof root === "string" ? root : "/").replace(/\/+$/, "");

  /**
   * Routes a page path once; who answers is looked up per request (stores come and go
   * with deploys). A path no store publishes any more passes the request on, so an http
   * in node that a user puts there later answers it (Express cannot remove a route).
   */
  function route(pagePath: string): void {
    if (ROUTED.has(pagePath) || !RED.httpNode) return;
    ROUTED.add(pagePath);
    const dispatch = (rest: string, req: unknown, res: unknown, next: () => void) => {
      const handler = PAGES.get(pagePath);
      if (handler) handler(req as IncomingMessage, res as ServerResponse, rest);
      else next();
    };
    RED.httpNode.all(pagePath, (req: unknown, res: unknown, next: () => void) => dispatch("", req, res, next));
    RED.httpNode.all(`${pagePath}/*`, (req: unknown, res: unknown, next: () => void) => {
      const params = (req as { params?: Record<string, string> }).params ?? {};
      dispatch(params["0"] ?? "", req, res, next);
    });
  }

  function PrivacyConsentStore(this: PageStoreNode, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const checked = validateConfig(SCHEMA, def);
    if (!checked.ok) {
      node.consentStoreError = checked.error;
      node.error(checked.error);
      return;
    }
    const config = checked.value;
    let retiredKeys: PublicJwk[] = [];
    let signingKey: SigningKey | undefined;
    let keyProblem: string | undefined;
    try {
      retiredKeys = config.retiredKeys.map(readPublicJwk);
    } catch (e) {
      keyProblem = `invalid config: "retiredKeys": ${errorText(e)}`;
    }
    const keyText = node.credentials?.signingKey;
    if (keyText) {
      try {
        signingKey = loadSigningKey(keyText);
      } catch (e) {
        keyProblem = errorText(e);
      }
    }
    const store = new ConsentStore({
      backend: config.backend,
      purposes: config.purposes.map(tidy),
      file: config.backend === "file" ? journalPath(RED.settings.userDir, config.file, node.id) : undefined,
      owner: node.name ? `${node.name} (${node.id})` : node.id,
      retainDays: config.retainDays,
      warn: (text) => node.warn(text),
      signingKey,
      retiredKeys: retiredKeys.filter((k) => k.kid !== signingKey?.kid),
      redis:
        config.backend === "redis"
          ? {
              url: config.redisUrl,
              prefix: config.redisPrefix || undefined,
              username: node.credentials?.username,
              password: node.credentials?.password,
              maxLagMs: Math.round(config.maxLagSeconds * 1000),
            }
          : undefined,
    });
    node.consentStore = store;
    // A config node has no place on the canvas; its status still reaches Status nodes
    // and the editor's config list, and the gates and managers using it show it too.
    const reason = config.backend === "redis" ? undefined : store.unavailable;
    // Never the key: only that there is none, or why it cannot be used.
    if (keyProblem && (config.backend === "redis" || !reason)) node.warn(`receipts are not signed: ${keyProblem}`);
    if (config.backend === "redis") {
      // Loading from Redis is asynchronous; until then gates block with store-unavailable.
      node.status({ fill: "yellow", shape: "ring", text: "connecting to redis" });
      void store.loaded
        .then(() => {
          // The URL may hold a password (redis://user:pass@host): never logged.
          const where = config.redisUrl.replace(/\/\/[^@/]*@/, "//");
          if (!store.unavailable) node.log(`loaded ${store.index.subjectCount} subjects from ${where}`);
        })
        .catch(() => undefined);
      store.onAvailable(() => {
        node.consentStoreError = undefined;
        node.status({ fill: "green", shape: "dot", text: "redis" });
      });
    } else if (reason) {
      node.consentStoreError = reason;
      node.error(`consent store unavailable: ${reason}`);
      const broken = store.chainBreaks.length > 0;
      const text = broken ? "journal changed outside the store: acknowledge in the editor" : "unavailable";
      node.status({ fill: "red", shape: "ring", text });
    } else {
      if (store.loadReport) {
        const where = journalPath(RED.settings.userDir, config.file, node.id);
        node.log(`loaded ${store.loadReport.receipts} receipts (${store.index.subjectCount} subjects) from ${where}`);
      }
      node.status(signingKey ? {} : { fill: "yellow", shape: "ring", text: "receipts unsigned: no signing key" });
    }
    store.onUnavailable((why, short) => {
      node.consentStoreError = why;
      node.error(`consent store unavailable: ${why}`);
      node.status({ fill: "red", shape: "ring", text: `${short}: unavailable` });
    });

    const publicPath = `${nodeRoot}${config.pagePath}`;
    let published = false;
    if (config.page) {
      if (!RED.httpNode) {
        node.error("the consent page needs Node-RED's HTTP node server (httpNodeRoot is false)");
      } else if (PAGES.has(config.pagePath)) {
        node.error(`the consent page path ${config.pagePath} is already published by another consent store`);
      } else {
        const storeName = node.name || "this house";
        PAGES.set(config.pagePath, pageHandler({ store, storeName, publicPath, texts, warn: (t) => node.warn(t) }));
        route(config.pagePath);
        published = true;
        node.consentPage = {
          linkUrl: (token, origin) => `${config.pageBase.replace(/\/+$/, "") || (origin ?? "")}${publicPath}/${token}`,
        };
      }
    }
    onClose(node, async () => {
      if (published) PAGES.delete(config.pagePath);
      await store.close();
      node.status({});
    });
  }
  RED.nodes.registerType("privacy-consent-store", PrivacyConsentStore, {
    credentials: {
      signingKey: { type: "password" },
      username: { type: "text" },
      password: { type: "password" },
    },
  });
  const read = "privacy-consent-store.read";
  const write = "privacy-consent-store.write";

  const permission = (name: string) => {
    const check = RED.auth ? RED.auth.needsPermission(name) : undefined;
    return (q: unknown, s: unknown, next?: () => void): void => {
      const go = next ?? (() => undefined);
      if (check) check(q, s, go);
      else go();
    };
  };
  /**
   * What a route about one store (`:id`) works with: the request and response, the node
   * the id names and its running store, either undefined when the id names no deployed
   * store or the store did not start (consentStoreError then says why).
   */
  const storeRequest = (req: unknown, res: unknown) => {
    const q = req as AdminRequest;
    const found = RED.nodes.getNode<PageStoreNode>(String(q.params.id ?? ""));
    const n = found !== null && found.type === "privacy-consent-store" ? found : undefined;
    return { q, r: res as AdminResponse, n, store: n?.consentStore };
  };
  const fail = (r: AdminResponse, e: unknown): void => r.status(400).json({ error: errorText(e) });

  // A fresh key pair for the dialog's credential field: made here because the browser's
  // WebCrypto may lack Ed25519; it is never kept or logged here.
  RED.httpAdmin.post("/privacy-consent-store/keygen", permission(write), (_req: unknown, res: unknown) => {
    const key = generateSigningKey();
    const { d: _d, ...publicJwk } = key;
    (res as AdminResponse).json({ signingKey: JSON.stringify(key), publicJwk });
  });

  // What the dialog shows of a deployed store: public keys, integrity, whether the page is on. Never a secret.
  RED.httpAdmin.get("/privacy-consent-store/:id/state", permission(read), (req: unknown, res: unknown) => {
    const { r, n, store } = storeRequest(req, res);
    if (!n || !store) {
      r.json({ deployed: false, error: n?.consentStoreError });
      return;
    }
    r.json({
      deployed: true,
      publicKey: store.publicKey ?? null,
      retiredKeys: store.retiredKeys,
      breaks: store.chainBreaks,
      fingerprint: store.breaksFingerprint ?? null,
      unavailable: store.unavailable ?? null,
      page: n.consentPage !== undefined,
    });
  });

  RED.httpAdmin.post("/privacy-consent-store/:id/acknowledge", permission(write), (req: unknown, res: unknown) => {
    const { q, r, n, store } = storeRequest(req, res);
    if (!n || !store) {
      fail(r, new Error("the store is not deployed"));
      return;
    }
    store
      .acknowledgeBreaks(typeof q.body?.fingerprint === "string" ? q.body.fingerprint : "")
      .then(({ evidence }) => {
        n.consentStoreError = undefined;
        n.warn(`the consent journal's broken hash chain was acknowledged; the file as found is kept as ${evidence}`);
        n.status(store.publicKey ? {} : { fill: "yellow", shape: "ring", text: "receipts unsigned: no signing key" });
        r.json({ ok: true, evidence: path.basename(evidence) });
      })
      .catch((e: unknown) => fail(r, e));
  });

  RED.httpAdmin.post("/privacy-consent-store/:id/link", permission(write), (req: unknown, res: unknown) => {
    const { q, r, n, store } = storeRequest(req, res);
    const page = n?.consentPage;
    if (!n || !store || !page) {
      fail(r, new Error("deploy the store with its consent page enabled first"));
      return;
    }
    const subject = readId(q.body?.subject, SUBJECT_RULE);
    if (typeof subject !== "string") {
      fail(r, new Error(`the person ${subject.problem}`));
      return;
    }
    if (q.body?.action === "revoke-link") {
      store.revokeLink(subject).then(
        (revoked) => r.json({ revoked }),
        (e: unknown) => fail(r, e),
      );
      return;
    }
    const origin = q.get ? `${q.protocol ?? "http"}://${q.get("host") ?? ""}` : undefined;
    store.makeLink(subject).then(
      (made) => {
        const url = page.linkUrl(made.token, origin);
        const qr = qrcode(0, "M");
        qr.addData(url);
        qr.make();
        r.json({ url, svg: qr.createSvgTag({ cellSize: 4, margin: 4, scalable: true }) });
      },
      (e: unknown) => fail(r, e),
    );
  });
};
