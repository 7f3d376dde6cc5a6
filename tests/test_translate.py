"""translate: tokenizers, pair reading, batching, the model's masks, greedy/beam search scores,
training (seed, time budget, resume), the artifact, bad input (empty and overlong sentences,
unseen characters, bad files and artifacts), and the commands."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from nlpcli import artifacts, training
from nlpcli.errors import DataError, UsageError
from nlpcli.training import length_batches
from nlpcli.translate import KIND
from nlpcli.translate import tokenizers as tok
from nlpcli.translate.config import ModelConfig
from nlpcli.translate.data import (
    BOS,
    EOS,
    PAD,
    UNK,
    PairSpec,
    Vocabulary,
    pad,
    read_pairs,
    sorted_batches,
)
from nlpcli.translate.model import build
from nlpcli.translate.search import beam_search, greedy
from nlpcli.translate.train import TrainConfig, train
from nlpcli.translate.translator import Translator

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
TRAIN = SAMPLE / "tatoeba-train.tsv"
DEV = SAMPLE / "tatoeba-dev.tsv"


def small_model(**kw) -> ModelConfig:
    options = dict(hidden=32, embedding_dim=32, dropout=0.1)
    options.update(kw)
    return ModelConfig(**options)


def loop(tmp_path, **kw):
    options = dict(
        epochs=2,
        batch_size=32,
        patience=None,
        device="cpu",
        threads=1,
        seed=7,
        checkpoint=str(tmp_path / "ckpt.pt"),
    )
    options.update(kw)
    return training.LoopConfig(**options)


def small_train(tmp_path, name="m.pt", model=None, pairs=None, epochs=2, precision="fp32", **kw):
    options = dict(src_vocab_size=1000, tgt_vocab_size=1000, dev=[str(DEV)], dev_limit=60)
    options.update(kw)
    cfg = TrainConfig(pairs=pairs or PairSpec(), **options)
    out = tmp_path / name
    summary = train(
        [str(TRAIN)],
        str(out),
        cfg,
        model or small_model(),
        loop(tmp_path, epochs=epochs, precision=precision),
    )
    return out, summary


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    """A tiny ko->en model trained for two epochs on the tatoeba sample (a few seconds)."""
    tmp = tmp_path_factory.mktemp("translate")
    out, _ = small_train(tmp)
    return out


# --------------------------------------------------------------------------------------------
# tokenizers


def test_sentencepiece_roundtrip_and_stored_model():
    texts = [line.split("\t")[1] for line in TRAIN.read_text(encoding="utf-8").splitlines()]
    spm = tok.create("spm", texts, vocab_size=600)
    pieces = spm.tokenize(["Tom doesn't like  cats, does he?"])[0]
    assert len(pieces) > 5 and pieces[0].startswith(tok.SPACE)
    assert spm.detokenize(pieces) == "Tom doesn't like cats, does he?"
    again = tok.from_dict(json.loads(json.dumps(spm.to_dict())))  # plain data, as in the artifact
    assert again.tokenize(["Tom doesn't like cats"]) == spm.tokenize(["Tom doesn't like cats"])


def test_sentencepiece_too_small_vocabulary_is_a_usage_error():
    texts = [line.split("\t")[0] for line in TRAIN.read_text(encoding="utf-8").splitlines()]
    with pytest.raises(UsageError, match="raise --src-vocab-size/--tgt-vocab-size"):
        tok.create("spm", texts, vocab_size=100)


def test_char_and_whitespace_tokenizers():
    char = tok.create("char")
    tokens = char.tokenize(["오늘  날씨"])[0]
    assert tokens == ["오", "늘", tok.SPACE, "날", "씨"]
    assert char.detokenize(tokens) == "오늘 날씨"
    ws = tok.create("whitespace")
    assert ws.tokenize([" a  b\tc "]) == [["a", "b", "c"]]
    # decomposed Hangul (NFD) reads like composed Hangul
    import unicodedata

    assert char.tokenize([unicodedata.normalize("NFD", "날씨")]) == [["날", "씨"]]


def test_kiwi_tagger_tokenizer():
    pytest.importorskip("kiwipiepy")
    kiwi = tok.create("kiwi")
    tokens = kiwi.tokenize(["오늘 날씨가 좋네요"])[0]
    assert "날씨" in tokens and "가" in tokens
    assert tok.from_dict(kiwi.to_dict()).kind == "kiwi"


def test_unknown_tokenizer():
    with pytest.raises(UsageError, match="unknown tokenizer"):
        tok.create("bpe")


# --------------------------------------------------------------------------------------------
# reading pairs


def test_headerless_pairs_both_directions(tmp_path):
    ko_en = read_pairs(str(DEV), PairSpec("ko", "en"))
    en_ko = read_pairs(str(DEV), PairSpec("en", "ko"))
    assert len(ko_en) == len(en_ko) == 372
    assert ko_en.sources == en_ko.targets and ko_en.targets == en_ko.sources
    assert any("\uac00" <= ch <= "\ud7a3" for ch in ko_en.sources[0])
    # a file written en<TAB>ko is recognised by its Hangul, not by column order
    swapped = tmp_path / "en-ko.tsv"
    swapped.write_text("".join(f"{t}\t{s}\n" for s, t in zip(ko_en.sources, ko_en.targets)), encoding="utf-8")
    assert read_pairs(str(swapped), PairSpec("ko", "en")).sources == ko_en.sources


def test_pairs_with_header_and_jsonl(tmp_path):
    tsv = tmp_path / "p.tsv"
    tsv.write_text("id\tkorean\tenglish\n1\t안녕\tHi.\n2\t\tEmpty.\n3\t뛰어!\tRun!\n", encoding="utf-8")
    p = read_pairs(
        str(tsv), PairSpec(src_column="english", tgt_column="korean", source_lang="en", target_lang="ko")
    )
    assert (
        p.sources == ["Hi.", "Run!"] and p.targets == ["안녕", "뛰어!"] and p.lines == [2, 4] and p.empty == 1
    )
    jsonl = tmp_path / "p.jsonl"
    jsonl.write_text('{"ko": "안녕", "en": "Hi."}\n{"ko": "뛰어!", "en": "Run!"}\n', encoding="utf-8")
    p = read_pairs(str(jsonl), PairSpec("ko", "en"))
    assert p.sources == ["안녕", "뛰어!"] and p.targets == ["Hi.", "Run!"]
    with pytest.raises(DataError, match="no target column 'fr'"):
        read_pairs(str(tsv), PairSpec(src_column="korean", tgt_column="fr"))


def test_one_column_pairs_file_is_one_clear_error(tmp_path):
    bad = tmp_path / "one.tsv"
    bad.write_text("안녕\tHi.\n뛰어!\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        read_pairs(str(bad), PairSpec())
    assert str(err.value).startswith(f"{bad}:2: expected two tab-separated columns") and "one column" in str(
        err.value
    )


def test_both_or_neither_column_option():
    with pytest.raises(UsageError):
        PairSpec(src_column="ko")
    with pytest.raises(UsageError):
        PairSpec("en", "en")


# --------------------------------------------------------------------------------------------
# vocabulary and batches


def test_vocabulary_and_padding():
    vocab = Vocabulary.build([["a", "b", "a"], ["c"]], min_count=2)
    assert vocab.tokens[:4] == ["<pad>", "<unk>", "<s>", "</s>"] and vocab.tokens[4] == "a"
    assert vocab.encode(["a", "zzz"]) == [4, UNK]
    ids, lengths = pad([[5, 6], [7]], bos=True, eos=True)
    assert ids.tolist() == [[BOS, 5, 6, EOS], [BOS, 7, EOS, PAD]] and lengths.tolist() == [4, 3]


def test_length_batches_cover_everything_once_and_are_seeded():
    lengths = np.random.default_rng(0).integers(1, 40, size=1000)
    a = length_batches(lengths, 32, torch.Generator().manual_seed(1))
    b = length_batches(lengths, 32, torch.Generator().manual_seed(1))
    c = length_batches(lengths, 32, torch.Generator().manual_seed(2))
    flat = np.concatenate(a)
    assert sorted(flat.tolist()) == list(range(1000))
    assert all((x == y).all() for x, y in zip(a, b)) and any(
        len(x) != len(y) or (x != y).any() for x, y in zip(a, c)
    )
    spread = np.mean([lengths[x].max() - lengths[x].min() for x in a])
    assert spread < 5  # buckets: little padding
    assert sorted(i for batch in sorted_batches([3, 1, 2], 2) for i in batch) == [0, 1, 2]


# --------------------------------------------------------------------------------------------
# the model


@pytest.mark.parametrize(
    "attention,cell,bi",
    [("bahdanau", "gru", True), ("luong", "lstm", True), ("dot", "gru", False), ("none", "lstm", True)],
)
def test_model_shapes_masks_and_padding_invariance(attention, cell, bi):
    torch.manual_seed(0)
    model = build(
        ModelConfig(
            cell=cell,
            bidirectional=bi,
            attention=attention,
            hidden=16,
            embedding_dim=12,
            layers=2,
            dropout=0.0,
        ).to_dict(),
        30,
        25,
    )
    model.eval()
    src, lengths = pad([[5, 6, 7, 8, 9, 10], [11, 12]])
    tgt_in, _ = pad([[BOS, 5, 6], [BOS, 7, 8]])
    logits = model(src, lengths, tgt_in)
    assert logits.shape == (2, 3, 25)
    alone = model(src[1:, :2], lengths[1:], tgt_in[1:])  # the short sentence without padding
    assert torch.allclose(logits[1], alone[0], atol=1e-5)
    enc, state, feed = model.encode(src, lengths)
    _, _, _, weights = model.step(tgt_in[:, 0], state, feed, enc)
    if attention == "none":
        assert weights is None
    else:
        assert (
            torch.allclose(weights.sum(1), torch.ones(2))
            and float(weights[1, 2:].detach().abs().sum()) == 0.0
        )
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 25), torch.randint(4, 25, (6,)))
    loss.backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize(
    "attention,cell,bi",
    [
        ("bahdanau", "gru", True),
        ("bahdanau", "lstm", True),
        ("luong", "gru", True),
        ("dot", "lstm", False),
        ("none", "gru", True),
    ],
)
def test_one_layer_training_path_is_the_step_by_step_decoder(attention, cell, bi):
    """With input feeding, one decoder layer with gold inputs takes a batched path (its own GRU/LSTM
    arithmetic, the input projection and output layer outside the loop): same logits and same
    gradients as calling ``step`` position by position, which is what search does."""
    torch.manual_seed(0)
    model = build(
        ModelConfig(
            cell=cell,
            bidirectional=bi,
            attention=attention,
            hidden=16,
            embedding_dim=12,
            dropout=0.0,
            input_feeding=True,
        ).to_dict(),
        30,
        25,
    )
    assert_training_path_is_step_by_step(model)


@pytest.mark.parametrize(
    "attention,cell,layers",
    [("bahdanau", "gru", 1), ("bahdanau", "lstm", 2), ("luong", "gru", 1), ("none", "lstm", 2)],
)
def test_without_input_feeding_training_runs_all_positions_at_once(attention, cell, layers):
    """--no-input-feeding (the default): the decoder RNN reads only the target embeddings, so
    training runs it over the whole target in one call and attends from all positions at once;
    same logits and gradients as ``step`` position by position. Without attention the fixed
    summary joins every input either way, so that model always takes the one-call path."""
    torch.manual_seed(0)
    model = build(
        ModelConfig(
            cell=cell, attention=attention, layers=layers, hidden=16, embedding_dim=12, dropout=0.0
        ).to_dict(),
        30,
        25,
    )
    assert not model.cfg.input_feeding
    assert model.decoder.input_size == (12 + 32 if attention == "none" else 12)
    assert_training_path_is_step_by_step(model)


def test_additive_attention_in_pieces_is_the_same(monkeypatch):
    """Long batches compute the additive scores a few positions at a time (bounded memory)."""
    import nlpcli.translate.model as model_mod

    torch.manual_seed(0)
    model = build(small_model(dropout=0.0).to_dict(), 30, 25)
    src, lengths = pad([[5, 6, 7, 8, 9, 10], [11, 12]])
    tgt_in, _ = pad([[BOS, 5, 6, 7, 9], [BOS, 7, 8]])
    whole = model(src, lengths, tgt_in)
    monkeypatch.setattr(model_mod, "ATTENTION_CHUNK", 2 * 6 * 32 * 2)  # two positions a piece
    assert torch.allclose(model(src, lengths, tgt_in), whole, atol=1e-6)


def test_artifacts_from_before_the_option_keep_input_feeding():
    config = small_model().to_dict()
    del config["input_feeding"]
    model = build(config, 30, 25)
    assert model.cfg.input_feeding and model.decoder.input_size == 32 + 64


def assert_training_path_is_step_by_step(model):
    src, lengths = pad([[5, 6, 7, 8, 9, 10], [11, 12]])
    tgt_in, _ = pad([[BOS, 5, 6, 7], [BOS, 7, 8]])
    gold = torch.randint(4, 25, (2, 4))

    def step_by_step():
        return model.logits(model.stepwise(*model.encode(src, lengths), tgt_in))

    grads = []
    for run in (lambda: model(src, lengths, tgt_in), step_by_step):
        model.zero_grad()
        logits = run()
        torch.nn.functional.cross_entropy(logits.reshape(-1, 25), gold.reshape(-1)).backward()
        grads.append((logits.detach(), [p.grad.clone() for p in model.parameters()]))
    (fast, fast_grads), (slow, slow_grads) = grads
    assert torch.allclose(fast, slow, atol=1e-5)
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(fast_grads, slow_grads))
    assert float(fast_grads[0].abs().sum()) > 0


def test_tied_embeddings_share_the_matrix():
    tied = build(small_model().to_dict(), 30, 40)
    untied = build(small_model(tie_embeddings=False).to_dict(), 30, 40)
    assert tied.output.weight is tied.tgt_embedding.weight
    assert untied.output.weight is not untied.tgt_embedding.weight
    assert sum(p.numel() for p in tied.parameters()) < sum(p.numel() for p in untied.parameters())


def test_dot_attention_needs_a_unidirectional_encoder():
    with pytest.raises(UsageError, match="unidirectional"):
        ModelConfig(attention="dot")


def test_teacher_forcing_below_one_uses_predictions():
    torch.manual_seed(0)
    model = build(small_model(dropout=0.0).to_dict(), 30, 25)
    src, lengths = pad([[5, 6, 7], [8, 9]])
    tgt_in, _ = pad([[BOS, 5, 6, 7, 8], [BOS, 9, 10, 11, 12]])
    full = model(src, lengths, tgt_in, 1.0)
    torch.manual_seed(1)
    mixed = model(src, lengths, tgt_in, 0.01)
    assert torch.allclose(full[:, 0], mixed[:, 0], atol=1e-6)  # the first step always sees <s>
    assert not torch.allclose(full[:, 1:], mixed[:, 1:])


# --------------------------------------------------------------------------------------------
# search


def _logprob(model, src, lengths, ids):
    """Sum of log-probabilities of ``ids`` + </s> under teacher forcing."""
    tgt_in, _ = pad([[BOS] + ids])
    logits = model(src, lengths, tgt_in)[0]
    logp = torch.log_softmax(logits, -1)
    gold = ids + [EOS]
    return float(sum(logp[t, g] for t, g in enumerate(gold)))


def test_search_scores_are_the_model_log_probabilities(model_path):
    tr = Translator.load(str(model_path), device="cpu")
    model = tr.model
    ids = tr.src_vocab.encode(tr.src_tokenizer.tokenize(["톰은 거친 남자야."])[0])
    src, lengths = pad([ids])
    with torch.no_grad():
        g = greedy(model, src, lengths, [30], alpha=0.0)[0][0]
        assert math.isclose(g.score, _logprob(model, src, lengths, g.ids), abs_tol=1e-3)
        hyps = beam_search(model, src, lengths, [30], beam=5, n_best=5, alpha=1.0)[0]
        assert len(hyps) == 5 and [h.score for h in hyps] == sorted((h.score for h in hyps), reverse=True)
        for h in hyps:
            assert math.isclose(
                h.score, _logprob(model, src, lengths, h.ids) / (len(h.ids) + 1), abs_tol=1e-3
            )
        # the best beam hypothesis is at least as probable as the greedy one (same normalization)
        g1 = greedy(model, src, lengths, [30], alpha=1.0)[0][0]
        assert hyps[0].score >= g1.score - 1e-4
        one = beam_search(model, src, lengths, [30], beam=1)[0][0]
        assert one.ids == g1.ids
        capped = beam_search(model, src, lengths, [3], beam=3)[0][0]
        assert len(capped.ids) <= 2


def test_batched_beam_equals_one_by_one(model_path):
    tr = Translator.load(str(model_path), device="cpu")
    texts = ["안녕.", "톰은 개를 무서워한다.", "모두가 영원한 평화를 원한다.", "뛰어!"]
    together = [t.text for t in tr.translate(texts, beam=4, batch_size=4)]
    alone = [tr.translate([t], beam=4)[0].text for t in texts]
    assert together == alone


# --------------------------------------------------------------------------------------------
# training and the artifact


def test_artifact_is_self_contained_and_weights_only(model_path):
    art = artifacts.load(str(model_path), kinds=(KIND,))
    p = art.payload
    # the default tokenizers: Kiwi morphemes for the Korean source, sentencepiece (stored) for English
    assert p["src_tokenizer"] == {"kind": "kiwi"}
    assert p["tgt_tokenizer"]["kind"] == "spm" and len(p["tgt_tokenizer"]["model"]) > 1000
    assert art.manifest["params"]["train"]["src_tokenizer"] == "kiwi"
    # Kiwi's model loads with the translator, so the first sentence does not wait for it
    assert Translator.load(str(model_path), device="cpu").src_tokenizer.preprocessor._tagger is not None
    assert p["source_lang"] == "ko" and p["target_lang"] == "en"
    assert art.manifest["data"]["history"][0]["bleu"] >= 0
    # torch.load with weights_only=True reads it (no code in the file)
    torch.load(str(model_path), weights_only=True)


def test_default_tokenizers_follow_the_languages():
    koen = TrainConfig()
    assert (koen.src_tokenizer, koen.tgt_tokenizer) == ("kiwi", "spm")
    assert (koen.src_vocab_size, koen.tgt_vocab_size) == (20000, 4000)
    # a Korean target keeps sentencepiece: a tagger would lose the spacing of the translation
    enko = TrainConfig(pairs=PairSpec(source_lang="en", target_lang="ko"))
    assert (enko.src_tokenizer, enko.tgt_tokenizer) == ("spm", "spm")
    chosen = TrainConfig(src_tokenizer="whitespace", src_vocab_size=500, tgt_tokenizer="char")
    assert (chosen.src_tokenizer, chosen.src_vocab_size, chosen.tgt_tokenizer, chosen.tgt_vocab_size) == (
        "whitespace",
        500,
        "char",
        20000,
    )
    with pytest.raises(UsageError, match="unknown tokenizer"):
        TrainConfig(src_tokenizer="bpe")


@pytest.mark.parametrize(
    "options,expected",
    [
        ([], None),
        (["--lr-schedule", "plateau"], 4),
        (["--lr-schedule", "constant"], 4),
        (["--patience", "2"], 2),
    ],
)
def test_patience_defaults_to_the_schedule(options, expected, monkeypatch, tmp_path):
    """Under the linear decay (the default) a run uses its whole budget: no early stopping unless
    --patience is given; the other schedules stop after 4 epochs without gain."""
    import nlpcli.translate.train as train_mod
    from nlpcli.cli import main

    seen = {}
    monkeypatch.setattr(train_mod, "train", lambda inputs, output, cfg, model, loop: seen.update(loop=loop))
    with pytest.raises(SystemExit) as exit_:
        main(["translate", "train", str(TRAIN), "-o", str(tmp_path / "m.pt"), *options])
    assert exit_.value.code == 0
    assert seen["loop"].patience == expected


def test_cli_defaults_and_the_fast_path_options(monkeypatch, tmp_path):
    """translate train's defaults: no input feeding and --precision auto; both can be turned back."""
    import nlpcli.translate.train as train_mod
    from nlpcli.cli import main

    seen = {}
    monkeypatch.setattr(
        train_mod, "train", lambda inputs, output, cfg, model, loop: seen.update(model=model, loop=loop)
    )
    for options, feeding, precision in (
        ([], False, "auto"),
        (["--input-feeding", "--precision", "fp32"], True, "fp32"),
    ):
        with pytest.raises(SystemExit) as exit_:
            main(["translate", "train", str(TRAIN), "-o", str(tmp_path / "m.pt"), *options])
        assert exit_.value.code == 0
        assert (seen["model"].input_feeding, seen["loop"].precision) == (feeding, precision)


