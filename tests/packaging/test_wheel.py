"""What a user gets from ``pip install airflow-provider-zendesk-jobs``: the built wheel, installed (not
editable) into a clean virtual environment beside Airflow, and looked at from outside the source tree.

One sdist and one wheel are built per session (``uv build``, as ``make dist`` does) and installed
once, with every other package pinned to what the running environment has, so the check costs
seconds and needs nothing the test run did not already resolve. Skipped, with the reason, only
where uv is missing; ``make test`` sets ``ZENDESK_REQUIRE_PACKAGING=1`` so that there it fails instead.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import shutil
import subprocess
import sys
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

import airflow_provider_zendesk_jobs
from airflow_provider_zendesk_jobs.testing import RemoteEmulator
from tests.support.emulator_http import BASIC

ROOT = Path(__file__).resolve().parents[2]
DIST_NAME = "airflow-provider-zendesk-jobs"
PACKAGE = "airflow_provider_zendesk_jobs"

pytestmark = pytest.mark.timeout(600)


def find_uv() -> str:
    for candidate in (os.environ.get("UV"), str(Path(sys.executable).parent / "uv"), shutil.which("uv")):
        if candidate and Path(candidate).is_file():
            return candidate
    reason = "uv is not installed (it comes with the test extra: pip install -e '.[test]')"
    if os.environ.get("ZENDESK_REQUIRE_PACKAGING") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@dataclass(frozen=True)
class Built:
    wheel: Path
    sdist: Path


@dataclass(frozen=True)
class Installed:
    venv: Path
    home: Path

    def bin(self, name: str) -> str:
        return str(self.venv / "bin" / name)

    def run(self, *cmd: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        """Run in the clean venv, from outside the source tree, so only the installed package is seen."""
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env.update(AIRFLOW_HOME=str(self.home), PATH=f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}")
        return subprocess.run(
            list(cmd), cwd=self.home, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    uv = find_uv()
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [uv, "build", "--quiet", "--out-dir", str(out), str(ROOT)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    wheels, sdists = list(out.glob("*.whl")), list(out.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, sorted(p.name for p in out.iterdir())
    return Built(wheels[0], sdists[0])


def pins_of_this_environment(path: Path) -> Path:
    """Every installed distribution but this project, pinned: the clean venv resolves to the same set."""
    lines = sorted(
        {
            f"{dist.metadata['Name']}=={dist.version}"
            for dist in metadata.distributions()
            if dist.metadata["Name"] and dist.metadata["Name"].lower().replace("_", "-") != DIST_NAME
        }
    )
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="session")
def installed(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    uv = find_uv()
    base = tmp_path_factory.mktemp("user")
    venv, home = base / "venv", base / "airflow_home"
    home.mkdir()
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, timeout=120)
    pins = pins_of_this_environment(base / "pins.txt")
    result = subprocess.run(
        [uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), "--constraint", str(pins),
         str(built.wheel)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return Installed(venv, home)


def json_output(stdout: str) -> Any:
    """The JSON document of an ``airflow ... -o json`` command, whose log lines may share stdout."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(("[{", "[]", "{")):
            return json.loads(line)
    raise AssertionError(f"no JSON in the output: {stdout[-2000:]}")


def wheel_names(built: Built) -> list[str]:
    with zipfile.ZipFile(built.wheel) as whl:
        return whl.namelist()


def wheel_metadata(built: Built) -> email.message.EmailMessage:
    with zipfile.ZipFile(built.wheel) as whl:
        (name,) = [n for n in whl.namelist() if n.endswith(".dist-info/METADATA")]
        return email.message_from_bytes(whl.read(name), policy=email.policy.default)  # type: ignore[return-value]


def test_the_wheel_holds_the_package_its_types_marker_and_the_emulator_but_no_tests(built: Built) -> None:
    names = wheel_names(built)
    assert f"{PACKAGE}/py.typed" in names
    assert f"{PACKAGE}/testing/emulator.py" in names
    assert f"{PACKAGE}/testing/cli.py" in names
    top_level = {name.split("/", 1)[0] for name in names}
    assert top_level == {PACKAGE, f"{PACKAGE}-{airflow_provider_zendesk_jobs.__version__}.dist-info"}
    assert [n for n in names if "/tests/" in n or "benchmarks" in n or "example_dags" in n] == []


def test_the_wheel_declares_the_provider_and_the_emulator_script(built: Built) -> None:
    with zipfile.ZipFile(built.wheel) as whl:
        (name,) = [n for n in whl.namelist() if n.endswith(".dist-info/entry_points.txt")]
        entry_points = whl.read(name).decode()
    provider = f"[apache_airflow_provider]\nprovider_info = {PACKAGE}.get_provider_info:get_provider_info"
    assert provider in entry_points
    assert "zendesk-jobs-emulator = airflow_provider_zendesk_jobs.testing.cli:main" in entry_points


def test_the_metadata_has_one_version_and_the_readme_as_description(built: Built) -> None:
    meta = wheel_metadata(built)
    assert meta["Name"] == DIST_NAME
    assert meta["Version"] == airflow_provider_zendesk_jobs.__version__
    assert meta["Description-Content-Type"] == "text/markdown"
    assert meta.get_content().strip() == (ROOT / "README.md").read_text().strip()
    assert meta["Requires-Python"] == ">=3.10"
    requires = meta.get_all("Requires-Dist") or []
    assert {r for r in requires if r.replace(" ", "").startswith("apache-airflow<")} == {"apache-airflow<4,>=3.0"}
    assert built.sdist.name == f"{PACKAGE}-{airflow_provider_zendesk_jobs.__version__}.tar.gz"


def test_twine_check_passes(built: Built) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(built.wheel), str(built.sdist)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 2, result.stdout


def test_the_installed_package_is_the_wheel_not_the_source_tree(installed: Installed) -> None:
    probe = "import airflow_provider_zendesk_jobs as p, json; print(json.dumps([p.__file__, p.__version__]))"
    result = installed.run(installed.bin("python"), "-c", probe)
    assert result.returncode == 0, result.stderr
    path, version = json.loads(result.stdout.strip().splitlines()[-1])
    assert Path(path).is_relative_to(installed.venv), path
    assert version == airflow_provider_zendesk_jobs.__version__


def test_airflow_lists_the_provider_with_its_hooks_sensors_operators_triggers_and_connection(
    installed: Installed,
) -> None:
    result = installed.run(installed.bin("airflow"), "providers", "get", DIST_NAME, "--full", "-o", "json")
    assert result.returncode == 0, result.stderr
    (info,) = json_output(result.stdout)
    assert info["versions"] == [airflow_provider_zendesk_jobs.__version__]
    modules = {kind: info[kind][0]["python-modules"] for kind in ("hooks", "sensors", "operators", "triggers")}
    assert modules == {
        "hooks": [f"{PACKAGE}.hooks.zendesk_jobs"],
        "sensors": [f"{PACKAGE}.sensors.zendesk_jobs"],
        "operators": [f"{PACKAGE}.operators.zendesk_jobs", f"{PACKAGE}.operators.bulk_jobs"],
        "triggers": [f"{PACKAGE}.triggers.zendesk_jobs", f"{PACKAGE}.triggers.job_events"],
    }
    (conn,) = info["connection-types"]
    assert conn["connection-type"] == "zendesk_jobs"
    # The hook class really imports from the installed wheel: Airflow resolved it to list it here.
    hooks = installed.run(installed.bin("airflow"), "providers", "hooks", "-o", "json")
    assert hooks.returncode == 0, hooks.stderr
    listed = [h for h in json_output(hooks.stdout) if h["package_name"] == DIST_NAME]
    assert listed == [
        {
            "connection_type": "zendesk_jobs",
            "class": f"{PACKAGE}.hooks.zendesk_jobs.ZendeskJobStatusHook",
            "conn_id_attribute_name": "zendesk_conn_id",
            "package_name": DIST_NAME,
            "hook_name": "Zendesk Jobs",
        }
    ]


@pytest.fixture
def installed_emulator(installed: Installed) -> Iterator[RemoteEmulator]:
    """The installed console script, started from outside the source tree, driven over its control API."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    with RemoteEmulator.start(
        "--manual-clock", command=[installed.bin("zendesk-jobs-emulator")], cwd=installed.home, env=env
    ) as emulator:
        yield emulator


def test_the_emulator_console_script_serves_and_stops(installed: Installed, installed_emulator: RemoteEmulator) -> None:
    help_text = installed.run(installed.bin("zendesk-jobs-emulator"), "--help")
    assert help_text.returncode == 0 and "usage: zendesk-jobs-emulator" in help_text.stdout
    emu = installed_emulator
    request = urllib.request.Request(emu.url + "/api/v2/job_statuses", headers={"Authorization": BASIC})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        assert json.loads(response.read())["job_statuses"] == []
    job_id = emu.create_job("tickets_import", count=2)
    emu.advance(emu.finish_time(job_id) - emu.now())
    assert emu.job(job_id)["status"] == "completed"
    emu.stop()
    assert emu.process is not None and emu.process.returncode == 0
    assert f"listening on {emu.url}" in emu.process.output()
