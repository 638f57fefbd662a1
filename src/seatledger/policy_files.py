"""Policy files: read a policy (or overrides) from YAML, TOML or JSON, and resolve a preset.

This is the I/O edge of the seat policy: it parses, ``seatledger.domain.policy`` validates. Values
are kept exactly as the parser gives them, so a price written as a bare number with decimals
(``seat_price: 99.00``) arrives as a float and is refused by the domain with the key named;
quoting it (``"99.00"``) keeps it exact.

Every problem with a file is an ``InvalidInput`` whose field is the file's path and whose rule says
what is wrong and where: ``policy.yaml: is not valid YAML: mapping values are not allowed here
(line 3, column 9)``.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode

from seatledger.domain.errors import InvalidInput
from seatledger.domain.policy import Policy, merge_policy, policy_from_mapping
from seatledger.presets import load_preset

_FORMATS = {".yaml": "YAML", ".yml": "YAML", ".toml": "TOML", ".json": "JSON"}
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key written twice in one mapping (it would keep the last)."""


def _construct_mapping(loader: _StrictLoader, node: MappingNode) -> dict[Any, Any]:
    seen: set[object] = set()
    for key_node, _ in node.value:
        if key_node.tag == _MERGE_TAG:
            continue  # "<<: *defaults" then overriding a key is YAML's own way to override
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in seen
        except TypeError:
            continue  # an unhashable key: construct_mapping below refuses it with its position
        if duplicate:
            raise ConstructorError(
                None, None, f"the key {key!r} is written twice", key_node.start_mark
            )
        seen.add(key)
    loader.flatten_mapping(node)
    return dict(loader.construct_mapping(node, deep=True))


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _reject_duplicate_json_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"the key {key!r} is written twice")
        result[key] = value
    return result


def _parse(text: str, kind: str) -> Any:
    """``text`` parsed as ``kind``; a parse error becomes a ``ValueError`` saying where."""
    if kind == "YAML":
        try:
            return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 (a safe loader)
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
            raise ValueError(f"{error.problem or error.context}{where}") from None
        except yaml.YAMLError as error:
            raise ValueError(str(error)) from None
    if kind == "TOML":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise ValueError(str(error)) from None
    try:
        return json.loads(text, object_pairs_hook=_reject_duplicate_json_keys)
    except json.JSONDecodeError as error:
        raise ValueError(f"{error.msg} (line {error.lineno}, column {error.colno})") from None


def load_policy_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The mapping in the policy file at ``path``: YAML (``.yaml``/``.yml``), TOML or JSON.

    The mapping may be a complete policy or overrides for a preset; nothing is validated here
    beyond the file holding a mapping (an empty YAML file is an empty mapping). Numbers keep the
    type the parser gave them: ``seat_price: 9.99`` stays a float, which ``policy_from_mapping``
    refuses. Any problem raises ``InvalidInput`` with the path as its field, e.g.
    ``plan.json: is not valid JSON: Expecting ',' delimiter (line 2, column 3)``.
    """
    where = str(path)
    kind = _FORMATS.get(Path(path).suffix.lower())
    if kind is None:
        raise InvalidInput(where, "must be a .yaml, .yml, .toml or .json file")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(where, "cannot be read: it is not UTF-8 text") from None
    except OSError as error:
        raise InvalidInput(where, f"cannot be read: {error.strerror or error}") from None
    try:
        data = _parse(text, kind)
    except ValueError as error:
        raise InvalidInput(where, f"is not valid {kind}: {error}") from None
    if data is None and kind == "YAML":
        return {}
    if not isinstance(data, dict):
        raise InvalidInput(
            where, f"must hold a mapping of policy keys, not a {type(data).__name__}"
        )
    return data


def resolve_policy(preset: str | None, overrides: Mapping[str, Any] | None = None) -> Policy:
    """The validated policy: preset ``preset`` with ``overrides`` laid over it key by key.

    Nested tables merge (``{"proration": {"unit": "second"}}`` keeps the preset's other proration
    keys); without a preset, ``overrides`` must be a complete policy. An unknown preset raises
    ``NotFound(kind="preset")``; an invalid result raises ``InvalidInput`` naming the key.
    Example: ``resolve_policy("reviewer-pro", {"min_seats": 3}).min_seats`` is 3.
    """
    if overrides is not None and not isinstance(overrides, Mapping):
        raise InvalidInput("policy", "must be a mapping of policy keys")
    base = load_preset(preset) if preset is not None else {}
    return policy_from_mapping(merge_policy(base, overrides or {}))
