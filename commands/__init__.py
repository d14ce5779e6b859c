"""The write model: aggregates with pure decide/evolve logic per service; no I/O."""
