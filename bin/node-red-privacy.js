#!/usr/bin/env node
"use strict";
// Thin shim: the command lives in the compiled nodes/lib/manifest-cli.js.
const { run, consoleIO } = require("../nodes/lib/manifest-cli.js");

process.exitCode = run(process.argv.slice(2), consoleIO);
