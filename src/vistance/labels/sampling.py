"""Choosing which paragraphs a person annotates next.

Keywords here only decide *what gets read*, never what label it gets: a
stratified sample that favours foreign-affairs articles (whole articles, so an
annotator reads paragraphs in context) and tops up rare themes.
"""
from __future__ import annotations

import random
import re
from collections import defaultdict

FOREIGN_AFFAIRS = re.compile(
    r"Biển Đông|Hoàng Sa|Trường Sa|chủ quyền|Bộ Ngoại giao|ngoại giao|hội đàm|Trung Quốc|Mỹ|Hoa Kỳ|"
    r"ASEAN|Liên Hợp Quốc|Nga|Nhật Bản|Hàn Quốc|Philippines|đối tác|song phương|đa phương|quốc phòng|"
    r"Đại sứ|Thủ tướng|Tổng thống|Ngoại trưởng|hợp tác|thương mại|đầu tư"
)
RARE_STRATA = {
    "science_technology": re.compile(r"công nghệ|khoa học|trí tuệ nhân tạo|\bAI\b|bán dẫn|chuyển đổi số|kinh tế số|vệ tinh|không gian mạng", re.I),
    "infrastructure": re.compile(r"đường sắt|cao tốc|cảng|sân bay|cửa khẩu|hạ tầng|logistics|kết nối giao thông", re.I),
    "maritime": re.compile(r"Biển Đông|Hoàng Sa|Trường Sa|hải cảnh|ngư dân|UNCLOS|bãi cạn|vùng đặc quyền|tuần duyên", re.I),
    "defense_security": re.compile(r"quốc phòng|quân sự|tập trận|khủng bố|vũ khí|tên lửa|an ninh", re.I),
    "multilateral_global": re.compile(r"ASEAN|Liên Hợp Quốc|APEC|G20|BRICS|NATO|đa phương", re.I),
    "people_culture_education": re.compile(r"giáo dục|đào tạo|du lịch|văn hóa|du học|giao lưu nhân dân|bảo hộ công dân", re.I),
}


def foreign_affairs_density(texts: list[str]) -> float:
    """Foreign-affairs cue hits per paragraph (a sampling weight, not a label)."""
    if not texts:
        return 0.0
    return sum(len(FOREIGN_AFFAIRS.findall(t)) for t in texts) / len(texts)


def select_for_annotation(paragraphs, n_paragraphs: int, per_article_cap: int = 25,
                          stratum_quota: int = 40, seed: int = 0, exclude: set[str] | None = None):
    """Pick paragraphs to annotate.

    1. Rank articles by foreign-affairs density; take whole articles (first
       ``per_article_cap`` paragraphs) until ``n_paragraphs`` paragraphs.
    2. For each rare stratum, add up to ``stratum_quota`` more paragraphs (from
       other articles) that mention its cues, chosen at random with ``seed``.
    Returns the selected paragraphs in corpus order.
    """
    exclude = exclude or set()
    by_article = defaultdict(list)
    for p in paragraphs:
        if p.paragraph_id not in exclude:
            by_article[p.article_id].append(p)
    ranked = sorted(by_article, key=lambda a: (-foreign_affairs_density([p.text for p in by_article[a]]), a))
    chosen: list = []
    chosen_articles: set[str] = set()
    for a in ranked:
        if len(chosen) >= n_paragraphs:
            break
        chosen.extend(by_article[a][:per_article_cap])
        chosen_articles.add(a)
    rng = random.Random(seed)
    chosen_ids = {p.paragraph_id for p in chosen}
    rest = [p for a in sorted(by_article) if a not in chosen_articles for p in by_article[a]]
    for name, pattern in sorted(RARE_STRATA.items()):
        pool = [p for p in rest if p.paragraph_id not in chosen_ids and pattern.search(p.text)]
        for p in rng.sample(pool, min(stratum_quota, len(pool))):
            chosen.append(p)
            chosen_ids.add(p.paragraph_id)
    order = {p.paragraph_id: i for i, p in enumerate(paragraphs)}
    return sorted(chosen, key=lambda p: order[p.paragraph_id])


def choose_heldout_articles(paragraphs, min_units: int, seed: int = 13) -> list[str]:
    """Whole articles chosen at random (seeded) until they hold ``min_units`` units.

    This is how a cross-corpus test set is drawn *before* any model sees the corpus:
    no keyword, score or label takes part. Returns the article ids in drawing order.
    """
    by_article: dict[str, int] = defaultdict(int)
    for p in paragraphs:
        by_article[p.article_id] += 1
    order = sorted(by_article)
    random.Random(seed).shuffle(order)
    chosen, total = [], 0
    for a in order:
        if total >= min_units:
            break
        chosen.append(a)
        total += by_article[a]
    return chosen
