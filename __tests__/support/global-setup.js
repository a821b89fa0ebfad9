'use strict';
module.exports = () => require('./temp-folder').setup();
