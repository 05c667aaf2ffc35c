"""Ingest: raw articles -> clean paragraphs with metadata."""
import json

import pytest

from vistance.corpus import IngestReport, ingest_paths
from vistance.corpus.cleaning import drop_reason

from conftest import SEEDS


def texts(paragraphs):
    return [p.text for p in paragraphs]


def test_seed_articles_yield_paragraphs_with_metadata(seed_paragraphs):
    assert len({p.article_id for p in seed_paragraphs}) == 5
    first = [p for p in seed_paragraphs if p.article_id == "000_293bc8ec8fa90483"]
    assert first[0].date == "2026-01-05"
    assert first[0].source == "Huế ngày nay Online"
    assert first[0].title == "Trung Quốc và Hàn Quốc thúc đẩy hợp tác"
    for p in seed_paragraphs:
        assert p.paragraph_id == f"{p.article_id}/p{p.index:03d}"
        assert len(p.text_sha1) == 40


def test_captions_bylines_source_lines_and_timestamps_are_not_paragraphs(seed_paragraphs):
    all_text = "\n".join(texts(seed_paragraphs))
    assert "Ảnh:" not in all_text and "(Ảnh" not in all_text        # photo captions
    assert "Clock" not in all_text                                  # timestamp line
    assert "Theo nhandan.vn" not in all_text                        # source line
    assert "Nguyễn Tiến" not in texts(seed_paragraphs)              # byline
    assert "Như Tâm" not in texts(seed_paragraphs)
    # a real paragraph that starts with "Theo ..." is kept
    assert any(t.startswith("Theo Tân Hoa xã, tại hội đàm") for t in texts(seed_paragraphs))


def test_everything_after_related_news_marker_is_dropped(seed_paragraphs):
    art = [p for p in seed_paragraphs if p.article_id == "004_dba647f94a9a5ebf"]
    assert art[-1].text.startswith("Bên cạnh đó, 6 nhà lãnh đạo")
    assert not any("Phạm Thanh Bình" in p.text for p in art)


def test_article_without_date_header_has_no_date_and_keeps_title(seed_paragraphs):
    art = [p for p in seed_paragraphs if p.article_id == "004_dba647f94a9a5ebf"]
    assert art[0].date is None
    assert art[0].title.startswith("Trung Quốc khẳng định Trung Á")


@pytest.mark.parametrize("block,reason", [
    ("Chủ tịch Trung Quốc Tập Cận Bình. (Ảnh: THX/TTXVN)", "caption"),
    ("Tổng thống Nga Vladimir Putin - Ảnh: REUTERS", "caption"),
    ("Giá dầu tuần này sẽ biến động nhẹ. Ảnh minh họa: Oilprice", "caption"),
    ("Anh Trang - Thứ bảy, 22/06/2024 14:58 (GMT+7)", "timestamp"),
    ("4 giờ trước", "timestamp"),
    ("Theo TTXVN", "source_line"),
    ("Nguyễn Tiến", "byline_or_heading"),
    ("Trong vài năm qua, thành phố biển này từng là một điểm nóng. Cuối ...", "teaser"),
    ("Tổng Bí thư Tô Lâm gặp Thủ tướng Trung Quốc Lý Cường.", None),
])
def test_drop_rules(block, reason):
    assert drop_reason(block) == reason


def test_broken_file_is_reported_by_name_and_others_still_ingest(tmp_path):
    (tmp_path / "good.txt").write_text(" date 2026-01-02\nTiêu đề\n\nHai bên nhất trí tăng cường hợp tác kinh tế.\n", encoding="utf-8")
    (tmp_path / "latin1.txt").write_bytes(" date 2026-01-02\nTiêu đề\n\nHai bên.\n".encode("cp1258", errors="replace") + b"\xff\xfe\xfa")
    (tmp_path / "nobody.txt").write_text(" date 2026-01-02\nChỉ có tiêu đề\n", encoding="utf-8")
    (tmp_path / "baddate.txt").write_text(" date 2026-13-45\nTiêu đề\n\nMột đoạn văn.\n", encoding="utf-8")
    report = IngestReport()
    paras = list(ingest_paths([tmp_path], report=report))
    assert [p.article_id for p in paras] == ["good"]
    messages = " | ".join(str(e) for e in report.errors)
    assert "latin1.txt" in messages and "not UTF-8" in messages
    assert "nobody.txt" in messages and "no body" in messages
    assert "baddate.txt" in messages and "date" in messages


def test_jsonl_articles_ingest_and_a_bad_line_is_reported_with_its_number(tmp_path):
    f = tmp_path / "news.jsonl"
    good = {"id": "a1", "title": "T", "date": "2024-05-01", "source": "vov.vn",
            "paragraphs": ["Việt Nam và Nhật Bản nhất trí tăng cường hợp tác quốc phòng.", "Ảnh: TTXVN"]}
    f.write_text(json.dumps(good, ensure_ascii=False) + "\n{not json\n", encoding="utf-8")
    report = IngestReport()
    paras = list(ingest_paths([f], report=report))
    assert [(p.paragraph_id, p.source, p.date) for p in paras] == [("a1/p000", "vov.vn", "2024-05-01")]
    assert len(report.errors) == 1 and str(report.errors[0]).startswith(f"{f}:2:")


def test_sentence_corpora_are_flagged_as_sentence_units(tmp_path):
    f = tmp_path / "s.jsonl"
    f.write_text(json.dumps({"id": "x", "title": "t", "sentences": [
        "Câu thứ nhất nói về hợp tác thương mại giữa hai nước.", "Câu thứ hai nói về giáo dục và đào tạo nhân lực."]},
        ensure_ascii=False) + "\n", encoding="utf-8")
    one = list(ingest_paths([f]))
    two = list(ingest_paths([f], sentence_window=2))
    assert [p.unit for p in one] == ["sentence", "sentence"]
    assert len(two) == 1 and two[0].unit == "sentence_window2"


def test_duplicate_paragraphs_are_dropped_once_seen(tmp_path):
    f = tmp_path / "d.jsonl"
    para = "Hai bên nhất trí thúc đẩy quan hệ song phương phát triển sâu sắc hơn."
    f.write_text("\n".join(json.dumps({"id": i, "title": "t", "paragraphs": [para]}, ensure_ascii=False) for i in ("a", "b")) + "\n",
                 encoding="utf-8")
    report = IngestReport()
    assert [p.article_id for p in ingest_paths([f], report=report)] == ["a"]
    assert report.dropped["duplicate"] == 1


def test_ingest_is_deterministic(seed_paragraphs):
    again = list(ingest_paths([SEEDS]))
    assert [(p.paragraph_id, p.text_sha1) for p in again] == [(p.paragraph_id, p.text_sha1) for p in seed_paragraphs]
