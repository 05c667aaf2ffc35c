"""Text normalisation: NFC, one tone-mark convention, no invisible characters."""
import unicodedata

import pytest

from vistance.text.normalize import normalize, text_sha1


@pytest.mark.parametrize("old,new", [
    ("hoà bình", "hòa bình"), ("Thuỷ sản", "Thủy sản"), ("khoẻ mạnh", "khỏe mạnh"),
    ("Hoá học", "Hóa học"), ("thuý", "thúy"), ("xoè", "xòe"),
])
def test_old_style_tone_marks_move_to_the_main_vowel(old, new):
    assert normalize(old) == new


@pytest.mark.parametrize("word", ["hoàn thành", "quý", "khuyến khích", "Huỳnh", "khuỷu", "thuyền"])
def test_closed_syllables_and_qu_are_left_alone(word):
    assert normalize(word) == word


def test_nfd_input_becomes_nfc_and_hashes_like_nfc():
    nfc = "Biển Đông và Trường Sa"
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfd != nfc
    assert normalize(nfd) == nfc
    assert text_sha1(nfd) == text_sha1(nfc)


def test_invisible_and_control_characters_are_removed_and_spaces_folded():
    assert normalize("Việt\u200b Nam\u00a0\u00a0và\tLào\x07 ") == "Việt Nam và Lào"
    assert normalize("a\r\nb\rc") == "a\nb\nc"


def test_both_tone_conventions_hash_the_same():
    assert text_sha1("hợp tác hoà bình") == text_sha1("hợp tác hòa bình")
