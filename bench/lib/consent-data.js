"use strict";
/**
 * What the consent benches (consent.js: file backend, consent-redis.js: redis backend)
 * both measure with: a store of SUBJECTS subjects, each granting the same three purposes,
 * the gate's messages over those subjects, and the core switch node the gate is held
 * against. One copy, so the two backends' figures stay comparable.
 */
const { randomUUID } = require("node:crypto");

const SUBJECTS = 100000;
const PURPOSES = [
  { id: "cloud-upload", description: "readings go to the cloud", policyVersion: "1" },
  { id: "analytics", description: "usage statistics", policyVersion: "2" },
  { id: "support", description: "remote support", policyVersion: "1" },
];
/** When the generated receipts start: subject i's come i ms later. */
const START = Date.parse("2026-01-01T00:00:00Z");

/** A receipt as the store keeps it, for `purpose` (one of PURPOSES) at time `t` (ms). */
function receipt(subject, purpose, status, t) {
  return {
    receiptId: randomUUID(),
    subject,
    purpose: purpose.id,
    status,
    timestamp: new Date(t).toISOString(),
    expiresAt: null,
    policyVersion: purpose.policyVersion,
    method: "bench",
  };
}

/** Subject i's journal record: one line granting its three purposes, as a manager would write it. */
function subjectRecord(i) {
  return { receipts: PURPOSES.map((p) => receipt(`subject-${i}`, p, "granted", START + i)) };
}

/** A message for subject i (spread over all subjects by a prime step): every one is granted. */
function makeMessage(i) {
  return { topic: `subject-${(i * 7919) % SUBJECTS}`, payload: { t: 21.5, h: 40 } };
}

/** The core node the gate is held against: a switch routing on the same property. */
const SWITCH_VARIANT = {
  name: "switch (on msg.topic)",
  node: {
    type: "switch",
    property: "topic",
    propertyType: "msg",
    rules: [{ t: "neq", v: "none", vt: "str" }],
    checkall: "true",
    outputs: 1,
  },
};

module.exports = { SUBJECTS, PURPOSES, START, receipt, subjectRecord, makeMessage, SWITCH_VARIANT };
