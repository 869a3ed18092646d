"""Safe output folders and files, one helper for every command that writes.

Every command that writes (`run`, `compare`, `sweep`, `brief`, `routing export|import`,
`recommend`, `calibrate`, `validate-against`) goes through `OutputDir` (a results folder) or
`OutputFile` (one file, maybe with companion folders such as the brief's figures), which:

1. checks `--out` before any simulation: an empty name, a file where a folder is wanted (or the
   reverse), a folder or file that already holds outputs (refused unless `--force`), a folder
   that cannot be written, and a target that is (or would replace) one of the command's own
   input files all exit 2 with a message naming the flag and the fix;
2. takes an exclusive lock (`fcntl.flock` on `.<name>.lock` beside the target), so two
   processes never write one folder: the second exits 2 at once;
3. has the command write into a temporary folder (or file) beside the target and renames it
   into place only when everything is written, so a crash or Ctrl-C leaves either the old
   outputs or the new ones, never a mixture or half a file;
4. with `--force`, replaces an earlier cogov output only: a folder holding files cogov did not
   write is never deleted.

    with OutputDir(args.out, force=args.force, inputs=[args.scenario]) as tmp:
        result = run_scenario(...)        # may take minutes; the folder is locked meanwhile
        write_outputs(result, tmp)        # into the temporary folder
    # here `args.out` holds the complete outputs

`OutputDir(..., in_place=True)` (the resumable sweep) keeps the checks and the lock but writes
into the folder itself, since its ledger must survive an interruption to be resumed.
"""

from __future__ import annotations

import datetime as _dt
import errno
import json
import os
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path

from .errors import UserError

try:   # POSIX; elsewhere the lock is a no-op (the temp-and-rename still protects the files)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

MARKER = ".cogov-output.json"

# Names cogov writes into an output folder (a folder holding only these, or holding the marker,
# is an earlier cogov output that --force may replace).
KNOWN_OUTPUTS = {
    # run
    "summary.json", "cases.csv", "cases.parquet", "timeseries.csv", "timeseries.parquet",
    "summary_by_street.csv", "summary_by_grid.csv", "summary_by_category.csv",
    "scenario.resolved.yaml",
    # compare / recommend evidence
    "manifest.json", "runs.csv", "comparison.csv", "by_grid.csv", "by_street.csv",
    "by_category.csv", "figures", "steady_state.csv", "patterns.csv",
    # diff
    "differences.csv", "differences.json",
    # sweep
    "experiment.yaml", "design.csv", "ledger.sqlite", "ledger.sqlite-wal", "ledger.sqlite-shm",
    "timeseries", "points.csv", "sensitivity_sobol.csv", "sensitivity_sobol_s2.csv",
    "sensitivity_morris.csv",
    # recommend
    # compare --uncertainty (its resumable draws), replay
    "uncertainty", "replay_input.json",
    "search_log.csv", "current_routing_table.csv", "routing_table.csv", "routing_table.yaml",
    "recommended_scenario.yaml", "evidence", "search.json", "brief.html", "brief_figures",
    # calibrate --report, validate-against
    "index.md",
}
# files that mark a folder written by cogov before the marker file existed
SIGNATURES = ("summary.json", "manifest.json", "ledger.sqlite", "search.json")
# with the marker (or a signature), other files of these kinds are cogov's too (report tables
# and figures of calibrate and validate-against)
OUTPUT_SUFFIXES = (".csv", ".png", ".pdf", ".svg", ".md", ".json", ".yaml", ".parquet",
                   ".html")


def _say(flag: str, shown: str) -> str:
    return f"{flag} {shown}" if shown else f"{flag} ''"


def _check_name(out, flag: str) -> Path:
    if out is None or str(out).strip() == "":
        raise UserError(f"{flag} '': empty name: give a folder or file name, e.g. "
                        f"{flag} results/run1")
    path = Path(os.path.expanduser(str(out)))
    if path.name in ("", ".", ".."):      # `--out .`: name it, so it has a parent to lock in
        path = Path(os.path.abspath(path))
    return path


