'use strict';
/**
 * An esbuild plugin: the bare `cdk8s-plus-28` import resolves to the L1-only module (scripts/k8s-only.js),
 * as the app and the operator use only `k8s` from it. Loading the whole package costs ~28 MiB and
 * ~0.2 s at start for constructs nobody calls.
 */
const path = require('node:path');

module.exports = {
  name: 'k8s-only',
  setup(b) {
    b.onResolve({ filter: /^cdk8s-plus-28$/ }, () => ({ path: path.join(__dirname, 'k8s-only.js') }));
  },
};
