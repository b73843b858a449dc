"""Benchmarks for ops-gateway: ``make bench`` (``python -m bench``) prints figures and writes
``bench/RESULTS.md``. They are not tests: nothing here asserts a threshold.

Layout:

- :mod:`bench.registry` -- ``BENCHMARKS``: one entry per RESULTS.md section (issue), each a
  function ``(Context) -> Section``; later issues register theirs there.
- :mod:`bench.context` -- what a benchmark gets: settings, servers, the load generator.
- :mod:`bench.scenarios` -- ``SCENARIOS``: HTTP load scenarios (:class:`HttpScenario`: target,
  query, validator) and ``run_http`` to validate one response and then load the target.
- :mod:`bench.servers` -- uvicorn targets in separate processes, always cleaned up;
  :mod:`bench.targets` (bare Starlette floor) and :mod:`bench.strawberry_target` (bare
  Strawberry reference) are the non-gateway apps.
- :mod:`bench.load` -- the load generator (its own process): raw asyncio HTTP/1.1 keep-alive
  connections, or httpx for comparison. :mod:`bench.stats` turns its output into figures.
- :mod:`bench.profiling` -- the gateway in-process under cProfile, with store calls counted.
- :mod:`bench.core` (+ :mod:`bench.core_report`) -- issue "core": requests/s and latency of
  ``me``, a 30-field ``access`` query, bare Strawberry and the bare-Starlette floor.
- :mod:`bench.report` -- RESULTS.md: date, machine, method, then the sections.
"""
