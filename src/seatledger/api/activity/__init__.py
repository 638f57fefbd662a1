"""activity: the router and the schemas of fair billing's activity reports."""
