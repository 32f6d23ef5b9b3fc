"""The test harness itself: a PostgreSQL run where PostgreSQL cannot start says so, once."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_a_postgresql_run_without_postgresql_is_skipped_with_one_message(tmp_path):
    env = {**os.environ, "KEHU_PG_BINDIR": str(tmp_path / "no-postgres-here")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--db=postgresql", "-p", "no:randomly",
         "tests/db/test_harness.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if "PostgreSQL" in line]
    assert lines == [
        "SKIPPED the PostgreSQL run: PostgreSQL is not installed "
        "(no initdb; on Debian: apt-get install postgresql)"
    ]
    assert "1 deselected" in done.stdout and "passed" not in done.stdout
