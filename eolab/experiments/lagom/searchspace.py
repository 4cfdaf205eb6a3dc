"""The hyperparameters a lagom search explores: maggy's ``Searchspace``.

sp = Searchspace(kernel=("INTEGER", [3, 4]), pool=("INTEGER", [2, 3]))
sp.add("dropout", ("DOUBLE", [0.1, 0.5]))
sp.add("activation", ("CATEGORICAL", ["relu", "elu"]))

DOUBLE and INTEGER take ``[low, high]`` bounds (both ends included, low < high); DISCRETE takes
numbers and CATEGORICAL any JSON scalars, each a non-empty list of distinct values. Every value
travels to the workers as JSON, so that a trial's parameters are readable and reproducible.
"""

from __future__ import annotations

import itertools
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from eolab.errors import InvalidInput

DOUBLE = "DOUBLE"
INTEGER = "INTEGER"
DISCRETE = "DISCRETE"
CATEGORICAL = "CATEGORICAL"
TYPES = (DOUBLE, INTEGER, DISCRETE, CATEGORICAL)
# names the search gives train_fn itself: a hyperparameter may not take them
RESERVED = ("reporter", "budget", "dataset_function", "model_function")
MAX_GRID = 10_000


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class Hyperparameter:
    """One dimension of a search space: its name, type and bounds or values."""

    name: str
    type: str
    values: tuple[Any, ...]

    @property
    def low(self) -> Any:
        return self.values[0]

    @property
    def high(self) -> Any:
        return self.values[-1]

    def sample(self, rng: random.Random) -> Any:
        """A value drawn uniformly (bounds included)."""
        if self.type == DOUBLE:
            return rng.uniform(self.low, self.high)
        if self.type == INTEGER:
            return rng.randint(self.low, self.high)
        return rng.choice(self.values)

    def grid_values(self) -> list[Any]:
        """Every value, for grid search (a DOUBLE range has no finite grid)."""
        if self.type == DOUBLE:
            raise InvalidInput(
                f"gridsearch needs countable hyperparameters; {self.name!r} is DOUBLE "
                f"[{self.low}, {self.high}]: give it as DISCRETE values, or use randomsearch, "
                "tpe or gp"
            )
        if self.type == INTEGER:
            return list(range(self.low, self.high + 1))
        return list(self.values)

    def to_list(self) -> list[Any]:
        return [self.type, list(self.values)]


def _check(name: Any, spec: Any) -> Hyperparameter:
    if not isinstance(name, str) or not name.isidentifier():
        raise InvalidInput(
            f"a hyperparameter name is a Python identifier (train_fn gets it as a keyword), "
            f"got {name!r}"
        )
    if name in RESERVED:
        raise InvalidInput(
            f"{name!r} is given to train_fn by lagom itself; name the hyperparameter otherwise"
        )
    if not isinstance(spec, list | tuple) or len(spec) != 2:
        raise InvalidInput(
            f"hyperparameter {name!r} is (TYPE, values) with TYPE one of {', '.join(TYPES)}, "
            f"got {spec!r}"
        )
    kind, values = spec
    if not isinstance(kind, str) or kind.upper() not in TYPES:
        raise InvalidInput(
            f"hyperparameter {name!r}: the type must be one of {', '.join(TYPES)}, got {kind!r}"
        )
    kind = kind.upper()
    if not isinstance(values, list | tuple):
        raise InvalidInput(
            f"hyperparameter {name!r} ({kind}) needs a list of values, got {values!r}"
        )
    values = tuple(values)
    if kind in (DOUBLE, INTEGER):
        number = "integers" if kind == INTEGER else "numbers"
        ok = len(values) == 2 and all(
            isinstance(v, int) and not isinstance(v, bool) if kind == INTEGER else _is_number(v)
            for v in values
        )
        if not ok:
            raise InvalidInput(
                f"hyperparameter {name!r} ({kind}) takes [low, high], two {number}; got "
                f"{list(values)!r}"
            )
        if not values[0] < values[1]:
            raise InvalidInput(
                f"hyperparameter {name!r} ({kind}): bounds must be [low, high] with low < high, "
                f"got {list(values)!r}" + (" (reversed?)" if values[0] > values[1] else "")
            )
        if kind == DOUBLE:
            values = (float(values[0]), float(values[1]))
        return Hyperparameter(name, kind, values)
    if not values:
        raise InvalidInput(f"hyperparameter {name!r} ({kind}) needs at least one value, got []")
    if kind == DISCRETE and not all(_is_number(v) for v in values):
        raise InvalidInput(
            f"hyperparameter {name!r} (DISCRETE) takes numbers; use CATEGORICAL for other "
            f"values, got {list(values)!r}"
        )
    for value in values:
        if not (value is None or isinstance(value, str | bool) or _is_number(value)):
            raise InvalidInput(
                f"hyperparameter {name!r} ({kind}): values are numbers, strings, booleans or "
                f"None (they travel as JSON), got {value!r}"
            )
    if len({json.dumps(v) for v in values}) != len(values):
        raise InvalidInput(f"hyperparameter {name!r} ({kind}) repeats a value: {list(values)!r}")
    return Hyperparameter(name, kind, values)


