"use strict";
/**
 * Preload for `node-red-dev validate` (the flow library scorecard) on a machine with no
 * route to the online flow catalogue: answers that one request with an empty catalogue
 * (`{ "modules": [] }`). Every other request goes out unchanged.
 * Use: node -r ./test/helpers/offline-catalogue.js node_modules/node-red-dev/bin/run validate
 */
const path = require("node:path");

const devDir = path.dirname(require.resolve("node-red-dev/package.json"));
const axios = require(require.resolve("axios", { paths: [devDir] }));
const originalGet = axios.get.bind(axios);

axios.get = function offlineGet(url, config) {
  if (typeof url === "string" && /\/catalogue\.json$/.test(url)) {
    return Promise.resolve({ status: 200, statusText: "OK", headers: {}, config: config || {}, data: { modules: [] } });
  }
  return originalGet(url, config);
};