def test_bf16_training_keeps_fp32_weights(tmp_path):
    """--precision bf16: forward passes under autocast (the losses differ from fp32 training, but
    not by much); the weights, the artifact and translation stay fp32."""
    out16, s16 = small_train(tmp_path, "bf16.pt", precision="bf16", src_tokenizer="spm")
    _, s32 = small_train(tmp_path, "fp32.pt", precision="fp32", src_tokenizer="spm")
    l16, l32 = [h["loss"] for h in s16["history"]], [h["loss"] for h in s32["history"]]
    assert l16 != l32 and all(abs(a - b) < 0.05 * b for a, b in zip(l16, l32))
    state = artifacts.load(str(out16)).payload["state_dict"]
    assert all(v.dtype == torch.float32 for v in state.values() if v.is_floating_point())
    assert Translator.load(str(out16), device="cpu").translate(["안녕."], beam=2)[0].text


@pytest.mark.parametrize("floor", [0.1, 0.0])
def test_linear_schedule_decays_to_the_floor(tmp_path, floor):
    """Over --epochs, the linear decay ends at --lr-floor x --lr (the history logs each epoch's rate)."""
    _, summary = small_train(tmp_path, epochs=3, learning_rate=1e-3, lr_floor=floor, src_tokenizer="spm")
    rates = [h["lr"] for h in summary["history"]]
    assert rates[0] < 1e-3 and rates == sorted(rates, reverse=True)
    assert rates[-1] == pytest.approx(1e-3 * floor, abs=1e-9)
    with pytest.raises(UsageError, match="--lr-floor"):
        TrainConfig(lr_floor=1.5)


