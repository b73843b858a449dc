"""One subject's requests past GATEWAY_MAX_IN_FLIGHT wait their turn; others' do not."""

from __future__ import annotations

import asyncio

from gateway.inflight import InFlight


async def test_past_the_cap_a_subject_waits_and_others_do_not() -> None:
    in_flight = InFlight(limit=2)
    release = asyncio.Event()
    order: list[str] = []

    async def request(key: str, name: str) -> None:
        async with in_flight.slot(key):
            order.append(name)
            await release.wait()

    tasks = [asyncio.create_task(request("a", f"a{i}")) for i in range(3)]
    tasks.append(asyncio.create_task(request("b", "b0")))
    await asyncio.sleep(0.05)
    assert sorted(order) == ["a0", "a1", "b0"], "a2 waits for one of a's slots"
    assert in_flight.waiting("a") == 3
    release.set()
    await asyncio.gather(*tasks)
    assert order[-1] == "a2"
    assert in_flight.waiting("a") == 0 and not in_flight._slots, "nothing kept per subject"


async def test_a_limit_of_zero_means_no_cap() -> None:
    in_flight = InFlight(limit=0)
    async with in_flight.slot("a"), in_flight.slot("a"):
        assert in_flight.waiting("a") == 0
