import subprocess
import sys

import pytest

from ground.errors import Locked
from shabaka.lock import RunLock


def test_second_holder_is_refused_with_the_first_holders_pid(tmp_path):
    with RunLock(tmp_path / "run.lock"):
        with pytest.raises(Locked, match="pid"):
            with RunLock(tmp_path / "run.lock"):
                pass


def test_lock_of_a_killed_process_does_not_block(tmp_path):
    lock = tmp_path / "run.lock"
    code = (
        "import os, sys\n"
        "from shabaka.lock import RunLock\n"
        f"RunLock({str(lock)!r}).__enter__()\n"
        "print('held', flush=True)\n"
        "os.kill(os.getpid(), 9)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == -9 and "held" in proc.stdout
    assert lock.exists()
    with RunLock(lock):
        pass
