"""Comment and thread types, text normalisation, links and language: no store, no I/O."""
