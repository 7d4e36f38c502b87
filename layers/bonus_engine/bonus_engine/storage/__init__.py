"""DynamoDB storage: one store per table, keys built by `keys`, errors made typed here."""
