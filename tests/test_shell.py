"""The shell side of the command line: completion, choices checked by the parser, and an example
in every command's --help that the parser accepts."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from enum import Enum

import pytest
import typer.main
from conftest import REPO, run_nlpcli

from nlpcli.cli import app
from nlpcli.cli.options import TaggerName


def _complete(words: str) -> list[str]:
    """What bash completion offers for the command line ``words`` (the last word being typed)."""
    parts = words.split(" ")
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "_NLPCLI_COMPLETE": "complete_bash",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(parts) - 1),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "nlpcli"], capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def test_tagger_names_complete():
    assert _complete("nlpcli preprocess morphs --tagger ") == [t.value for t in TaggerName]
    assert _complete("nlpcli train x.tsv --tagger k") == ["kiwi", "kkma", "komoran"]


def test_commands_and_other_choices_complete():
    assert _complete("nlpcli tr") == ["train", "translate"]
    assert _complete("nlpcli train --model ") == ["logreg", "linreg", "mlp", "sgd", "rnn"]
    assert _complete("nlpcli translate train x --attention ") == ["bahdanau", "luong", "dot", "none"]
    assert _complete("nlpcli preprocess ") == ["normalize", "morphs", "pos", "nouns", "phrases", "split"]


def test_completion_can_be_shown_for_bash():
    # the shell is detected from the processes above nlpcli, as when a user types it in bash
    res = subprocess.run(
        ["bash", "-c", f"{shlex.quote(sys.executable)} -m nlpcli --show-completion; true"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert "_NLPCLI_COMPLETE=complete_bash" in res.stdout, res.stderr
    assert "--install-completion" in run_nlpcli("--help").out


# --------------------------------------------------------------------------------------------
# choices


def _commands():
    """(words, click command) for every command of the app."""
    root = typer.main.get_command(app)

    def walk(command, words):
        subs = getattr(command, "commands", None)
        if subs:
            for name, sub in subs.items():
                yield from walk(sub, [*words, name])
        else:
            yield words, command

    return list(walk(root, []))


def _choices(words: list[str], name: str) -> list[str]:
    """The values of the option ``name`` of ``nlpcli WORDS`` as completion offers them."""
    command = dict((" ".join(w), c) for w, c in _commands())[" ".join(words)]
    (param,) = [p for p in command.params if p.name == name]
    ctx = command.make_context(" ".join(words), [], resilient_parsing=True)
    return [item.value for item in param.shell_complete(ctx, "")]  # what the shell is offered


@pytest.mark.parametrize(
    "words, name, module, constant",
    [
        (["train"], "model", "nlpcli.classify.models", "MODELS"),
        (["train"], "task", "nlpcli.classify.models", "TASKS"),
        (["train"], "solver", "nlpcli.classify.models", "LOGREG_SOLVERS"),
        (["train"], "activation", "nlpcli.classify.models", "ACTIVATIONS"),
        (["train"], "penalty", "nlpcli.classify.sgd", "PENALTIES"),
        (["train"], "lr_schedule", "nlpcli.classify.sgd", "SCHEDULES"),
        (["train"], "cell", "nlpcli.classify.rnn.config", "CELLS"),
        (["train"], "pooling", "nlpcli.classify.rnn.config", "POOLINGS"),
        (["train"], "device", "nlpcli.training.config", "DEVICES"),
        (["train"], "operation", "nlpcli.text.recipe", "TAGGING_OPERATIONS"),
        (["preprocess"], "operation", "nlpcli.text.recipe", "OPERATIONS"),
        (["preprocess"], "fmt", "nlpcli.textio", "INPUT_FORMATS"),
        (["preprocess"], "output_format", "nlpcli.textio", "OUTPUT_FORMATS"),
        (["preprocess"], "encoding_errors", "nlpcli.textio", "ENCODING_ERRORS"),
        (["vectorize", "fit"], "kind", "nlpcli.features.vectorizers", "KINDS"),
        (["vectorize", "fit"], "analyzer", "nlpcli.features.vectorizers", "ANALYZERS"),
        (["embed", "train"], "algo", "nlpcli.embed.train", "ALGOS"),
        (["embed", "export"], "fmt", "nlpcli.embed.export", "FORMATS"),
        (["embed", "import"], "fmt", "nlpcli.embed.importer", "FORMATS"),
        (["embed", "plot"], "method", "nlpcli.embed.plot", "METHODS"),
        (["translate", "train"], "cell", "nlpcli.translate.config", "CELLS"),
        (["translate", "train"], "attention", "nlpcli.translate.config", "ATTENTIONS"),
        (["translate", "train"], "lr_schedule", "nlpcli.translate.train", "SCHEDULES"),
        (["translate", "train"], "precision", "nlpcli.training.config", "PRECISIONS"),
    ],
)
def test_the_choices_are_the_ones_the_core_accepts(words, name, module, constant):
    """The command line spells the choices out (importing the core at start-up would be slow):
    they must stay the core's."""
    import importlib

    assert sorted(_choices(words, name)) == sorted(getattr(importlib.import_module(module), constant))


