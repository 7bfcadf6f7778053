import shutil
import tempfile
from pathlib import Path

import pytest


@pytest.fixture
def scratch():
    """The servers' instance folder and logs, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="gerai-faults-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)
