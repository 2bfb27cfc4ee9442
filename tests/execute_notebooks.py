"""Execute every notebook in a folder, in whatever Python environment runs this script.

    python tests/execute_notebooks.py FOLDER [TIMEOUT_PER_CELL_SECONDS]

Prints ``executed NAME`` per notebook, then ``ALL OK`` or one line per notebook that raised
(exit status 1).  The Binder replay and the wheel smoke test run it inside the environments
they build, so it needs only nbformat and nbclient there.
"""

import pathlib
import sys

import nbformat
from nbclient import NotebookClient

folder = pathlib.Path(sys.argv[1])
timeout = int(sys.argv[2]) if len(sys.argv) > 2 else 180
failed = []
for path in sorted(folder.glob("*.ipynb")):
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    if errors:
        failed.append(f"{path.name}: {errors[0]['ename']}: {errors[0]['evalue']}")
    print("executed", path.name, flush=True)
print("\n".join(failed) or "ALL OK")
sys.exit(1 if failed else 0)
