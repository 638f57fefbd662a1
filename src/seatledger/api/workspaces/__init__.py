"""workspaces: the router and the schemas of one resource."""
