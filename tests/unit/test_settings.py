"""Settings: TOML and environment, validated, with errors that name the key."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from gateway.settings import ConfigError, Settings, build_settings, load_settings

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "statusgw.example.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "statusgw.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_need_no_file() -> None:
    settings = load_settings(None, {})
    assert settings == Settings()
    assert settings.sms.encoding == "fold"
    assert settings.cache.url == "memory://"


def test_example_file_is_valid_and_documents_every_key() -> None:
    settings = load_settings(EXAMPLE, {})
    text = EXAMPLE.read_text(encoding="utf-8")
    for section, values in _as_dict(settings).items():
        assert f"[{section}]" in text, section
        for key in values:
            assert f"\n{key} =" in text or f"\n# {key} =" in text, f"{section}.{key}"


def _as_dict(settings: Settings) -> dict[str, list[str]]:
    return {
        f.name: [g.name for g in dataclasses.fields(getattr(settings, f.name))]
        for f in dataclasses.fields(settings)
    }


def test_file_values_are_typed(tmp_path: Path) -> None:
    path = write(tmp_path, "[smpp]\nenabled = true\nport = 2776\nthroughput = 20\n")
    settings = load_settings(path, {})
    assert settings.smpp.enabled is True
    assert settings.smpp.port == 2776
    assert settings.smpp.throughput == 20.0


def test_environment_overrides_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[smpp]\nport = 2776\n")
    env = {
        "STATUSGW_SMPP__PORT": "2777",
        "STATUSGW_SMPP__ENABLED": "yes",
        "STATUSGW_SMS__ENCODING": "unicode",
        "STATUSGW_SOURCE__MAPPING": "code=MaHoSo, status=TrangThaiHoSo",
        "HOME": "/root",
    }
    settings = load_settings(path, env)
    assert settings.smpp.port == 2777
    assert settings.smpp.enabled is True
    assert settings.sms.encoding == "unicode"
    assert dict(settings.source.mapping) == {"code": "MaHoSo", "status": "TrangThaiHoSo"}


@pytest.mark.parametrize(
    ("toml", "env", "named"),
    [
        ("[smpp]\nprot = 1\n", {}, "smpp.prot"),
        ("[smtp]\nport = 1\n", {}, "[smtp]"),
        ("[smpp]\nport = 'x'\n", {}, "smpp.port"),
        ("[smpp]\nport = 70000\n", {}, "smpp.port"),
        ("[smpp]\nbind = 'trx'\n", {}, "smpp.bind"),
        ("[smpp]\nenabled = 'yes'\n", {}, "smpp.enabled"),
        ("[smpp]\nwindow = 0\n", {}, "smpp.window"),
        ("[smpp]\npassword = 'far-too-long'\n", {}, "smpp.password"),
        ("[smpp]\nreconnect_min = 5.0\nreconnect_max = 1.0\n", {}, "smpp.reconnect_max"),
        ("[sms]\nencoding = 'utf8'\n", {}, "sms.encoding"),
        ("[source]\nkind = 'postgres'\n", {}, "source.dsn"),
        ("[cache]\nurl = 'memcached://x'\n", {}, "cache.url"),
        ("[http]\nlisten = '8080'\n", {}, "http.listen"),
        ("", {"STATUSGW_SMPP__PORT": "many"}, "smpp.port"),
        ("", {"STATUSGW_SMPP__ENABLED": "maybe"}, "smpp.enabled"),
        ("", {"STATUSGW_SMPP__NOPE": "1"}, "smpp.nope"),
        ("", {"STATUSGW_SMPP": "1"}, "STATUSGW_SMPP"),
        ("[smpp]\nport = 1.5\n", {}, "smpp.port"),
    ],
)
def test_bad_values_are_named(tmp_path: Path, toml: str, env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named.replace("[", r"\[").replace(".", r"\.")):
        load_settings(write(tmp_path, toml), env)


def test_invalid_toml_and_missing_file_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path, "[smpp\n"), {})
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "absent.toml", {})


def test_secrets_stay_out_of_repr() -> None:
    settings = build_settings({"smpp": {"password": "s3cret"}, "ami": {"secret": "hush"}})
    assert "s3cret" not in repr(settings)
    assert "hush" not in repr(settings)
