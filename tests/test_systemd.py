"""sd_notify against a real AF_UNIX datagram socket, and the unit file against systemd-analyze."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from powermond import systemd
from powermond.systemd import Notifier

REPO = Path(__file__).resolve().parent.parent
UNIT = REPO / "systemd" / "powermond.service"
# The figure `systemd-analyze security` prints for the unit must stay at or below this.
MAX_EXPOSURE = 2.0


def _receive(sock: socket.socket) -> dict[str, str]:
    data = sock.recv(4096).decode()
    return dict(line.split("=", 1) for line in data.split("\n"))


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(5)
        yield sock, str(path)


@pytest.fixture
def abstract_listener() -> Iterator[tuple[socket.socket, str]]:
    name = f"powermon-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(b"\0" + name.encode())
        sock.settimeout(5)
        yield sock, "@" + name


def test_ready_reaches_the_socket(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    assert Notifier(path).ready()
    assert _receive(sock) == {"READY": "1"}


def test_ready_with_status_is_one_datagram(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    assert Notifier(path).ready("started: 3 PDUs")
    assert _receive(sock) == {"READY": "1", "STATUS": "started: 3 PDUs"}


def test_abstract_socket_name(abstract_listener: tuple[socket.socket, str]) -> None:
    sock, name = abstract_listener
    assert Notifier(name).stopping()
    assert _receive(sock) == {"STOPPING": "1"}


def test_reloading_carries_current_monotonic_usec(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert Notifier(path).reloading()
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    fields = _receive(sock)
    assert fields["RELOADING"] == "1"
    assert before <= int(fields["MONOTONIC_USEC"]) <= after


def test_status_is_flattened_to_one_line(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    assert Notifier(path).status("cycle 12:05\n  3/4 PDUs ok\n96 readings")
    assert _receive(sock) == {"STATUS": "cycle 12:05 3/4 PDUs ok 96 readings"}


def test_status_is_capped() -> None:
    text = systemd.one_line("x" * 1000)
    assert len(text) == systemd.MAX_STATUS_CHARS
    assert text.endswith("…")


def test_module_helpers_use_the_environment(
    listener: tuple[socket.socket, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sock, path = listener
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    assert systemd.ready()
    assert systemd.status("ok")
    assert _receive(sock) == {"READY": "1"}
    assert _receive(sock) == {"STATUS": "ok"}


def test_no_notify_socket_is_a_silent_no_op(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert not Notifier.from_env().enabled
    assert not systemd.ready()
    assert not systemd.stopping()
    assert caplog.records == []


def test_vanished_socket_does_not_raise(tmp_path: Path) -> None:
    notifier = Notifier(str(tmp_path / "gone.sock"))
    assert notifier.enabled
    assert not notifier.ready()


def test_watchdog_interval_and_ping(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    notifier = Notifier(path, watchdog_usec="30000000", watchdog_pid=str(os.getpid()))
    assert notifier.watchdog_interval() == 30.0
    assert notifier.watchdog()
    assert _receive(sock) == {"WATCHDOG": "1"}


def test_watchdog_for_another_pid_is_off(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    notifier = Notifier(path, watchdog_usec="30000000", watchdog_pid=str(os.getpid() + 1))
    assert notifier.watchdog_interval() is None
    assert not notifier.watchdog()
    sock.settimeout(0.2)
    with pytest.raises(TimeoutError):
        sock.recv(4096)


@pytest.mark.parametrize("usec", [None, "", "0", "soon"])
def test_watchdog_off_without_a_valid_usec(usec: str | None) -> None:
    assert Notifier("/run/x.sock", watchdog_usec=usec).watchdog_interval() is None


def test_watchdog_without_pid_applies_to_this_process() -> None:
    assert Notifier.from_env({"WATCHDOG_USEC": "500000"}).watchdog_interval() == 0.5


def test_from_a_real_child_process(listener: tuple[socket.socket, str]) -> None:
    """What the daemon does: the variable set by the supervisor, a fresh interpreter."""
    sock, path = listener
    env = {**os.environ, "NOTIFY_SOCKET": path}
    code = "from powermond import systemd; assert systemd.ready('up')"
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)
    assert _receive(sock) == {"READY": "1", "STATUS": "up"}


# --- the unit file -------------------------------------------------------------------


def _systemd_analyze() -> str:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed (Debian: apt-get install systemd)")
    return tool


def _documented_powermond() -> str:
    """Where the README's operator install puts powermond: the venv's bin/."""
    match = re.search(r"python3 -m venv (\S+) ", (REPO / "README.md").read_text())
    assert match, "the README no longer says where the venv goes"
    return f"{match.group(1)}/bin/powermond"


def test_unit_starts_the_documented_install() -> None:
    text = UNIT.read_text()
    assert f"ExecStart={_documented_powermond()}\n" in text
    assert (
        f"sudo -u powermon {_documented_powermond()[:-1]} db upgrade"
        in (REPO / "README.md").read_text()
    )


def _unit_with_existing_binary(tmp_path: Path) -> Path:
    """verify insists that ExecStart exists: the documented path if this machine has it,
    else this venv's powermond in its place (the test may not install into /opt)."""
    documented = _documented_powermond()
    if Path(documented).exists():
        return UNIT
    binary = Path(sys.executable).with_name("powermond")
    if not binary.exists():
        pytest.skip(f"{binary} is missing (package not installed in this venv)")
    text = UNIT.read_text()
    unit = tmp_path / UNIT.name
    unit.write_text(text.replace(f"ExecStart={documented}\n", f"ExecStart={binary}\n"))
    return unit


def test_unit_verifies(tmp_path: Path) -> None:
    tool = _systemd_analyze()
    unit = _unit_with_existing_binary(tmp_path)
    result = subprocess.run([tool, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    # verify exits 0 on unknown settings too; they only show up as warnings.
    assert "Unknown key" not in result.stderr, result.stderr
    assert "ignoring" not in result.stderr.lower(), result.stderr


def test_unit_security_exposure_is_low() -> None:
    tool = _systemd_analyze()
    result = subprocess.run(
        [tool, "security", "--offline=true", str(UNIT)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= MAX_EXPOSURE, result.stdout


def test_unit_matches_the_daemon_contract() -> None:
    """The settings other parts rely on: exit 78 is final, reload is SIGHUP, notify type."""
    settings = dict(
        line.split("=", 1)
        for line in UNIT.read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    assert settings["Type"] == "notify"
    assert settings["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert settings["RestartPreventExitStatus"] == "78"
    assert settings["StateDirectory"] == "powermon"
    assert settings["Environment"] == "POWERMON_CONFIG_DIR=/etc/powermon"
