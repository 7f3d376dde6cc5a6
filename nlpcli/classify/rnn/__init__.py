"""The RNN text classifier/regressor (PyTorch)."""

from nlpcli.classify.rnn.train import (CELLS, PAD, POOLINGS, SPECIALS, UNK, Encoded, RnnConfig,  # noqa: F401
                                       Vocabulary, build_model, init_embeddings, load_rnn_predictor,
                                       load_word_vectors, make_batch, predict_encoded, scores_to_prediction,
                                       train_rnn)
