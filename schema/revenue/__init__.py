"""The revenue domain: billing figures over Lago (DESIGN §5)."""
