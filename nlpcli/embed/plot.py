"""``embed plot``: words and their nearest neighbours projected to 2-D, labelled in Hangul."""

from __future__ import annotations

import numpy as np

from nlpcli.embed.index import WordIndex
from nlpcli.errors import UsageError

METHODS = ("pca", "tsne")


def project(vectors: np.ndarray, method: str = "pca", seed: int = 0) -> np.ndarray:
    """2-D coordinates: PCA (numpy SVD of the centred vectors) or t-SNE (scikit-learn, cosine)."""
    if method not in METHODS:
        raise UsageError(f"unknown --method {method!r}; choose pca or tsne")
    if len(vectors) < 2:
        raise UsageError("need at least two words to plot")
    if method == "pca":
        centred = vectors - vectors.mean(axis=0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        return centred @ vt[:2].T
    from sklearn.manifold import TSNE

    perplexity = max(2.0, min(30.0, (len(vectors) - 1) / 3))
    return TSNE(
        n_components=2, perplexity=perplexity, metric="cosine", init="pca", random_state=seed
    ).fit_transform(vectors)


def plot_words(
    model: str,
    words: list[str],
    output: str,
    *,
    neighbours: int = 8,
    method: str = "pca",
    font: str | None = None,
    seed: int = 0,
    title: str | None = None,
) -> int:
    """Draw ``words`` (one colour each) with their ``neighbours``; returns how many points were drawn."""
    from nlpcli.plotting import korean_figure_setup, save_figure

    if not words:
        raise UsageError("give at least one word to plot")
    index = WordIndex(model)
    labels, groups, vecs = [], [], []
    seen = set()
    for g, word in enumerate(words):
        vec, _ = index.unit(word)
        word = index.clean(word)
        if word not in seen:
            seen.add(word)
            labels.append(word), groups.append((g, True)), vecs.append(vec)
        for hit in index.similar([word], topn=neighbours) if neighbours else []:
            if hit.word not in seen:
                seen.add(hit.word)
                (
                    labels.append(hit.word),
                    groups.append((g, False)),
                    vecs.append(np.asarray(index.unit(hit.word)[0])),
                )
    points = project(np.vstack(vecs).astype(np.float64), method, seed)
    plt = korean_figure_setup(font)
    fig, ax = plt.subplots(figsize=(9, 7))
    cmap = plt.get_cmap("tab10")
    for (x, y), label, (g, main) in zip(points, labels, groups):
        colour = cmap(g % 10)
        ax.scatter(
            [x],
            [y],
            s=70 if main else 25,
            color=colour,
            marker="o" if main else ".",
            edgecolors="black" if main else "none",
            zorder=3 if main else 2,
        )
        ax.annotate(
            label, (x, y), xytext=(4, 3), textcoords="offset points", fontsize=13 if main else 9, color=colour
        )
    ax.set_title(title or f"{', '.join(words)} and their nearest neighbours ({method.upper()})")
    ax.set_xticks([]), ax.set_yticks([])
    save_figure(fig, output)
    plt.close(fig)
    return len(labels)
