"use strict";
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { scanText } = require("../../../dist/anonymize/pii-scan.js");
const { cases, excluded } = require("../../fixtures/presidio-corpus.js");

// Presidio's entity types and ours: IP_ADDRESS is either of ours.
const OUR_TYPES = { email: ["email"], card: ["card"], iban: ["iban"], ip: ["ipv4", "ipv6"], mac: ["mac"], phone: ["phone"], url: ["url"] };

// False positives on Presidio's negative cases (and outside the expected spans of its
// positive ones) measured on the scanner before this corpus was added: a change may
// lower these, never raise them.
const FALSE_POSITIVES_BEFORE = { email: 0, card: 0, iban: 1, ip: 0, mac: 2, phone: 0, url: 1 };

/**
 * Presidio counts enclosing quotes into a URL's span ('"https://…/"'); a value is the
 * same value without them.
 */
function core(text, start, end) {
  const q = text[start];
  if ((q === '"' || q === "'") && text[end - 1] === q && end - start > 2) return [start + 1, end - 1];
  return [start, end];
}

function measure(type) {
  const ours = OUR_TYPES[type];
  const row = { type, claimed: 0, found: 0, excluded: 0, fp: 0 };
  const misses = [];
  for (const [text, spans] of cases[type]) {
    // each recognizer alone, as Presidio tests it: no other type may claim the span first
    const found = scanText(text, ours);
    for (const [s, e, format] of spans) {
      if (format !== undefined) {
        assert.ok(excluded[type] && excluded[type][format], `unknown excluded format ${type}/${format}`);
        row.excluded++;
        continue;
      }
      row.claimed++;
      const [cs, ce] = core(text, s, e);
      if (found.some((f) => f.start === cs && f.end === ce)) row.found++;
      else misses.push(`missed ${type} "${text.slice(cs, ce)}" in: ${text.slice(0, 120)} (found ${JSON.stringify(found.map((f) => text.slice(f.start, f.end)))})`);
    }
    for (const f of found) {
      if (!spans.some(([s, e]) => f.start < e && s < f.end)) {
        row.fp++;
        misses.push(`false ${f.type} "${text.slice(f.start, f.end)}" in: ${text.slice(0, 120)}`);
      }
    }
  }
  row.recall = row.claimed === 0 ? 1 : +(row.found / row.claimed).toFixed(3);
  return { row, misses };
}

describe("lib/pii-scan on Presidio's recognizer test cases", () => {
  let results = [];

  before(() => {
    results = Object.keys(OUR_TYPES).map(measure);
    console.table(results.map((r) => r.row));
    const misses = results.flatMap((r) => r.misses);
    if (misses.length) console.log(misses.map((m) => `      ${m}`).join("\n"));
  });

  it("the node's help lists plainly each format left out", () => {
    const help = fs.readFileSync(path.join(__dirname, "../../../src/nodes/locales/en-US/privacy-anonymize.html"), "utf8");
    const notFound = help.slice(help.indexOf("<p>Not found:</p>"), help.indexOf("</ul>", help.indexOf("<p>Not found:</p>")));
    assert.ok(notFound.length > 0, "a Not found list in the scan section");
    for (const [type, formats] of Object.entries(excluded)) {
      for (const [format, { help: phrase }] of Object.entries(formats)) assert.ok(notFound.includes(phrase), `${type}/${format}: "${phrase}" in the help's Not found list`);
    }
  });

  for (const type of Object.keys(OUR_TYPES)) {
    it(`${type}: recall >= 0.95 on the formats the help claims, no more false positives than before`, () => {
      const { row } = results.find((r) => r.row.type === type);
      assert.ok(row.claimed > 0);
      assert.ok(row.recall >= 0.95, `${type} recall ${row.recall} (${row.found}/${row.claimed})`);
      assert.ok(row.fp <= FALSE_POSITIVES_BEFORE[type], `${type}: ${row.fp} false positives, ${FALSE_POSITIVES_BEFORE[type]} before`);
    });
  }
});
