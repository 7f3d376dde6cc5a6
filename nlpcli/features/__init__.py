"""Feature extraction: count / tf-idf vectorizers and their artifacts."""
