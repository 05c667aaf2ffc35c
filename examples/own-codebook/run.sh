#!/usr/bin/env bash
# The example end to end, from this folder: ingest -> Label Studio export -> import -> dataset ->
# train -> evaluate -> compare -> cards -> analyze. Every step is one `vistance` command with this
# folder's params.yaml; outputs land in data/processed, data/dataset, experiments/ (see .gitignore).
set -euo pipefail
cd "$(dirname "$0")"
P=(--params params.yaml)
MODELS=(tfidf_lr tfidf_word)               # params.yaml pipeline.baselines

# 1. the corpora of params.yaml -> paragraphs (data/processed/paragraphs.jsonl, the entry's default output)
vistance corpus ingest "${P[@]}"

# 2. paragraphs -> Label Studio tasks and its labelling interface (the codebook's themes and tones);
#    `--exclude` with no file: every paragraph (by default those already in labels/gold.jsonl are skipped)
vistance annotate export --paragraphs data/processed/paragraphs.jsonl --format labelstudio \
  --out labels/labelstudio/tasks.json --exclude "${P[@]}"

# 3. the annotator's Label Studio JSON export -> gold labels (idempotent: unchanged labels stay)
vistance annotate import labels/labelstudio/export.json --into labels/gold.jsonl \
  --paragraphs data/processed/paragraphs.jsonl --users labels/labelstudio/users.json "${P[@]}"

# 4. paragraphs + gold -> the dataset (ClassLabel names = the codebook's themes and tones)
vistance dataset --paragraphs data/processed/paragraphs.jsonl --labels labels/gold.jsonl \
  --out data/dataset --stats data/dataset_stats.json "${P[@]}"

# 5-6. train and evaluate every model
for m in "${MODELS[@]}"; do
  vistance train "$m" --dataset data/dataset --out "experiments/models/$m" "${P[@]}"
  vistance evaluate "$m" --dataset data/dataset --model "experiments/models/$m" --out experiments "${P[@]}"
done

# 7. comparison table, paired tests, best model
vistance compare --experiments experiments "${P[@]}"

# 8. model cards and the dataset card (labels/agreement.json, from `vistance agreement`, is absent: one annotator)
vistance cards --experiments experiments --dataset-stats data/dataset_stats.json \
  --agreement labels/agreement.json --out-dataset-card DATASET_CARD.md "${P[@]}"

# 9. the warm/cold index by period (and by counterpart named) over the corpus
vistance analyze --paragraphs data/processed/paragraphs.jsonl --out experiments/analysis "${P[@]}"
