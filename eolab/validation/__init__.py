"""Feature validation: expectations of Deequ rules, checked on every insert into a feature group.

from eolab.validation import Rule
e = fs.create_expectation("iceberg_label", features=["is_iceberg"],
                          rules=[Rule("HAS_MIN", min=0), Rule("HAS_MAX", max=1)]).save()
fg = fs.create_feature_group("iceberg", version=1, primary_key=["id"],
                             expectations=[e], validation_type="STRICT")
fg.insert(df)            # raises eolab.errors.ValidationFailed (nothing written) if a rule fails
fg.get_validations()     # the stored reports, newest first
fg.validate(df)          # a dry run: the report, stored nowhere

Validation types (hsfs 2.x): STRICT inserts only if every rule succeeds, WARNING if the worst
status is WARNING, ALL always (recording the report), NONE (the default) validates nothing.
"""

from eolab.validation.compute import FAILURE, SUCCESS, WARNING, ExpectationResult, RuleResult
from eolab.validation.expectation import Expectation
from eolab.validation.report import ValidationReport
from eolab.validation.rules import ACCEPTED_TYPES, LEVELS, RULES, Rule
from eolab.validation.store import VALIDATION_TYPES

__all__ = [
    "ACCEPTED_TYPES",
    "FAILURE",
    "LEVELS",
    "RULES",
    "SUCCESS",
    "VALIDATION_TYPES",
    "WARNING",
    "Expectation",
    "ExpectationResult",
    "Rule",
    "RuleResult",
    "ValidationReport",
]