def test_same_seed_same_model(tmp_path):
    a, _ = small_train(tmp_path, "a.pt")
    b, _ = small_train(tmp_path, "b.pt")
    sa, sb = artifacts.load(str(a)).payload["state_dict"], artifacts.load(str(b)).payload["state_dict"]
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_time_budget_keeps_the_best_and_resume_refuses_other_options(tmp_path):
    cfg = TrainConfig(src_vocab_size=1000, tgt_vocab_size=800, dev=[str(DEV)], dev_limit=30)
    summary = train(
        [str(TRAIN)], str(tmp_path / "t.pt"), cfg, small_model(), loop(tmp_path, epochs=5, max_time=0.5)
    )
    assert summary["stopped"] == "time" and summary["epochs"] == 1 and (tmp_path / "t.pt").exists()
    with pytest.raises(UsageError, match="other options"):
        train(
            [str(TRAIN)],
            str(tmp_path / "u.pt"),
            cfg,
            small_model(hidden=48),
            loop(tmp_path, epochs=5, resume=str(tmp_path / "ckpt.pt")),
        )


def test_english_to_korean(tmp_path):
    # 4 epochs: after 2 the tiny model still answers <eos> first (an empty line)
    out, summary = small_train(
        tmp_path, "enko.pt", pairs=PairSpec("en", "ko"), model=small_model(attention="luong"), epochs=4
    )
    tr = Translator.load(str(out), device="cpu")
    assert tr.info["source_lang"] == "en" and tr.info["target_lang"] == "ko"
    text = tr.translate(["Tom is a rough man."], beam=3)[0].text
    assert any("\uac00" <= ch <= "\ud7a3" for ch in text)


