"""Word segmentation: what the transformer (and every word-level model) relies on."""
from __future__ import annotations

import os
import unicodedata

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest  # noqa: E402

from vistance.errors import VistanceError  # noqa: E402
from vistance.text.normalize import normalize  # noqa: E402
from vistance.text.segment import check_segmenter, get_segmenter  # noqa: E402


def unsegment(text: str) -> str:
    """Undo segmentation (``Việt_Nam hội_đàm`` -> ``Việt Nam hội đàm``): the property the tests check."""
    return text.replace("_", " ")

try:  # tests/ is on sys.path (rootdir import) or a package
    from transformer_fixtures import seed_texts  # noqa: F401
except ImportError:  # pragma: no cover
    from tests.transformer_fixtures import seed_texts  # noqa: F401

BACKENDS = ["pyvi", "underthesea"]
PLAIN = [  # no punctuation: segmentation only joins syllables, so unsegment gives the text back exactly
    "Việt Nam và Trung Quốc tăng cường hợp tác kinh tế",
    "Bộ Ngoại giao Việt Nam ra tuyên bố về Biển Đông",
    "Hai bên nhất trí thúc đẩy đầu tư và thương mại song phương",
]


def _no_space(s: str) -> str:
    return "".join(s.split())


@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("text", PLAIN)
def test_unsegment_restores_plain_text_exactly(name, text):
    seg = get_segmenter(name)
    assert unsegment(seg.segment(text)) == normalize(text)


@pytest.mark.parametrize("name", BACKENDS)
def test_segmentation_keeps_every_character_of_the_normalised_paragraph(name, seed_texts):
    # Segmenters also detach punctuation ("đó," -> "đó ,"), so the round trip holds up to spaces:
    # no character is added, dropped or reordered.
    seg = get_segmenter(name)
    for text in seed_texts:
        out = seg.segment(text)
        assert _no_space(unsegment(out)) == _no_space(normalize(text))
        assert out == " ".join(out.split()), "single spaces, no leading or trailing space"


@pytest.mark.parametrize("name", BACKENDS)
def test_multi_syllable_words_are_joined_with_underscores(name):
    assert get_segmenter(name).segment("Việt Nam hợp tác") == "Việt_Nam hợp_tác"


@pytest.mark.parametrize("name", BACKENDS)
def test_segmenters_normalise_first(name):
    # NFD input with old-style tone marks comes out NFC with new-style marks
    out = get_segmenter(name).segment(unicodedata.normalize("NFD", "hoà bình và thuỷ sản"))
    assert unicodedata.is_normalized("NFC", out)
    assert "hòa" in out and "thủy" in out


def test_empty_text_segments_to_empty_string():
    assert get_segmenter("pyvi").segment("   ") == ""


def test_segmenter_names_are_recorded():
    assert get_segmenter("pyvi").name == "pyvi"
    assert get_segmenter("underthesea").name == "underthesea"


def test_segmenter_mismatch_is_refused():
    check_segmenter("pyvi", "pyvi")
    with pytest.raises(VistanceError, match="segmenter mismatch.*'pyvi'.*'underthesea'"):
        check_segmenter("pyvi", "underthesea")


def test_unknown_segmenter_is_refused():
    with pytest.raises(VistanceError, match="unknown segmenter"):
        get_segmenter("no-such-segmenter")


def test_fast_pyvi_path_gives_exactly_pyvis_own_output():
    """The faster feature builder must not change a single segmentation."""
    import itertools

    from pyvi import ViTokenizer

    from vistance.corpus import ingest_paths
    from vistance.text.normalize import normalize
    from vistance.text.segment import PyviSegmenter

    seg = PyviSegmenter()
    assert seg._tagger is not None, "pyvi internals changed: the fast path is not in use"
    from conftest import SEEDS

    texts = [normalize(p.text) for p in itertools.islice(ingest_paths([SEEDS]), 60)]
    texts += ["TP. Hồ Chí Minh, 3.5% ==> Mỹ -> Trung Quốc... Ông A.B. Nguyễn", "a_b _ c", "12/3/2024 lúc 8h30", "…", "x"]
    for t in texts:
        assert seg.tokenize(t) == ViTokenizer.tokenize(t), t


def test_remembered_segmentation_is_the_segmenters_own_output():
    from vistance.text.segment import REMEMBER_CHARS, get_segmenter, segment_text

    text = "Việt Nam và Hoa Kỳ thúc đẩy hợp tác kinh tế."
    assert segment_text("pyvi", text) == get_segmenter("pyvi").segment(text)
    assert segment_text("pyvi", text) == segment_text("pyvi", text)      # remembered, same answer
    long_text = "Hà Nội " * (REMEMBER_CHARS // 7 + 1)                     # too long to remember: segmented anew
    assert segment_text("syllable", long_text) == get_segmenter("syllable").segment(long_text)


def test_a_tfidf_model_uncached_segments_every_text_anew(monkeypatch):
    from vistance.models import build_model
    from vistance.text import segment as seg_module

    texts = ["Việt Nam hợp tác kinh tế.", "Hai bên phản đối tranh chấp."] * 6
    model = build_model("tfidf", segmenter="syllable", use_char=False, min_df=1, tune_thresholds=False)
    model.fit(texts, [["economy_trade"], ["maritime"]] * 6, ["cooperative", "contentious"] * 6)
    remembered = []
    monkeypatch.setattr(seg_module, "_remembered", lambda name, text: remembered.append(text) or text)
    with model.uncached():
        model.predict_proba(texts[:2])
    assert remembered == []
    model.predict_proba(texts[:2])
    assert remembered == texts[:2]
