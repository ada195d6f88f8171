"""The case system's business rules: plain, pure functions over plain data."""
