"""Korean text: normalization, taggers, and the serializable preprocessing recipe."""
