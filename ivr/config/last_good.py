"""A broken configuration never takes the line down.

Each configuration that loads is kept as the last good one (a copy of the folder in the instance
folder, ``config-last-good/``). A worker that starts while the files on disk are invalid (a reload,
a recycled or killed worker) runs with that copy instead, logs the file:line errors at ERROR, and
``/healthz`` and ``/ops`` show them; only a cold start (``hotline serve``, ``hotline reload``) with
an invalid configuration refuses, with the errors. Whether the files on disk are valid is checked
again whenever they change (:func:`problems_on_disk`).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from ivr.config.loader import ConfigError, load_config
from ivr.config.schema import HotlineConfig

log = logging.getLogger(__name__)
FOLDER = "config-last-good"
DIGEST = ".digest"  # the saved folder's content digest, inside it


@dataclass(frozen=True)
class Loaded:
    config: HotlineConfig
    problems: list[str]  # what is wrong with the files on disk (empty: they are what runs)


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != DIGEST)


def digest(folder: Path) -> str:
    """The folder's content: every file's relative path and bytes."""
    h = hashlib.sha256()
    for path in _files(folder):
        h.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def saved_folder(instance_path: str | Path) -> Path:
    return Path(instance_path) / FOLDER


def remember(config_dir: str | Path, instance_path: str | Path) -> None:
    """Keep this (valid) configuration folder as the last good one, unless it is already. The
    copy is a folder named by its digest; ``config-last-good`` is a link to it, replaced in one
    step, so a worker starting meanwhile reads one whole copy or the other."""
    source, link = Path(config_dir), saved_folder(instance_path)
    content = digest(source)
    kept = link / DIGEST
    if kept.exists() and kept.read_text() == content:
        return
    copy = link.parent / f"{FOLDER}-{content[:16]}"
    try:
        if not (copy / DIGEST).exists():
            staging = Path(tempfile.mkdtemp(prefix=".config-", dir=link.parent))
            shutil.copytree(source, staging / "copy")
            (staging / "copy" / DIGEST).write_text(content)
            with contextlib.suppress(OSError):  # another worker made the same copy meanwhile
                os.replace(staging / "copy", copy)
            shutil.rmtree(staging, ignore_errors=True)
        temporary = link.parent / f".{FOLDER}-{os.getpid()}"
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(copy.name)
        os.replace(temporary, link)
    except OSError as exc:  # the disk refused: the running configuration is unaffected
        log.warning("could not keep the configuration as the last good one: %s", exc)


def load(config_dir: str | Path, instance_path: str | Path, keep_last_good: bool) -> Loaded:
    """The configuration in ``config_dir``, remembered as the last good one; when it is invalid
    and ``keep_last_good``, the last good one instead (ConfigError if there is none)."""
    try:
        cfg = load_config(config_dir)
    except ConfigError as exc:
        saved = saved_folder(instance_path)
        if not keep_last_good or not (saved / DIGEST).exists():
            raise
        problems = [str(issue) for issue in exc.issues]
        log.error(
            "the configuration in %s is invalid; running with the last good one (%s):\n  %s",
            config_dir,
            saved,
            "\n  ".join(problems),
        )
        return Loaded(load_config(saved), problems)
    remember(config_dir, instance_path)
    return Loaded(cfg, [])


_checked: dict[str, tuple[tuple, list[str]]] = {}
_checked_lock = threading.Lock()


def problems_on_disk(config_dir: str | Path) -> list[str]:
    """What is wrong with the configuration files on disk now (empty if they load): loaded again
    only when a file changed (by name, size and modification time)."""
    folder = Path(config_dir)
    try:
        stamp = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in _files(folder))
    except OSError as exc:
        return [f"{folder}: {exc}"]
    with _checked_lock:
        seen = _checked.get(str(folder))
        if seen is not None and seen[0] == stamp:
            return seen[1]
    try:
        load_config(folder)
        problems: list[str] = []
    except ConfigError as exc:
        problems = [str(issue) for issue in exc.issues]
    with _checked_lock:
        _checked[str(folder)] = (stamp, problems)
    return problems
