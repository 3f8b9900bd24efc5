"use strict";
const assert = require("node:assert/strict");
const { EventEmitter } = require("node:events");
const { onInput } = require("../../../dist/core/node-adapter");
const { StatusReporter } = require("../../../dist/core/status");

function fakeNode() {
  const node = new EventEmitter();
  node.statuses = [];
  node.status = (s) => node.statuses.push(s);
  return node;
}

describe("core/node-adapter onInput", () => {
  for (const kind of ["sync", "async"]) {
    it(`a send that throws (${kind} handler) ends in done(err), never in an uncaught error`, async () => {
      const node = fakeNode();
      const status = new StatusReporter((s) => node.status(s));
      onInput(node, status, (msg) => (kind === "sync" ? msg : Promise.resolve(msg)));
      const doneArgs = await new Promise((resolve) => {
        node.emit(
          "input",
          { payload: 1 },
          () => {
            throw new Error("downstream broke");
          },
          (...args) => resolve(args),
        );
      });
      assert.match(doneArgs[0].message, /downstream broke/);
      status.close();
    });
  }
});
