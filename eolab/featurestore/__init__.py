"""The feature store: feature groups on Delta Lake, with hsfs names and semantics.

fs = project.get_feature_store()
fg = fs.get_or_create_feature_group("iceberg", version=1, primary_key=["id"])
fg.insert(df)
fg.read()
"""

from eolab.featurestore.feature_group import FeatureGroup, WriteResult
from eolab.featurestore.feature_store import FeatureStore, VersionWarning
from eolab.featurestore.filter import Filter, Logic
from eolab.featurestore.query import Query
from eolab.featurestore.schema import Feature
from eolab.featurestore.training_dataset import TrainingDataset

__all__ = [
    "Feature",
    "FeatureGroup",
    "FeatureStore",
    "Filter",
    "Logic",
    "Query",
    "TrainingDataset",
    "VersionWarning",
    "WriteResult",
]
