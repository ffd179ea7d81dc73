"""The real service for end-to-end tests: the same launcher `make bench` uses."""

from generation.bench.server import ROOT, LocalService, free_port

Service = LocalService
__all__ = ["ROOT", "Service", "free_port"]
