"""Research side: exports, sentiment, thread metrics and reports."""
