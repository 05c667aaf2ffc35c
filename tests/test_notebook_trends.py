"""notebooks/03_tone_trends.ipynb runs headless on a small slice of news-2024 (or the seeds)."""
import os

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow


def test_tone_trends_notebook_executes_on_a_small_slice(monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("VISTANCE_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(ROOT / "notebooks" / "03_tone_trends.ipynb", as_version=4)
    NotebookClient(nb, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert outputs and not any(o.get("output_type") == "error" for o in outputs)
