"""The prompt catalogue: one entry per thing the hotline says, stable ids, composed messages."""

from __future__ import annotations

import csv
import re
from datetime import date, datetime
from pathlib import Path

import pytest

from gateway.dossier import Status
from gateway.privacy import Disclosure, DossierView
from ivr.call import Cue, Script
from prompts import catalog
from prompts.catalog import (
    Catalogue,
    CatalogueScript,
    Prompt,
    PromptKind,
    agency_prompt_id,
    build_catalogue,
    say_choice,
    say_collect_at,
    say_dossier,
    say_due,
    say_found_for_caller,
    say_offer,
    say_status,
    say_you_entered,
    sentence,
    status_prompt,
)
from prompts.speech import FRAGMENTS, Region, SpeechStyle

SAMPLE = Path(__file__).parents[2] / "adapters" / "sample" / "dossiers.csv"


def sample_agencies() -> list[str]:
    with SAMPLE.open(encoding="utf-8") as rows:
        return sorted({row["agency"] for row in csv.DictReader(rows)})


def test_every_status_has_its_spoken_phrase() -> None:
    cat = build_catalogue()
    for status in Status:
        prompt = cat[f"status/{status.value}"]
        assert prompt.vi == status.spoken
        assert prompt.kind is PromptKind.STATUS
        assert prompt.en
    assert sum(1 for p in cat if p.kind is PromptKind.STATUS) == len(Status)


def test_every_speller_fragment_is_catalogued() -> None:
    cat = build_catalogue()
    for fragment_id, text in FRAGMENTS.items():
        assert cat[fragment_id].vi == text
    assert cat["sym/pause"].kind is PromptKind.SILENCE
    assert cat["sym/stop"].kind is PromptKind.SILENCE


def test_sentences_are_complete_and_say_numbers_as_words() -> None:
    ids = [p.id for p in catalog.SENTENCES]
    assert len(ids) == len(set(ids))
    for prompt in catalog.SENTENCES:
        assert re.fullmatch(r"ivr/[a-z_]+", prompt.id), prompt.id
        assert prompt.vi and prompt.en, prompt.id
        assert not re.search(r"\d", prompt.vi), f"{prompt.id}: write numbers as words"
        assert prompt.kind is PromptKind.SENTENCE


def test_the_dialogue_finds_the_prompts_it_needs() -> None:
    cat = build_catalogue()
    needed = [
        "ivr/greeting",
        "ivr/enter_code",
        "ivr/you_entered",
        "ivr/confirm_or_reenter",
        "ivr/please_wait",
        "ivr/dossier_number",
        "ivr/status_is",
        "ivr/due_date",
        "ivr/overdue",
        "ivr/collect_at",
        "ivr/collect_at_desk",
        "ivr/not_found",
        "ivr/menu",
        "ivr/invalid_input",
        "ivr/transfer",
        "ivr/operators_closed_sms_offer",
        "ivr/found_for_caller",
        "ivr/goodbye",
        "ivr/busy",
    ]
    for prompt_id in needed:
        assert prompt_id in cat


def test_ids_are_stable_ascii_paths() -> None:
    cat = build_catalogue(sample_agencies())
    for prompt in cat:
        assert re.fullmatch(r"[a-z]+(/[a-z0-9_-]+)+", prompt.id), prompt.id
    assert len(cat.ids) == len(set(cat.ids))
    assert build_catalogue(sample_agencies()).ids == cat.ids


def test_agency_names_from_the_sample_data_are_rendered_whole() -> None:
    names = sample_agencies()
    cat = build_catalogue(names)
    agencies = [p for p in cat if p.kind is PromptKind.AGENCY]
    assert len(agencies) == len(names)
    hcm = cat.agency("Sở Tư pháp TP.HCM")
    assert hcm is not None
    assert hcm.vi == "Sở Tư pháp Thành phố Hồ Chí Minh"
    assert hcm.en == "Sở Tư pháp TP.HCM"
    district = cat.agency("  UBND   quận 1 ")
    assert district is not None
    assert district.vi == "Ủy ban nhân dân quận một"


