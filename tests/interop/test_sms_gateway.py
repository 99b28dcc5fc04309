"""The SMS gateway, whole and in-process, against node-smpp's SMSC (an SMPP peer we did not write).

Every reply is checked as the smpp package decoded it (``mt`` events: text, data_coding,
parts); every MO is pushed by it (``mo`` commands), so a codec mistake on our side cannot
cancel itself out. Wall time is pinned (see ``tests/support/sms_gateway.py``), which makes
the reply texts exact.
"""

from __future__ import annotations

import asyncio
import csv
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from gateway.app import Gateway
from gateway.store import MemoryStore
from tests.support.pg import SHARED_DSN, drop_schema, new_schema_name
from tests.support.sms_gateway import SHORT_CODE, GatewayFactory
from tests.support.smsc import ESME_RMSGQFUL, ESME_RTHROTTLED, Event, Smsc
from tests.support.smsc_load import run_load

pytestmark = pytest.mark.smsc

SAMPLE_DOSSIERS = Path(__file__).resolve().parents[2] / "adapters" / "sample" / "dossiers.csv"
NATIONAL_CODE = re.compile(r"^\d{3}\.[0-9A-Z]{2}\.\d{2}\.H\d{2}-\d{6}-\d{4}$")
ESME_RINVDSTADR = 0x0B
WAIT_S = 15.0

FOUND = "000.00.22.H29-240101-0001"  # processing, due 05/03/2025, UBND phường Bến Nghé
MISSING = "000.00.22.H29-240101-0999"

FOUND_FOLD = (
    "HS 000.00.22.H29-240101-0001: DANG XU LY. Hen tra 05/03/2025."
    " Noi nhan KQ: UBND phuong Ben Nghe."
)
NOT_FOUND_FOLD = (
    "Khong tim thay ho so 000.00.22.H29-240101-0999. Kiem tra lai ma tren Giay tiep nhan."
    " Cu phap: HS <ma ho so> gui 8283. Ho tro: 1022."
)
HELP_FOLD = (
    "Tra cuu ho so: soan HS <ma ho so> gui 8283. Ma in tren Giay tiep nhan."
    " Them 4 so cuoi SDT dang ky sau ma de xem ten thu tuc. Ho tro: 1022."
)
FOUND_ACCENTED = (
    "Hồ sơ 000.00.22.H29-240101-0001: Đang xử lý. Hẹn trả 05/03/2025."
    " Nơi nhận kết quả: UBND phường Bến Nghé."
)
NOT_FOUND_ACCENTED = (
    "Không tìm thấy hồ sơ 000.00.22.H29-240101-0999. Kiểm tra lại mã trên Giấy tiếp nhận."
    " Cú pháp: HS <mã hồ sơ> gửi 8283. Hỗ trợ: 1022."
)
HELP_ACCENTED = (
    "Tra cứu hồ sơ: soạn HS <mã hồ sơ> gửi 8283. Mã in trên Giấy tiếp nhận."
    " Thêm 4 số cuối SĐT đăng ký sau mã để xem tên thủ tục. Hỗ trợ: 1022."
)
LONG_MO = (
    f"Xin chao can bo, cho toi hoi tinh trang ho so {FOUND} cua toi da giai quyet"
    " den dau roi a? Toi nop tai bo phan mot cua phuong Ben Nghe. Cam on rat nhieu."
)


def found_codes() -> list[str]:
    """National-scheme dossier codes of the bundled sample data (all of them exist)."""
    with SAMPLE_DOSSIERS.open(encoding="utf-8") as handle:
        return [row["code"] for row in csv.DictReader(handle) if NATIONAL_CODE.match(row["code"])]


# ---- helpers ---------------------------------------------------------------------------------


async def exchange(smsc: Smsc, text: str, source: str, **mo: Any) -> Event:
    """Send one MO and return the first complete MT the SMSC accepted for its sender."""
    mark = smsc.mark()
    await smsc.send_mo(text, source=source, **mo)
    return await smsc.wait_for("mt", WAIT_S, after=mark, destination=source)


async def until(condition: Callable[[], bool], timeout: float = WAIT_S) -> None:
    """Poll ``condition`` until it holds (the gateway's own counters and store)."""
    async with asyncio.timeout(timeout):
        while True:
            if condition():
                return
            await asyncio.sleep(0.01)


