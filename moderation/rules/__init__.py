"""The rule engine: admin-editable YAML rule files over the site's stated rules."""
from moderation.rules.context import CommentContext, Span, Unavailable
from moderation.rules.engine import Evaluation, Hit, RuleSet
from moderation.rules.loader import RuleError, compile_ruleset, load_ruleset, read_files, version_of

__all__ = ["CommentContext", "Evaluation", "Hit", "RuleError", "RuleSet", "Span", "Unavailable", "compile_ruleset",
           "load_ruleset", "read_files", "version_of"]
