"""Benchmarks behind `make bench`: every figure is a ratio to a baseline measured in
the same run (real-time factors, engine vs still engine), never a timed test."""