def _extends(path: Path, seen: set) -> list[Path]:
    """The scenarios `path` extends (`extends: parent.yaml` or a list), their parents too: a
    command reads them all, so none may be replaced by its output."""
    if path.suffix.lower() not in (".yaml", ".yml") or not path.is_file() or path in seen:
        return []
    seen.add(path)
    try:
        if path.stat().st_size > 5_000_000:
            return []
        from .yamlsafe import read_file  # the one YAML reader

        data = read_file(path, "scenario")
    except Exception:       # not readable here: the command itself reports it
        return []
    parents = data.get("extends") if isinstance(data, dict) else None
    if isinstance(parents, str):
        parents = [parents]
    if not isinstance(parents, list):
        return []
    out = []
    for q in parents:
        if not isinstance(q, str) or not q.strip():
            continue
        parent = (path.parent / os.path.expanduser(q)).resolve()
        if parent.exists():
            out.append(parent)
            out += _extends(parent, seen)
    return out


def _input_paths(inputs: Iterable) -> list[Path]:
    """The command's inputs that exist, resolved, with the scenarios they extend."""
    out: list[Path] = []
    seen: set = set()
    for p in inputs or ():
        if p is None or str(p) == "":
            continue
        try:
            path = Path(p)
        except TypeError:
            continue
        if path.exists():
            out.append(path.resolve())
            out += _extends(path.resolve(), seen)
    return list(dict.fromkeys(out))


#: the outputs being written now (flag, shown name), for the CLI's messages on a full disk
ACTIVE: list = []


def full_disk_error(exc: BaseException, flag: str = "--out", shown: str = "") -> UserError:
    """A full disk (or quota) while writing: exit 2 naming the output; nothing earlier changed
    (outputs are written into a temporary folder, removed again)."""
    if not shown and ACTIVE:
        flag, shown = ACTIVE[-1]
    where = f"{_say(flag, shown)}: " if shown else ""
    why = getattr(exc, "strerror", None) or exc
    return UserError(f"{where}no space left on the device while writing ({why}):"
                     f" free some space or choose another {flag} on a disk with room; earlier "
                     f"outputs there are unchanged (a sweep or draws continue with --resume)")


FULL_DISK = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def is_full_disk(exc: BaseException | None) -> bool:
    """An OSError of a full disk or quota, or SQLite's "database or disk is full"."""
    if isinstance(exc, OSError):
        return exc.errno in FULL_DISK
    return type(exc).__name__ == "OperationalError" and "full" in str(exc)


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def _inside(child: Path, parent: Path) -> bool:
    try:
        child.resolve().relative_to(parent.resolve())
        return True
    except ValueError:
        return False


class _Lock:
    """An exclusive, non-blocking flock on `path`; removed when released."""

    def __init__(self, path: Path, flag: str, shown: str):
        self.path, self.flag, self.shown = path, flag, shown
        self.fd: int | None = None

    def acquire(self) -> None:
        if fcntl is None:  # pragma: no cover
            return
        for _ in range(50):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    os.close(fd)
                    raise
                try:
                    holder = os.read(fd, 200).decode("utf-8", "replace").strip()
                except OSError:
                    holder = ""
                os.close(fd)
                who = f" ({holder})" if holder else ""
                raise UserError(f"{_say(self.flag, self.shown)}: another cogov process is "
                                f"writing there{who}: wait until it has finished, or choose "
                                f"another {self.flag}") from None
            # the previous holder may have removed the file between our open and our lock
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                os.ftruncate(fd, 0)
                os.write(fd, f"pid {os.getpid()}".encode())
                self.fd = fd
                return
            os.close(fd)
        raise UserError(f"{_say(self.flag, self.shown)}: could not lock the output "
                        f"(lock file {self.path} keeps changing): try again")  # pragma: no cover

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            os.unlink(self.path)      # while still locked: the next one re-checks the inode
        except OSError:
            pass
        os.close(self.fd)
        self.fd = None


def _unwritable(flag: str, shown: str, exc: OSError, what: str = "folder") -> UserError:
    why = exc.strerror or str(exc)
    return UserError(f"{_say(flag, shown)}: cannot write there ({why}): choose a {what} you "
                     f"can write to, e.g. {flag} ~/cogov-results/run1")


def _sweep_stale(parent: Path, name: str) -> None:
    """Remove temporary folders and files left by a killed process (we hold the lock)."""
    for pat in (f".{name}.tmp-*", f".{name}.old-*"):
        for p in parent.glob(pat):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                try:
                    p.unlink()
                except OSError:
                    pass


