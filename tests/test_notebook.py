"""examples/comparison.ipynb runs top to bottom in a real Jupyter kernel, without errors.

The kernel is this interpreter (`sys.executable`): a kernelspec named "python3" pointing at it is
written to a temporary Jupyter data directory that comes first on JUPYTER_PATH, so a user-wide
"python3" kernel from another environment cannot shadow it.
"""

import json
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "examples" / "comparison.ipynb"


def _stdout(cell):
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream" and o.get("name") == "stdout")


def _code_containing(nb, text):
    cells = [c for c in nb.cells if c.cell_type == "code" and text in c.source]
    assert cells, f"no code cell contains {text!r}"
    return cells[0]


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    jupyter_dir = tmp_path_factory.mktemp("jupyter")
    spec_dir = jupyter_dir / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (s2s test)", "language": "python"}
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    mp = pytest.MonkeyPatch()
    mp.setenv("JUPYTER_PATH", str(jupyter_dir))
    mp.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    probe = nbformat.v4.new_code_cell("import sys\nprint('KERNEL-PYTHON', sys.executable)")
    nb.cells.insert(0, probe)
    client = nbclient.NotebookClient(nb, timeout=180, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    try:
        client.execute()  # raises CellExecutionError, with the cell and traceback, if any cell fails
    finally:
        mp.undo()
    return nb


def test_committed_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_runs_in_this_interpreter(executed):
    assert _stdout(executed.cells[0]).split("KERNEL-PYTHON", 1)[1].strip() == sys.executable


def test_no_errors(executed):
    for cell in executed.cells:
        for out in cell.get("outputs", []):
            assert out.get("output_type") != "error", out
            assert not (out.get("output_type") == "stream" and out.get("name") == "stderr" and "Traceback" in out.get("text", ""))


def test_lecture_numbers(executed):
    dot = _stdout(_code_containing(executed, "y = 2 * np.dot(x, x)"))
    assert "x.grad = [ 0.  4.  8. 12.]" in dot
    assert "x.grad == 4 * x: [ True  True  True  True]" in dot
    assert "def dy_of_dx(x" in dot  # the generated source is printed
    assert "[1. 1. 1. 1.]" in _stdout(_code_containing(executed, "def y_sum"))
    assert "x.grad = [0. 2. 4. 6.]" in _stdout(_code_containing(executed, "def sum_of_squares"))
    detached = _stdout(_code_containing(executed, "def z_detached"))
    assert "x.grad      = [0. 1. 4. 9.]" in detached and "x.grad == u : [ True  True  True  True]" in detached
    assert "a.grad == d / a: True" in _stdout(_code_containing(executed, "while np.linalg.norm(b) < 1000"))


def test_figures_and_sections(executed):
    images = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 6  # error curve, swell, timing bars, graph, cost vs d, memory vs ops
    assert "max |s2s - hand| =" in _stdout(_code_containing(executed, "def z_ls"))
    assert "SymPy raw" in _stdout(_code_containing(executed, "def make_chain"))
    assert "digraph" in _stdout(_code_containing(executed, "print(graph.dot("))
    assert "what pruning removed" in _stdout(_code_containing(executed, "def model"))
    check = _stdout(_code_containing(executed, '"check"'))
    assert "s2s agrees" in check and "exit status: 0" in check