async def settled(smsc: Smsc, gateway: Gateway) -> None:
    """A barrier: a sentinel message answered and nothing left unanswered or unsent."""
    await exchange(smsc, "HD", source="84900000999")
    store = gateway.store
    assert isinstance(store, MemoryStore)
    await until(lambda: store.outstanding() == 0)


def mts_to(smsc: Smsc, destination: str, after: int = 0) -> list[Event]:
    return smsc.find("mt", after=after, destination=destination)


def submits_to(smsc: Smsc, destination: str, after: int = 0) -> list[Event]:
    return smsc.find("submit_sm", after=after, destination=destination)


def session_of(smsc: Smsc, mode: str, after: int = 0) -> int:
    binds = smsc.find("bind", after=after, mode=mode, status=0)
    assert binds, f"no {mode} bind seen"
    return int(binds[-1]["session"])


class Spy:
    """Records the arguments of every call of one async method of an object, then calls it."""

    def __init__(self, target: object, name: str) -> None:
        self.calls: list[tuple[Any, ...]] = []
        original: Callable[..., Awaitable[Any]] = getattr(target, name)

        async def spied(*args: Any) -> Any:
            self.calls.append(args)
            return await original(*args)

        setattr(target, name, spied)


# ---- binds, and the three basic answers ---------------------------------------------------


async def test_transceiver_bind_answers_found_not_found_and_help(
    smsc: Smsc, gateway: Gateway
) -> None:
    binds = smsc.find("bind", status=0)
    assert [(b["mode"], b["system_id"]) for b in binds] == [("transceiver", "statusgw")]
    assert binds[0]["interface_version"] == 0x34

    found = await exchange(smsc, f"TRA {FOUND}", source="84901000001")
    missing = await exchange(smsc, f"TRA {MISSING}", source="84901000002")
    help_ = await exchange(smsc, "HD", source="84901000003")

    assert (found["text"], found["data_coding"], found["parts"]) == (FOUND_FOLD, 0, 1)
    assert (missing["text"], missing["data_coding"], missing["parts"]) == (NOT_FOUND_FOLD, 0, 1)
    assert (help_["text"], help_["data_coding"], help_["parts"]) == (HELP_FOLD, 0, 1)
    assert {mt["source"] for mt in (found, missing, help_)} == {SHORT_CODE}
    session = session_of(smsc, "transceiver")
    assert {s["session"] for s in smsc.find("submit_sm")} == {session}
    assert all(e["status"] == 0 for e in smsc.find("mo_acked"))


async def test_transmitter_receiver_binds_send_on_tx_and_take_mo_on_rx(
    smsc: Smsc, gateway_factory: GatewayFactory
) -> None:
    await gateway_factory({"smpp": {"bind": "transmitter_receiver"}})
    modes = sorted(b["mode"] for b in smsc.find("bind", status=0))
    assert modes == ["receiver", "transmitter"]
    tx, rx = session_of(smsc, "transmitter"), session_of(smsc, "receiver")

    sent = await smsc.command("mo", text=f"TRA {FOUND}", source="84901000011")
    assert sent["session"] == rx
    mt = await smsc.wait_for("mt", WAIT_S, destination="84901000011")

    assert mt["text"] == FOUND_FOLD
    assert {s["session"] for s in smsc.find("submit_sm")} == {tx}
    assert smsc.find("mo_acked", id=sent["id"])[0]["status"] == 0


async def test_unicode_encoding_replies_in_accented_ucs2(
    smsc: Smsc, gateway_factory: GatewayFactory
) -> None:
    await gateway_factory({"sms": {"encoding": "unicode"}})

    found = await exchange(smsc, f"TRA {FOUND}", source="84901000021")
    missing = await exchange(smsc, f"TRA {MISSING}", source="84901000022")
    help_ = await exchange(smsc, "HD", source="84901000023")

    for mt, expected in (
        (found, FOUND_ACCENTED),
        (missing, NOT_FOUND_ACCENTED),
        (help_, HELP_ACCENTED),
    ):
        assert mt["text"] == expected
        assert mt["data_coding"] == 8
        assert mt["parts"] == -(-len(expected) // 67)  # 67 UTF-16 units a concatenated part
    assert {p["udh"]["bits"] for p in smsc.find("submit_sm") if p["udh"]} == {8}


# ---- MO in every shape -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("split", "part_bytes"),
    [("udh8", 50), ("udh16", 50), ("sar", 50), ("payload", None)],
)
async def test_multipart_mo_gets_one_reply(
    smsc: Smsc, gateway: Gateway, split: str, part_bytes: int | None
) -> None:
    sent = await smsc.command(
        "mo", text=LONG_MO, source="84901000031", split=split, **_maybe(part_bytes=part_bytes)
    )
    assert sent["parts"] == (1 if split == "payload" else 4)
    mt = await smsc.wait_for("mt", WAIT_S, destination="84901000031")
    assert mt["text"] == FOUND_FOLD
    await settled(smsc, gateway)
    assert len(mts_to(smsc, "84901000031")) == 1
    assert all(status == 0 for status in smsc.find("mo_acked", id=sent["id"])[0]["statuses"])


