"""Fixtures live in tests/plugins/, one module per area, so they can grow independently."""

pytest_plugins = [
    "tests.plugins.servers",
    "tests.plugins.stores",
    "tests.plugins.app",
    "tests.plugins.oidc",
]
