"""Start a throwaway JupyterLab server for browser tests, isolated from the user's Jupyter setup,
and the browser that drives it."""

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")  # Debian's; never `playwright install` (a browser download)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# User settings the server starts with: nothing saved back to the notebooks, no pop-ups over
# the page, every cell in the DOM (the default windowing skips rendering cells out of view).
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/apputils-extension/notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
        "doNotDisturbMode": True,
    },
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}


def free_port():
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def jupyter_lab(root_dir, work_dir, timeout=120):
    """Run JupyterLab serving root_dir; yield (base_url, token); stop it on exit.

    Parameters
    ----------
    root_dir : Path
        Folder the server shows; notebooks opened in the browser are looked up under it.
    work_dir : Path
        Empty folder for the server's config, runtime, workspaces, settings and log.
    timeout : float
        Seconds to wait for the server to answer before giving up.
    """
    work_dir = Path(work_dir)
    settings_dir = work_dir / "settings"
    for plugin, values in LAB_SETTINGS.items():
        path = settings_dir / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    port, token = free_port(), secrets.token_hex(16)
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root_dir}",
        f"--LabApp.workspaces_dir={work_dir / 'workspaces'}",
        f"--LabApp.user_settings_dir={settings_dir}",
    ]
    with serve(cmd, port, token, root_dir, work_dir / "jupyterlab.log", timeout) as base_url:
        yield base_url, token


@contextmanager
def serve(cmd, port, token, root_dir, log_path, timeout=120):
    """Run the Jupyter server ``cmd`` (listening on ``port`` with ``token``) in root_dir, its
    config, data and runtime in log_path's folder, its output in log_path; yield its base URL once
    it answers; stop it on exit."""
    work_dir = Path(log_path).parent
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(work_dir / "config"),
        "JUPYTER_DATA_DIR": str(work_dir / "data"),
        "JUPYTER_RUNTIME_DIR": str(work_dir / "runtime"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "PYTHONFAULTHANDLER": "1",  # a kernel that crashes writes where, into the log
    }
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd = [*cmd, "--allow-root"]
    base_url = f"http://127.0.0.1:{port}"
    with open(log_path, "w") as log:
        server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root_dir)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if server.poll() is not None:
                raise RuntimeError(
                    f"{cmd[2]} exited with {server.returncode}:\n{log_path.read_text()[-4000:]}"
                )
            try:
                with urllib.request.urlopen(
                    f"{base_url}/api/status?token={token}", timeout=5
                ) as reply:
                    if reply.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{cmd[2]} did not answer in {timeout} s:\n{log_path.read_text()[-4000:]}"
                )
            time.sleep(0.5)
        yield base_url
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def code_notebook(cells):
    """Return a notebook (an nbformat 4 dict) with one code cell per item of ``cells``: {cell id:
    source}."""
    return {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": cell_id,
                "metadata": {},
                "outputs": [],
                "source": source,
            }
            for cell_id, source in cells.items()
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


@contextmanager
def lab_and_browser(playwright, tmp, notebooks=None, server=None):
    """Serve a copy of lessons/ (plus ``notebooks``, {file name: notebook dict}, written beside the
    lessons) from ``server`` (a context manager like ``jupyter_lab``, the default), launch headless
    Chromium; yield (base_url, token, browser, server_dir). Nothing the browser does writes to the
    committed lessons."""
    root, server_dir = Path(tmp) / "root", Path(tmp) / "server"
    shutil.copytree(REPO / "lessons", root / "lessons")
    for name, notebook in (notebooks or {}).items():
        (root / "lessons" / name).write_text(json.dumps(notebook))
    server_dir.mkdir()
    with (server or jupyter_lab)(root, server_dir) as (base_url, token):
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield base_url, token, browser, server_dir
        finally:
            browser.close()
