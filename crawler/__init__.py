"""Press TV crawler: discovery on every mirror, clean article extraction, an embedded store, JSON Lines."""

__version__ = "0.1.0"
