"""nginx with the shipped site (``deploy/nginx/hotline.conf``) in front of a ``hotline serve`` on
loopback, as production runs it: for ``benchmarks/faults.py`` and ``tests/ivr/test_reverse_proxy.py``.

The site file is used as shipped except its ``listen`` and upstream addresses, which are
rewritten to the given loopback ports; nginx runs unprivileged from a private folder.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

from benchmarks.loopback import listening

REPO = Path(__file__).resolve().parent.parent
SITE = REPO / "deploy" / "nginx" / "hotline.conf"
SHIPPED_LISTEN = "listen 80;"
SHIPPED_UPSTREAM = "127.0.0.1:8000"


def nginx_binary() -> str | None:
    """The nginx program (``scripts/install-nginx.sh`` installs it), or None."""
    found = shutil.which("nginx")
    if found is None and Path("/usr/sbin/nginx").exists():
        found = "/usr/sbin/nginx"
    return found


def site(app_port: int, proxy_port: int) -> str:
    """The shipped site with loopback ports in place of port 80 and 8000."""
    shipped = SITE.read_text()
    if SHIPPED_LISTEN not in shipped or SHIPPED_UPSTREAM not in shipped:
        raise ValueError(f"{SITE}: expected {SHIPPED_LISTEN!r} and {SHIPPED_UPSTREAM!r}")
    return shipped.replace(SHIPPED_LISTEN, f"listen 127.0.0.1:{proxy_port};").replace(
        SHIPPED_UPSTREAM, f"127.0.0.1:{app_port}"
    )


def start_nginx(nginx: str, folder: Path, app_port: int, proxy_port: int) -> subprocess.Popen:
    """nginx in the foreground, its files under ``folder``, listening on ``proxy_port``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "hotline.conf").write_text(site(app_port, proxy_port))
    temp = folder / "nginx"
    temp.mkdir(exist_ok=True)
    (folder / "nginx.conf").write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"worker_processes 1;\npid {temp}/nginx.pid;\nerror_log {temp}/error.log;\n"
        "daemon off;\nevents { worker_connections 4096; }\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {temp}/body;\n"
        f"  proxy_temp_path {temp}/proxy;\n  fastcgi_temp_path {temp}/fastcgi;\n"
        f"  uwsgi_temp_path {temp}/uwsgi;\n  scgi_temp_path {temp}/scgi;\n"
        f"  include {folder / 'hotline.conf'};\n}}\n"
    )
    process = subprocess.Popen(
        [nginx, "-c", str(folder / "nginx.conf"), "-p", str(temp)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    if listening(proxy_port, 30, process):
        return process
    if process.poll() is not None:
        raise RuntimeError(f"nginx exited: {process.stderr.read().decode(errors='replace')}")
    stop_nginx(process)
    raise RuntimeError(f"nginx did not listen on {proxy_port} in 30 s")


def stop_nginx(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
