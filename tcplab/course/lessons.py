"""The course material that ships with tcplab, and copying it into a learner's folder.

A wheel of tcplab carries the lessons in ``tcplab/_lessons/``: ``notebooks/`` (the numbered
lessons and the field guide) and ``assignments/`` (the student versions of the graded
assignments).  The build maps them there from the repository's ``notebooks/`` and
``assignments/student/`` (``[tool.hatch.build.targets.wheel.force-include]`` in
``pyproject.toml``), so nothing is committed twice.  From a checkout (an editable install, or
the repository on ``sys.path``) the same files are read from those folders directly.

:func:`copy_lessons` puts them in a folder the learner owns::

    DIR/01-overview.ipynb ...       the lessons (and the field guide)
    DIR/assignments/a1-....ipynb    the student assignments
    DIR/.tcplab-lessons.json        what was copied: tcplab's version and each file's SHA-256

It never overwrites a learner's work.  The manifest remembers the hash of every file as it was
copied; on a later run (say, after upgrading tcplab) a file is replaced only if it still has
that hash, i.e. the learner has not changed it (running a notebook and saving it counts as a
change: the outputs are the learner's).  Files the manifest does not know are never touched.

Built on the standard library only (``pathlib``, ``hashlib``, ``json``); writes are atomic
(a temporary file in the same folder, then :func:`os.replace`), so an interrupted copy never
leaves half a notebook behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["MANIFEST", "LessonSource", "CopyReport", "find_lessons", "copy_lessons"]

#: The manifest's file name inside the learner's folder.
MANIFEST = ".tcplab-lessons.json"

_PACKAGE = Path(__file__).resolve().parents[1]          # .../tcplab
_IGNORED_PARTS = {".ipynb_checkpoints", "__pycache__"}


@dataclass(frozen=True)
class LessonSource:
    """Where the course material is: ``notebooks`` (lessons, field guide) and
    ``assignments`` (student versions), and whether they came from an installed wheel
    (``"package"``) or a repository checkout (``"checkout"``)."""

    notebooks: Path
    assignments: Path
    origin: str

    def files(self) -> dict[str, Path]:
        """Every file to hand out, keyed by its path in the learner's folder (POSIX, relative):
        the lessons at the top, the assignments under ``assignments/``.  Sorted by that key.

        >>> src = find_lessons()
        >>> "01-overview.ipynb" in src.files()
        True
        """
        out: dict[str, Path] = {}
        for root, prefix in ((self.notebooks, ""), (self.assignments, "assignments/")):
            for path in sorted(root.rglob("*")):
                rel = path.relative_to(root)
                if path.is_file() and not (_IGNORED_PARTS & set(rel.parts)) \
                        and not rel.name.startswith("."):
                    out[prefix + rel.as_posix()] = path
        return dict(sorted(out.items()))


def find_lessons() -> LessonSource:
    """The course material of this tcplab: ``tcplab/_lessons/`` in an installed wheel, else
    the ``notebooks/`` and ``assignments/student/`` folders of the checkout tcplab runs from.

    Raises :class:`FileNotFoundError` when neither is there (a broken install).
    """
    packaged = _PACKAGE / "_lessons"
    if (packaged / "notebooks").is_dir():
        return LessonSource(packaged / "notebooks", packaged / "assignments", "package")
    checkout = _PACKAGE.parent
    if (checkout / "notebooks").is_dir() and (checkout / "pyproject.toml").is_file():
        return LessonSource(checkout / "notebooks", checkout / "assignments" / "student",
                            "checkout")
    raise FileNotFoundError(
        f"tcplab's lessons are missing: neither {packaged} (an installed wheel) nor "
        f"{checkout / 'notebooks'} (a checkout) exists; reinstall tcplab "
        "(pip install --force-reinstall tcplab)")


@dataclass
class CopyReport:
    """What :func:`copy_lessons` did, file by file (paths relative to ``dest``).

    ``copied``: new in ``dest``; ``updated``: replaced by this tcplab's version (the learner
    had not changed them); ``unchanged``: already identical; ``kept``: the learner's edited
    files, left alone.
    """

    dest: Path
    copied: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """A few lines for the learner: counts, then the kept files by name."""
        lines = [f"tcplab lessons in {self.dest}: {len(self.copied)} copied, "
                 f"{len(self.updated)} updated, {len(self.unchanged)} already up to date, "
                 f"{len(self.kept)} kept"]
        if self.kept:
            lines.append("Kept (you changed them, so they were not overwritten): "
                         + ", ".join(self.kept))
            lines.append("For fresh copies, run the command again with another folder.")
        return "\n".join(lines)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _atomic_write(dest: Path, data: bytes) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_manifest(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        files = data["files"]
        return {str(k): str(v) for k, v in files.items()}
    except FileNotFoundError:
        return {}
    except (ValueError, KeyError, TypeError, AttributeError):
        # A damaged manifest: trust nothing, so that no learner file is ever overwritten.
        return {}


def _check_dest(dest: "str | os.PathLike[str]") -> Path:
    if not isinstance(dest, (str, os.PathLike)):
        raise TypeError(f"dest must be a folder path (str or os.PathLike), not "
                        f"{type(dest).__name__}")
    if str(dest).strip() == "":
        raise ValueError("the lessons' folder (dest, DIR) must be a path such as "
                         "'tcplab-lessons', not an empty string")
    path = Path(dest).expanduser()
    for parent in (path, *path.parents):
        if parent.exists():
            if not parent.is_dir():
                raise NotADirectoryError(f"{parent} is a file, not a folder: choose another "
                                         f"DIR for the lessons than {dest}")
            break
    return path


def copy_lessons(dest: "str | os.PathLike[str]", source: LessonSource | None = None
                 ) -> CopyReport:
    """Copy the lessons, the field guide and the student assignments into ``dest``
    (created if needed), never overwriting a file the learner changed.

    ``source`` defaults to :func:`find_lessons`.  Returns a :class:`CopyReport`.  Raises
    :class:`NotADirectoryError` if ``dest`` (or a parent) is a file or a lesson's path in
    ``dest`` is a folder, :class:`PermissionError` if ``dest`` cannot be written,
    :class:`ValueError` for an empty ``dest``, :class:`TypeError` for a non-path ``dest``.

    >>> import tempfile, pathlib
    >>> tmp = tempfile.TemporaryDirectory()
    >>> folder = pathlib.Path(tmp.name) / "lessons"
    >>> report = copy_lessons(folder)
    >>> (folder / "01-overview.ipynb").is_file(), report.kept
    (True, [])
    >>> _ = (folder / "01-overview.ipynb").write_text("{}")     # the learner's work
    >>> copy_lessons(folder).kept
    ['01-overview.ipynb']
    >>> tmp.cleanup()
    """
    dest = _check_dest(dest)
    source = source or find_lessons()
    files = source.files()
    dest.mkdir(parents=True, exist_ok=True)
    manifest_path = dest / MANIFEST
    manifest = _read_manifest(manifest_path)
    report = CopyReport(dest)
    for rel, src in files.items():
        target = dest / rel
        data = src.read_bytes()
        new_hash = hashlib.sha256(data).hexdigest()
        if target.is_dir():
            raise NotADirectoryError(f"{target} is a folder, but tcplab would put the file "
                                     f"{rel} there; move it away or choose another DIR")
        if not target.exists():
            _atomic_write(target, data)
            report.copied.append(rel)
        else:
            have = _sha256(target)
            if have == new_hash:
                report.unchanged.append(rel)
            elif manifest.get(rel) == have:        # our old copy, untouched: update it
                _atomic_write(target, data)
                report.updated.append(rel)
            else:
                report.kept.append(rel)
                continue                            # the manifest keeps the old hash
        manifest[rel] = new_hash
    from .. import __version__
    text = json.dumps({"tcplab": __version__, "files": dict(sorted(manifest.items()))},
                      indent=1) + "\n"
    _atomic_write(manifest_path, text.encode("utf-8"))
    return report
