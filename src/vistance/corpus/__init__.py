"""Raw articles -> clean paragraphs with metadata; the corpora as data (:mod:`.registry`)."""
from vistance.corpus.records import Article, Paragraph
from vistance.corpus.readers import read_articles
from vistance.corpus.ingest import (CorpusInput, IngestReport, corpus_inputs, ingest_corpora, ingest_output,
                                    ingest_paths, paragraphs_from_articles, read_paragraphs, write_paragraphs)

__all__ = [
    "Article", "Paragraph", "read_articles", "IngestReport", "ingest_paths", "CorpusInput", "corpus_inputs",
    "ingest_corpora", "ingest_output", "paragraphs_from_articles", "read_paragraphs", "write_paragraphs",
]
