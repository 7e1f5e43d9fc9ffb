"""PowerMon: per-machine power and load from metered PDUs and Ganglia."""

__version__ = "0.1.0"
