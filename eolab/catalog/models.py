"""ORM models of the catalog: every entity eolab knows, one table each.

API models (pydantic) live in ``eolab.server.models``; these are storage only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    """Wallclock UTC without tzinfo, as DESIGN's 'Times' decision says."""
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON}


class Meta(Base):
    """Key/value facts about the catalog itself (schema version, admin...)."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    email: Mapped[str] = mapped_column(String(256), default="")
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Project(Base):
    __tablename__ = "projects"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    members: Mapped[list[Member]] = relationship(
        back_populates="project", cascade="all, delete-orphan"
    )


class Member(Base):
    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("project_id", "user_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(32))
    added_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    project: Mapped[Project] = relationship(back_populates="members")
    user: Mapped[User] = relationship()


class ApiKey(Base):
    """An API key: only a prefix (for lookup) and a SHA-256 of the secret are stored."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), nullable=True
    )
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    user: Mapped[User] = relationship()


class Dataset(Base):
    __tablename__ = "datasets"
    __table_args__ = (UniqueConstraint("project_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(Text, default="")
    searchable: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class TagSchema(Base):
    """A JSON Schema (draft 2020-12) that tag values must satisfy; immutable once created."""

    __tablename__ = "tag_schemas"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    schema: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Tag(Base):
    """One schema-valid value attached to one artifact (dataset, file, feature group...)."""

    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("artifact_kind", "artifact_ref", "schema_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    artifact_kind: Mapped[str] = mapped_column(String(32))
    artifact_ref: Mapped[str] = mapped_column(String(1024))
    schema_id: Mapped[int] = mapped_column(ForeignKey("tag_schemas.id"))
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    schema: Mapped[TagSchema] = relationship()


class SearchEntry(Base):
    """One searchable thing. On SQLite an FTS5 table mirrors it through triggers."""

    __tablename__ = "search_entries"
    __table_args__ = (UniqueConstraint("kind", "ref"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    ref: Mapped[str] = mapped_column(String(1024))
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), nullable=True
    )
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class FeatureGroupRow(Base):
    """One version of a feature group; its data is the Delta table at ``location``."""

    __tablename__ = "feature_groups"
    __table_args__ = (UniqueConstraint("project_id", "name", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(63))
    version: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text, default="")
    primary_key: Mapped[list[str]] = mapped_column(JSON)
    event_time: Mapped[str | None] = mapped_column(String(128), nullable=True)
    partition_key: Mapped[list[str]] = mapped_column(JSON)
    online_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    statistics_config: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # one {"name", "type", "primary", "partition"} per column, in column order
    features: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    location: Mapped[str] = mapped_column(String(1024))  # relative to the project root
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ExperimentRow(Base):
    """One experiment run (a launch, a search, a rerun); its files are ``location``."""

    __tablename__ = "experiments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(String(64), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(256))
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(32))  # launch, grid_search, random_search, rerun
    state: Mapped[str] = mapped_column(String(16))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)  # args_dict / grid / boundaries given
    metric_key: Mapped[str | None] = mapped_column(String(256), nullable=True)
    direction: Mapped[str | None] = mapped_column(String(8), nullable=True)
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # best trial's
    best_trial: Mapped[str | None] = mapped_column(String(64), nullable=True)
    training_datasets: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    environment: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    code: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    seed: Mapped[int] = mapped_column(Integer)
    rerun_of: Mapped[str | None] = mapped_column(String(64), nullable=True)
    driver_host: Mapped[str] = mapped_column(String(256), default="")
    driver_pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")
    location: Mapped[str] = mapped_column(String(1024))  # relative to the project root
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class TrialRow(Base):
    """One trial of an experiment run: one call of the train function with one set of params."""

    __tablename__ = "experiment_trials"
    __table_args__ = (UniqueConstraint("experiment_id", "trial_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    trial_id: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16))
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")
    seed: Mapped[int] = mapped_column(Integer)
    host: Mapped[str] = mapped_column(String(256), default="")
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    location: Mapped[str] = mapped_column(String(1024))  # relative to the project root
    started_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class ModelRow(Base):
    """One version of a registered model; its files are ``location`` (Models/<name>/<v>)."""

    __tablename__ = "models"
    __table_args__ = (UniqueConstraint("project_id", "name", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(63))
    version: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text, default="")
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    signature: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    trial_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    training_datasets: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    location: Mapped[str] = mapped_column(String(1024))  # relative to the project root
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class TrainingDatasetRow(Base):
    """One version of a training dataset; its files are the split folders under ``location``."""

    __tablename__ = "training_datasets"
    __table_args__ = (UniqueConstraint("project_id", "name", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(63))
    version: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text, default="")
    data_format: Mapped[str] = mapped_column(String(16))
    # {"train": 0.8, "test": 0.2}, or None for one unsplit set of files
    splits: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    split_sizes: Mapped[dict[str, Any]] = mapped_column(JSON)  # rows per split ("" when unsplit)
    seed: Mapped[int] = mapped_column(Integer)  # 0 <= seed < 2**31
    label: Mapped[list[str]] = mapped_column(JSON)
    primary_key: Mapped[list[str]] = mapped_column(JSON)  # the split key; [] hashes whole rows
    statistics_config: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # one {"name", "type", "kind", "shape", "nullable", "label"} per column, in column order
    features: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # the feature groups it was built from: [{"name", "version", "commit_id"}]
    provenance: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    location: Mapped[str] = mapped_column(String(1024))  # relative to the project root
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class ExpectationRow(Base):
    """A named set of validation rules on features; attached to feature groups to gate inserts."""

    __tablename__ = "expectations"
    __table_args__ = (UniqueConstraint("project_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(63))
    description: Mapped[str] = mapped_column(Text, default="")
    features: Mapped[list[str]] = mapped_column(JSON)
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # Rule.to_dict() each
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class ExpectationAttachmentRow(Base):
    """An expectation attached to one feature group version."""

    __tablename__ = "feature_group_expectations"
    feature_group_id: Mapped[int] = mapped_column(
        ForeignKey("feature_groups.id", ondelete="CASCADE"), primary_key=True
    )
    expectation_id: Mapped[int] = mapped_column(
        ForeignKey("expectations.id", ondelete="CASCADE"), primary_key=True
    )
    attached_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ValidationTypeRow(Base):
    """How inserts into a feature group version are validated: STRICT, WARNING, ALL or NONE
    (a table of its own, so that feature_groups needs no migration)."""

    __tablename__ = "feature_group_validation_types"
    feature_group_id: Mapped[int] = mapped_column(
        ForeignKey("feature_groups.id", ondelete="CASCADE"), primary_key=True
    )
    validation_type: Mapped[str] = mapped_column(String(16))


class ValidationRow(Base):
    """One validation report of an insert. ``feature_group_id`` is None while the group is
    unsaved (its first save was rejected); registering the group adopts such reports."""

    __tablename__ = "validations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    feature_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("feature_groups.id", ondelete="CASCADE"), nullable=True, index=True
    )
    feature_group_name: Mapped[str] = mapped_column(String(63))
    feature_group_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    validation_time: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(16))
    ingested: Mapped[bool] = mapped_column(Boolean, default=False)
    # the Delta version the insert was to commit (the table's version + 1 when validated)
    expected_commit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))


class ServingRow(Base):
    """A model serving: which model version it serves, how, and where it logs its requests.
    What runs (supervisor, ports, instances) is in the project's ``.servings/<name>/``."""

    __tablename__ = "servings"
    __table_args__ = (UniqueConstraint("project_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(63))
    model_name: Mapped[str] = mapped_column(String(63))
    model_version: Mapped[int] = mapped_column(Integer)
    model_server: Mapped[str] = mapped_column(String(16))  # tensorflow | python
    instances: Mapped[int] = mapped_column(Integer, default=1)
    batching: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    inference_logging: Mapped[bool] = mapped_column(Boolean, default=True)
    # the fraction of successful requests logged (failed ones always are)
    log_sampling: Mapped[float] = mapped_column(Float, default=1.0, server_default="1.0")
    topic: Mapped[str] = mapped_column(String(255))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class ConsumerOffsetRow(Base):
    """A consumer group's committed position in one partition of an inference log topic
    (the next offset it will read)."""

    __tablename__ = "consumer_offsets"
    __table_args__ = (UniqueConstraint("project_id", "topic", "group_id", "partition"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    topic: Mapped[str] = mapped_column(String(255))
    group_id: Mapped[str] = mapped_column(String(255))
    partition: Mapped[int] = mapped_column(Integer)
    next_offset: Mapped[int] = mapped_column(Integer)
    committed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
