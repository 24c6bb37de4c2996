"""Spiders of the project: discovery and routing only (extraction runs in the item pipeline)."""