def test_kiwi_source_side_trains_and_translates(tmp_path):
    pytest.importorskip("kiwipiepy")
    out, _ = small_train(tmp_path, "kiwi.pt", src_tokenizer="kiwi", src_vocab_size=3000)
    tr = Translator.load(str(out), device="cpu")
    assert tr.src_tokenizer.kind == "kiwi" and "날씨" in tr.src_vocab.index
    assert tr.translate(["오늘 날씨가 좋네요"], beam=2)[0].text


def test_word_tokenizers_train(tmp_path):
    out, summary = small_train(
        tmp_path,
        "ws.pt",
        src_tokenizer="char",
        tgt_tokenizer="whitespace",
        model=small_model(attention="none"),
    )
    tr = Translator.load(str(out), device="cpu")
    assert tr.src_tokenizer.kind == "char" and tr.tgt_tokenizer.kind == "whitespace"
    assert isinstance(tr.translate(["안녕."], beam=1)[0].text, str)


# --------------------------------------------------------------------------------------------
# bad input


def test_bad_sentences_in_the_translator(model_path):
    tr = Translator.load(str(model_path), device="cpu")
    long = " ".join(["톰은 거친 남자야."] * 40)
    empty, too_long, unseen = tr.translate(["   ", long, "톰은 ж漢字 좋아해."], beam=2, max_length=20)
    assert empty.empty and empty.text == "" and not too_long.empty
    assert too_long.truncated and len(too_long.source_tokens) == 20
    assert UNK in tr.src_vocab.encode(unseen.source_tokens) and isinstance(unseen.text, str)
    with pytest.raises(UsageError):
        tr.translate(["x"], beam=2, n_best=3)


