"""Shared fixtures for the end-to-end tests: where the repository, the ggufd
binary, the default model and the third-party test data are, and a way to ask
the llama.cpp reference (tests/reference/reference.mjs) for answers."""

import json
import os
import pathlib
import shutil
import subprocess

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
REFERENCE_DIR = REPO_ROOT / "tests" / "reference"
DEFAULT_MODEL = REPO_ROOT / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"
# shared/ sits next to the repository (../shared/testdata), in CI as here.
TESTDATA_DIR = REPO_ROOT.parent / "shared" / "testdata"

# Generous: loading llama.cpp and a model takes about a second, and a full
# greedy run on a slow machine can take minutes; only a hang should hit this.
REFERENCE_TIMEOUT_S = 1800


@pytest.fixture(scope="session")
def repo_root() -> pathlib.Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def ggufd_bin() -> pathlib.Path:
    """The ggufd binary under test: $GGUFD_BIN, else build/service/ggufd.
    A missing binary fails the test: it means the build is broken or absent,
    which must not pass as a skip."""
    path = pathlib.Path(os.environ.get("GGUFD_BIN", REPO_ROOT / "build" / "service" / "ggufd"))
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"ggufd binary not found or not executable: {path} (build it, or set GGUFD_BIN)")
    return path


@pytest.fixture(scope="session")
def default_model() -> pathlib.Path:
    """The default real model; tests that need it skip when it was never
    fetched (deploy/setup.sh fetches it)."""
    if not DEFAULT_MODEL.is_file():
        pytest.skip(f"default model missing: {DEFAULT_MODEL} (run deploy/setup.sh)")
    return DEFAULT_MODEL


@pytest.fixture(scope="session")
def testdata_dir() -> pathlib.Path:
    if not TESTDATA_DIR.is_dir():
        pytest.fail(f"shared test data not found: {TESTDATA_DIR}")
    return TESTDATA_DIR


class Reference:
    """Runs reference.mjs subcommands; each call returns the parsed JSON the
    subcommand printed, and raises AssertionError (with its stderr) if it
    failed."""

    def __init__(self, node: str):
        self._node = node
        self._script = REFERENCE_DIR / "reference.mjs"

    def __call__(self, subcommand: str, *args, stdin=None, timeout=REFERENCE_TIMEOUT_S):
        cmd = [self._node, str(self._script), subcommand, *map(str, args)]
        proc = subprocess.run(
            cmd,
            input=json.dumps(stdin).encode("utf-8") if stdin is not None else b"",
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        if proc.returncode != 0:
            raise AssertionError(
                f"reference failed (exit {proc.returncode}): {' '.join(cmd)}\n"
                f"{proc.stderr.decode('utf-8', 'replace')[-4000:]}")
        return json.loads(proc.stdout)


@pytest.fixture(scope="session")
def reference() -> Reference:
    """The llama.cpp reference. Missing node or node_modules fails the test
    (deploy/setup.sh installs both); it never silently skips."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH (deploy/setup.sh installs nodejs)")
    if not (REFERENCE_DIR / "node_modules" / "node-llama-cpp").is_dir():
        pytest.fail(f"node-llama-cpp is not installed: run `npm ci` in {REFERENCE_DIR}")
    return Reference(node)
