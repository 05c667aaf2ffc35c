"""Article-grouped splits: no article in two places, seeded and order-independent."""
import random

from vistance.dataset.splits import assign_groups, grouped_kfold, time_source_split


def articles(n_articles=60, seed=0):
    rng = random.Random(seed)
    return [f"art{a:03d}" for a in range(n_articles) for _ in range(rng.randint(1, 25))]


def test_each_article_lands_in_exactly_one_split_close_to_the_fractions():
    groups = articles()
    split = assign_groups(groups, {"train": 0.7, "validation": 0.15, "test": 0.15}, seed=1)
    assert set(split) == set(groups)
    sizes = {s: sum(split[g] == s for g in groups) for s in ("train", "validation", "test")}
    assert abs(sizes["train"] / len(groups) - 0.7) < 0.08
    assert min(sizes.values()) > 0


def test_split_depends_on_the_seed_not_on_input_order():
    groups = articles()
    shuffled = groups[:]
    random.Random(5).shuffle(shuffled)
    f = {"train": 0.7, "validation": 0.15, "test": 0.15}
    assert assign_groups(groups, f, seed=3) == assign_groups(shuffled, f, seed=3)
    assert assign_groups(groups, f, seed=3) != assign_groups(groups, f, seed=4)


def test_grouped_kfold_never_leaks_an_article_and_covers_everything():
    groups = articles()
    seen = []
    for train, test in grouped_kfold(groups, k=5, seed=0):
        assert not ({groups[i] for i in train} & {groups[i] for i in test})
        seen += test
    assert sorted(seen) == list(range(len(groups)))


def test_time_source_split_keeps_whole_articles_in_test():
    rows = [{"article_id": "a", "corpus": "seeds", "source": None, "date": "2026-01-01"},
            {"article_id": "b", "corpus": "news-2024", "source": "vov.vn", "date": "2024-05-01"},
            {"article_id": "b", "corpus": "news-2024", "source": "vov.vn", "date": "2024-05-01"},
            {"article_id": "c", "corpus": "news-2024", "source": "bbc.com", "date": "2024-06-01"}]
    assert time_source_split(rows, test_corpus="seeds") == ([1, 2, 3], [0])
    assert time_source_split(rows, test_sources=["vov.vn"]) == ([0, 3], [1, 2])
    assert time_source_split(rows, after_date="2024-05-15") == ([1, 2], [0, 3])