class Searchspace:
    """Named hyperparameters with their type and range; ``add`` more after creating it."""

    def __init__(self, **hyperparameters: Any) -> None:
        self._params: dict[str, Hyperparameter] = {}
        for name, spec in hyperparameters.items():
            self.add(name, spec)

    def add(self, name: str, spec: tuple[str, list[Any]]) -> Searchspace:
        """Add ``name`` as ``(TYPE, values)``; returns the space, so that calls chain."""
        param = _check(name, spec)
        if param.name in self._params:
            raise InvalidInput(f"hyperparameter {name!r} is already in the search space")
        self._params[param.name] = param
        return self

    @classmethod
    def parse(cls, text: str) -> Searchspace:
        """``"lr=DOUBLE[0.0001,0.01] kernel=INTEGER[3,4] act=CATEGORICAL[relu,elu]"``
        (the ``%%eo lagom --searchspace`` form); values are JSON, else strings."""
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput("the search space is empty: give NAME=TYPE[values] ...")
        space = cls()
        rest = text
        pattern = re.compile(r"\s*([A-Za-z_]\w*)\s*=\s*([A-Za-z]+)\s*\[([^\]]*)\]\s*,?")
        while rest.strip():
            match = pattern.match(rest)
            if match is None:
                raise InvalidInput(
                    f"cannot read the search space at {rest.strip()[:40]!r}: expected "
                    "NAME=TYPE[v1,v2,...], e.g. lr=DOUBLE[0.0001,0.01]"
                )
            name, kind, inner = match.groups()
            values = [_parse_value(v) for v in inner.split(",") if v.strip()]
            space.add(name, (kind, values))
            rest = rest[match.end() :]
        return space

    def names(self) -> list[str]:
        return list(self._params)

    def get(self, name: str) -> Hyperparameter:
        if name not in self._params:
            raise InvalidInput(f"no hyperparameter {name!r} in the search space {self.names()}")
        return self._params[name]

    def __iter__(self) -> Iterator[Hyperparameter]:
        return iter(self._params.values())

    def __len__(self) -> int:
        return len(self._params)

    def __contains__(self, name: object) -> bool:
        return name in self._params

    def sample(self, rng: random.Random) -> dict[str, Any]:
        """One point drawn uniformly from every dimension."""
        return {p.name: p.sample(rng) for p in self}

    def grid(self) -> list[dict[str, Any]]:
        """Every combination (the last hyperparameter varies fastest)."""
        axes = [p.grid_values() for p in self]
        count = 1
        for axis in axes:
            count *= len(axis)
        if count > MAX_GRID:
            raise InvalidInput(f"the grid has {count} combinations; at most {MAX_GRID}")
        return [dict(zip(self.names(), combo, strict=True)) for combo in itertools.product(*axes)]

    def to_dict(self) -> dict[str, list[Any]]:
        """``{name: [TYPE, values]}``, as recorded with the run."""
        return {p.name: p.to_list() for p in self}

    def __repr__(self) -> str:
        inner = ", ".join(f"{p.name}=({p.type!r}, {list(p.values)!r})" for p in self)
        return f"Searchspace({inner})"


def _parse_value(text: str) -> Any:
    text = text.strip()
    try:
        return json.loads(text)
    except ValueError:
        return text.strip("'\"")
