"""Rules that decide which raw blocks are paragraphs.

Each rule returns a short reason when a block is *not* a paragraph (a photo
caption, a byline, a ``Theo …`` source line, a timestamp, a heading, an RSS
teaser, a duplicate), so ingest can report what it dropped and why.
Everything from a "Có thể bạn quan tâm" block on is related-news boilerplate.
"""
from __future__ import annotations

import re

_CAPTION_WORDS = r"(?:Ảnh|Video|Clip|Nguồn|Đồ họa|Infographic)"
_CAPTION_PATTERNS = [
    # "(Ảnh: TTXVN)", "(Ảnh minh họa)", "(Video: QQ)." at the end
    re.compile(rf"\(\s*{_CAPTION_WORDS}\b[^()]*\)\s*[.]?\s*$", re.I),
    # "... - Ảnh: REUTERS", "... . Ảnh: Bộ Ngoại giao", "Ảnh minh họa: Oilprice"
    re.compile(rf"(?:^|[\s.\-–—|])\s*{_CAPTION_WORDS}(?:\s+(?:minh h[oọ]a|tư liệu|chụp màn hình))?\s*:\s*[^.!?:]{{0,80}}[.]?\s*$", re.I),
    # starts like a caption credit
    re.compile(r"^\s*(?:Nguồn hình ảnh|Ảnh\s*:|Video\s*:|Clip\s*:|Nguồn\s*:)", re.I),
]
# "... Ảnh TUẤN HUY" (credit in capitals, no colon)
_CAPTION_CAPS = re.compile(r"[.\s]Ảnh\s+([^\s.][^.]{1,40})$")
_RELATED = re.compile(r"^\s*(?:Có thể bạn quan tâm|Tin liên quan|Bài viết liên quan|Xem thêm|Tin cùng chuyên mục|Đọc thêm)\s*[:.]?\s*$", re.I)
_WEEKDAY = r"(?:Thứ\s+(?:hai|ba|tư|năm|sáu|bảy|2|3|4|5|6|7)|Chủ\s+nhật)"
_TIMESTAMP = re.compile(
    rf"(?:{_WEEKDAY}\s*,?\s*(?:ngày\s*)?\d{{1,2}}/\d{{1,2}}/\d{{2,4}})|(?:\d{{1,2}}/\d{{1,2}}/\d{{4}}\s*,?\s*\d{{1,2}}[:h]\d{{2}})|(?:\bGMT\s*\+\s*\d)",
    re.I,
)
_AGO = re.compile(r"^\s*\d+\s+(?:giây|phút|giờ|ngày|tuần|tháng)\s+trước\s*$", re.I)
_THEO = re.compile(r"^\s*(?:Theo|Nguồn)\s+\S+(?:\s+\S+){0,5}\s*[.]?\s*$")
_SENTENCE_END = re.compile(r"[.!?…:;\"”)]\s*$")
_TEASER_CUT = re.compile(r"(?:\s|,)(?:\.{2,3}|…)\s*$")
_ELLIPSIS = re.compile(r"(?:\.{3}|…)\s*$")
_POSITION = re.compile(r"\((?:trái|phải|giữa|ngoài cùng bên (?:trái|phải)|thứ \w+ từ (?:trái|phải)|tóc vàng)\)", re.I)
_CREDIT_END = re.compile(r"(?:Nguồn|Ảnh)\s+[A-Z][A-Za-z./-]{1,15}\.?\s*$|\s(?:REUTERS|AFP|AP|TTXVN|THX|Bloomberg|Getty Images)\s*$")
_WIDGETS = re.compile(
    r"^\s*(?:Chụp lại hình ảnh,|\*?\s*Mời bạn đọc|Thư Tin|XSMN|XSMB|Kết quả xổ số|Xem .{0,80}trực tiếp và trọn vẹn)"
    r"|trực tiếp và trọn vẹn trên FPT Play|Bình chọn Xem kết quả",
    re.I,
)
_HEADING_END_OK = re.compile(r"[.!?…;:\"”’)\]]\s*$")
_DATELINE = re.compile(r"^\s*\((?:[A-Za-zÀ-ỹĐđ.\s]{2,30})\)\s*[-–—]\s*")


def strip_dateline(text: str) -> str:
    """Remove a leading agency dateline such as ``(Baochinhphu.vn) - ``."""
    return _DATELINE.sub("", text, count=1)


def is_related_news_marker(block: str) -> bool:
    """True for the heading that opens a related-news block ("Có thể bạn quan tâm")."""
    return bool(_RELATED.match(block))


def drop_reason(block: str) -> str | None:
    """Why ``block`` is not a paragraph, or ``None`` when it is one."""
    words = block.split()
    if not words:
        return "empty"
    if any(p.search(block) for p in _CAPTION_PATTERNS):
        return "caption"
    m = _CAPTION_CAPS.search(block)
    if m and m.group(1).upper() == m.group(1):
        return "caption"
    if _WIDGETS.search(block):
        return "widget"
    if _THEO.match(block) and len(words) <= 7:
        return "source_line"
    if (_POSITION.search(block) or _CREDIT_END.search(block)) and len(words) <= 45:
        return "caption"
    if _AGO.match(block) or (_TIMESTAMP.search(block) and len(words) <= 15):
        return "timestamp"
    if block.startswith("Clock"):
        return "timestamp"
    if len(words) <= 5 and not _SENTENCE_END.search(block):
        # bylines ("Nguyễn Tiến"), headings ("Lời kết"), widgets ("Video")
        return "byline_or_heading"
    if len(words) <= 18 and not _HEADING_END_OK.search(block):
        # a headline or sub-heading: short and without sentence-final punctuation
        return "heading"
    if _TEASER_CUT.search(block):
        return "teaser"
    return None


def is_teaser_of(block: str, later: list[str]) -> bool:
    """An RSS teaser: ends in an ellipsis and its start repeats a later paragraph."""
    if not _ELLIPSIS.search(block):
        return False
    head = _ELLIPSIS.sub("", block).strip()[:60]
    return len(head) >= 20 and any(other.startswith(head) for other in later)
