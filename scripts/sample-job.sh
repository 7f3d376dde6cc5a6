#!/usr/bin/env bash
# The main job on the bundled sample_data/: install if needed, then a real pipeline end to end:
# tokenize with Okt -> tf-idf -> logistic regression -> predictions with a metrics report.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v nlpcli >/dev/null 2>&1 && python3 -c "import nlpcli, torch, konlpy, sklearn" 2>/dev/null \
  || bash scripts/install.sh

out=${OUT_DIR:-sample-out}
mkdir -p "$out"
echo "== 1. tokenize the training reviews with Okt (stem + norm, 2 threads)" >&2
nlpcli preprocess morphs --stem --norm -j 2 sample_data/reviews-train.tsv -o "$out/train.tok.tsv"
head -n 3 "$out/train.tok.tsv"
echo "== 2. tf-idf on word 1-2-grams, raw text in (the Okt recipe is stored in the artifact)" >&2
nlpcli vectorize fit sample_data/reviews-train.tsv --tagger okt --stem --norm -j 2 \
  --ngram 1,2 --min-df 2 --max-df 0.9 -o "$out/tfidf.joblib"
nlpcli vectorize inspect "$out/tfidf.joblib" --top 5 >&2
echo "== 3. logistic regression on those features, report on the held-out sample" >&2
nlpcli train sample_data/reviews-train.tsv --model logreg --vectorizer "$out/tfidf.joblib" \
  --dev sample_data/reviews-test.tsv -o "$out/sentiment.joblib" --metrics-out "$out/metrics.json" -j 2
echo "== 4. predict raw text: a stream with gold labels (metrics on stderr), and a one-off query" >&2
nlpcli predict "$out/sentiment.joblib" sample_data/reviews-test.tsv --label-column label -j 2 \
  -o "$out/predictions.tsv"
head -n 4 "$out/predictions.tsv"
echo "정말 재밌어요, 배우들 연기 최고" | nlpcli predict "$out/sentiment.joblib"
