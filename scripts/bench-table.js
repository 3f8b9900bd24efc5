"use strict";
/**
 * Writes the tables of bench/results.json (from `npm run bench`) into README.md between
 * the bench:start / bench:end markers, so the README shows what was measured.
 */
const fs = require("node:fs");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "..");
const report = JSON.parse(fs.readFileSync(path.join(ROOT, "bench", "results.json"), "utf8"));
const out = [`Measured ${report.date.slice(0, 10)}, Node ${report.node}, Node-RED ${report.nodeRed}, ${report.cpus} cores, chains of ${report.hops}, median of ${report.runs} runs.`, ""];
for (const r of report.results) {
  if (r.kind === "timing") {
    out.push(`**${r.name}**`, "", "| what | median (ms) | p90 (ms) | min (ms) | runs |", "|---|---:|---:|---:|---:|");
    for (const row of r.rows) out.push(`| ${row.variant} | ${row.median.toFixed(1)} | ${row.p90.toFixed(1)} | ${row.min.toFixed(1)} | ${row.runs} |`);
    for (const g of r.goals || []) out.push("", `Goal: ${g.variant}: ${g.ms.toFixed(1)} ms (under ${g.maxMs} ms: ${g.met ? "met" : "not met"}). ${g.note}`);
    out.push("");
    continue;
  }
  out.push(`**${r.name}** (empty chain ${r.emptyChainUsPerMsg.toFixed(1)} us/msg)`, "");
  out.push("| variant | cost per message (us) | messages/s | ratio to baseline |", "|---|---:|---:|---:|");
  for (const row of r.rows) {
    out.push(`| ${row.variant}${row.baseline ? " (baseline)" : ""}${row.derived ? " (derived)" : ""} | ${row.costUsPerMsg.toFixed(2)} | ${Math.round(row.msgsPerSecond).toLocaleString("en-US")} | ${row.ratioToBaseline.toFixed(2)} |`);
  }
  for (const g of r.goals || []) {
    out.push("", `Goal: ${g.variant} / ${g.against} = ${g.ratio.toFixed(3)}${g.maxRatio !== undefined ? ` (at most ${g.maxRatio}: ${g.met ? "met" : "not met"})` : ""}${g.note ? `. ${g.note}` : ""}`);
  }
  if (r.extra) out.push("", "```", JSON.stringify(r.extra, null, 1).replace(/\n\s*/g, " "), "```");
  out.push("");
}
const readme = path.join(ROOT, "README.md");
const text = fs.readFileSync(readme, "utf8");
const start = text.indexOf("<!-- bench:start -->");
const end = text.indexOf("<!-- bench:end -->");
if (start < 0 || end < start) throw new Error("README.md has no bench markers");
fs.writeFileSync(readme, `${text.slice(0, start)}<!-- bench:start -->\n${out.join("\n")}\n${text.slice(end)}`);
console.log(`README.md: ${report.results.length} bench tables written`);
