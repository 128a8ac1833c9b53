"""The chunk stream, both-cores workers and encrypted file objects."""
