"use strict";
// Property tests (fast-check) of the unprotected-path rule on generated flows:
//  1. the findings are exactly the source/sink pairs an independent oracle (a dynamic
//     programme over the DAG, written here without the engine) calls unprotected;
//  2. adding a protective node on the path of a finding, on flows where each finding
//     has its own route, removes exactly that finding: the others keep their ids and paths;
//  3. on any flow, adding a protective node on a finding's path never adds a finding and
//     leaves exactly what the oracle says.
const assert = require("node:assert/strict");
const fc = require("fast-check");
const { audit } = require("../../../dist/audit");
const F = require("../../helpers/audit-flows");

const z = "t";
const KINDS = ["source", "sink", "sinkPass", "pass", "fn", "junction", "gate", "minimize", "anonymize", "encrypt", "decrypt"];
const PROTECT = ["gate", "minimize", "anonymize", "encrypt"];
const base = () => [F.tab(z), F.broker("local", "localhost"), F.broker("cloud", "broker.example.com", { usetls: true }), F.store("st"), F.keyring("kr")];

function makeNode(id, kind) {
  switch (kind) {
    case "source": return F.mqttIn(id, z, "local", `s/${id}`, [[]]);
    case "sink": return F.mqttOut(id, z, "cloud");
    case "sinkPass": return F.httpReq(id, z, "https://api.example.com/in", [[]]);
    case "pass": return F.change(id, z, [[]]);
    case "fn": return F.fn(id, z, "return msg;", [[]]);
    case "junction": return F.node(id, "junction", z, {}, [[]]);
    case "gate": return F.gate(id, z, "st", [], []);
    case "minimize": return F.minimize(id, z, [[]]);
    case "anonymize": return F.anonymize(id, z, [[]]);
    case "encrypt": return F.encrypt(id, z, "kr", [[]]);
    case "decrypt": return F.decrypt(id, z, "kr", [[]]);
    default: throw new Error(kind);
  }
}
const canReceive = (kind) => kind !== "source";
const outputs = (n) => n.wires.length;

/** A DAG flow: nodes n0..nk, wires only from lower to higher index. */
function buildFlow({ kinds, edges }) {
  const nodes = kinds.map((k, i) => makeNode(`n${i}`, k));
  for (const [a, b, p] of edges) {
    const i = a % kinds.length;
    const j = b % kinds.length;
    if (i >= j || outputs(nodes[i]) === 0 || !canReceive(kinds[j])) continue;
    const port = p % outputs(nodes[i]);
    if (!nodes[i].wires[port].includes(nodes[j].id)) nodes[i].wires[port].push(nodes[j].id);
  }
  return [...base(), ...nodes];
}

/** The oracle: for each source, the sinks it reaches in clear, by dynamic programming over (node, encrypted). */
function oracle(flows) {
  const byId = new Map(flows.filter((n) => n.z === z).map((n) => [n.id, n]));
  const isSink = (n) => n.type === "mqtt out" || n.type === "http request";
  const memo = new Map();
  // Sinks reached in clear from the outputs of n, given the state of the message it passes on.
  function fromOutputs(n, enc) {
    const out = new Set();
    n.wires.forEach((targets, port) => {
      let e = enc;
      if (n.type === "privacy-consent-gate" && port === 0) return;
      if (n.type === "privacy-minimize" || n.type === "privacy-anonymize") return;
      if (n.type === "privacy-encrypt") e = 1;
      if (n.type === "privacy-decrypt") e = 0;
      for (const t of targets) for (const s of arrive(byId.get(t), e)) out.add(s);
    });
    return out;
  }
  function arrive(n, enc) {
    const key = `${n.id}:${enc}`;
    if (memo.has(key)) return memo.get(key);
    const out = new Set(fromOutputs(n, enc));
    if (isSink(n) && enc === 0) out.add(n.id);
    memo.set(key, out);
    return out;
  }
  const pairs = [];
  for (const n of byId.values()) {
    if (n.type !== "mqtt in") continue;
    for (const s of fromOutputs(n, 0)) pairs.push(`unprotected-path:${n.id}>${s}`);
  }
  return pairs.sort();
}

