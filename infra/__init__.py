"""Settings, clients, the local stack manager and deployment files."""
