"""Runners: start, watch and stop the process (or container) of one instance."""
