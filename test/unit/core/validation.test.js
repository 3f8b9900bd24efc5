"use strict";
const assert = require("node:assert/strict");
const { Joi, validateConfig, validateMessage, pathString, MessageError, toList } = require("../../../dist/core/validation");

describe("lib/validation", () => {
  const schema = Joi.object({
    property: pathString().default("payload"),
    fields: Joi.array().items(pathString()).default([]),
    mode: Joi.string().valid("keep", "remove").required(),
  });

  it("accepts a valid config, fills defaults, and ignores Node-RED's own keys", () => {
    const r = validateConfig(schema, { mode: "keep", x: 10, wires: [[]] });
    assert.equal(r.ok, true);
    assert.equal(r.value.property, "payload");
    assert.deepEqual(r.value.fields, []);
  });

  it("names the field that is wrong", () => {
    const r = validateConfig(schema, { mode: "other" });
    assert.equal(r.ok, false);
    assert.equal(r.field, "mode");
    assert.match(r.error, /^invalid config: "mode" must be one of \[keep, remove\]/);
    const r2 = validateConfig(schema, { mode: "keep", fields: ["ok", "a.__proto__"] });
    assert.equal(r2.ok, false);
    assert.equal(r2.field, "fields.1");
    assert.match(r2.error, /not allowed/);
  });

  it("message errors name the message property", () => {
    const s = Joi.object({ action: Joi.string().valid("grant").required(), subject: Joi.string().required() });
    assert.throws(() => validateMessage(s, { action: "grant" }, "msg.consent"), (e) => e instanceof MessageError && e.message === "msg.consent.subject is required");
    assert.throws(() => validateMessage(s, "x", "msg.consent"), /^MessageError: msg.consent must be of type object|msg.consent must be of type object/);
    assert.throws(() => validateMessage(s, { action: "grant", subject: "a", extra: 1 }, "msg.consent"), /msg.consent.extra is not allowed/);
  });

  it("splits lists written as text", () => {
    assert.deepEqual(toList("a, b\nc,,"), ["a", "b", "c"]);
    assert.deepEqual(toList(["x"]), ["x"]);
  });
});