@pytest.mark.parametrize("split", ["udh8", "udh16", "sar"])
async def test_parts_out_of_order_and_duplicated_get_one_reply(
    smsc: Smsc, gateway: Gateway, split: str
) -> None:
    order = [3, 1, 3, 4, 1, 2, 4]
    sent = await smsc.command(
        "mo", text=LONG_MO, source="84901000041", split=split, part_bytes=50, order=order
    )
    assert (sent["parts"], sent["sent"]) == (4, len(order))
    await smsc.wait_for("mo_acked", WAIT_S, id=sent["id"])
    mt = await smsc.wait_for("mt", WAIT_S, destination="84901000041")
    assert mt["text"] == FOUND_FOLD
    await settled(smsc, gateway)
    assert len(mts_to(smsc, "84901000041")) == 1
    assert len(submits_to(smsc, "84901000041")) == 1


@pytest.mark.parametrize(
    "text",
    [
        f"tra cứu {FOUND}",
        f"Hồ sơ {FOUND}",
        f"TRA CỨU HỒ SƠ {FOUND}",
        f"Cho tôi hỏi hồ sơ {FOUND} đã giải quyết đến đâu rồi ạ?",
    ],
)
async def test_ucs2_mo_with_vietnamese_keywords(smsc: Smsc, gateway: Gateway, text: str) -> None:
    mt = await exchange(smsc, text, source="84901000051", encoding="ucs2")
    assert mt["text"] == FOUND_FOLD


async def test_long_ucs2_mo_in_parts(smsc: Smsc, gateway: Gateway) -> None:
    text = (
        f"Kính gửi cán bộ một cửa, cho tôi hỏi tình trạng hồ sơ {FOUND} của tôi đã được"
        " giải quyết đến đâu rồi ạ? Tôi nộp tại phường Bến Nghé. Xin cảm ơn."
    )
    sent = await smsc.command(
        "mo", text=text, encoding="ucs2", source="84901000052", split="udh8", order=[3, 2, 1, 2]
    )
    assert sent["parts"] == 3
    mt = await smsc.wait_for("mt", WAIT_S, destination="84901000052")
    assert mt["text"] == FOUND_FOLD
    await settled(smsc, gateway)
    assert len(mts_to(smsc, "84901000052")) == 1


# ---- link keeping ----------------------------------------------------------------------------


@pytest.mark.parametrize("bind", ["transceiver", "transmitter_receiver"])
async def test_enquire_link_from_the_smsc_is_answered(
    smsc: Smsc, gateway_factory: GatewayFactory, bind: str
) -> None:
    await gateway_factory({"smpp": {"bind": bind}})
    mark = smsc.mark()
    answer = await smsc.enquire_link()
    sessions = set(answer["sessions"])
    assert len(sessions) == (1 if bind == "transceiver" else 2)
    for session in sessions:
        resp = await smsc.wait_for("enquire_link_resp", WAIT_S, after=mark, session=session)
        assert resp["status"] == 0


@pytest.mark.parametrize("bind", ["transceiver", "transmitter_receiver"])
async def test_gateway_sends_enquire_link_when_the_link_is_quiet(
    smsc: Smsc, gateway_factory: GatewayFactory, bind: str
) -> None:
    await gateway_factory({"smpp": {"bind": bind, "enquire_link_interval": 0.2}})
    bound = {b["session"] for b in smsc.find("bind", status=0)}
    for session in bound:
        seen = await smsc.wait_for("enquire_link", WAIT_S, session=session)
        assert seen["answered"] is True
    # answered enquire_links keep the link: no reconnect, and it still works
    assert len(smsc.find("bind")) == len(bound)
    mt = await exchange(smsc, f"TRA {FOUND}", source="84901000061")
    assert mt["text"] == FOUND_FOLD
    assert not smsc.find("close")


