"""The contract: event and command models, the envelope, topic names, JSON Schema snapshots."""
