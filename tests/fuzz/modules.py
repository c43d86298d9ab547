"""Generated programs written to a file and imported, so that s2s reads their source as it reads a user's."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType


def module_from_text(directory: Path, name: str, text: str) -> ModuleType:
    """Write `text` to `directory/name.py` and import it as the module `name`.

        >>> # module_from_text(tmp_path, "programs_54", "import numpy as np\\n\\ndef p0(a): ...")
    """
    path = Path(directory) / f"{name}.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
