"""The gateway's ASGI app (``create_app``, the config in ``YARD_GATEWAY_CONFIG``) under another
HTTP server than `yard serve`'s, for ``transport.py``:

    YARD_GATEWAY_CONFIG=g.yaml python serve_with.py --server httptools --port 9200
    YARD_GATEWAY_CONFIG=g.yaml python serve_with.py --server granian --port 9200

``httptools``: uvicorn with its own httptools protocol (uvloop), every other option as `yard
serve` sets it. ``granian``: Granian's ASGI interface, one worker, one runtime thread, uvloop,
HTTP/1.1 only, access log off.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from modelyard.serve import GatewayConfig, create_app, load_config, uvicorn_options


def config() -> GatewayConfig:
    """The config file named in ``YARD_GATEWAY_CONFIG``."""
    return load_config(Path(os.environ["YARD_GATEWAY_CONFIG"]))


def factory() -> Any:  # an ASGI app
    """The gateway app for ``config()``."""
    return create_app(config())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", choices=["httptools", "granian"], required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    if args.server == "httptools":
        import uvicorn

        options = {**uvicorn_options(config().server), "http": "httptools"}
        uvicorn.run(factory(), port=args.port, **options)
        return
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces, Loops

    Granian(
        "serve_with:factory", factory=True, port=args.port, interface=Interfaces.ASGI,
        workers=1, runtime_threads=1, loop=Loops.uvloop, http=HTTPModes.http1,
        log_access=False, working_dir=Path(__file__).parent,
    ).serve()  # fmt: skip


if __name__ == "__main__":
    main()
