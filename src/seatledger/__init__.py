"""seatledger: seat management and exact seat-based billing."""

__version__ = "0.1.0"
