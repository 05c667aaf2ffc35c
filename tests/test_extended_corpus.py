"""With the extended corpora beside the project (as in CI), the committed gold labels join their text."""
import pytest

from vistance.corpus import ingest_paths
from vistance.dataset import join_labels
from vistance.labels.store import read_labels
from vistance.labels.validate import check_against_corpus

from conftest import ROOT, SEEDS, SHARED_CORPUS

NEWS = SHARED_CORPUS / "news-2024" / "articles.jsonl"
pytestmark = pytest.mark.skipif(not NEWS.exists(), reason="extended corpus ../shared/corpus/news-2024 not on this machine")


@pytest.fixture(scope="module")
def paragraphs():
    return list(ingest_paths([SEEDS, NEWS]))


def test_gold_labels_are_fresh_and_at_least_1500_join_their_paragraphs(paragraphs):
    gold = read_labels(ROOT / "labels" / "gold.jsonl", allow_missing=False)
    rep = check_against_corpus(gold, paragraphs)
    assert rep.ok, rep.messages()[:5]
    rows, info = join_labels(paragraphs, gold)
    assert len(rows) >= 1500
    for theme in ("maritime", "economy_trade", "infrastructure", "science_technology", "defense_security",
                  "political_relations", "people_culture_education", "multilateral_global", "other"):
        assert sum(theme in r["themes"] for r in rows) >= 40, theme
    assert sum(r["tone"] == "contentious" for r in rows) >= 40


def test_double_coded_subset_has_at_least_200_paragraphs_in_the_corpus(paragraphs):
    ids = {p.paragraph_id for p in paragraphs}
    second = read_labels(ROOT / "labels" / "second_pass.jsonl", allow_missing=False)
    assert sum(l.paragraph_id in ids for l in second) >= 200
