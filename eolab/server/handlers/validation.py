"""Expectations and validations over REST: the project's expectations, those attached to a
feature group version with its validation type, and its validation history.

Thin over :mod:`eolab.validation` and the feature group's validation methods. Like the
feature group handlers, they open the project on the python engine, so a dry run
(``POST .../validations``) runs in DuckDB and never starts Spark.
"""

from __future__ import annotations

from typing import Any

from eolab.errors import Conflict, InvalidInput, NotFound
from eolab.featurestore import FeatureGroup, FeatureStore
from eolab.server.handlers.featurestore import FeatureStoreScoped
from eolab.server.models import (
    AttachExpectation,
    CreateExpectation,
    DescribeExpectation,
    DescribeValidation,
    FeatureGroupExpectationsResponse,
    ListExpectationsResponse,
    ListValidationsResponse,
    SetValidationType,
)
from eolab.validation import Expectation, ValidationReport

MAX_LIMIT = 500


def describe_expectation(e: Expectation) -> DescribeExpectation:
    return DescribeExpectation.model_validate(
        {**e.to_dict(), "creator": e.creator, "created": e.created_at}
    )


def describe_validation(report: ValidationReport) -> DescribeValidation:
    return DescribeValidation.model_validate(report.to_dict())


def create_expectation(fs: FeatureStore, body: CreateExpectation) -> DescribeExpectation:
    """Create a new expectation (409 when the name is taken: updates are not a POST)."""
    try:
        fs.get_expectation(body.name)
    except NotFound:
        pass
    else:
        raise Conflict(
            f"expectation {body.name!r} already exists in {fs.project.name!r}",
            details={"name": body.name},
        )
    rules = [r.model_dump(exclude_none=True) for r in body.rules]
    e = fs.create_expectation(body.name, body.description, body.features, rules)
    return describe_expectation(e.save())


def attached(fg: FeatureGroup) -> FeatureGroupExpectationsResponse:
    return FeatureGroupExpectationsResponse(
        name=fg.name,
        version=fg.version or 0,
        validation_type=fg.validation_type,  # type: ignore[arg-type]
        expectations=[describe_expectation(e) for e in fg.get_expectations()],
    )


def attach(fg: FeatureGroup, name: str) -> FeatureGroupExpectationsResponse:
    fg.attach_expectation(name)
    return attached(fg)


def set_type(fg: FeatureGroup, value: str) -> FeatureGroupExpectationsResponse:
    fg.validation_type = value
    return attached(fg)


def history(fg: FeatureGroup, limit: int) -> ListValidationsResponse:
    return ListValidationsResponse(
        name=fg.name,
        version=fg.version or 0,
        validations=[describe_validation(r) for r in fg.get_validations(limit=limit)],
    )


def dry_run(fg: FeatureGroup) -> DescribeValidation:
    return describe_validation(fg.validate())


class ExpectationsResource(FeatureStoreScoped):
    async def get(self, project: str) -> None:
        fs = await self.feature_store(project)
        found = await self.run(fs.get_expectations)
        self.send_model(
            ListExpectationsResponse(expectations=[describe_expectation(e) for e in found])
        )

    async def post(self, project: str) -> None:
        body = self.parse_body(CreateExpectation)
        fs = await self.feature_store(project)
        self.send_model(await self.run(create_expectation, fs, body), 201)


class ExpectationResource(FeatureStoreScoped):
    async def get(self, project: str, name: str) -> None:
        fs = await self.feature_store(project)
        self.send_model(describe_expectation(await self.run(fs.get_expectation, name)))

    async def delete(self, project: str, name: str) -> None:
        fs = await self.feature_store(project)
        expectation = await self.run(fs.get_expectation, name)
        await self.run(expectation.delete)
        self.set_status(204)
        self.finish()


class FeatureGroupExpectationsResource(FeatureStoreScoped):
    async def get(self, project: str, name: str, v: str) -> None:
        fg = await self.feature_group(project, name, v)
        await self.send_view(attached, fg)

    async def post(self, project: str, name: str, v: str) -> None:
        body = self.parse_body(AttachExpectation)
        fg = await self.feature_group(project, name, v)
        await self.send_view(attach, fg, body.expectation)

    async def put(self, project: str, name: str, v: str) -> None:
        body = self.parse_body(SetValidationType)
        fg = await self.feature_group(project, name, v)
        await self.send_view(set_type, fg, body.validation_type.value)

    async def delete(self, project: str, name: str, v: str) -> None:
        expectation = self.query("expectation")
        if not expectation:
            raise InvalidInput("say which expectation to detach: ?expectation=NAME")
        fg = await self.feature_group(project, name, v)
        await self.run(fg.detach_expectation, expectation)
        self.set_status(204)
        self.finish()


class ValidationsResource(FeatureStoreScoped):
    async def get(self, project: str, name: str, v: str) -> None:
        limit: Any = self.query("limit", 20, int)
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidInput(
                f"limit must be between 1 and {MAX_LIMIT}, got {limit}",
                details={"field": "limit", "given": limit},
            )
        fg = await self.feature_group(project, name, v)
        await self.send_view(history, fg, limit)

    async def post(self, project: str, name: str, v: str) -> None:
        fg = await self.feature_group(project, name, v)
        await self.send_view(dry_run, fg)
