"""``seat_change_http_postgres``: invite-and-accept through the HTTP API against a minimal ASGI
app doing the raw baseline's writes per request, both served by uvicorn on loopback with the
same settings (1 and 2 worker processes) and driven by wrk (``bench/invite_accept.lua``).

The engine side is ``seatledger serve`` on a PostgreSQL database: an operation is the owner's
invitation and the invitee's acceptance, two requests with an account-wide API key made through
the service layer (``service/api_keys.py``). The baseline (``bench/http_baseline.py``) does
``seat_change.raw_invite_and_accept`` in one request. Both servers run at once and the load
alternates between them, ``runs`` times ``http_seconds`` each; each side has subscriptions of
its own, so neither pays for the members the other adds. The figure is ms per operation of
throughput (wrk's run time over the operations done) at ``CONNECTIONS`` connections; p50 / p99
are wrk's per request (the engine's requests are half an operation each).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.backends import Db, NoServer, database
from bench.harness import Result, Sizes, alternate_sides, median, not_measured, ratio
from bench.seat_change import oversold
from bench.world import new_subscription, with_workspace_id
from seatledger.clock import SystemClock
from seatledger.service import api_keys

NAME = "seat_change_http_postgres"
UNIT = "ms/op"
TARGET = "ratio >= 0.50"
WORKERS = (1, 2)
CONNECTIONS = 8
RUNS = 3
# Far more than any run can use: wrk runs for a time, not a number of operations.
SEATS = 100_000
START_SECONDS = 120
ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(__file__).resolve().parent / "invite_accept.lua"


def run(sizes: Sizes) -> Result:
    if shutil.which("wrk") is None:
        return not_measured(NAME, UNIT, TARGET, note="wrk is not installed (scripts/ensure-wrk)")
    try:
        with database("postgresql") as db:
            return _measure(db, sizes)
    except NoServer as exc:
        return not_measured(NAME, UNIT, TARGET, note=str(exc))


def _targets(db: Db, count: int, first: int, keyed: bool) -> list[dict[str, str]]:
    """``count`` subscriptions, as the Lua script takes them (with an account-wide key each
    when ``keyed``). Made on the system clock, as the server runs: on a manual clock in the
    past, each one's first request would bill every month since."""
    rt = db.runtime(SystemClock())
    raw = db.raw()
    out = []
    try:
        for i in range(first, first + count):
            sub = with_workspace_id(raw, new_subscription(rt, i, SEATS))
            target = {
                "account": sub.account_id,
                "sub": sub.subscription_id,
                "ws": sub.workspace_id,
                "workspace": sub.workspace,
                "owner": sub.owner,
            }
            if keyed:
                owner = api_keys.issue_operator_key(
                    rt, account_id=sub.account_id, email=sub.owner, name="bench owner"
                )
                caller = api_keys.authenticate(rt, token=owner.token, actor=None)
                assert caller is not None
                target["token"] = api_keys.create_api_key(rt, caller=caller, name="bench").token
            out.append(target)
    finally:
        raw.close()
        rt.dispose()
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _server(command: list[str], env: dict[str, str], probe: str, log: Path) -> Iterator[None]:
    """``command`` running in a session of its own until the block ends, its output in ``log``
    (a file: a pipe nobody reads would stall the server once full); ready once ``probe``
    answers 200."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"{NAME}: {command[0]} exited: {_tail(log)}")
            try:
                with urllib.request.urlopen(probe, timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{NAME}: {probe} did not answer in {START_SECONDS} s")
            time.sleep(0.5)
        yield
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _tail(log: Path) -> str:
    return log.read_text(encoding="utf-8", errors="replace")[-3000:]


def _script(folder: Path, targets: list[dict[str, str]], mode: str, tag: str) -> Path:
    rows = ", ".join(
        "{" + ", ".join(f"{k} = {json.dumps(v)}" for k, v in t.items()) + "}" for t in targets
    )
    text = SCRIPT.read_text(encoding="utf-8")
    text = text.replace("{TARGETS}", "{" + rows + "}").replace('"MODE"', json.dumps(mode))
    path = folder / f"{tag}.lua"
    path.write_text(text.replace('"TAG"', json.dumps(tag)), encoding="utf-8")
    return path


def _wrk(url: str, script: Path, seconds: int) -> dict[str, Any]:
    done = subprocess.run(
        ["wrk", "-t", str(CONNECTIONS), "-c", str(CONNECTIONS), "-d", f"{seconds}s",
         "--timeout", "30s", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"{NAME}: wrk failed: {done.stdout[-1000:]} {done.stderr[-1000:]}")
    report: dict[str, Any] = json.loads(lines[-1])
    if report["status_errors"] or report["socket_errors"] or not report["requests"]:
        raise SystemExit(f"{NAME}: requests failed: {report} {done.stderr[-1500:]}")
    return report


@dataclass
class _Side:
    """One server under load: where it listens, what the script sends, what wrk reported."""

    mode: str
    port: int
    targets: list[dict[str, str]]
    folder: Path
    seconds: int
    reports: list[dict[str, Any]] = field(default_factory=list)

    @property
    def log(self) -> Path:
        return self.folder / f"{self.mode}-{self.port}.log"

    def load(self, tag: str, seconds: int) -> dict[str, Any]:
        script = _script(self.folder, self.targets, self.mode, f"{self.mode}{tag}")
        try:
            return _wrk(f"http://127.0.0.1:{self.port}", script, seconds)
        except SystemExit as exc:
            raise SystemExit(f"{exc}\nserver log: {_tail(self.log)}") from None

    def run(self, i: int) -> float:
        """Seconds per operation of run ``i``."""
        report = self.load(f"{self.port}r{i}", self.seconds)
        self.reports.append(report)
        ops = int(report["requests"]) / (2 if self.mode == "engine" else 1)
        return int(report["duration_us"]) / 1e6 / ops

    def p(self, key: str) -> float:
        values = [r[key] for r in self.reports]
        return (median(values) if key == "p50_us" else max(values)) / 1000


def _commands(db: Db, workers: int, engine_port: int, raw_port: int) -> tuple[list[str], list[str]]:
    seatledger = str(Path(sys.executable).parent / "seatledger")
    engine = [seatledger, "serve", "--database", db.url, "--port", str(engine_port),
              "--workers", str(workers)]  # fmt: skip
    raw = [sys.executable, "-m", "uvicorn", "bench.http_baseline:app", "--host", "127.0.0.1",
           "--port", str(raw_port), "--workers", str(workers),
           "--timeout-worker-healthcheck", "60"]  # fmt: skip
    return engine, raw


def _measure(db: Db, sizes: Sizes) -> Result:
    count = sizes.http_subscriptions
    engine_targets = _targets(db, count, 0, keyed=True)
    raw_targets = _targets(db, count, count, keyed=False)
    cases: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="seatledger-bench-") as tmp:
        for workers in sizes.workers(WORKERS):
            engine = _Side("engine", _free_port(), engine_targets, Path(tmp), sizes.http_seconds)
            raw = _Side("raw", _free_port(), raw_targets, Path(tmp), sizes.http_seconds)
            engine_cmd, raw_cmd = _commands(db, workers, engine.port, raw.port)
            with (
                _server(engine_cmd, {}, f"http://127.0.0.1:{engine.port}/healthz", engine.log),
                _server(
                    raw_cmd, {"BENCH_RAW_URL": db.url}, f"http://127.0.0.1:{raw.port}/", raw.log
                ),
            ):
                # Warm-up: every worker process's first requests, its connections. Tagged by
                # port, as the runs are: each worker count invites people of its own.
                engine.load(f"{engine.port}warm", 1)
                raw.load(f"{raw.port}warm", 1)
                times = alternate_sides({"engine": engine.run, "raw": raw.run}, RUNS)
            engine_ms = median(times["engine"]) * 1000
            raw_ms = median(times["raw"]) * 1000
            cases[f"{workers} worker{'s' if workers > 1 else ''}"] = {
                "engine": engine_ms,
                "baseline": raw_ms,
                "ratio": ratio(raw_ms, engine_ms),
                "engine_requests": sum(r["requests"] for r in engine.reports),
                "baseline_requests": sum(r["requests"] for r in raw.reports),
                "engine_p50_per_request": engine.p("p50_us"),
                "engine_p99_per_request": engine.p("p99_us"),
                "baseline_p50": raw.p("p50_us"),
                "baseline_p99": raw.p("p99_us"),
            }
    con = db.raw()
    try:
        over = oversold(con)
    finally:
        con.close()
    if over:
        raise SystemExit(f"{NAME}: {over} subscriptions oversold")
    worst = min(cases, key=lambda label: cases[label]["ratio"])
    return Result(
        NAME,
        cases[worst]["engine"],
        cases[worst]["baseline"],
        UNIT,
        cases[worst]["ratio"],
        TARGET,
        extra={
            "worst": worst,
            "cases": cases,
            "connections": CONNECTIONS,
            "seconds_per_run": sizes.http_seconds,
            "runs": RUNS,
            "subscriptions_per_side": count,
            "oversold": over,
        },
    )
