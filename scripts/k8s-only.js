'use strict';
// What the app takes from cdk8s-plus-28: the Kubernetes L1 classes (see scripts/synth.js).
exports.k8s = require('cdk8s-plus-28/lib/imports/k8s');
