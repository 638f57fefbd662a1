"""Presets: one complete seat policy per seed product, shipped as YAML beside this module.

Each ``<name>.yaml`` here is a preset named ``<name>`` and opens with a comment naming the seed
article it encodes. ``load_preset`` returns the raw mapping, exactly as written, ``preset_policy``
the validated ``Policy``, ``preset_text`` the file itself, comments included; overrides are laid
over a preset by ``seatledger.policy_files.resolve_policy``. The files are read through
``importlib.resources``, so they are found wherever the package is installed.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

import yaml

from seatledger.domain.errors import InvalidInput, NotFound
from seatledger.domain.policy import Policy, policy_from_mapping

_SUFFIX = ".yaml"


def preset_names() -> list[str]:
    """The names of the shipped presets, sorted: ``["plaky", "rallly-pro", ...]``."""
    return sorted(
        entry.name.removesuffix(_SUFFIX)
        for entry in files(__name__).iterdir()
        if entry.name.endswith(_SUFFIX) and entry.is_file()
    )


def preset_text(name: str) -> str:
    """The YAML file of preset ``name`` as written, comments included; ``NotFound`` otherwise."""
    # Checked against the listing, so a name can never reach outside this package ("../x").
    if name not in preset_names():
        raise NotFound(kind="preset", key=name)
    return files(__name__).joinpath(name + _SUFFIX).read_text(encoding="utf-8")


def load_preset(name: str) -> dict[str, Any]:
    """The raw policy mapping of preset ``name``; ``NotFound(kind="preset")`` for any other name.

    A fresh mapping on each call, so a caller may change it freely.
    """
    data = yaml.safe_load(preset_text(name))
    if not isinstance(data, dict):
        raise InvalidInput(f"preset {name}", "must hold a mapping of policy keys")
    return data


def preset_policy(name: str) -> Policy:
    """Preset ``name`` as a validated ``Policy``, without overrides."""
    return policy_from_mapping(load_preset(name))
