"""The curl session of the README, replayed against the real app: what a newcomer pastes works.

Each command of the README's session is read as the shell would (continuations joined, variables
substituted, quotes split), sent through the ASGI app instead of the network, and its answer
compared with the ``# => STATUS {...}`` line under it: the status, the ``code`` when the line
names one, and every key the line quotes. ``VAR=$(curl ... | json '[...]')`` keeps the value the README's ``json`` helper would
print.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

from api_helpers import TestClient

README = Path(__file__).resolve().parents[2] / "README.md"
CAPTURE = re.compile(r"^(\w+)=\$\((curl .*) \| json '(.*)'\)$")
ASSIGN = re.compile(r"^(\w+)=(.*)$")
EXPECT = re.compile(r"^# => (\d{3})\b(.*)$")
VARIABLE = re.compile(r"\$\{?(\w+)\}?")
KEY = re.compile(r"\[(\"[^\"]*\"|\d+)\]")


def session() -> list[str]:
    """The logical lines of the session: the sh block of "The HTTP API" section."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## The HTTP API", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line.strip() for line in block.replace("\\\n", " ").splitlines() if line.strip()]


def substitute(text: str, variables: dict[str, str]) -> str:
    return VARIABLE.sub(lambda m: variables.get(m.group(1), m.group(0)), text)


def pick(document: Any, path: str) -> str:
    """What ``json '<path>'`` prints: ``["a"][0]["b"]`` applied to the document."""
    for key in KEY.findall(path):
        document = document[json.loads(key)]
    return str(document)


def keys_in(document: Any) -> set[str]:
    if isinstance(document, dict):
        return set(document) | {k for value in document.values() for k in keys_in(value)}
    if isinstance(document, list):
        return {k for item in document for k in keys_in(item)}
    return set()


def send(client: TestClient, command: str, variables: dict[str, str]) -> Any:
    args = shlex.split(substitute(command, variables))
    assert args[0] == "curl"
    method, headers, data, url = None, {}, None, None
    words = iter(args[1:])
    for word in words:
        if word == "-s":
            continue
        if word == "-w":  # what curl prints after the body: nothing the API sees
            next(words)
            continue
        if word == "-X":
            method = next(words)
        elif word == "-H":
            name, _, value = next(words).partition(":")
            headers[name.strip()] = value.strip()
        elif word == "-d":
            data = next(words)
        else:
            url = word
    assert url is not None and url.startswith(variables["API"])
    return client.request(
        method or ("POST" if data is not None else "GET"),
        url.removeprefix(variables["API"]),
        headers=headers,
        content=data,
    )


def test_the_readme_session_runs_as_written(client: TestClient) -> None:
    lines = session()
    variables: dict[str, str] = {}
    last = None
    checked: list[tuple[int, str | None]] = []
    for line in lines:
        if expectation := EXPECT.match(line):
            assert last is not None, f"an expectation with no command before it: {line}"
            status, shown = int(expectation.group(1)), expectation.group(2)
            assert last.status_code == status, f"{line}\ngot {last.status_code} {last.text}"
            code = re.search(r'"code": "(\w+)"', shown)
            if code:
                assert last.json()["code"] == code.group(1)
            # Every key the README quotes is one the answer has.
            quoted = set(re.findall(r'"(\w+)":', shown))
            assert quoted <= keys_in(last.json()), quoted - keys_in(last.json())
            checked.append((status, code.group(1) if code else None))
        elif line.startswith("#") or line.startswith("json()"):
            continue
        elif capture := CAPTURE.match(line):
            response = send(client, capture.group(2), variables)
            assert response.status_code in (200, 201), response.text
            variables[capture.group(1)] = pick(response.json(), capture.group(3))
        elif assign := ASSIGN.match(line):
            variables[assign.group(1)] = substitute(assign.group(2).strip('"'), variables)
        else:
            last = send(client, line, variables)
    assert checked == [
        (200, None),
        (409, "seat_limit_reached"),
        (200, None),
        (200, None),
        (200, None),
    ]
    assert variables["KEY"].startswith("slk.")
    assert variables["WS"].startswith("ws_")
