"""Adapters: settings, the clients of one process, crypto and keys, sessions, passwords,
mail transports, payment providers, OIDC, topics. They import nothing of ours but
`schemas`."""
