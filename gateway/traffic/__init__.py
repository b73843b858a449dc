"""Traffic domain logic: Traefik metrics, file-provider writes, discovery, certificates."""
