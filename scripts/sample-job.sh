#!/usr/bin/env bash
# The main job on the bundled sample_data/: install if needed, then a real pipeline end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v nlpcli >/dev/null 2>&1 && python3 -c "import nlpcli, torch, konlpy" 2>/dev/null || bash scripts/install.sh

out=${OUT_DIR:-sample-out}
mkdir -p "$out"
echo "== tokenizing sample_data/reviews-train.tsv with Okt (stem + norm, 2 workers)" >&2
nlpcli preprocess morphs --stem --norm -j 2 sample_data/reviews-train.tsv -o "$out/train.tok.tsv"
head -n 3 "$out/train.tok.tsv"
echo "== tf-idf on word 1-2-grams" >&2
nlpcli vectorize fit "$out/train.tok.tsv" --ngram 1,2 --min-df 2 --max-df 0.9 -o "$out/tfidf.joblib" \
  --matrix-out "$out/X-train.npz" --label-column label --labels-out "$out/y-train.txt"
nlpcli vectorize inspect "$out/tfidf.joblib" --top 10
