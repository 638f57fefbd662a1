"""The suite's own layout: test folders are not packages, so pytest imports every test module by
its file name, and two modules of one name in different folders fail the whole run's collection
("import file mismatch") however green each is alone."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).parent


def test_every_test_module_has_a_name_of_its_own() -> None:
    names = Counter(path.name for path in TESTS.rglob("test_*.py"))

    assert [name for name, count in names.items() if count > 1] == []
