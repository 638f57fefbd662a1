"""The pure rules of seats and money: no I/O, no clock reads, no framework imports."""
