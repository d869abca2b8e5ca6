"""The bus: CloudEvents envelopes, the outbox relay, topology, dead letters (no nameko)."""
