"""The world the agents live in: the district's streets and grids."""
