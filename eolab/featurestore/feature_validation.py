"""Validation of a feature group: its expectations, its validation type, and every insert
checked before anything is written.

Mixed into :class:`~eolab.featurestore.feature_group.FeatureGroup`. ``_write`` calls
:meth:`FeatureValidation._validate_insert` on the conformed frame before registering the group
or committing: under STRICT (every rule succeeds) or WARNING (no rule fails) a rejected insert
raises :class:`~eolab.errors.ValidationFailed` carrying the report, with nothing written to the
offline or online store. The report of every validated insert is stored in the catalog, taken
or rejected; ``fg.validate(df)`` is a dry run and stores nothing.

An unsaved group keeps the expectations and validation type given to ``create_feature_group``
(or attached before its first save); registering the group stores them in the same catalog
transaction (:meth:`FeatureValidation._register_validation`), and adopts the reports of
rejected first saves.

A report's commit is the Delta version the insert was to create (the table's version + 1 when
validated); ``get_validations`` gives its ``commitTime`` once that version exists.
"""

from __future__ import annotations

import warnings
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from eolab.errors import InvalidInput, NotFound, ValidationFailed

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from eolab.catalog.models import FeatureGroupRow
    from eolab.catalog.models import Project as ProjectRow
    from eolab.featurestore.feature_store import FeatureStore
    from eolab.validation.expectation import Expectation
    from eolab.validation.report import ValidationReport


class ValidationWarning(UserWarning):
    """An insert went ahead although some rules warned or failed (WARNING or ALL)."""


def _name_of(expectation: Any) -> str:
    from eolab.validation.expectation import Expectation

    if isinstance(expectation, Expectation):
        return expectation.name
    if isinstance(expectation, str):
        return expectation
    raise InvalidInput(
        f"an expectation is an Expectation or its name, got {type(expectation).__name__}"
    )