async def test_dead_link_is_detected_and_rebound(
    smsc: Smsc, gateway_factory: GatewayFactory
) -> None:
    await smsc.configure(answer_enquire_link=False)
    gateway = await gateway_factory(
        {"smpp": {"enquire_link_interval": 0.2, "enquire_link_timeout": 0.3}}
    )
    first = session_of(smsc, "transceiver")
    unanswered = await smsc.wait_for("enquire_link", WAIT_S, session=first)
    assert unanswered["answered"] is False
    await smsc.wait_for("close", WAIT_S, session=first)
    await smsc.configure(answer_enquire_link=True)
    await smsc.wait_for(lambda e: e["event"] == "bind" and e["session"] != first, WAIT_S)
    assert gateway.smpp is not None
    async with asyncio.timeout(WAIT_S):
        await gateway.smpp.wait_bound()
    mt = await exchange(smsc, f"TRA {FOUND}", source="84901000071")
    assert mt["text"] == FOUND_FOLD
    assert gateway.smpp.stats.reconnects >= 1


@pytest.mark.parametrize("bind", ["transceiver", "transmitter_receiver"])
async def test_abrupt_disconnect_with_replies_in_flight_delivers_every_reply(
    smsc: Smsc, gateway_factory: GatewayFactory, bind: str
) -> None:
    gateway = await gateway_factory({"smpp": {"bind": bind, "response_timeout": 30.0}})
    binds_before = smsc.find("bind", status=0)
    senders = [f"849010001{i:02d}" for i in range(10)]
    await smsc.ignore_submits(len(senders))  # accepted by TCP, never answered: still in flight
    for sender in senders:
        await smsc.send_mo(f"TRA {FOUND}", source=sender)
    await until(lambda: len(smsc.find("submit_sm")) == len(senders))
    assert all(s["status"] is None for s in smsc.find("submit_sm"))
    mark = smsc.mark()

    await smsc.destroy_sessions()

    for sender in senders:
        mt = await smsc.wait_for("mt", WAIT_S, after=mark, destination=sender)
        assert mt["text"] == FOUND_FOLD
    assert gateway.smpp is not None
    async with asyncio.timeout(WAIT_S):
        await gateway.smpp.wait_bound()
    await until(lambda: len(smsc.find("bind", after=mark, status=0)) == len(binds_before))
    await settled(smsc, gateway)
    for sender in senders:
        assert len(mts_to(smsc, sender)) == 1
    assert gateway.pipeline is not None
    assert gateway.pipeline.stats.failed == 0


@pytest.mark.parametrize(
    ("status", "refusals", "messages"),
    [(ESME_RTHROTTLED, 3, 2), (ESME_RMSGQFUL, 3, 2), (ESME_RTHROTTLED, 20, 20)],
)
async def test_throttling_answers_delay_replies_but_lose_none(
    smsc: Smsc, gateway: Gateway, status: int, refusals: int, messages: int
) -> None:
    await smsc.fail_submits(status, refusals)
    senders = [f"849010008{i:02d}" for i in range(messages)]
    for sender in senders:
        await smsc.send_mo(f"TRA {FOUND}", source=sender)
    for sender in senders:
        mt = await smsc.wait_for("mt", 60.0, destination=sender)
        assert mt["text"] == FOUND_FOLD
    statuses = [s["status"] for s in smsc.find("submit_sm")]
    assert statuses.count(status) == refusals
    assert statuses.count(0) == len(senders)
    await settled(smsc, gateway)
    for sender in senders:
        assert len(mts_to(smsc, sender)) == 1
    assert gateway.smpp is not None
    assert gateway.smpp.stats.throttled == refusals


async def test_permanent_error_is_not_retried(smsc: Smsc, gateway: Gateway) -> None:
    await smsc.fail_submits(ESME_RINVDSTADR, 1)
    await smsc.send_mo(f"TRA {FOUND}", source="84901000091")
    rejected = await smsc.wait_for("submit_sm", WAIT_S, destination="84901000091")
    assert rejected["status"] == ESME_RINVDSTADR
    assert gateway.pipeline is not None
    await until(lambda: gateway.pipeline is not None and gateway.pipeline.stats.failed == 1)
    await settled(smsc, gateway)
    assert len(submits_to(smsc, "84901000091")) == 1
    assert not mts_to(smsc, "84901000091")
    # the citizen's next message is answered normally (a new text: the same text within
    # minutes would be taken for the SMSC redelivering the first one)
    mt = await exchange(smsc, f"HS {FOUND}", source="84901000091")
    assert mt["text"] == FOUND_FOLD