def test_other_choices_match_the_core():
    from nlpcli.classify import models, sgd
    from nlpcli.embed import train as embed_train
    from nlpcli.features import vectorizers
    from nlpcli.translate import tokenizers

    assert set(_choices(["train"], "loss")) == set(models.LINREG_LOSSES + sgd.CLASSIFICATION_LOSSES) | set(
        sgd.REGRESSION_LOSSES
    )
    assert set(_choices(["embed", "train"], "arch")) == set(embed_train.WORD_ARCHS + embed_train.DOC_ARCHS)
    assert set(_choices(["translate", "train"], "src_tokenizer")) == {"auto", *tokenizers.KINDS}
    assert set(_choices(["train"], "weighting")) == {*vectorizers.WEIGHTINGS, *vectorizers.WEIGHTING_ALIASES}


@pytest.mark.parametrize(
    "args, option",
    [
        (["train", "{absent}", "--model", "svm", "-o", "m"], "--model"),
        (["train", "{absent}", "--device", "tpu", "-o", "m"], "--device"),
        (["vectorize", "fit", "{absent}", "--weighting", "bm25", "-o", "v"], "--weighting"),
        (["preprocess", "stem", "{absent}"], "OPERATION"),
        (["embed", "export", "{absent}", "--format", "npy"], "--format"),
        (["translate", "train", "{absent}", "--precision", "fp8", "-o", "t"], "--precision"),
    ],
)
def test_a_wrong_choice_is_a_usage_error_at_parse_time(tmp_path, args, option):
    """Exit 2 naming the option before anything is read: the input does not even exist."""
    res = run_nlpcli(*(a.format(absent=tmp_path / "absent.tsv") for a in args))
    assert res.code == 2 and "is not one of" in res.err and "absent" not in res.err, res.err
    assert option.lower() in res.err.lower()


def test_commands_get_plain_strings(monkeypatch):
    """A choice reaches the core as the string itself, not an enum member."""
    from nlpcli.cli import main
    from nlpcli.features import vectorize

    seen = {}

    def fake_fit(inputs, spec, config, recipe, output, **kwargs):
        seen.update(kind=config.kind, analyzer=config.analyzer, format=spec.format, output=output)

    monkeypatch.setattr(vectorize, "fit", fake_fit)
    with pytest.raises(SystemExit) as exit_:
        main(
            [
                "vectorize",
                "fit",
                "-",
                "--kind",
                "count",
                "--analyzer",
                "char_wb",
                "-f",
                "tsv",
                "-o",
                "/dev/null",
            ]
        )
    assert exit_.value.code == 0
    assert seen == {"kind": "count", "analyzer": "char_wb", "format": "tsv", "output": "/dev/null"}
    assert all(type(v) is str for v in seen.values()) and not any(isinstance(v, Enum) for v in seen.values())


# --------------------------------------------------------------------------------------------
# examples


COMMANDS = _commands()


@pytest.mark.parametrize("words, command", COMMANDS, ids=[" ".join(w) for w, _ in COMMANDS])
def test_every_command_has_an_example_the_parser_accepts(words, command):
    found = re.findall(r"^Example: (.+)$", command.help or "", flags=re.M)
    assert len(found) == 1, f"nlpcli {' '.join(words)}: no 'Example: nlpcli ...' line in its help"
    line = found[0]
    # the nlpcli part of a pipeline ('echo ... | nlpcli ...', 'nlpcli ... | head', 'nlpcli ... && ...')
    part = next(p for p in re.split(r" \| | && ", line) if p.startswith("nlpcli "))
    argv = shlex.split(part)[1:]
    assert argv[: len(words)] == words, line
    ctx = command.make_context(" ".join(words), argv[len(words) :])  # paths are checked later, at the run
    assert ctx.params


def test_the_command_list_is_complete():
    assert len(COMMANDS) >= 19
    assert {" ".join(w) for w, _ in COMMANDS} >= {
        "preprocess",
        "train",
        "predict",
        "vectorize fit",
        "embed import",
    }