class FeatureValidation:
    """Expectation and validation methods of a feature group."""

    feature_store: FeatureStore
    name: str
    version: int | None
    id: int | None
    _what: str
    _pending_expectations: list[Expectation] | None = None
    _pending_validation_type: str = "NONE"

    # ---- settings -------------------------------------------------------------------------

    def _set_validation(self, expectations: Any, validation_type: Any) -> None:
        """The settings of a new group (``create_feature_group``), stored at registration."""
        from eolab.validation.expectation import get_expectation
        from eolab.validation.store import check_validation_type

        self._pending_validation_type = check_validation_type(validation_type)
        if expectations is None:
            expectations = []
        if not isinstance(expectations, list | tuple):
            raise InvalidInput(
                f"expectations must be a list of expectations, got {type(expectations).__name__}"
            )
        names = list(dict.fromkeys(_name_of(e) for e in expectations))
        self._pending_expectations = [get_expectation(self.feature_store, n) for n in names]

    def _register_validation(self, s: Session, project: ProjectRow, row: FeatureGroupRow) -> None:
        """Store the pending settings of a group being registered (in its transaction)."""
        from eolab.validation import store

        if self._pending_validation_type != store.DEFAULT_VALIDATION_TYPE:
            store.set_validation_type(s, row.id, self._pending_validation_type)
        for expectation in self._pending_expectations or []:
            found = store.expectation_row(s, project.id, expectation.name)
            if found is None:
                raise NotFound(
                    f"expectation {expectation.name!r} was deleted before {self._what} was saved"
                )
            store.attach(s, row.id, found.id)
        store.adopt(s, project.id, row)

    def _settings(self) -> tuple[list[Expectation], str]:
        """(attached expectations, validation type), from the catalog once saved."""
        from eolab.validation import store
        from eolab.validation.expectation import attached_to

        if self.id is None:
            return list(self._pending_expectations or []), self._pending_validation_type
        fs = self.feature_store
        with fs._tx(write=False) as (s, project):
            row = self._catalog_row(s, project)
            return attached_to(fs, s, row), store.validation_type(s, row.id)

    def _catalog_row(self, s: Session, project: ProjectRow) -> FeatureGroupRow:
        row = self.feature_store._rows_at(s, project, self.name, self.version)
        if row is None:
            raise NotFound(f"{self._what} no longer exists in {project.name!r}")
        return row

    @property
    def validation_type(self) -> str:
        """STRICT, WARNING, ALL or NONE (hsfs ``validation_type``); setting it saves it."""
        self._refresh()  # type: ignore[attr-defined]
        return self._settings()[1]

    @validation_type.setter
    def validation_type(self, value: str) -> None:
        from eolab.validation import store

        store.check_validation_type(value)
        self._refresh()  # type: ignore[attr-defined]
        if self.id is None:
            self._pending_validation_type = value
            return
        with self.feature_store._tx() as (s, project):
            store.set_validation_type(s, self._catalog_row(s, project).id, value)

    def get_expectations(self) -> list[Expectation]:
        """The expectations attached to this feature group version."""
        self._refresh()  # type: ignore[attr-defined]
        return self._settings()[0]

    def attach_expectation(self, expectation: Expectation | str) -> None:
        """Attach a saved expectation (or its name), after checking that its features exist
        here with types its rules apply to. Attaching twice is harmless."""
        from eolab.validation import store
        from eolab.validation.expectation import get_expectation, load_row

        name = _name_of(expectation)
        self._refresh()  # type: ignore[attr-defined]
        fs = self.feature_store
        if self.id is None:
            found = get_expectation(fs, name)
            pending = [e for e in self._pending_expectations or [] if e.name != name]
            self._pending_expectations = [*pending, found]
            return
        with fs._tx() as (s, project):
            row = self._catalog_row(s, project)
            found_row = store.expectation_row(s, project.id, name)
            if found_row is None:
                raise NotFound(
                    f"no expectation {name!r} in project {project.name!r}; save() it first",
                    details={"name": name},
                )
            load_row(fs, s, found_row).check_against(row.features, self._what)
            store.attach(s, row.id, found_row.id)

    def detach_expectation(self, expectation: Expectation | str) -> None:
        """Detach an expectation; its reports stay in the history."""
        from eolab.validation import store

        name = _name_of(expectation)
        self._refresh()  # type: ignore[attr-defined]
        if self.id is None:
            pending = self._pending_expectations or []
            if not any(e.name == name for e in pending):
                raise NotFound(f"expectation {name!r} is not attached to {self._what}")
            self._pending_expectations = [e for e in pending if e.name != name]
            return
        with self.feature_store._tx() as (s, project):
            row = self._catalog_row(s, project)
            found = store.expectation_row(s, project.id, name)
            if found is None or not store.detach(s, row.id, found.id):
                raise NotFound(
                    f"expectation {name!r} is not attached to {self._what}",
                    details={"name": name},
                )

    # ---- running --------------------------------------------------------------------------

    def _run_validation(
        self, frame: Any, expectations: list[Expectation], validation_type: str | None
    ) -> ValidationReport:
        from eolab.catalog.models import utcnow
        from eolab.validation.compute import run
        from eolab.validation.report import ValidationReport

        started = utcnow()
        rows, results = run(frame, expectations, self._what)
        if rows == 0:
            raise InvalidInput(
                f"the DataFrame to validate for {self._what} is empty: there is nothing to "
                "validate or insert, and nothing was written"
            )
        return ValidationReport(
            {"name": self.name, "version": self.version}, results, started, rows, validation_type
        )

    def validate(self, dataframe: Any = None) -> ValidationReport:
        """A dry run: the attached expectations on ``dataframe`` (the group's current data when
        None). The report is returned, not stored, and nothing is inserted."""
        self._refresh()  # type: ignore[attr-defined]
        expectations, validation_type = self._settings()
        if not expectations:
            raise InvalidInput(
                f"{self._what} has no expectations to validate with; attach_expectation() first"
            )
        if dataframe is None:
            self._require_saved()  # type: ignore[attr-defined]
            engine = self.feature_store.engine.name
            frame = self.read(dataframe_type="spark" if engine == "spark" else "pyarrow")  # type: ignore[attr-defined]
        else:
            frame = self._store().frame(dataframe)  # type: ignore[attr-defined]
        return self._run_validation(frame, expectations, validation_type)

    def _validate_insert(self, frame: Any) -> None:
        """The insert hook: validate ``frame`` as the validation type says, store the report,
        and raise ValidationFailed when the insert must not go ahead."""
        expectations, validation_type = self._settings()
        if validation_type == "NONE" or not expectations:
            return
        report = self._run_validation(frame, expectations, validation_type)
        allowed = {"STRICT": ("SUCCESS",), "WARNING": ("SUCCESS", "WARNING")}
        report.ingested = report.status in allowed.get(validation_type, (report.status,))
        self._store_report(report)
        if not report.ingested:
            bad = report.failures()
            error = ValidationFailed(
                f"{self._what} rejected the insert ({validation_type} validation, status "
                f"{report.status}): {len(bad)} of {sum(report.counts().values())} rules did not "
                f"succeed, e.g. {bad[0].message}; nothing was written "
                f"(report {report.validation_id})",
                details=report.to_dict(),
            )
            error.report = report  # type: ignore[attr-defined]
            raise error
        if report.status != "SUCCESS":
            warnings.warn(
                f"{self._what}: inserted with validation status {report.status} "
                f"({validation_type}): {report.failures()[0].message}",
                ValidationWarning,
                stacklevel=4,
            )

    def _next_commit(self) -> int:
        if self.id is None:
            return 0
        store = self._store()  # type: ignore[attr-defined]
        return store.table().version() + 1 if store.exists() else 0

    def _store_report(self, report: ValidationReport) -> None:
        from eolab.catalog.models import ValidationRow
        from eolab.validation import store

        expected = self._next_commit() if report.ingested else None
        fs = self.feature_store
        with fs._tx() as (s, project):
            row = store.add_validation(
                s,
                ValidationRow(
                    project_id=project.id,
                    feature_group_id=self.id,
                    feature_group_name=self.name,
                    feature_group_version=self.version,
                    validation_time=report.validation_time,
                    status=report.status,
                    ingested=bool(report.ingested),
                    expected_commit=expected,
                    report=report.to_dict(),
                    created_by=fs.project.workspace.caller.user_id,
                ),
            )
            report.validation_id = row.id

    # ---- history --------------------------------------------------------------------------

    def get_validations(
        self, validation_time: Any = None, commit_time: Any = None, limit: int | None = None
    ) -> list[ValidationReport]:
        """Stored reports, newest first: those validated at or before ``validation_time``,
        of commits at or before ``commit_time`` (UTC), at most ``limit``."""
        from eolab.featurestore.feature_group import utc
        from eolab.validation import store

        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 1
        ):
            raise InvalidInput(f"limit must be a positive integer or None, got {limit!r}")
        until = None if validation_time is None else utc(validation_time, "validation_time")
        committed = None if commit_time is None else utc(commit_time, "commit_time")
        self._refresh()  # type: ignore[attr-defined]
        fs = self.feature_store
        with fs._tx(write=False) as (s, project):
            rows = store.validation_rows(
                s,
                project.id,
                self.name,
                self.version,
                self.id,
                until,
                None if committed is not None else limit,
            )
        reports = [self._report_of(row) for row in rows]
        self._resolve_commits(reports, rows)
        if committed is not None:
            reports = [
                r for r in reports if r.commit_time is not None and r.commit_time <= committed
            ]
            reports = reports[:limit]
        return reports

    def _report_of(self, row: Any) -> ValidationReport:
        from eolab.validation.report import ValidationReport

        report = ValidationReport.from_dict(row.report)
        report.validation_id = row.id
        report.ingested = row.ingested
        report.feature_group = {"name": self.name, "version": self.version}
        return report

    def _resolve_commits(self, reports: list[ValidationReport], rows: list[Any]) -> None:
        wanted = {row.expected_commit for row in rows if row.expected_commit is not None}
        if not wanted or self.id is None:
            return
        store = self._store()  # type: ignore[attr-defined]
        if not store.exists():
            return
        commits = {c.version: c for c in store.history() if c.version in wanted}
        for report, row in zip(reports, rows, strict=True):
            commit = commits.get(row.expected_commit)
            # Delta stamps commits in ms: a commit 1 ms "before" its validation is still its own
            if commit is not None and commit.committed_on >= row.validation_time - timedelta(
                milliseconds=1
            ):
                report.commit_time, report.commit_id = commit.committed_on, commit.version
