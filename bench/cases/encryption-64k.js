"use strict";
// The 64 KiB case of encryption.js. A CryptoJS hop costs ~12 ms at this size, so its
// chains hold 2 nodes (the noise of ~10 us is lost next to it) to keep a run short.
module.exports = require("./encryption").makeCase(65536, { name: "encryption-64k", messages: 300, cryptoJsHops: 2 });
