"""Read-model builders and the stores they write (MySQL, MongoDB, Redis, Elasticsearch)."""