def _make_parents(path: Path, flag: str, shown: str) -> list[Path]:
    """Create the missing parents of `path`; returns those created (to remove on failure)."""
    made = []
    p = path.parent
    missing = []
    while not p.exists():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    if p.exists() and not p.is_dir():
        raise UserError(f"{_say(flag, shown)}: {p} is a file, not a folder: choose another "
                        f"{flag}")
    for q in reversed(missing):
        try:
            q.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            raise _unwritable(flag, shown, exc) from None
        made.append(q)
    return made


def _remove_made(made: list[Path]) -> None:
    for q in reversed(made):
        try:
            q.rmdir()
        except OSError:
            break


def _earlier_output(folder: Path) -> tuple[list[str], list[str]]:
    """(entries that are cogov outputs, entries that are not) of an existing folder."""
    entries = sorted(os.listdir(folder))
    signed = MARKER in entries or any(e in entries for e in SIGNATURES)
    ours, foreign = [], []
    for e in entries:
        if e.startswith("."):
            continue
        mine = e in KNOWN_OUTPUTS or signed and e.lower().endswith(OUTPUT_SUFFIXES)
        (ours if mine else foreign).append(e)
    return ours, foreign


def _list(names: list[str], n: int = 4) -> str:
    more = f", ... ({len(names)} in all)" if len(names) > n else ""
    return ", ".join(names[:n]) + more


