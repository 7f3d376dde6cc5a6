"""The peer for ``bench_translate.py``: a plain PyTorch seq2seq script, written as one would by hand.

    python3 bench/reference_translate.py --minutes 15 [--threads 1] [--out DIR] [options]

It is the usual baseline of a seq2seq tutorial (sentencepiece unigram per side, embedding 256,
bi-GRU encoder 256, GRU decoder with Bahdanau attention, Adam, clipping, one thread, ko->en),
with the tuned variant's settings as defaults (4k pieces per side, learning rate 2e-3, tied
output embedding, label smoothing 0.1, dropout 0.3). No nlpcli code is imported, so the figures
show what nlpcli adds (or loses) against a hand-written script on the same data and budget.

After every epoch it translates ``dev.tsv`` greedily and prints dev BLEU (sacrebleu, 13a) with
the minutes since training started; at the end it scores the last weights with beam 5 too and
writes ``reference-MINUTESmin-ORDER-bBATCH.json`` (the curve and the final scores) into ``--out``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import time
from pathlib import Path

import sacrebleu
import sentencepiece as spm
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

REPO = Path(__file__).resolve().parents[1]
PARALLEL = Path(os.environ.get("NLPCLI_PARALLEL_DATA", REPO.parent / "shared" / "data" / "parallel"))
PAD, UNK, BOS, EOS = 0, 1, 2, 3


def read(path):
    src, tgt = [], []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            ko, en = line.rstrip("\n").split("\t")
            src.append(ko)
            tgt.append(en)
    return src, tgt


def train_spm(texts, size):
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(texts),
        model_writer=model,
        vocab_size=size,
        model_type="unigram",
        character_coverage=0.9995,
        hard_vocab_limit=False,
        pad_id=PAD,
        unk_id=UNK,
        bos_id=BOS,
        eos_id=EOS,
        num_threads=1,
        minloglevel=2,
    )
    return spm.SentencePieceProcessor(model_proto=model.getvalue())


class Seq2Seq(nn.Module):
    def __init__(self, n_src, n_tgt, E=256, H=256, dropout=0.3, attention=True, tie=True):
        super().__init__()
        self.H, self.attention = H, attention
        self.src_emb = nn.Embedding(n_src, E, padding_idx=PAD)
        self.tgt_emb = nn.Embedding(n_tgt, E, padding_idx=PAD)
        self.encoder = nn.GRU(E, H, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(2 * H, H)
        self.decoder = nn.GRU(E + 2 * H, H, batch_first=True)
        self.w_q = nn.Linear(H, H, bias=False)
        self.w_k = nn.Linear(2 * H, H)
        self.v = nn.Linear(H, 1, bias=False)
        self.pre = nn.Linear(H + 2 * H + E, E)
        self.out = nn.Linear(E, n_tgt)
        if tie:
            self.out.weight = self.tgt_emb.weight
            # as the output layer, N(0, 1/E) starts the logits near zero (nn.Embedding's N(0, 1)
            # starts the softmax saturated: a first-epoch loss above ln(V))
            nn.init.normal_(self.tgt_emb.weight, 0.0, E**-0.5)
            with torch.no_grad():
                self.tgt_emb.weight[PAD].zero_()
        self.drop = nn.Dropout(dropout)

    def encode(self, src, lengths):
        packed = pack_padded_sequence(
            self.drop(self.src_emb(src)), lengths, batch_first=True, enforce_sorted=False
        )
        out, h = self.encoder(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=src.size(1))
        summary = torch.cat([h[0], h[1]], 1)
        return out, self.w_k(out), src.ne(PAD), torch.tanh(self.bridge(summary)).unsqueeze(0), summary

    def step(self, prev, h, out, keys, mask, summary):
        emb = self.drop(self.tgt_emb(prev))
        if self.attention:
            scores = self.v(torch.tanh(self.w_q(h[-1]).unsqueeze(1) + keys)).squeeze(2)
            weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), 1)
            context = torch.bmm(weights.unsqueeze(1), out).squeeze(1)
        else:
            context = summary
        o, h = self.decoder(torch.cat([emb, context], 1).unsqueeze(1), h)
        logits = self.out(self.drop(torch.tanh(self.pre(torch.cat([o[:, 0], context, emb], 1)))))
        return logits, h

    def forward(self, src, lengths, tgt_in):
        out, keys, mask, h, summary = self.encode(src, lengths)
        logits = []
        for t in range(tgt_in.size(1)):
            lg, h = self.step(tgt_in[:, t], h, out, keys, mask, summary)
            logits.append(lg)
        return torch.stack(logits, 1)

    @torch.no_grad()
    def greedy(self, src, lengths, max_len=100):
        out, keys, mask, h, summary = self.encode(src, lengths)
        prev = torch.full((src.size(0),), BOS, dtype=torch.long)
        result, done = [], torch.zeros(src.size(0), dtype=torch.bool)
        for _ in range(max_len):
            lg, h = self.step(prev, h, out, keys, mask, summary)
            prev = lg.argmax(1)
            result.append(prev)
            done |= prev.eq(EOS)
            if done.all():
                break
        return torch.stack(result, 1).tolist()

    @torch.no_grad()
    def beam(self, src, lengths, k=5, max_len=100, alpha=1.0):
        """One sentence at a time (src [1, S]); length-normalized scores."""
        out, keys, mask, h, summary = self.encode(src, lengths)
        beams = [(0.0, [BOS], h)]
        finished = []
        for _ in range(max_len):
            prev = torch.tensor([b[1][-1] for b in beams])
            hs = torch.cat([b[2] for b in beams], 1)
            n = len(beams)
            lg, hs = self.step(
                prev,
                hs,
                out.expand(n, -1, -1),
                keys.expand(n, -1, -1),
                mask.expand(n, -1),
                summary.expand(n, -1),
            )
            logp = torch.log_softmax(lg, 1)
            cand = []
            for i, (score, seq, _) in enumerate(beams):
                top = logp[i].topk(k)
                for lp, tok in zip(top.values.tolist(), top.indices.tolist()):
                    cand.append((score + lp, seq + [tok], hs[:, i : i + 1]))
            cand.sort(key=lambda c: -c[0])
            beams = []
            for c in cand:
                if c[1][-1] == EOS:
                    finished.append((c[0] / ((len(c[1]) - 1) ** alpha), c[1]))
                else:
                    beams.append(c)
                if len(beams) == k:
                    break
            if len(finished) >= k or not beams:
                break
        if not finished:
            finished = [(b[0] / ((len(b[1]) - 1) ** alpha), b[1]) for b in beams]
        return max(finished, key=lambda f: f[0])[1][1:]


def pad(seqs, bos=False, eos=False):
    seqs = [([BOS] if bos else []) + s + ([EOS] if eos else []) for s in seqs]
    out = torch.zeros(len(seqs), max(map(len, seqs)), dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = torch.tensor(s)
    return out, torch.tensor([len(s) for s in seqs])


def translate(model, sp_tgt, src_ids, beam=1):
    model.eval()
    hyps = [None] * len(src_ids)
    order = sorted(range(len(src_ids)), key=lambda i: len(src_ids[i]))
    if beam == 1:
        for start in range(0, len(order), 128):
            idx = order[start : start + 128]
            src, lengths = pad([src_ids[i] for i in idx])
            for i, ids in zip(idx, model.greedy(src, lengths)):
                hyps[i] = sp_tgt.decode(ids[: ids.index(EOS)] if EOS in ids else ids)
    else:
        for i in order:
            src, lengths = pad([src_ids[i]])
            hyps[i] = sp_tgt.decode([t for t in model.beam(src, lengths, beam) if t != EOS])
    model.train()
    return hyps


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=15.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--vocab", type=int, default=4000)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--dropout", type=float, default=0.3)
    ap.add_argument("--label-smoothing", type=float, default=0.1)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--no-attention", action="store_true")
    ap.add_argument("--no-tie", action="store_true")
    ap.add_argument(
        "--batch-order",
        choices=["random", "sorted"],
        default="random",
        help="random batches, or length-sorted batches in a random order",
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "reference-translate"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)

    train_src, train_tgt = read(PARALLEL / "train.tsv")
    dev_src, dev_tgt = read(PARALLEL / "dev.tsv")
    sp_src, sp_tgt = train_spm(train_src, args.vocab), train_spm(train_tgt, args.vocab)
    src_ids = [sp_src.encode(s) for s in train_src]
    tgt_ids = [sp_tgt.encode(t) for t in train_tgt]
    keep = [i for i in range(len(src_ids)) if 0 < len(src_ids[i]) <= 100 and 0 < len(tgt_ids[i]) <= 100]
    dev_ids = [sp_src.encode(s)[:100] for s in dev_src]
    model = Seq2Seq(
        sp_src.get_piece_size(),
        sp_tgt.get_piece_size(),
        dropout=args.dropout,
        attention=not args.no_attention,
        tie=not args.no_tie,
    )
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss(ignore_index=PAD, label_smoothing=args.label_smoothing)
    print(
        f"reference: {len(keep)} pairs, vocab {sp_src.get_piece_size()}/{sp_tgt.get_piece_size()}, "
        f"{sum(p.numel() for p in model.parameters()):,} parameters, {args.threads} thread(s)",
        flush=True,
    )

    start, history, epoch, pairs = time.perf_counter(), [], 0, 0
    budget = args.minutes * 60
    while time.perf_counter() - start < budget:
        epoch += 1
        order = keep[:]
        random.shuffle(order)
        if args.batch_order == "sorted":
            order.sort(key=lambda i: len(src_ids[i]))
        batches = [order[i : i + args.batch_size] for i in range(0, len(order), args.batch_size)]
        random.shuffle(batches)
        total = 0.0
        for b in batches:
            src, lengths = pad([src_ids[i] for i in b])
            tgt_in, _ = pad([tgt_ids[i] for i in b], bos=True)
            tgt_out, _ = pad([tgt_ids[i] for i in b], eos=True)
            logits = model(src, lengths, tgt_in)
            loss = loss_fn(logits.reshape(-1, logits.size(-1)), tgt_out.reshape(-1))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            opt.step()
            total += loss.item()
            pairs += len(b)
            if time.perf_counter() - start >= budget:
                break
        hyps = translate(model, sp_tgt, dev_ids)
        bleu = sacrebleu.corpus_bleu(hyps, [dev_tgt]).score
        minutes = (time.perf_counter() - start) / 60
        history.append(
            {
                "epoch": epoch,
                "minutes": round(minutes, 2),
                "train_loss": round(total / len(batches), 4),
                "bleu": round(bleu, 2),
            }
        )
        print(
            f"epoch {epoch}: loss {total / len(batches):.3f}, dev BLEU {bleu:.2f} (greedy), {minutes:.1f} min, "
            f"{pairs / (time.perf_counter() - start):.0f} pairs/s",
            flush=True,
        )

    started = time.perf_counter()
    greedy = translate(model, sp_tgt, dev_ids)
    greedy_s = time.perf_counter() - started
    started = time.perf_counter()
    beam = translate(model, sp_tgt, dev_ids, beam=5)
    beam_s = time.perf_counter() - started
    result = {
        "args": vars(args),
        "history": history,
        "greedy": {
            "bleu": round(sacrebleu.corpus_bleu(greedy, [dev_tgt]).score, 2),
            "chrf": round(sacrebleu.corpus_chrf(greedy, [dev_tgt]).score, 2),
            "sentences_per_s": round(len(dev_ids) / greedy_s, 1),
        },
        "beam5": {
            "bleu": round(sacrebleu.corpus_bleu(beam, [dev_tgt]).score, 2),
            "chrf": round(sacrebleu.corpus_chrf(beam, [dev_tgt]).score, 2),
            "sentences_per_s": round(len(dev_ids) / beam_s, 1),
        },
    }
    print(json.dumps({k: result[k] for k in ("greedy", "beam5")}), flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = f"reference-{args.minutes:g}min-{args.batch_order}-b{args.batch_size}"
    (out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"-> {out / (name + '.json')}", flush=True)


if __name__ == "__main__":
    main()
