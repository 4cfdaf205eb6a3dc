"""Result views for notebooks: HTML where a notebook renders it, aligned text everywhere else.

Magics and notebooks-as-jobs return these so that a result reads well in JupyterLab, in a
papermill output and in an nbconvert export alike.
"""

from __future__ import annotations

from eolab.widgets.tables import Highlighted, Properties, Stack, Table

__all__ = ["Highlighted", "Properties", "Stack", "Table"]
