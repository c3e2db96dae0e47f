"""The notebooks run top to bottom on a full lake (nbclient), so they never rot. They share one kernel, as a
reader running them one after another would: Spark's JVM starts once."""

from __future__ import annotations

import os

import nbformat
import pytest
from jupyter_client import KernelManager
from nbclient import NotebookClient

from tests.conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def kernel(analysed_lake):
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(cwd=str(ROOT / "notebooks"), env={**os.environ, "PHOTOLAKE_LAKE": analysed_lake})
    yield manager
    manager.shutdown_kernel(now=True)


def test_the_notebooks_are_there():
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05", "06"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path, kernel):
    book = nbformat.read(path, as_version=4)
    NotebookClient(book, km=kernel, timeout=300, resources={"metadata": {"path": str(path.parent)}}).execute()
    outputs = [o for cell in book.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    tables = [o for o in outputs if "text/html" in o.get("data", {})]
    assert images, f"{path.name} shows no chart"
    assert tables or path.name.startswith("05"), f"{path.name} shows no table"
