module.exports = () => require('./temp-folder').teardown();
