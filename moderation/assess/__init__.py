"""The pipeline (rules, scorers), the triage policy that turns an evaluation into an action, and its records."""
