"""The ``seatledger`` command."""
