"""What runs and operates the shop: the CLI, the composition root, the local stack, the
demo seed, gateway generation and deploy files. It may import everything; nothing
imports it."""