def test_unknown_output_token_is_copied_from_the_attended_source(model_path):
    from nlpcli.translate.search import Hypothesis

    tr = Translator.load(str(model_path), device="cpu")
    source = tr.src_tokenizer.tokenize(["톰은 ж漢字 좋아해."])[0]
    pos = next(i for i, t in enumerate(source) if "ж" in t)
    tom = tr.tgt_vocab.encode([f"{tok.SPACE}Tom"])[0]
    cand = tr._candidate(Hypothesis([tom, UNK], -1.0, [0, pos]), source)
    # the unknown output token becomes the source token it attends to (Kiwi cuts "ж" from "漢字")
    assert cand.text.startswith("Tom") and source[pos] in cand.text.split()


# --------------------------------------------------------------------------------------------
# numpy decoding (a few sentences without torch)

PLAIN_CONFIGS = [
    (cell, attention, feeding, layers, bi)
    for cell in ("gru", "lstm")
    for attention in ("bahdanau", "luong", "dot", "none")
    for feeding in (False, True)
    for layers in (1, 2)
    for bi in (False, True)
    if not (attention == "dot" and bi) and not (attention == "none" and not feeding)
]


def _plain_pair(cell, attention, feeding, layers, bi, seed=0):
    """A random torch model of this configuration and the numpy model of its weights."""
    from nlpcli.translate.plain import PlainSeq2Seq

    cfg = ModelConfig(
        cell=cell,
        attention=attention,
        input_feeding=feeding,
        layers=layers,
        bidirectional=bi,
        hidden=10,
        embedding_dim=12,
        dropout=0.2,
    ).to_dict()
    torch.manual_seed(seed)
    model = build(cfg, 40, 30)
    model.eval()
    weights = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    return model, PlainSeq2Seq(cfg, weights, 40, 30)