class OutputDir:
    """A results folder written safely (see the module docstring). Use as a context manager;
    `__enter__` returns the folder to write into (temporary unless `in_place`)."""

    def __init__(self, out, *, flag: str = "--out", force: bool = False,
                 inputs: Iterable = (), command: str = "", in_place: bool = False,
                 resume: bool = False, keep: Iterable[str] = ()):
        self.shown = "" if out is None else str(out)
        self.flag = flag
        self.final = _check_name(out, flag)
        self.force = force
        self.inputs = _input_paths(inputs)
        self.command = command
        self.in_place = in_place
        self.resume = resume
        #: entries of an earlier output carried over into the new one (compare --uncertainty
        #: --resume keeps its draws in `uncertainty/` while the comparison is written anew)
        self.keep = tuple(keep)
        self.tmp: Path | None = None
        self._lock: _Lock | None = None
        self._made: list[Path] = []
        self._replace = False

    # ------------------------------------------------------------------ checks
    def check(self) -> None:
        """Everything that can be said about `--out` without writing to it."""
        f, s, out = self.flag, self.shown, self.final
        if out.exists() and not out.is_dir():
            raise UserError(f"{_say(f, s)}: is a file, not a folder: give a new or empty "
                            f"folder, e.g. {f} {out.with_suffix('')}_results")
        for p in self.inputs:
            if self.in_place and self.resume:    # continued in place: only its own files
                harmed = _same(p, out) or (p.parent == out.resolve()
                                           and p.name in KNOWN_OUTPUTS)
            else:
                harmed = _same(p, out) or _inside(p, out) and out.exists()
            if harmed:
                raise UserError(f"{_say(f, s)}: holds this command's own input {p}: "
                                f"writing there would replace it; choose another {f}")
        if out.is_dir():
            try:
                ours, foreign = _earlier_output(out)
            except OSError as exc:
                raise _unwritable(f, s, exc) from None
            if self.resume:
                return
            if foreign:
                raise UserError(f"{_say(f, s)}: the folder holds files cogov did not write "
                                f"({_list(foreign)}): choose a new or empty folder for {f}")
            if ours:
                if not self.force:
                    raise UserError(f"{_say(f, s)}: already holds the outputs of an earlier "
                                    f"run ({_list(ours)}): add --force to replace them, or "
                                    f"choose a new folder for {f}")
                self._replace = True

    # ------------------------------------------------------------------ protocol
    def __enter__(self) -> Path:
        self.check()
        out = self.final
        self._made = _make_parents(out, self.flag, self.shown)
        try:
            self._lock = _Lock(out.parent / f".{out.name}.lock", self.flag, self.shown)
            try:
                self._lock.acquire()
            except OSError as exc:
                raise _unwritable(self.flag, self.shown, exc) from None
            self.check()            # again, now that no one else can change it
            _sweep_stale(out.parent, out.name)
            if self.in_place:
                if self._replace:
                    self._discard_old()
                try:
                    out.mkdir(exist_ok=True)
                    self._probe(out)
                except OSError as exc:
                    raise _unwritable(self.flag, self.shown, exc) from None
                self._write_marker(out, "writing")
                self.tmp = out
                ACTIVE.append((self.flag, self.shown))
                return out
            self.tmp = out.parent / f".{out.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            try:
                self.tmp.mkdir()
                self._probe(self.tmp)
            except OSError as exc:
                raise _unwritable(self.flag, self.shown, exc) from None
            ACTIVE.append((self.flag, self.shown))
            return self.tmp
        except BaseException:
            self._abort()
            raise

    def __exit__(self, exc_type, exc, tb) -> None:
        _inactive(self)
        if exc_type is not None:
            self._abort()
            if is_full_disk(exc):
                raise full_disk_error(exc, self.flag, self.shown) from None
            return
        try:
            if self.in_place:
                self._write_marker(self.final, "complete")
            else:
                self._commit()
        except OSError as e:
            self._abort()
            if e.errno in FULL_DISK:
                raise full_disk_error(e, self.flag, self.shown) from None
            raise _unwritable(self.flag, self.shown, e) from None
        finally:
            if self._lock:
                self._lock.release()

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _probe(folder: Path) -> None:
        probe = folder / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()

    def _write_marker(self, folder: Path, state: str) -> None:
        data = {"written_by": "cogov", "command": self.command, "state": state,
                "pid": os.getpid(),
                "time": _dt.datetime.now().astimezone().isoformat(timespec="seconds")}
        tmp = folder / f"{MARKER}.tmp"
        tmp.write_text(json.dumps(data, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, folder / MARKER)

    def _discard_old(self) -> None:
        out = self.final
        old = out.parent / f".{out.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            if _inside(Path.cwd(), out):
                raise OSError("the current folder: keep it, empty it")
            os.rename(out, old)
        except OSError:              # e.g. the current directory: empty it instead
            for e in os.listdir(out):
                p = out / e
                if p.is_dir() and not p.is_symlink():
                    shutil.rmtree(p)
                else:
                    p.unlink()
            return
        shutil.rmtree(old, ignore_errors=True)

    def _commit(self) -> None:
        out, tmp = self.final, self.tmp
        assert tmp is not None
        if self._replace and out.is_dir():
            for name in self.keep:          # carried over (moved, not copied)
                if (out / name).exists() and not (tmp / name).exists():
                    os.rename(out / name, tmp / name)
        self._write_marker(tmp, "complete")
        if out.is_dir():
            if self._replace:
                old = out.parent / f".{out.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
                try:
                    if _inside(Path.cwd(), out):
                        raise OSError("the current folder: keep it, replace what is in it")
                    os.rename(out, old)
                except OSError:
                    old = None
                if old is not None:
                    os.rename(tmp, out)
                    shutil.rmtree(old, ignore_errors=True)
                    self.tmp = None
                    return
                self._discard_old()
            # an existing empty folder (or one we could not move): move the entries in
            for e in sorted(os.listdir(tmp), key=lambda n: n == MARKER):
                os.replace(tmp / e, out / e)
            tmp.rmdir()
        else:
            os.rename(tmp, out)
        self.tmp = None

    def _abort(self) -> None:
        if self.tmp is not None and not self.in_place and self.tmp.exists():
            shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp = None
        if self._lock:
            self._lock.release()
        if not self.final.exists():
            _remove_made(self._made)


class OutputFile:
    """One output file (and optional companion folders beside it, e.g. a brief's figures),
    written safely. `__enter__` returns the temporary file to write; `companion(i)` the
    temporary folder of companion `i`. Both are renamed into place on success."""

    def __init__(self, out, *, flag: str = "--out", force: bool = False,
                 inputs: Iterable = (), companions: Iterable = (), suffixes=None,
                 what: str = "file"):
        self.shown = "" if out is None else str(out)
        self.flag = flag
        self.final = _check_name(out, flag)
        self.force = force
        self.inputs = _input_paths(inputs)
        self.companions = [Path(c) for c in companions]
        self.suffixes = tuple(suffixes) if suffixes else None
        self.what = what
        self.tmp: Path | None = None
        self._ctmp: list[Path] = []
        self._lock: _Lock | None = None
        self._made: list[Path] = []

    def check(self) -> None:
        f, s, out = self.flag, self.shown, self.final
        if out.is_dir():
            raise UserError(f"{_say(f, s)}: is a folder: give a file name, e.g. "
                            f"{f} {out / ('out' + (self.suffixes or ('.txt',))[0])}")
        for p in self.inputs:
            if _same(p, out):
                raise UserError(f"{_say(f, s)}: is this command's own input {p}: writing "
                                f"there would replace it; choose another file name for {f}")
            if p.is_dir() and out.exists() and _inside(out, p):
                raise UserError(f"{_say(f, s)}: is a file in this command's input folder {p} "
                                f"(the command reads it): choose a file name outside it for "
                                f"{f}")
            for c in self.companions:
                if _same(p, c) or c.exists() and _inside(p, c):
                    raise UserError(f"{_say(f, s)}: writing it would replace {c}, which holds "
                                    f"this command's input {p}; choose another {f}")
        if out.exists() and not self.force:
            raise UserError(f"{_say(f, s)}: already exists: add --force to replace it, or "
                            f"choose a new file name for {f}")
        for c in self.companions:
            if c.exists() and not c.is_dir():
                raise UserError(f"{_say(f, s)}: {c} (written beside it) is a file: move it or "
                                f"choose another {f}")
            if c.is_dir() and os.listdir(c) and not self.force:
                raise UserError(f"{_say(f, s)}: {c} already holds earlier outputs: add --force "
                                f"to replace them, or choose a new file name for {f}")

    def __enter__(self) -> Path:
        self.check()
        out = self.final
        self._made = _make_parents(out, self.flag, self.shown)
        try:
            self._lock = _Lock(out.parent / f".{out.name}.lock", self.flag, self.shown)
            try:
                self._lock.acquire()
            except OSError as exc:
                raise _unwritable(self.flag, self.shown, exc, "file") from None
            self.check()
            _sweep_stale(out.parent, out.name)
            for c in self.companions:
                _sweep_stale(c.parent, c.name)
            tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
            self.tmp = out.parent / f".{out.name}.tmp-{tag}{out.suffix}"
            try:
                self.tmp.write_bytes(b"")
                for c in self.companions:
                    t = c.parent / f".{c.name}.tmp-{tag}"
                    t.mkdir(parents=True)
                    self._ctmp.append(t)
            except OSError as exc:
                raise _unwritable(self.flag, self.shown, exc, "file") from None
            ACTIVE.append((self.flag, self.shown))
            return self.tmp
        except BaseException:
            self._abort()
            raise

    def companion(self, i: int = 0) -> Path:
        return self._ctmp[i]

    def __exit__(self, exc_type, exc, tb) -> None:
        _inactive(self)
        if exc_type is not None:
            self._abort()
            if is_full_disk(exc):
                raise full_disk_error(exc, self.flag, self.shown) from None
            return
        try:
            for c, t in zip(self.companions, self._ctmp):
                if c.exists():
                    old = c.parent / f".{c.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
                    os.rename(c, old)
                    os.rename(t, c)
                    shutil.rmtree(old, ignore_errors=True)
                else:
                    os.rename(t, c)
            self._ctmp = []
            assert self.tmp is not None
            os.replace(self.tmp, self.final)
            self.tmp = None
        except OSError as e:
            self._abort()
            if e.errno in FULL_DISK:
                raise full_disk_error(e, self.flag, self.shown) from None
            raise _unwritable(self.flag, self.shown, e, "file") from None
        finally:
            if self._lock:
                self._lock.release()

    def _abort(self) -> None:
        if self.tmp is not None:
            try:
                self.tmp.unlink()
            except OSError:
                pass
            self.tmp = None
        for t in self._ctmp:
            shutil.rmtree(t, ignore_errors=True)
        self._ctmp = []
        if self._lock:
            self._lock.release()
        if not self.final.exists():
            _remove_made(self._made)


def _inactive(target) -> None:
    try:
        ACTIVE.remove((target.flag, target.shown))
    except ValueError:
        pass


def add_out_args(p, help: str, required: bool = True) -> None:
    """`--out` and `--force` on a subcommand's parser."""
    p.add_argument("--out", required=required, help=help)
    p.add_argument("--force", action="store_true",
                   help="replace the outputs of an earlier run at --out (never files cogov did "
                        "not write)")
