"""Benchmarks for ops-gateway: ``make bench`` (``python -m bench``) prints figures and writes
``bench/RESULTS.md``. They are not tests: nothing here asserts a threshold.

Layout:

- :mod:`bench.registry` -- ``BENCHMARKS``: one entry per RESULTS.md section (issue), each a
  function ``(Context) -> Section``; later issues register theirs there.
- :mod:`bench.context` -- what a benchmark gets: settings, servers, the load generator.
- :mod:`bench.servers` -- uvicorn targets in separate processes, always cleaned up.
- :mod:`bench.load` -- the load generator (its own process): raw asyncio HTTP/1.1 keep-alive
  connections, or httpx for comparison.
- :mod:`bench.core` -- issue "core": requests/s and latency of ``me``, a 30-field ``access``
  query and the bare-Starlette floor.
"""