@pytest.mark.parametrize("cell,attention,feeding,layers,bi", PLAIN_CONFIGS)
def test_numpy_decoder_is_the_torch_model(cell, attention, feeding, layers, bi):
    """Every configuration: the same weights (names and shapes), encoder states, decoder steps and
    attention, and the same greedy and beam hypotheses, scores and alignments."""
    from nlpcli.translate import plain

    model, numpy_model = _plain_pair(cell, attention, feeding, layers, bi)
    assert plain.expected_shapes(model.cfg.to_dict(), 40, 30) == {
        k: tuple(v.shape) for k, v in model.state_dict().items()
    }
    ids = [5, 9, 13, 7, 22, 31]
    src, lengths = pad([ids])
    with torch.inference_mode():
        enc, state, feed = model.encode(src, lengths)
        p_enc, p_state, p_feed = numpy_model.encode(ids)
        np.testing.assert_allclose(p_enc.outputs, enc.outputs[0].numpy(), atol=1e-5)
        for prev in (BOS, 6, 11):
            pre, state, feed, weights = model.step(torch.tensor([prev]), state, feed, enc)
            p_pre, p_state, p_feed, p_weights = numpy_model.step(np.array([prev]), p_state, p_feed, p_enc)
            np.testing.assert_allclose(p_pre, pre.numpy(), atol=1e-5)
            assert (weights is None) == (p_weights is None) == (attention == "none")
            if weights is not None:
                np.testing.assert_allclose(p_weights, weights.numpy(), atol=1e-5)
        for beam in (1, 3):
            if beam == 1:
                expected = greedy(model, src, lengths, [12], alpha=0.7, keep_attention=True)[0]
                got = plain.greedy(numpy_model, ids, 12, alpha=0.7, keep_attention=True)
            else:
                expected = beam_search(
                    model, src, lengths, [12], beam=3, n_best=3, alpha=0.7, keep_attention=True
                )[0]
                got = plain.beam_search(
                    numpy_model, ids, 12, beam=3, n_best=3, alpha=0.7, keep_attention=True
                )
            assert [h.ids for h in got] == [h.ids for h in expected] and [h.align for h in got] == [
                h.align for h in expected
            ]
            np.testing.assert_allclose([h.score for h in got], [h.score for h in expected], atol=1e-4)
            for g, e in zip(got, expected):
                assert (g.attention is None) == (e.attention is None)
                if e.attention is not None:
                    np.testing.assert_allclose(g.attention, e.attention, atol=1e-5)


def test_numpy_translator_equals_the_torch_translator(model_path):
    plain = Translator.load_plain(str(model_path))
    torch_tr = Translator.load(str(model_path), device="cpu")
    assert plain.plain and not torch_tr.plain
    texts = ["오늘 날씨가 좋네요", "", "톰은 거친 남자야.", "모두가 영원한 평화를 원한다.", "뛰어!" * 40]
    for options in (dict(beam=1), dict(beam=4, n_best=3, alpha=0.5), dict(beam=2, max_length=5)):
        got, expected = plain.translate(texts, **options), torch_tr.translate(texts, **options)
        for g, e in zip(got, expected):
            assert (g.empty, g.truncated, g.source_tokens) == (e.empty, e.truncated, e.source_tokens)
            assert [c.text for c in g.candidates] == [c.text for c in e.candidates]
            np.testing.assert_allclose(
                [c.score for c in g.candidates], [c.score for c in e.candidates], atol=1e-4
            )
    # moved to torch, the tokenizers (Kiwi's model) come along rather than loading again
    moved = plain.on_torch("cpu")
    assert not moved.plain and moved.src_tokenizer is plain.src_tokenizer
    assert moved.translate(texts[:1])[0].text == plain.translate(texts[:1])[0].text


def test_numpy_translator_refuses_weights_of_the_wrong_shape(model_path, tmp_path):
    from nlpcli.errors import CorruptArtifactError

    art = artifacts.load(str(model_path), kinds=(KIND,))
    payload = dict(art.payload)
    state = dict(payload["state_dict"])
    state["bridge.bias"] = state["bridge.bias"][:-1].clone()
    payload["state_dict"] = state
    bad = tmp_path / "bad.pt"
    artifacts.save_torch(bad, KIND, payload, params=art.manifest.get("params"))
    with pytest.raises(
        CorruptArtifactError, match=r"bad\.pt: the translation model in it does not load.*bridge\.bias"
    ):
        Translator.load_plain(str(bad))
    with pytest.raises(CorruptArtifactError, match="does not load"):
        Translator.load(str(bad), device="cpu")


