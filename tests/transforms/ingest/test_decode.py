"""Byte decoding (``transforms.ingest.decode``): BOMs, UTF-8, a declared charset, the cp1252 fallback, binary."""

from __future__ import annotations

import pytest

from schemas.records import DeadLetter, RawArticle
from transforms.ingest.decode import DecodeError, decode_bytes, looks_binary
from transforms.ingest.read import read_path


def items(path):
    got = list(read_path(str(path)))
    return [i for i in got if isinstance(i, RawArticle)], [i for i in got if isinstance(i, DeadLetter)]


def test_binary_txt_is_a_decode_dead_letter(tmp_path):
    path = tmp_path / "bin.txt"
    path.write_bytes(b"\x00\x01\x02\x03" * 50)
    good, dead = items(path)
    assert not good and dead[0].stage == "decode" and "binary" in dead[0].error
    assert dead[0].excerpt.startswith("\\x00\\x01")


def test_latin1_text_decodes_with_fallback(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes("Caf\xe9 tariffs: the Zölle rose.".encode("cp1252"))
    good, dead = items(path)
    assert not dead and "Café" in (good[0].body or "")


def test_utf16_with_bom(tmp_path):
    path = tmp_path / "u16.txt"
    path.write_bytes("Huawei 華為 news".encode("utf-16"))
    good, _ = items(path)
    assert good and "華為" in (good[0].body or "")


@pytest.mark.parametrize("declared", ["undefined", "utf-7", "unicode_escape", "raw_unicode_escape", "punycode",
                                      "hex", "no-such-charset"])
def test_a_bogus_declared_charset_falls_back_and_never_yields_surrogates(declared) -> None:
    text, used = decode_bytes(b"+2AA- \\ud800 caf\xe9", declared)
    assert used == "cp1252" and text == "+2AA- \\ud800 café"


def test_the_policy_in_order():
    assert decode_bytes(b"\xfe\xff" + "Zölle".encode("utf-16-be")) == ("Zölle", "utf-16-be")   # a BOM wins
    assert decode_bytes("Zölle".encode()) == ("Zölle", "utf-8")
    assert decode_bytes("Zölle".encode("iso-8859-2"), "iso-8859-2") == ("Zölle", "iso-8859-2")       # declared
    assert decode_bytes(b"Caf\xe9") == ("Café", "cp1252")                                           # fallback
    assert looks_binary(b"\x00abc") and not looks_binary(b"plain text\n")
    with pytest.raises(DecodeError):
        decode_bytes(b"\x01\x02\x03\x04" * 10)