# ---- delivery receipts, senders, short code ------------------------------------------------


@pytest.mark.parametrize("receipt_before_resp", [False, True])
async def test_delivery_receipts_are_requested_and_matched(
    smsc: Smsc, gateway: Gateway, receipt_before_resp: bool
) -> None:
    store = gateway.store
    assert isinstance(store, MemoryStore)
    sent = Spy(store, "reply_sent")
    recorded = Spy(store, "record_receipt")
    await smsc.configure(auto_receipts="requested", receipt_before_resp=receipt_before_resp)
    senders = [f"8490100020{i}" for i in range(5)]
    for sender in senders:
        await exchange(smsc, f"TRA {FOUND}", source=sender)
    assert {s["registered_delivery"] for s in smsc.find("submit_sm")} == {1}
    message_ids = [mt["message_ids"][0] for mt in smsc.find("mt")]
    await until(lambda: len(recorded.calls) == len(senders))

    reply_of = {ids[0]: reply_id for reply_id, ids in sent.calls}
    assert {(reply, mid, state) for reply, mid, state in recorded.calls} == {
        (reply_of[mid], mid, "delivered") for mid in message_ids
    }
    assert {mid: store.receipts[mid] for mid in message_ids} == dict.fromkeys(
        message_ids, "delivered"
    )
    assert gateway.pipeline is not None and gateway.smpp is not None
    assert gateway.pipeline.stats.receipts == len(senders)
    assert gateway.smpp.stats.receipts_matched == len(senders)
    for mid in message_ids:  # the deliver_sm_resp goes out once the receipt is recorded
        acked = await smsc.wait_for("receipt_acked", WAIT_S, message_id=mid)
        assert acked["status"] == 0
    assert len(smsc.find("receipt_acked")) == len(senders)


async def test_receipt_for_an_unknown_message_is_acknowledged(smsc: Smsc, gateway: Gateway) -> None:
    store = gateway.store
    assert isinstance(store, MemoryStore)
    await smsc.receipt("7fffff01", stat="UNDELIV", source="84901000301", destination=SHORT_CODE)
    acked = await smsc.wait_for("receipt_acked", WAIT_S, message_id="7fffff01")
    assert acked["status"] == 0
    await until(lambda: "7fffff01" in store.receipts)
    assert store.receipts["7fffff01"] == "undeliverable"


async def test_alphanumeric_sender_gets_no_reply(smsc: Smsc, gateway: Gateway) -> None:
    assert gateway.pipeline is not None
    answered = gateway.pipeline.stats.answered
    sent = await smsc.command(
        "mo", text=f"TRA {FOUND}", source="VIETTEL", source_ton=5, source_npi=0
    )
    acked = await smsc.wait_for("mo_acked", WAIT_S, id=sent["id"])
    assert acked["status"] == 0
    await until(lambda: gateway.pipeline is not None and gateway.pipeline.stats.answered > answered)
    await settled(smsc, gateway)
    assert not submits_to(smsc, "VIETTEL")


async def test_replies_come_from_the_configured_short_code(
    smsc: Smsc, gateway_factory: GatewayFactory
) -> None:
    await gateway_factory({"smpp": {"short_code": "1900", "source_ton": 3, "source_npi": 0}})
    mt = await exchange(smsc, "HD", source="84901000401", destination="1900")
    assert mt["source"] == "1900"
    assert mt["text"] == HELP_FOLD.replace("8283", "1900")
    submit = submits_to(smsc, "84901000401")[0]
    assert (submit["source"], submit["source_ton"], submit["source_npi"]) == ("1900", 3, 0)


# ---- load, backlog, drain --------------------------------------------------------------------


async def test_load_3000_mo_window_100_each_answered_once_with_its_code(
    smsc: Smsc, gateway_factory: GatewayFactory
) -> None:
    gateway = await gateway_factory({"smpp": {"window": 100}})
    codes = found_codes()
    assert len(codes) >= 50

    report = await run_load(smsc, codes, 3000, 100)

    assert report.reason == "complete", report
    assert (report.replies, report.missing) == (3000, 0), report
    assert (report.duplicates, report.unmatched, report.wrong_text) == (0, 0, 0), report
    assert report.mo_rejected == 0, report
    assert report.clean
    assert gateway.pipeline is not None
    assert gateway.pipeline.stats.duplicates == 0