def _imports_torch(stderr: str) -> bool:
    return any(line.rstrip().endswith(" torch") for line in stderr.splitlines())


def test_cli_run_few_sentences_without_torch_many_with_it(model_path, tmp_path):
    """Up to PLAIN_LIMIT sentences: numpy alone (torch is never imported); one more: torch. The
    translations of the same sentences are the same either way."""
    from nlpcli.translate.config import PLAIN_LIMIT

    sentences = ["오늘 날씨가 좋네요", "톰은 거친 남자야.", "뛰어!", "모두가 영원한 평화를 원한다."]
    many = (sentences * PLAIN_LIMIT)[: PLAIN_LIMIT + 1]
    outputs = {}
    for name, lines, options in (
        ("few", sentences, []),
        ("limit", many[:PLAIN_LIMIT], []),
        ("many", many, []),
        ("cuda", sentences, ["--device", "cuda"]),
    ):
        env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
        proc = subprocess.run(
            [
                sys.executable,
                "-X",
                "importtime",
                "-m",
                "nlpcli",
                "translate",
                "run",
                str(model_path),
                *options,
            ],
            input="\n".join(lines) + "\n",
            capture_output=True,
            text=True,
            env=env,
        )
        if name == "cuda":  # --device cuda always goes through torch (and fails without a GPU)
            assert _imports_torch(proc.stderr)
            continue
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert _imports_torch(proc.stderr) == (name == "many"), name
        outputs[name] = proc.stdout.splitlines()
    assert len(outputs["many"]) == PLAIN_LIMIT + 1
    assert outputs["few"] == outputs["limit"][:4] == outputs["many"][:4]
    assert outputs["limit"] == outputs["many"][:PLAIN_LIMIT]


# --------------------------------------------------------------------------------------------
# the commands (real processes)


def test_cli_run_stdin_nbest_jsonl_and_plots(model_path, cli, tmp_path):
    r = cli(
        "translate",
        "run",
        str(model_path),
        "--device",
        "cpu",
        input="오늘 날씨가 좋네요\n\n톰은 거친 남자야.\n",
    )
    assert r.code == 0, r.err
    assert len(r.out.splitlines()) == 3 and r.out.splitlines()[1] == ""
    assert "<stdin>:2: no tokens" in r.err
    r = cli(
        "translate",
        "run",
        str(model_path),
        "--n-best",
        "3",
        "--beam",
        "3",
        "--device",
        "cpu",
        input="안녕.\n뛰어!\n",
    )
    rows = [line.split("\t") for line in r.out.splitlines()]
    assert r.code == 0 and [x[0] for x in rows] == ["1", "1", "1", "2", "2", "2"]
    assert float(rows[0][1]) >= float(rows[1][1]) >= float(rows[2][1])
    tsv = tmp_path / "in.tsv"
    tsv.write_text("id\tsentence\n7\t안녕.\n8\t뛰어!\n", encoding="utf-8")
    r = cli("translate", "run", str(model_path), str(tsv), "-F", "jsonl", "--beam", "1", "--device", "cpu")
    objs = [json.loads(line) for line in r.out.splitlines()]
    assert r.code == 0 and [o["id"] for o in objs] == ["7", "8"] and objs[0]["sentence"] == "안녕."
    assert all(o["translation"] for o in objs)
    from nlpcli.plotting import find_korean_font

    try:
        find_korean_font()
    except Exception:
        pytest.skip("no Korean font here")
    plots = tmp_path / "att"
    r = cli(
        "translate",
        "run",
        str(model_path),
        "--attention-plot",
        str(plots),
        "--show-attention",
        "--device",
        "cpu",
        input="톰은 거친 남자야.\n안녕.\n",
    )
    assert r.code == 0, r.err
    assert sorted(p.name for p in plots.iterdir()) == ["attention-00001.png", "attention-00002.png"]
    assert (plots / "attention-00001.png").read_bytes()[:4] == b"\x89PNG"
    assert len(r.out.splitlines()) == 2 and "columns: 1=" in r.err  # the grid goes to stderr only


def test_cli_evaluate(model_path, cli, tmp_path):
    hyps = tmp_path / "hyp.txt"
    metrics = tmp_path / "m.json"
    r = cli(
        "translate",
        "evaluate",
        str(model_path),
        str(DEV),
        "--beam",
        "2",
        "-o",
        str(hyps),
        "--metrics-out",
        str(metrics),
        "--device",
        "cpu",
    )
    assert r.code == 0, r.err
    assert "BLEU" in r.err and "tok:13a" in r.err and "chrF" in r.err and r.out == ""
    assert len(hyps.read_text(encoding="utf-8").splitlines()) == 372
    m = json.loads(metrics.read_text())
    assert 0 <= m["bleu"] <= 100 and m["n"] == 372 and m["direction"] == "ko->en"
    # the hypotheses file scores the same with sacrebleu directly
    import sacrebleu

    refs = [line.split("\t")[1] for line in DEV.read_text(encoding="utf-8").splitlines()]
    assert math.isclose(
        sacrebleu.corpus_bleu(hyps.read_text(encoding="utf-8").splitlines(), [refs]).score,
        m["bleu"],
        abs_tol=0.01,
    )


