"""The family's own copy (R20): links, codes, language."""
