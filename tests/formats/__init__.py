"""Wire formats: every header's parser at its edges, and the known-answer vectors."""
