"use strict";
// Unit tests of engines first, then nodes through the test helper, then real runtimes
// and the browser (slowest last). NR_TEST_SUITES narrows it, e.g. "unit,nodes".
const suites = (process.env.NR_TEST_SUITES || "unit,nodes,runtime,e2e").split(",");
module.exports = {
  spec: suites.map((s) => `test/${s}/**/*.test.js`),
  timeout: 20000,
  reporter: require.resolve("./test/helpers/reporter.js"),
  exit: true,
};
