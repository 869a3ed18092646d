"""`cogov dashboard [SCENARIO] [--port N] [--host H]`: serve the interactive page and print its
address. Needs the `viz` extra (`pip install 'cogov[viz]'`)."""

from __future__ import annotations

import json
import os
import socket
import sys
import warnings

from ..argtypes import port_arg
from ..errors import UserError
from ..resources import add_args as add_resource_args

VIZ_HINT = ("the dashboard needs the `viz` extra: pip install -e '.[viz]' "
            "(solara, solara-assets, altair, networkx)")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on `host` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def check_host(host: str) -> None:
    """`UserError` when `host` is not an address of this machine that can be listened on."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        raise UserError(f"--host {host}: not an address this machine can listen on (cannot "
                        f"resolve it: {exc}): use 127.0.0.1 (this machine only), 0.0.0.0 (every "
                        f"interface) or one of this machine's addresses") from None
    family, _, _, _, addr = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        try:
            s.bind((addr[0], 0))
        except OSError as exc:
            raise UserError(f"--host {host}: not an address of this machine ({exc.strerror}): "
                            f"use 127.0.0.1, 0.0.0.0 or one of this machine's "
                            f"addresses") from None


def check_port(host: str, port: int) -> None:
    """`UserError` when `port` is taken on `host` (before the server says it less clearly)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise UserError(f"--port {port}: cannot listen on {host}:{port} ({exc.strerror}): "
                            f"choose another port, or --port 0 for any free one") from None


def _check_viz() -> None:
    missing = []
    for mod in ("solara", "mesa.visualization"):
        try:
            __import__(mod)
        except ImportError as exc:
            missing.append(f"{mod} ({exc})")
    if missing:
        raise UserError(f"{VIZ_HINT}; cannot import {', '.join(missing)}")


def serve(scenario, overrides, host: str, port: int, save_dir: str | None,
          announce=print, max_memory=None, force: bool = False) -> int:
    """Validate the scenario, then run the solara server in this process until interrupted."""
    from types import SimpleNamespace

    from ..resources import guard
    from .model import default_scenario, load_base

    check_host(host)
    if port:
        check_port(host, port)
    path = scenario or default_scenario()
    base = load_base(path, overrides, save_dir)  # every problem listed, exit 2, no server
    guard(base.scenario, SimpleNamespace(max_memory=max_memory, force=force), str(path))
    os.environ["COGOV_DASHBOARD_SCENARIO"] = str(base.path)
    os.environ["COGOV_DASHBOARD_SET"] = json.dumps(list(overrides))
    if save_dir:
        os.environ["COGOV_DASHBOARD_SAVE_DIR"] = str(save_dir)
    # solara reads these at import: no telemetry, no version check (closed networks)
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    os.environ.setdefault("SOLARA_CHECK_HOOKS", "off")
    _check_viz()
    from solara.__main__ import run as solara_run

    from . import app  # import and warm up now, so the first page opens quickly

    app.base_from_env.cache_clear()
    warm = app.base_from_env()
    app.page_css(warm)
    app.initial_params(warm)

    import click

    if port:
        check_port(host, port)
    else:
        port = free_port(host)
    # plain-http localhost: solara's note about https-only cookies is not for us
    warnings.filterwarnings("ignore", message="Cookies with samesite=none")
    url = f"http://{host}:{port}/"
    announce(f"cogov dashboard: scenario {base.scenario.name!r} ({base.path}) at {url} "
             f"(Ctrl-C to stop)")
    sys.stdout.flush()
    try:
        solara_run.main(["sim.dashboard.app", "--host", host, "--port", str(port),
                         "--production", "--no-open", "--no-check-version",
                         "--log-level-uvicorn", "warning"], standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt):
        pass  # Ctrl-C: the server has shut down
    announce("cogov dashboard: stopped")
    return 0


def cmd_dashboard(args) -> int:
    return serve(args.scenario, args.overrides, args.host, args.port, args.save_dir,
                 max_memory=args.max_memory, force=args.force)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "dashboard", help="interactive page: watch a scenario run, move the levers, save as "
                          "scenario (needs the viz extra)",
        description="Serve an interactive page (Mesa SolaraViz) on a local port and print its "
                    "address: a map of streets and grids, live charts, levers bound to the "
                    "scenario schema, and 'save as scenario'.")
    p.add_argument("scenario", nargs="?", default=None,
                   help="scenario YAML file (default: scenarios/baohe_after.yaml)")
    p.add_argument("--port", type=port_arg, default=8765, help="port (default 8765; 0 = any free)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1, this machine only)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                   help="override any scenario field by its dotted path (repeatable)")
    p.add_argument("--save-dir", default=None,
                   help="folder for 'save as scenario' (default: dashboard-scenarios/)")
    add_resource_args(p)
    p.set_defaults(func=cmd_dashboard)
