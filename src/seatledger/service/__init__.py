"""Use cases: each opens a unit of work, asks the domain, writes, and commits, with an injected clock."""
