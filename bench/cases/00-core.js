"use strict";
// The yardstick every other case is read against: a core change node setting one
// property, next to a core switch node routing on one.
module.exports = {
  name: "core",
  description: "core change and switch nodes (the baseline)",
  messages: 5000,
  makeMessage: (i) => ({ topic: `sensor-${i % 100}`, payload: { t: 21.5, h: 40 } }),
  variants: [
    { name: "change (set msg.x)", baseline: true, node: { type: "change", rules: [{ t: "set", p: "x", pt: "msg", to: "1", tot: "num" }] } },
    { name: "switch (topic == sensor-1)", node: { type: "switch", property: "topic", propertyType: "msg", rules: [{ t: "neq", v: "none", vt: "str" }], checkall: "true", outputs: 1 } },
  ],
};
