"""Raw articles -> clean paragraphs with metadata."""
from vistance.corpus.records import Article, Paragraph
from vistance.corpus.readers import read_articles
from vistance.corpus.ingest import IngestReport, ingest_paths, paragraphs_from_articles, read_paragraphs, write_paragraphs

__all__ = [
    "Article", "Paragraph", "read_articles", "IngestReport", "ingest_paths",
    "paragraphs_from_articles", "read_paragraphs", "write_paragraphs",
]