const pathFindings = (flows) => audit(flows).findings.filter((f) => f.rule === "unprotected-path");

/** Puts a protective node between u and v (the wire u -> v on whatever port it is). */
function insertOn(flows, u, v, kind) {
  const copy = JSON.parse(JSON.stringify(flows));
  const p = makeNode("protector", kind);
  p.wires = kind === "gate" ? [[v], []] : [[v]];
  const from = copy.find((n) => n.id === u);
  from.wires = from.wires.map((targets) => targets.map((t) => (t === v ? p.id : t)));
  copy.push(p);
  return copy;
}

const flowArb = fc.record({
  kinds: fc.array(fc.constantFrom(...KINDS), { minLength: 3, maxLength: 14 }),
  edges: fc.array(fc.tuple(fc.nat(40), fc.nat(40), fc.nat(3)), { maxLength: 40 }),
});

describe("audit: properties of the unprotected-path rule", function () {
  this.timeout(120000);

  it("finds exactly the pairs the oracle calls unprotected", () => {
    fc.assert(
      fc.property(flowArb, (spec) => {
        const flows = buildFlow(spec);
        assert.deepEqual(pathFindings(flows).map((f) => f.id).sort(), oracle(flows));
      }),
      { numRuns: 400 },
    );
  });

  it("with a route per finding, a protective node on one finding's path removes exactly that finding", () => {
    // k chains source -> (pass | fn | junction)* -> sink, plus unconnected noise nodes.
    const chainArb = fc.record({
      chains: fc.array(fc.array(fc.constantFrom("pass", "fn", "junction"), { maxLength: 4 }), { minLength: 1, maxLength: 5 }),
      sinks: fc.array(fc.constantFrom("sink", "sinkPass"), { minLength: 5, maxLength: 5 }),
      pick: fc.nat(),
      at: fc.nat(),
      kind: fc.constantFrom(...PROTECT),
    });
    fc.assert(
      fc.property(chainArb, ({ chains, sinks, pick, at, kind }) => {
        const nodes = [];
        chains.forEach((middle, c) => {
          const ids = [`c${c}-src`, ...middle.map((_, i) => `c${c}-m${i}`), `c${c}-sink`];
          nodes.push(makeNode(ids[0], "source"));
          middle.forEach((k, i) => nodes.push(makeNode(ids[i + 1], k)));
          nodes.push(makeNode(ids[ids.length - 1], sinks[c]));
          for (let i = 0; i < ids.length - 1; i++) nodes.find((n) => n.id === ids[i]).wires[0].push(ids[i + 1]);
        });
        nodes.push(F.debug("noise-debug", z), F.change("noise-change", z, ["noise-debug"]));
        const flows = [...base(), ...nodes];
        const before = pathFindings(flows);
        assert.equal(before.length, chains.length);
        const target = before[pick % before.length];
        const edge = at % (target.nodes.length - 1);
        const after = pathFindings(insertOn(flows, target.nodes[edge], target.nodes[edge + 1], kind));
        const strip = (fs) => fs.map((f) => ({ id: f.id, nodes: f.nodes, severity: f.severity }));
        assert.deepEqual(strip(after), strip(before.filter((f) => f.id !== target.id)));
      }),
      { numRuns: 300 },
    );
  });

  it("on any flow, protecting an edge of a finding's path adds nothing and leaves what the oracle says", () => {
    fc.assert(
      fc.property(flowArb, fc.nat(), fc.nat(), fc.constantFrom(...PROTECT), (spec, pick, at, kind) => {
        const flows = buildFlow(spec);
        const before = pathFindings(flows);
        fc.pre(before.length > 0);
        const target = before[pick % before.length];
        const edge = at % (target.nodes.length - 1);
        const next = insertOn(flows, target.nodes[edge], target.nodes[edge + 1], kind);
        const after = pathFindings(next).map((f) => f.id).sort();
        assert.deepEqual(after, oracle(next));
        const old = new Set(before.map((f) => f.id));
        for (const id of after) assert.ok(old.has(id), `${id} appeared after adding a ${kind}`);
      }),
      { numRuns: 400 },
    );
  });
});
