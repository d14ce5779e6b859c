"""Payment providers: the interface, the development sandbox, and the Stripe adapter.

Nothing here is wired in yet; `infra/bootstrap.py` will choose and build one.
"""
