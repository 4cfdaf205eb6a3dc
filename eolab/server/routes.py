"""The URL map of the REST API, with what each operation takes and returns.

This table is the single source of both the tornado routes and the OpenAPI document, and a
test checks that every handler method is documented here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pydantic import BaseModel

from eolab.server import models as m
from eolab.server.base import API_PREFIX, ApiHandler
from eolab.server.handlers import datasets, platform, projects, search, validation
from eolab.server.handlers import experiments as exps
from eolab.server.handlers import featurestore as fs
from eolab.server.handlers import serving as sv
from eolab.server.handlers import training_datasets as tds


@dataclass(frozen=True)
class Op:
    summary: str
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    query: tuple[str, ...] = ()
    content: str = "application/json"  # request body media type
    error: type[BaseModel] = m.ErrorResponse  # the body of its 4xx/5xx answers


@dataclass(frozen=True)
class Route:
    template: str  # e.g. /projects/{project}/datasets; {path} matches several segments
    handler: type[ApiHandler]
    ops: dict[str, Op] = field(default_factory=dict)
    tag: str = "platform"

    @property
    def pattern(self) -> str:
        regex = re.sub(r"/\{path\}", r"(?:/(?P<path>.*))?", self.template)
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", regex)
        return API_PREFIX + regex + "/?"


FG = "/projects/{project}/featurestore/featuregroups"
FGV = FG + "/{name}/versions/{v}"
TD = "/projects/{project}/featurestore/trainingdatasets"
TDV = TD + "/{name}/versions/{v}"
SERVINGS = "/projects/{project}/servings"
EXP = "/projects/{project}/experiments"

ROUTES: list[Route] = [
    Route("/whoami", platform.WhoAmIResource, {"get": Op("The caller", response=m.WhoAmI)}),
    Route(
        "/users",
        platform.UsersResource,
        {
            "get": Op("List users", response=m.ListUsersResponse),
            "post": Op("Create a user (admin)", m.CreateUser, m.DescribeUser, 201),
        },
    ),
    Route(
        "/apikeys",
        platform.ApiKeysResource,
        {
            "get": Op(
                "The caller's API keys, or a project's (its data owner)",
                response=m.ListApiKeysResponse,
                query=("project",),
            ),
            "post": Op("Create an API key", m.CreateApiKey, m.CreateApiKeyResponse, 201),
        },
    ),
    Route(
        "/apikeys/{prefix}",
        platform.ApiKeyResource,
        {"delete": Op("Revoke an API key", response=m.DescribeApiKey)},
    ),
    Route(
        "/tagschemas",
        platform.TagSchemasResource,
        {
            "get": Op("List tag schemas", response=m.ListTagSchemasResponse),
            "post": Op("Create a tag schema (admin)", m.CreateTagSchema, m.DescribeTagSchema, 201),
        },
        tag="tags",
    ),
    Route(
        "/tagschemas/{name}",
        platform.TagSchemaResource,
        {"get": Op("Describe a tag schema", response=m.DescribeTagSchema)},
        tag="tags",
    ),
    Route(
        "/search",
        search.SearchResource,
        {
            "get": Op(
                "Search everything the caller may see",
                response=m.SearchResponse,
                query=("term", "scope", "project", "limit", "offset"),
            )
        },
        tag="search",
    ),
    Route(
        "/projects",
        projects.ProjectsResource,
        {
            "get": Op("List the caller's projects", response=m.ListProjectsResponse),
            "post": Op("Create a project", m.CreateProject, m.DescribeProject, 201),
        },
        tag="projects",
    ),
    Route(
        "/projects/{project}",
        projects.ProjectResource,
        {
            "get": Op("Describe a project", response=m.DescribeProject),
            "delete": Op("Delete a project (data owner)", status=204, query=("confirm",)),
        },
        tag="projects",
    ),
    Route(
        "/projects/{project}/members",
        projects.MembersResource,
        {
            "get": Op("List members"),
            "post": Op("Add a member (data owner)", m.AddMember, m.DescribeMember, 201),
        },
        tag="projects",
    ),
    Route(
        "/projects/{project}/members/{user}",
        projects.MemberResource,
        {
            "put": Op("Change a member's role", m.UpdateMember, m.DescribeMember),
            "delete": Op("Remove a member", status=204),
        },
        tag="projects",
    ),
    Route(
        "/projects/{project}/search",
        search.SearchResource,
        {
            "get": Op(
                "Search within one project",
                response=m.SearchResponse,
                query=("term", "scope", "limit", "offset"),
            )
        },
        tag="search",
    ),
    Route(
        "/projects/{project}/datasets",
        datasets.DatasetsResource,
        {
            "get": Op("List datasets", response=m.ListDatasetsResponse),
            "post": Op("Create a dataset", m.CreateDataset, m.DescribeDataset, 201),
        },
        tag="datasets",
    ),
    Route(
        "/projects/{project}/datasets/{dataset}",
        datasets.DatasetResource,
        {
            "get": Op("Describe a dataset", response=m.DescribeDataset),
            "delete": Op("Delete a dataset and its files", status=204),
        },
        tag="datasets",
    ),
    Route(
        "/projects/{project}/datasets/{dataset}/files/{path}",
        datasets.FilesResource,
        {
            "get": Op(
                "List a folder, download a file, preview it (?preview=1) or see a raster's "
                "quick-look PNG (?quicklook=1&band=N)",
                response=m.ListFilesResponse,
                query=("preview", "lines", "quicklook", "band"),
            ),
            "put": Op(
                "Upload a file, whole or one chunk of a resumable upload",
                response=m.DescribeUpload,
                status=201,
                query=(
                    "upload_id",
                    "chunk_index",
                    "total_chunks",
                    "total_size",
                    "chunk_size",
                    "overwrite",
                ),
                content="application/octet-stream",
            ),
            "post": Op("mkdir, move or copy", m.FileOperation, m.DescribeFile, 201),
            "delete": Op("Remove a file or folder", status=204),
        },
        tag="datasets",
    ),
    Route(
        "/projects/{project}/uploads/{upload_id}",
        datasets.UploadResource,
        {"get": Op("Which chunks of an upload arrived (to resume)", response=m.DescribeUpload)},
        tag="datasets",
    ),
    Route(
        "/projects/{project}/tags/{path}",
        datasets.TagsResource,
        {
            "get": Op("Tags of a dataset or file", response=m.TagsResponse),
            "put": Op("Add or replace a tag", m.SetTag, m.TagsResponse),
            "delete": Op("Delete a tag", status=204, query=("schema",)),
        },
        tag="tags",
    ),
    # ---- feature store: feature groups ----
    Route(
        FG,
        fs.FeatureGroupsResource,
        {
            "get": Op(
                "List feature groups: versions, description, online, latest commit",
                response=m.ListFeatureGroupsResponse,
            )
        },
        tag="featurestore",
    ),
    Route(
        FG + "/{name}",
        fs.FeatureGroupResource,
        {
            "get": Op(
                "Every version of a feature group", response=m.ListFeatureGroupVersionsResponse
            )
        },
        tag="featurestore",
    ),
    Route(
        FGV,
        fs.FeatureGroupVersionResource,
        {
            "get": Op(
                "Describe a feature group version: features and key roles, row count, tags",
                response=m.DescribeFeatureGroup,
            ),
            "delete": Op(
                "Delete a feature group version (409 while a training dataset uses it, "
                "unless ?force=true)",
                status=204,
                query=("force",),
            ),
        },
        tag="featurestore",
    ),
    Route(
        FGV + "/commits",
        fs.FeatureGroupCommitsResource,
        {
            "get": Op(
                "Commits, newest first",
                response=m.ListCommitsResponse,
                query=("limit", "wallclock_time"),
            )
        },
        tag="featurestore",
    ),
    Route(
        FGV + "/statistics",
        fs.FeatureGroupStatisticsResource,
        {
            "get": Op(
                "Per-feature statistics (with histograms) of the latest commit, or of the last "
                "commit at or before ?commit_time=",
                response=m.DescribeFeatureGroupStatistics,
                query=("commit_time",),
            )
        },
        tag="featurestore",
    ),
    Route(
        FGV + "/preview",
        fs.FeatureGroupPreviewResource,
        {
            "get": Op(
                "The first ?n= rows (at most 1000), offline as of ?as_of= or ?online=true; "
                "array features as their length and first values",
                response=m.PreviewFeatureGroupResponse,
                query=("n", "as_of", "online"),
            )
        },
        tag="featurestore",
    ),
    Route(
        FGV + "/tags",
        fs.FeatureGroupTagsResource,
        {
            "get": Op("Tags of a feature group version", response=m.TagsResponse),
            "put": Op("Add or replace a tag", m.SetTag, m.TagsResponse),
            "delete": Op("Delete a tag", status=204, query=("schema",)),
        },
        tag="featurestore",
    ),
    # ---- feature store: training datasets ----
    Route(
        TD,
        tds.TrainingDatasetsResource,
        {
            "get": Op(
                "List training datasets: versions, description, format, rows",
                response=m.ListTrainingDatasetsResponse,
            )
        },
        tag="featurestore",
    ),
    Route(
        TD + "/{name}",
        tds.TrainingDatasetResource,
        {
            "get": Op(
                "Every version of a training dataset",
                response=m.ListTrainingDatasetVersionsResponse,
            )
        },
        tag="featurestore",
    ),
    Route(
        TDV,
        tds.TrainingDatasetVersionResource,
        {
            "get": Op(
                "Describe a training dataset version: format, splits and their sizes, features "
                "and shapes, label, seed, provenance (feature groups, versions, commits), tags",
                response=m.DescribeTrainingDataset,
            ),
            "delete": Op(
                "Delete a training dataset version and its files (its creator or a data owner)",
                status=204,
            ),
        },
        tag="featurestore",
    ),
    Route(
        TDV + "/statistics",
        tds.TrainingDatasetStatisticsResource,
        {
            "get": Op(
                "Per-feature statistics (with histograms) of one split (?split=, required when "
                "the dataset is split)",
                response=m.DescribeTrainingDatasetStatistics,
                query=("split",),
            )
        },
        tag="featurestore",
    ),
    Route(
        TDV + "/preview",
        tds.TrainingDatasetPreviewResource,
        {
            "get": Op(
                "The first ?n= rows (at most 1000) of ?split= (of every split when left out); "
                "array features as their length and first values",
                response=m.PreviewTrainingDatasetResponse,
                query=("split", "n"),
            )
        },
        tag="featurestore",
    ),
    Route(
        TDV + "/tags",
        tds.TrainingDatasetTagsResource,
        {
            "get": Op("Tags of a training dataset version", response=m.TagsResponse),
            "put": Op("Add or replace a tag", m.SetTag, m.TagsResponse),
            "delete": Op("Delete a tag", status=204, query=("schema",)),
        },
        tag="featurestore",
    ),
    # ---- feature store: expectations and validations ----
    Route(
        "/projects/{project}/featurestore/expectations",
        validation.ExpectationsResource,
        {
            "get": Op("List the project's expectations", response=m.ListExpectationsResponse),
            "post": Op(
                "Create an expectation (its rules are checked; 409 if the name exists)",
                m.CreateExpectation,
                m.DescribeExpectation,
                201,
            ),
        },
        tag="featurestore",
    ),
    Route(
        "/projects/{project}/featurestore/expectations/{name}",
        validation.ExpectationResource,
        {
            "get": Op("Describe an expectation", response=m.DescribeExpectation),
            "delete": Op("Delete an expectation (409 while attached)", status=204),
        },
        tag="featurestore",
    ),
    Route(
        FGV + "/expectations",
        validation.FeatureGroupExpectationsResource,
        {
            "get": Op(
                "The expectations attached to a feature group version, and its validation type",
                response=m.FeatureGroupExpectationsResponse,
            ),
            "post": Op(
                "Attach an expectation (its features and rule types are checked)",
                m.AttachExpectation,
                m.FeatureGroupExpectationsResponse,
            ),
            "put": Op(
                "Set the validation type: NONE, STRICT, WARNING or ALL",
                m.SetValidationType,
                m.FeatureGroupExpectationsResponse,
            ),
            "delete": Op("Detach ?expectation=NAME", status=204, query=("expectation",)),
        },
        tag="featurestore",
    ),
    Route(
        FGV + "/validations",
        validation.ValidationsResource,
        {
            "get": Op(
                "Validation reports of inserts, newest first (?limit=, default 20)",
                response=m.ListValidationsResponse,
                query=("limit",),
            ),
            "post": Op(
                "Validate the current data now (a dry run: the report is returned, not stored)",
                response=m.DescribeValidation,
            ),
        },
        tag="featurestore",
    ),
    # ---- experiments ----
    Route(
        EXP,
        exps.ExperimentsResource,
        {
            "get": Op(
                "Experiment runs, newest first or by the run metric ?sort= (?order=desc|asc; "
                "runs without it last), filtered by ?name=, ?state=, ?user=",
                response=m.ListExperimentsResponse,
                query=("name", "state", "user", "sort", "order"),
            )
        },
        tag="experiments",
    ),
    Route(
        EXP + "/{run}",
        exps.ExperimentResource,
        {
            "get": Op(
                "Describe a run: parameters, metrics, state, times, environment, code, training "
                "datasets, models produced, trials with their per-step curves, tags, TensorBoard",
                response=m.DescribeExperiment,
            )
        },
        tag="experiments",
    ),
    Route(
        EXP + "/{run}/trials/{trial}",
        exps.TrialResource,
        {
            "get": Op(
                "Describe a trial: parameters, metrics, per-step history, the last ?tail= lines "
                "(default 200) of stdout and stderr, artifacts",
                response=m.DescribeTrial,
                query=("tail",),
            )
        },
        tag="experiments",
    ),
    Route(
        EXP + "/{run}/tensorboard",
        exps.TensorBoardResource,
        {
            "post": Op(
                "Start TensorBoard over the run's trials (or reuse the running one); its URL",
                response=m.DescribeTensorBoard,
            ),
            "delete": Op("Stop the run's TensorBoard", status=204),
        },
        tag="experiments",
    ),
    Route(
        SERVINGS,
        sv.ServingsResource,
        {"get": Op("List the project's servings with status", response=m.ListServingsResponse)},
        tag="serving",
    ),
    Route(
        SERVINGS + "/{name}",
        sv.ServingResource,
        {
            "get": Op("Describe a serving: status, instances, ports", response=m.DescribeServing),
            "put": Op(
                "Create or update a serving (a running one switches one instance at a time)",
                m.CreateOrUpdateServing,
                m.DescribeServing,
            ),
            "post": Op(
                "?action=start (waits for every instance) or ?action=stop",
                response=m.DescribeServing,
                query=("action",),
            ),
            "delete": Op("Stop and delete a serving (its logs are kept)", status=204),
        },
        tag="serving",
    ),
    Route(
        SERVINGS + "/{name}/inferencelog",
        sv.InferenceLogResource,
        {
            "get": Op(
                "Decoded inference log records, oldest first: ?from_offset= in every partition, "
                "else the last ?limit= (default 100)",
                response=m.ListInferenceLogResponse,
                query=("from_offset", "limit"),
            )
        },
        tag="serving",
    ),
    Route(
        SERVINGS + "/{name}/logs",
        sv.ServingLogsResource,
        {
            "get": Op(
                "The last ?tail= lines (1..10000, default 200) of the serving's own log file "
                "?source= supervisor (default) or instance-<i>, and the sources there are",
                response=m.DescribeServingLogs,
                query=("source", "tail"),
            )
        },
        tag="serving",
    ),
    Route(
        SERVINGS + "/{name}/monitoring",
        sv.MonitoringResource,
        {
            "get": Op(
                "Request rate, errors, latency percentiles, prediction histogram over the last "
                "?limit= (default 1000) logged requests; input drift (PSI) per feature against "
                "?reference= a training dataset (?version=, default its latest)",
                response=m.DescribeMonitorReport,
                query=("limit", "reference", "version"),
            )
        },
        tag="serving",
    ),
    *(
        Route(
            f"/projects/{{project}}/inference/models/{{name}}:{verb}",
            sv.InferenceResource,
            {
                "post": Op(
                    f"TF Serving {verb} through the serving's proxy (errors in TF Serving's "
                    '{"error": "..."} format)',
                    m.InferenceRequest,
                    m.InferenceResponse,
                    error=m.TFServingError,
                )
            },
            tag="inference",
        )
        for verb in ("predict", "classify", "regress")
    ),
]
