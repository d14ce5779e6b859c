"""The web pages for people: the storefront and the operator console, clients of the public API."""
