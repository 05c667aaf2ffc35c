"""The records that flow out of the corpus room."""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class Article:
    """One raw article as read from a file, before cleaning.

    ``blocks`` are the raw paragraphs (or sentences, see ``unit``) in source order.
    """

    article_id: str
    title: str
    date: str | None
    source: str | None
    blocks: list[str]
    unit: str = "paragraph"  # "paragraph" or "sentence"
    corpus: str = "seeds"
    path: str = ""


@dataclass
class Paragraph:
    """One clean unit of text with the metadata of its article.

    ``index`` is the position of the unit among the article's *raw* blocks, so
    ids stay stable when a cleaning rule changes which neighbours are dropped.
    """

    paragraph_id: str
    article_id: str
    index: int
    text: str
    text_sha1: str
    title: str = ""
    date: str | None = None
    source: str | None = None
    unit: str = "paragraph"
    corpus: str = "seeds"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, record: dict) -> "Paragraph":
        """A paragraph from its JSON record (unknown keys ignored)."""
        return cls(**{k: record[k] for k in cls.__dataclass_fields__ if k in record})


def make_paragraph_id(article_id: str, index: int) -> str:
    """``<article_id>/p<index>``: unique within a corpus, stable across cleaning changes."""
    return f"{article_id}/p{index:03d}"
