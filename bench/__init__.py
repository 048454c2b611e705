"""Benchmarks of orderops (run by hand at full size, in a smoke size by CI); see bench/README.md."""
