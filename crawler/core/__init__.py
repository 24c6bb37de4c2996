"""The shared vocabulary every layer speaks: items, exit statuses, redaction, terminal output, article keys."""
