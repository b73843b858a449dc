"""Fake backends speaking the real HTTP APIs (tests and ``ops-gateway serve --sandbox``).

:class:`~gateway.sandbox.suite.SandboxSuite` starts all of them and returns the settings
that point the gateway at them.
"""
