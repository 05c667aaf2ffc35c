"""Corpus + gold labels -> Hugging Face ``DatasetDict`` with article-grouped splits and its codebook."""
from vistance.dataset.build import (
    build_dataset, build_dataset_dict, check_dataset_schema, dataset_schema, dataset_stats, join_labels,
    load_dataset_dict, rows_from_dataset,
)
from vistance.dataset.splits import assign_groups, grouped_kfold, time_source_split

__all__ = [
    "build_dataset", "build_dataset_dict", "check_dataset_schema", "dataset_schema", "dataset_stats", "join_labels",
    "load_dataset_dict", "rows_from_dataset", "assign_groups", "grouped_kfold", "time_source_split",
]
