"""The serving stack, measured: ``workers`` (uvicorn with two workers against one) and
``granian`` (Granian against uvicorn, both on uvloop, one worker each).

Both drive ``GET /api/users/me`` (and ``granian`` also ``/health``) with wrk, alternating the
two servers round by round (A B, B A, ...) after a warm-up, as the throughput scenarios of
``run.py`` do. Granian is not a dependency of the project: the ``granian`` scenario says so and
skips itself when it is not installed (``pip install granian``).
"""

import argparse
import importlib.util
from collections.abc import Awaitable, Callable
from pathlib import Path

from run import (
    Databases,
    Server,
    Tokens,
    WrkResult,
    log,
    median,
    run_wrk,
    verdict,
)

TARGET_WORKERS_SPEEDUP = 1.7
ME = "/api/users/me"


async def _alternate(
    servers: dict[str, Server], path: str, token: str | None, args: argparse.Namespace
) -> dict[str, list[WrkResult]]:
    """wrk against each server in turn, the order swapped every round."""
    options = {"connections": args.connections, "threads": args.threads}
    for server in servers.values():
        await run_wrk(server.port, path, token, duration=args.warmup, **options)
    runs: dict[str, list[WrkResult]] = {name: [] for name in servers}
    names = list(servers)
    for round_index in range(args.rounds):
        for name in names if round_index % 2 == 0 else names[::-1]:
            run = await run_wrk(servers[name].port, path, token, duration=args.duration, **options)
            runs[name].append(run)
            log(
                f"{path} round {round_index + 1} {name}: {run.rps:,.0f} req/s "
                f"p50 {run.p50_ms:.2f} ms errors {run.errors}"
            )
    return runs


def _line(label: str, runs: list[WrkResult]) -> str:
    return (
        f"  {label:<22} {median([r.rps for r in runs]):>9,.0f} req/s  "
        f"p50 {median([r.p50_ms for r in runs]):.2f} ms"
        f"{f'  ({sum(r.errors for r in runs)} errors)' if any(r.errors for r in runs) else ''}"
    )


async def _serving(servers: dict[str, Server]) -> None:
    for server in servers.values():
        await server.start()


async def run_workers(
    databases: Databases, database: str, workdir: Path, args: argparse.Namespace
) -> list[str]:
    """``--workers 2`` against ``--workers 1`` on ``/api/users/me``: the target is a 1.7x
    throughput on a 2-core machine (wrk and PostgreSQL share those cores)."""
    env = databases.env(database)
    servers = {
        "1 worker": Server("bo-1w", "bo_app:create_app", env, workdir, workers=1),
        "2 workers": Server("bo-2w", "bo_app:create_app", env, workdir, workers=2),
    }
    try:
        await _serving(servers)
        token = await Tokens(servers["1 worker"].port).get("user")
        runs = await _alternate(servers, ME, token, args)
    finally:
        for server in servers.values():
            await server.stop()
    one, two = (median([r.rps for r in runs[name]]) for name in servers)
    speedup = two / one if one else 0.0
    errors = sum(r.errors for results in runs.values() for r in results)
    ok = speedup >= TARGET_WORKERS_SPEEDUP and errors == 0
    per_round = ", ".join(
        f"{b.rps / a.rps:.2f}" for a, b in zip(runs["1 worker"], runs["2 workers"], strict=True)
    )
    return [
        f"Workers: GET {ME}, wrk -t{args.threads} -c{args.connections} "
        f"-d{args.duration:g}s, {args.rounds} alternating rounds (median)",
        *(_line(name, runs[name]) for name in servers),
        f"  2 workers / 1 worker: {speedup:.2f}x (target >= {TARGET_WORKERS_SPEEDUP}x)  "
        f"{verdict(ok)}",
        f"  per-round: {per_round}",
    ]


async def run_granian(
    databases: Databases, database: str, workdir: Path, args: argparse.Namespace
) -> list[str]:
    """Granian against uvicorn, one worker each, on ``/health`` and ``/api/users/me``: the
    figures behind the choice of server (no target)."""
    if importlib.util.find_spec("granian") is None:
        return ["Granian: not installed (pip install granian into the venv to compare)"]
    env = databases.env(database)
    servers = {
        "uvicorn": Server("bo-uvicorn", "bo_app:create_app", env, workdir),
        "granian": Server("bo-granian", "bo_app:create_app", env, workdir, runner="granian"),
    }
    lines = [
        f"Granian against uvicorn (both uvloop, 1 worker): wrk -t{args.threads} "
        f"-c{args.connections} -d{args.duration:g}s, {args.rounds} alternating rounds (median)"
    ]
    try:
        await _serving(servers)
        token = await Tokens(servers["uvicorn"].port).get("user")
        for path, path_token in (("/health", None), (ME, token)):
            runs = await _alternate(servers, path, path_token, args)
            rps = {name: median([r.rps for r in runs[name]]) for name in servers}
            ratio = rps["granian"] / rps["uvicorn"] if rps["uvicorn"] else 0.0
            lines += [
                f" {path}",
                *(_line(name, runs[name]) for name in servers),
                f"  granian / uvicorn: {ratio:.2f}x",
            ]
    finally:
        for server in servers.values():
            await server.stop()
    return lines


SCENARIOS: dict[str, Callable[[Databases, str, Path, argparse.Namespace], Awaitable[list[str]]]] = {
    "workers": run_workers,
    "granian": run_granian,
}
