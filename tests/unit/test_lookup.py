"""The lookup service with in-memory cache and counters and scripted sources."""

from __future__ import annotations

import asyncio

from gateway.cache import CachePolicy
from gateway.clock import ManualClock
from gateway.dossier import Status
from gateway.errors import ErrorId
from gateway.lookup import Channel, Disclosure, LookupRequest, Outcome
from tests.support.lookup_fakes import CODE, PHONE, ScriptedSource, build_service, code, dossier


def request(
    text: str = CODE,
    channel: Channel = Channel.SMS,
    requester: str | None = None,
    factor: str | None = None,
) -> LookupRequest:
    return LookupRequest(code(text), channel, requester, factor)


async def test_found_dossier_comes_from_the_source_then_from_the_cache() -> None:
    source = ScriptedSource([dossier()])
    service = build_service([source])

    first = await service.lookup(request())
    second = await service.lookup(request())

    assert first.outcome is Outcome.FOUND
    assert first.view is not None
    assert first.view.status is Status.PROCESSING
    assert (first.cache, first.source) == ("miss", "scripted")
    assert (second.cache, second.source) == ("hit", "scripted")
    assert source.calls == [("code", CODE)]
    await service.close()


async def test_unknown_code_is_not_found_and_cached_briefly() -> None:
    clock = ManualClock()
    source = ScriptedSource()
    service = build_service([source], clock=clock, cache_policy=CachePolicy(ttl_negative=10))

    first = await service.lookup(request())
    again = await service.lookup(request())
    clock.advance(11)
    source.put(dossier())
    later = await service.lookup(request())

    assert first.outcome is Outcome.NOT_FOUND
    assert first.error_id is ErrorId.DOSSIER_NOT_FOUND
    assert again.cache == "hit"
    assert later.outcome is Outcome.FOUND
    assert len(source.calls) == 2
    await service.close()


async def test_concurrent_lookups_of_one_cold_code_make_one_source_call() -> None:
    source = ScriptedSource([dossier()])
    source.gate = asyncio.Event()
    service = build_service([source])

    lookups = [asyncio.create_task(service.lookup(request())) for _ in range(200)]
    await asyncio.sleep(0)
    source.gate.set()
    results = await asyncio.gather(*lookups)

    assert {r.outcome for r in results} == {Outcome.FOUND}
    assert source.calls == [("code", CODE)]
    await service.close()


async def test_code_alone_discloses_nothing_personal() -> None:
    service = build_service([ScriptedSource([dossier()])])

    result = await service.lookup(request(requester="0987000111"))

    assert result.view is not None
    assert result.view.disclosure is Disclosure.BASIC
    assert result.view.procedure is None
    assert result.view.initials is None
    assert result.view.agency == "UBND phường Bến Nghé"
    await service.close()


async def test_sender_number_of_the_dossier_unlocks_procedure_and_initials() -> None:
    service = build_service([ScriptedSource([dossier()])])

    for spelling in ("+84912345678", "84912345678", PHONE):
        result = await service.lookup(request(requester=spelling))
        assert result.view is not None
        assert result.view.disclosure is Disclosure.VERIFIED, spelling
        assert result.view.procedure == "Đăng ký khai sinh"
        assert result.view.initials == "N.V.H."
    await service.close()


async def test_last_four_digits_unlock_and_wrong_ones_do_not() -> None:
    service = build_service([ScriptedSource([dossier()])])

    right = await service.lookup(request(factor="5678"))
    wrong = await service.lookup(request(factor="5679"))

    assert right.view is not None and right.view.disclosure is Disclosure.VERIFIED
    assert wrong.view is not None and wrong.view.disclosure is Disclosure.BASIC
    assert wrong.view.procedure is None
    await service.close()