def test_cli_bad_inputs(model_path, cli, tmp_path):
    one = tmp_path / "one.tsv"
    one.write_text("안녕.\n뛰어!\n", encoding="utf-8")
    r = cli("translate", "train", str(one), "-o", str(tmp_path / "x.pt"), "--device", "cpu")
    assert r.code == 1 and r.err.strip().count("\n") == 0
    assert f"{one}:1: expected two tab-separated columns" in r.err
    # a classifier artifact given to translate run
    clf = tmp_path / "clf.joblib"
    head = "\n".join((SAMPLE / "reviews-train.tsv").read_text(encoding="utf-8").splitlines()[:200])
    (tmp_path / "r.tsv").write_text(head + "\n", encoding="utf-8")
    r = cli("train", str(tmp_path / "r.tsv"), "--tagger", "none", "--min-df", "1", "-o", str(clf))
    assert r.code == 0, r.err
    r = cli("translate", "run", str(clf), input="안녕\n")
    assert r.code == 1 and "is a classifier artifact, but this command needs translator" in r.err
    assert "Traceback" not in r.err
    r = cli("translate", "run", str(model_path), "--n-best", "4", "--beam", "2", input="안녕\n")
    assert r.code == 2


def test_help_does_not_import_torch():
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "nlpcli", "translate", "--help"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0 and "run" in proc.stdout
    assert not [
        line for line in proc.stderr.splitlines() if line.rstrip().endswith((" torch", " sklearn", " gensim"))
    ]


def test_ctrl_c_saves_a_checkpoint_and_resume_finishes(tmp_path):
    import signal
    import time

    out, ckpt = tmp_path / "i.pt", tmp_path / "i.ckpt"
    common = [
        str(TRAIN),
        "--dev",
        str(DEV),
        "--dev-limit",
        "20",
        "--hidden",
        "24",
        "--embedding-dim",
        "24",
        "--src-vocab-size",
        "1000",
        "--tgt-vocab-size",
        "1000",
        "-o",
        str(out),
        "--checkpoint",
        str(ckpt),
        "--device",
        "cpu",
        "--threads",
        "1",
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "nlpcli", "translate", "train", *common, "--epochs", "50"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + 120
    while not ckpt.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    err = err.decode("utf-8", "replace")
    assert proc.returncode == 130, err
    assert "--resume" in err and "Traceback" not in err and not out.exists()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "nlpcli",
            "translate",
            "train",
            *common,
            "--epochs",
            "2",
            "--resume",
            str(ckpt),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "resuming at epoch" in proc.stderr and out.exists()


def test_attention_plot_needs_an_attention_model(tmp_path, cli):
    out, _ = small_train(tmp_path, "none.pt", model=small_model(attention="none"))
    r = cli("translate", "run", str(out), "--show-attention", "--device", "cpu", input="안녕.\n")
    assert r.code == 2 and "--attention none has no attention to show" in r.err


def test_evaluate_headered_pairs_in_process(model_path, tmp_path, capsys):
    from nlpcli.translate.evaluate import evaluate_file
    from nlpcli.translate.run import RunOptions

    rows = [line.split("\t") for line in DEV.read_text(encoding="utf-8").splitlines()[:40]]
    tsv = tmp_path / "dev.tsv"
    tsv.write_text("english\tkorean\n" + "".join(f"{en}\t{ko}\n" for ko, en in rows), encoding="utf-8")
    m = evaluate_file(
        str(model_path),
        str(tsv),
        {"src_column": "korean", "tgt_column": "english"},
        RunOptions(beam=1),
        examples=2,
        device="cpu",
    )
    headerless = evaluate_file(str(model_path), str(DEV), None, RunOptions(beam=1), examples=0, device="cpu")
    assert m["n"] == 40 and m["direction"] == "ko->en" and headerless["n"] == 372
    err = capsys.readouterr().err
    assert "worst" in err and "best" in err
    evaluate_file(
        str(model_path),
        str(DEV),
        {"source_lang": "en", "target_lang": "ko"},
        RunOptions(beam=1),
        examples=0,
        device="cpu",
    )
    assert "translates ko -> en, but the pairs are read as en -> ko" in capsys.readouterr().err


def test_word_dropout_hides_tokens_in_training_only(tmp_path, monkeypatch):
    from nlpcli.translate.model import Seq2Seq as cls

    forward = cls.forward
    seen = []

    def spy(self, src, src_lengths, tgt_in, teacher_forcing=1.0):
        seen.append((self.training, src.clone(), tgt_in.clone()))
        return forward(self, src, src_lengths, tgt_in, teacher_forcing)

    monkeypatch.setattr(cls, "forward", spy)
    small_train(tmp_path, epochs=1, word_dropout=0.3, src_tokenizer="spm")  # few unknown dev pieces
    train_src = torch.cat([s.flatten() for t, s, _ in seen if t])
    train_tgt = torch.cat([g[:, 1:].flatten() for t, _, g in seen if t])
    dev_src = torch.cat([s.flatten() for t, s, _ in seen if not t])
    share = lambda ids: float((ids == UNK).sum()) / float(ids.ne(PAD).sum())  # noqa: E731
    assert 0.25 < share(train_src) < 0.35 and 0.25 < share(train_tgt) < 0.35
    assert all(bool((g[:, 0] == BOS).all()) for t, _, g in seen if t)  # <s> is never dropped
    assert share(dev_src) < 0.05  # the dev loss sees the real tokens (a few unknown pieces only)
    with pytest.raises(UsageError, match="--word-dropout"):
        TrainConfig(word_dropout=1.0)
