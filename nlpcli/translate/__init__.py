"""Sequence-to-sequence translation with attention (``nlpcli translate``).

``tokenizers``: per-side tokenizers (sentencepiece trained on the training side, a KoNLPy/Kiwi tagger,
whitespace, characters) that store themselves as plain data in the artifact; ``data``: reading
sentence pairs, vocabularies, length-bucketed padded batches; ``config``: the model's options,
without torch; ``model``: the encoder-decoder (torch) with Bahdanau / Luong / no attention;
``search``: greedy and beam search; ``train``, ``run``, ``evaluate``: the three commands' cores.
"""

KIND = "translator"
