"""Settings: the generated secret is private, trusted proxies and limits parse clearly."""

import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from web.core.settings import SettingsError, load_settings

ENV = {"KEHU_DATABASE_URL": "sqlite:///kehu.db"}


def test_the_generated_secret_is_created_private(tmp_path):
    old = os.umask(0o022)
    try:
        first = load_settings(ENV, workdir=tmp_path)
    finally:
        os.umask(old)
    secret = tmp_path / ".kehu-secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert load_settings(ENV, workdir=tmp_path).secret_key == first.secret_key


def test_a_secret_file_is_never_written_through_a_symlink(tmp_path):
    target = tmp_path / "elsewhere"
    (tmp_path / ".kehu-secret").symlink_to(target)
    with pytest.raises(SettingsError, match="cannot be read"):
        load_settings(ENV, workdir=tmp_path)
    assert not target.exists()


def test_a_readable_secret_is_warned_about(tmp_path, caplog):
    secret = tmp_path / ".kehu-secret"
    secret.write_text("s" * 48 + "\n")
    secret.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="kehu.settings"):
        assert load_settings(ENV, workdir=tmp_path).secret_key == "s" * 48
    assert "readable by other users" in caplog.text


def test_trusted_proxies_and_limits_are_read_and_checked(tmp_path):
    settings = load_settings(
        {
            **ENV,
            "KEHU_SECRET_KEY": "k" * 40,
            "KEHU_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.1",
            "KEHU_FLOOD_LIMIT_PER_MINUTE": "900",
        },
        workdir=tmp_path,
    )
    assert settings.trusted_proxies == ("10.0.0.0/8", "192.168.1.1/32")
    assert settings.flood_limit_per_minute == 900
    with pytest.raises(SettingsError, match="KEHU_TRUSTED_PROXIES"):
        load_settings({**ENV, "KEHU_SECRET_KEY": "k" * 40, "KEHU_TRUSTED_PROXIES": "proxy"})


def test_kehu_db_upgrade_leaves_database_and_secret_private(tmp_path):
    kehu = str(Path(sys.executable).parent / "kehu")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEHU_")}
    old = os.umask(0o022)
    try:
        result = subprocess.run(
            [kehu, "db", "upgrade"], cwd=tmp_path, env=env, capture_output=True, text=True
        )
    finally:
        os.umask(old)
    assert result.returncode == 0, result.stderr
    for name in ("kehu.db", ".kehu-secret"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
    assert "readable by other users" not in result.stderr
    (tmp_path / "kehu.db").chmod(0o644)
    result = subprocess.run(
        [kehu, "db", "upgrade"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert "kehu.db is readable by other users" in result.stderr
