"""age's wire grammar (C2SP age v1): the header; the payload STREAM is in ``files/age``."""