async def test_tiny_backlog_makes_the_smsc_retry_and_every_mo_is_still_answered(
    smsc: Smsc, gateway_factory: GatewayFactory
) -> None:
    gateway = await gateway_factory({"smpp": {"window": 100}, "sms": {"backlog": 50}})

    # A refused MO stays with the SMSC, which offers it again until it is taken
    report = await run_load(
        smsc, found_codes(), 5000, 100, deadline_s=180.0, max_attempts=0, retry_ms=50
    )

    assert report.reject_statuses.get(str(ESME_RMSGQFUL), 0) > 0, report
    assert set(report.reject_statuses) == {str(ESME_RMSGQFUL)}, report
    assert report.mo_resent > 0, report
    assert report.clean, report
    assert gateway.pipeline is not None
    assert gateway.pipeline.stats.refused == report.mo_rejected


@pytest_asyncio.fixture(params=["memory", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store_settings(request: pytest.FixtureRequest) -> AsyncIterator[dict[str, str]]:
    """The embedded store, or PostgreSQL in a schema of the test's own."""
    if request.param == "memory":
        yield {"url": "memory://"}
        return
    schema = new_schema_name()
    try:
        yield {"url": SHARED_DSN, "schema": schema}
    finally:
        await drop_schema(SHARED_DSN, schema)


async def test_stop_sends_replies_in_flight_before_unbinding(
    store_settings: dict[str, str], smsc: Smsc, gateway_factory: GatewayFactory
) -> None:
    # a rate cap of our own keeps replies queued when the stop comes
    gateway = await gateway_factory({"smpp": {"throughput": 20.0}, "store": store_settings})
    senders = [f"849010005{i:02d}" for i in range(30)]
    ids = [await smsc.send_mo(f"TRA {FOUND}", source=sender) for sender in senders]
    for mo_id in ids:
        assert (await smsc.wait_for("mo_acked", WAIT_S, id=mo_id))["status"] == 0
    assert gateway.pipeline is not None
    assert gateway.pipeline.stats.sent < len(senders)  # the stop does find work in flight

    await gateway.stop()

    for sender in senders:
        assert [mt["text"] for mt in mts_to(smsc, sender)] == [FOUND_FOLD]
    positions = {i: e for i, e in enumerate(smsc.events)}
    last_submit = max(i for i, e in positions.items() if e["event"] == "submit_sm")
    unbind = min(i for i, e in positions.items() if e["event"] == "unbind")
    assert last_submit < unbind
    assert all(s["status"] == 0 for s in smsc.find("submit_sm"))


def _maybe(**fields: object) -> dict[str, object]:
    return {k: v for k, v in fields.items() if v is not None}


async def test_stop_whose_drain_runs_out_still_unbinds_and_the_next_start_sends_the_rest(
    store_settings: dict[str, str], smsc: Smsc, gateway_factory: GatewayFactory
) -> None:
    store = (
        {**store_settings, "lease_seconds": 1.0} if "schema" in store_settings else store_settings
    )
    slow = {"throughput": 5.0, "drain_timeout": 0.5}  # 30 replies need 6 s: the drain gives up
    gateway = await gateway_factory({"smpp": slow, "store": store})
    senders = [f"849010006{i:02d}" for i in range(30)]
    ids = [await smsc.send_mo(f"TRA {FOUND}", source=sender) for sender in senders]
    for mo_id in ids:
        assert (await smsc.wait_for("mo_acked", WAIT_S, id=mo_id))["status"] == 0

    await gateway.stop()  # returns, having unbound, though replies were left unsent

    unbind = next(i for i, e in enumerate(smsc.events) if e["event"] == "unbind")
    assert not [e for e in smsc.events[unbind:] if e["event"] == "submit_sm"]
    delivered = {mt["destination"] for mt in smsc.find("mt")}
    assert len(delivered) < len(senders)  # the drain gave up (how many went out is timing)
    assert all(len(mts_to(smsc, sender)) <= 1 for sender in senders)
    if "schema" not in store_settings:
        return  # the embedded store keeps nothing across a restart
    await gateway_factory({"store": store})
    for sender in senders:
        await smsc.wait_for("mt", 30.0, destination=sender)
    await until(lambda: all(len(mts_to(smsc, s)) >= 1 for s in senders))
    duplicates = [s for s in senders if len(mts_to(smsc, s)) > 1]
    assert len(duplicates) <= 1, duplicates  # at most the one submit cut off by the stop
