"""nameko extensions: the reliable event consumer, the database dependency, log context, config."""