def test_agency_ids_fold_accents_and_keep_lookalikes_apart() -> None:
    one = agency_prompt_id("UBND phường Bến Nghé")
    assert one.startswith("agency/ubnd-phuong-ben-nghe-")
    assert agency_prompt_id("UBND phường Bến Nghé") == one
    assert agency_prompt_id("UBND phường Bến Nghe") != one
    assert agency_prompt_id("Đa Kao").startswith("agency/da-kao-")
    assert len(agency_prompt_id("x" * 300)) < 64


def test_collect_at_names_a_configured_agency_or_falls_back() -> None:
    cat = build_catalogue(["UBND quận 1"])
    known = say_collect_at(cat, "UBND quận 1")
    assert known.ids == ("ivr/collect_at", agency_prompt_id("UBND quận 1"))
    assert known.text == "Mời quý vị đến nhận kết quả tại Ủy ban nhân dân quận một"
    assert say_collect_at(cat, "UBND quận 3").ids == ("ivr/collect_at_desk",)
    assert say_collect_at(cat, "").ids == ("ivr/collect_at_desk",)


def test_status_message() -> None:
    spoken = say_status("H29-0001", Status.PROCESSING)
    assert spoken.ids == (
        "ivr/dossier_number",
        "letters/h",
        "digits/2",
        "digits/9",
        "sym/dash",
        "digits/0",
        "digits/0",
        "digits/0",
        "digits/1",
        "sym/pause",
        "ivr/status_is",
        "status/processing",
    )
    assert spoken.text == (
        "Hồ sơ số hát hai chín gạch không không không một, trạng thái: đang được xử lý"
    )


def test_you_entered() -> None:
    spoken = say_you_entered("0001")
    assert spoken.ids[0] == "ivr/you_entered"
    assert spoken.ids[-2:] == ("sym/stop", "ivr/confirm_or_reenter")
    assert spoken.ids[1:-2] == ("digits/0", "digits/0", "digits/0", "digits/1")
    assert spoken.text == (
        "Quý vị đã nhập mã số không không không một. "
        "Bấm phím một để xác nhận, bấm phím hai để nhập lại."
    )


def test_due_date_with_and_without_a_time() -> None:
    assert say_due(date(2025, 3, 5)).text == (
        "Ngày hẹn trả kết quả: ngày mùng năm tháng ba năm hai nghìn không trăm hai mươi lăm"
    )
    assert say_due(datetime(2025, 3, 5, 9, 0)).text.startswith(
        "Ngày hẹn trả kết quả: chín giờ sáng, ngày mùng năm"
    )
    assert "giờ" not in say_due(datetime(2025, 3, 5)).text
    south = say_due(date(2005, 6, 15), SpeechStyle(region=Region.SOUTH))
    assert south.text.endswith("hai ngàn không trăm lẻ năm")


def test_found_for_caller_and_choices() -> None:
    assert say_found_for_caller(3).text == (
        "Chúng tôi tìm thấy ba hồ sơ gắn với số điện thoại của quý vị."
    )
    choice = say_choice(1, "000.00.22.H29-240101-0015")
    assert choice.text == "Bấm phím một để nghe hồ sơ có số cuối là không không một năm"
    with pytest.raises(ValueError, match="one digit"):
        say_choice(10, "H29-0001")


def test_every_composed_message_uses_only_catalogued_ids() -> None:
    cat = build_catalogue(["UBND quận 1"])
    messages = [say_status("000.00.22.H29-240101-0001", status) for status in Status] + [
        say_you_entered("0000022292401010001"),
        say_due(datetime(2025, 12, 31, 16, 45)),
        say_collect_at(cat, "UBND quận 1"),
        say_found_for_caller(21),
        say_choice(9, "G01-250101-0001"),
    ]
    for message in messages:
        assert set(message.ids) <= set(cat.ids)


