"""tcplab: teaching notebooks that make the life of a TCP connection visible (RFC 9293)."""

__version__ = "0.1.0"
