"""weatherclean: remove snow and rain from photos and videos."""

__version__ = "0.1.0"
