"""Word and document embeddings (gensim training, a numpy-only query index, evaluation)."""