def test_a_catalogue_refuses_one_id_with_two_texts() -> None:
    with pytest.raises(ValueError, match="ivr/x"):
        Catalogue([Prompt("ivr/x", "một"), Prompt("ivr/x", "hai")], {})
    same = Catalogue([Prompt("ivr/x", "một"), Prompt("ivr/x", "một")], {})
    assert len(same) == 1


def test_status_prompt_is_the_catalogue_entry() -> None:
    cat = build_catalogue()
    for status in Status:
        assert cat[status_prompt(status).id] == status_prompt(status)


def view(
    status: Status,
    due_at: datetime | None = datetime(2025, 3, 5, 9, 0),
    overdue: bool = False,
    agency: str = "UBND quận 1",
) -> DossierView:
    return DossierView("H29-0001", status, due_at, overdue, agency, Disclosure.BASIC)


def test_every_cue_of_the_dialogue_has_its_sentence() -> None:
    cat = build_catalogue()
    for cue in Cue:
        prompt = sentence(cue.value)
        assert prompt.id == f"ivr/{cue.value}"
        assert prompt.id in cat
    with pytest.raises(KeyError, match="ivr/nothing"):
        sentence("nothing")


def test_the_catalogue_script_speaks_for_the_dialogue() -> None:
    cat = build_catalogue(["UBND quận 1"])
    script: Script = CatalogueScript(cat)
    assert script.cue(Cue.MENU).ids == ("ivr/menu",)
    assert script.read_back("01").ids == (
        "ivr/you_entered",
        "digits/0",
        "digits/1",
        "sym/stop",
        "ivr/confirm_or_reenter",
    )
    said = [
        script.status(view(status, overdue=status is Status.PROCESSING)) for status in Status
    ] + [script.offer([view(Status.PROCESSING)] * 3)]
    for spoken in said:
        assert set(spoken.ids) <= set(cat.ids)


def test_an_open_dossier_gets_its_due_date_and_an_apology_when_late() -> None:
    cat = build_catalogue()
    spoken = say_dossier(cat, view(Status.PROCESSING, overdue=True))
    assert spoken.ids[-1] == "ivr/overdue"
    assert "ivr/due_date" in spoken.ids
    assert spoken.text.endswith(
        "trạng thái: đang được xử lý. Ngày hẹn trả kết quả: chín giờ sáng, ngày mùng năm "
        "tháng ba năm hai nghìn không trăm hai mươi lăm. Hồ sơ đã quá hạn giải quyết. "
        "Chúng tôi thành thật xin lỗi quý vị."
    )
    on_time = say_dossier(cat, view(Status.NEEDS_SUPPLEMENT))
    assert "ivr/due_date" in on_time.ids and "ivr/overdue" not in on_time.ids
    assert "ivr/due_date" not in say_dossier(cat, view(Status.PROCESSING, due_at=None)).ids


def test_a_ready_result_says_where_to_collect_it() -> None:
    cat = build_catalogue(["UBND quận 1"])
    ready = say_dossier(cat, view(Status.RESULT_READY))
    agency = cat.agency("UBND quận 1")
    assert agency is not None
    assert ready.ids[-3:] == ("sym/stop", "ivr/collect_at", agency.id)
    assert "ivr/due_date" not in ready.ids
    elsewhere = say_dossier(cat, view(Status.RESULT_READY, agency="Sở Xây dựng"))
    assert elsewhere.ids[-1] == "ivr/collect_at_desk"
    final = say_dossier(cat, view(Status.RETURNED))
    assert final.ids[-1] == "status/returned"


def test_offer_by_caller_number() -> None:
    spoken = say_offer(["G01-250101-0001", "G01-250101-0002"])
    assert spoken.text == (
        "Chúng tôi tìm thấy hai hồ sơ gắn với số điện thoại của quý vị. "
        "Bấm phím một để nghe hồ sơ có số cuối là không không không một. "
        "Bấm phím hai để nghe hồ sơ có số cuối là không không không hai. "
        "Để nhập mã hồ sơ khác, bấm phím thăng."
    )
    for count in (0, 10):
        with pytest.raises(ValueError, match="one to nine"):
            say_offer(["H29-0001"] * count)
