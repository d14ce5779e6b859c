"""The local stack: real servers run as local processes on loopback."""
