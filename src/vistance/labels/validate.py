"""``vistance labels check``: labels against the schema and the corpus they judge."""
from __future__ import annotations

from dataclasses import dataclass, field

from vistance.labels.schema import Label


@dataclass
class CheckReport:
    checked: int = 0
    stale: list[str] = field(default_factory=list)      # hash no longer matches the paragraph text
    orphans: list[str] = field(default_factory=list)    # paragraph not in the corpus given
    errors: list[str] = field(default_factory=list)     # schema errors (unknown labels, duplicates)

    @property
    def ok(self) -> bool:
        return not (self.stale or self.errors)

    def messages(self) -> list[str]:
        out = list(self.errors)
        out += [f"stale label: {pid} was judged on a different text (text_sha1 mismatch); re-annotate it" for pid in self.stale]
        return out


def check_against_corpus(labels: list[Label], paragraphs, report: CheckReport | None = None) -> CheckReport:
    """Flag labels whose hash no longer matches their paragraph (stale) or whose paragraph
    is not in ``paragraphs`` (orphans: reported, not an error when only part of a corpus is present)."""
    report = report or CheckReport()
    by_id = {p.paragraph_id: p.text_sha1 for p in paragraphs}
    for lab in labels:
        report.checked += 1
        digest = by_id.get(lab.paragraph_id)
        if digest is None:
            report.orphans.append(lab.paragraph_id)
        elif digest != lab.text_sha1:
            report.stale.append(lab.paragraph_id)
    return report
