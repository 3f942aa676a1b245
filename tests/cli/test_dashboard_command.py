"""``deep-emotion dashboard``: Streamlit started on the installed app with the dashboard's own
settings as options the user's come after; other commands still refuse unknown options."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from deep_emotion.cli import dashboard, main


def test_the_dashboards_settings_become_options_before_the_users(monkeypatch, tmp_path):
    app = tmp_path / "dashboard" / "app.py"
    app.parent.mkdir()
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "config.toml").write_text(
        '[server]\nheadless = true\nmaxUploadSize = 40\naddress = "127.0.0.1"\n'
        '[theme]\nbase = "light"\n')
    assert dashboard.config_options(app) == [
        "--server.headless=true", "--server.maxUploadSize=40", "--server.address=127.0.0.1",
        "--theme.base=light"]
    monkeypatch.setattr(dashboard, "app_path", lambda: app)
    started = []
    monkeypatch.setattr(dashboard.os, "execv", lambda exe, argv: started.append(argv))
    assert main(["dashboard", "--server.port", "8600", "--server.address=0.0.0.0"]) == 0
    (argv,) = started
    assert argv[:5] == [sys.executable, "-m", "streamlit", "run", str(app)]
    assert argv[-3:] == ["--server.port", "8600", "--server.address=0.0.0.0"], "the user's last"


def test_the_app_found_is_the_dashboard_package_beside_the_core():
    import dashboard as package

    assert dashboard.app_path() == Path(package.__file__).parent / "app.py"


def test_another_command_refuses_an_option_it_does_not_know():
    result = subprocess.run([sys.executable, "-m", "deep_emotion.cli", "info", "--server.port",
                             "1"], capture_output=True, text=True)
    assert result.returncode == 2 and "unrecognized arguments: --server.port" in result.stderr


def test_without_streamlit_the_command_says_what_to_install(monkeypatch, capsys):
    real = dashboard.importlib.util.find_spec
    monkeypatch.setattr(dashboard.importlib.util, "find_spec",
                        lambda name: None if name == "streamlit" else real(name))
    assert main(["dashboard"]) == 2
    assert "pip install 'deep-emotion-lab[dashboard]'" in capsys.readouterr().err
