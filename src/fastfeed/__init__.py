"""fastfeed: exact L2 order books from exchange WebSocket feeds at C speed."""
__version__ = "0.1.0"
