"""``embed evaluate``: word analogies and word-pair similarity, with gensim's semantics.

Analogies follow ``KeyedVectors.evaluate_word_analogies``: ``: section`` lines, then ``a b c d``
questions ("a is to b as c is to d"); the search runs over the ``restrict_vocab`` most frequent
words (300,000), case-insensitively; a question with a word outside them counts as out of
vocabulary and is left out of the accuracy (its rate is reported); the answer is the nearest word
to ``b - a + c`` (3CosAdd over normalized vectors) other than a, b, c. Word pairs follow
``evaluate_word_pairs`` (tab-separated ``w1 w2 score``, ``#`` comments): Pearson and Spearman
between the gold scores and the cosine similarities, over the pairs in vocabulary.

FastText models also answer for out-of-vocabulary words from their character n-grams; for them
``pairs`` uses those vectors (so every pair is answered) and ``pairs_vocab_only`` keeps gensim's
figure. The arithmetic is batched matrix products over the memory-mapped index: the same answers
as gensim, many times faster.
"""

from __future__ import annotations

import numpy as np

from nlpcli.embed.index import WordIndex
from nlpcli.errors import DataError
from nlpcli.textio import display_name, iter_lines

RESTRICT_VOCAB = 300_000
BLOCK = 128


def _ok_vocab(index: WordIndex, restrict: int, case_insensitive: bool) -> dict[str, int]:
    words = index.words[:restrict]
    if case_insensitive:  # the most frequent spelling wins, as gensim builds it (reversed)
        return {w.upper(): i for i, w in reversed(list(enumerate(words)))}
    return {w: i for i, w in enumerate(words)}


def read_analogies(path: str, case_insensitive: bool = True) -> list[tuple[str, list[tuple[str, ...]]]]:
    sections: list[tuple[str, list]] = []
    name = display_name(path)
    for number, line in iter_lines(path):
        if line.startswith(": "):
            sections.append((line[2:].strip(), []))
            continue
        if not line.strip():
            continue
        if not sections:
            raise DataError("a question before the first ': section' line", source=name, line=number)
        words = line.split()
        if len(words) != 4:
            continue  # gensim skips invalid lines too
        sections[-1][1].append(tuple(w.upper() for w in words) if case_insensitive else tuple(words))
    if not sections:
        raise DataError(
            "no ': section' lines: not an analogy file (gensim's questions-words format)", source=name
        )
    return sections


def evaluate_analogies(
    index: WordIndex, path: str, restrict_vocab: int = RESTRICT_VOCAB, case_insensitive: bool = True
) -> dict:
    """Per-section and total accuracy, and the share of questions out of vocabulary."""
    ok = _ok_vocab(index, restrict_vocab, case_insensitive)
    restrict = min(restrict_vocab, len(index))
    mat = np.asarray(index.vectors[:restrict])
    sections = read_analogies(path, case_insensitive)
    out_sections = []
    total_q = total_oov = total_correct = 0
    for name, questions in sections:
        known = [q for q in questions if all(w in ok for w in q)]
        oov = len(questions) - len(known)
        correct = 0
        for start in range(0, len(known), BLOCK):
            block = known[start : start + BLOCK]
            rows = np.array([[ok[w] for w in q] for q in block])  # a b c expected
            query = (mat[rows[:, 1]] + mat[rows[:, 2]] - mat[rows[:, 0]]) / np.float32(3)
            norms = np.linalg.norm(query, axis=1, keepdims=True)
            norms[norms == 0] = 1
            query = (query / norms).astype(np.float32)
            scores = query @ mat.T
            for j in range(3):
                scores[np.arange(len(block)), rows[:, j]] = -np.inf
            top = np.argpartition(-scores, min(5, restrict - 1), axis=1)[:, :5]
            for q, cand, srow in zip(block, top, scores):
                ranked = cand[np.argsort(-srow[cand], kind="stable")]
                ignore = set(q[:3])
                predicted = None
                for i in ranked:
                    predicted = index.words[i].upper() if case_insensitive else index.words[i]
                    if predicted in ok and predicted not in ignore:
                        break
                correct += predicted == q[3]
        answered = len(known)
        out_sections.append(
            {
                "section": name,
                "questions": len(questions),
                "answered": answered,
                "correct": int(correct),
                "accuracy": correct / answered if answered else None,
                "oov_rate": oov / len(questions) if questions else 0.0,
            }
        )
        total_q += len(questions)
        total_oov += oov
        total_correct += correct
    answered = total_q - total_oov
    return {
        "file": display_name(path),
        "restrict_vocab": restrict_vocab,
        "sections": out_sections,
        "questions": total_q,
        "answered": answered,
        "correct": int(total_correct),
        "accuracy": total_correct / answered if answered else None,
        "accuracy_all_questions": total_correct / total_q if total_q else None,
        "oov_rate": total_oov / total_q if total_q else 0.0,
    }


def read_pairs(path: str, case_insensitive: bool = True) -> list[tuple[str, str, float]]:
    pairs = []
    for _, line in iter_lines(path):
        if not line or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3:
            continue  # gensim skips invalid lines
        try:
            score = float(parts[2])
        except ValueError:
            continue
        a, b = parts[0], parts[1]
        if case_insensitive:
            a, b = a.upper(), b.upper()
        pairs.append((a, b, score))
    if not pairs:
        raise DataError("no word pairs (expected word1<TAB>word2<TAB>score lines)", source=display_name(path))
    return pairs


def evaluate_pairs(
    index: WordIndex,
    path: str,
    restrict_vocab: int = RESTRICT_VOCAB,
    case_insensitive: bool = True,
    subwords: bool = False,
) -> dict:
    """Pearson and Spearman against gold scores; ``subwords``: fastText answers OOV words too."""
    from scipy import stats

    ok = _ok_vocab(index, restrict_vocab, case_insensitive)
    gold, model = [], []
    oov = 0
    for a, b, score in read_pairs(path, case_insensitive):
        vecs = []
        for w in (a, b):
            if w in ok:
                vecs.append(np.asarray(index.vectors[ok[w]]))
            elif subwords:
                v = index.oov_vector(w)
                if v is None:
                    break
                n = np.linalg.norm(v)
                vecs.append(v / n if n else v)
            else:
                break
        if len(vecs) < 2:
            oov += 1
            continue
        gold.append(score)
        model.append(float(np.dot(vecs[0], vecs[1])))
    result = {
        "file": display_name(path),
        "pairs": len(gold) + oov,
        "answered": len(gold),
        "oov_rate": oov / (len(gold) + oov),
        "subwords": subwords,
    }
    if len(gold) >= 2:
        result["spearman"] = float(stats.spearmanr(gold, model).statistic)
        result["pearson"] = float(stats.pearsonr(gold, model).statistic)
    else:
        result["spearman"] = result["pearson"] = None
    return result


def evaluate(
    model: str,
    analogies: str | None = None,
    pairs: str | None = None,
    restrict_vocab: int = RESTRICT_VOCAB,
    case_insensitive: bool = True,
) -> dict:
    index = WordIndex(model)
    out: dict = {"model": model, "kind": index.kind, "vocabulary": len(index)}
    if pairs:
        fasttext = index.subwords is not None and index.subwords.get("bucket")
        out["pairs"] = evaluate_pairs(index, pairs, restrict_vocab, case_insensitive, subwords=bool(fasttext))
        if fasttext:
            out["pairs_vocab_only"] = evaluate_pairs(index, pairs, restrict_vocab, case_insensitive)
    if analogies:
        out["analogies"] = evaluate_analogies(index, analogies, restrict_vocab, case_insensitive)
    return out
