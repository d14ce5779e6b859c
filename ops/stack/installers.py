"""Install what a stack part needs: Debian packages, Maven artifacts, Go binaries.

Each installer does nothing when its result is already there, so a second
`stack up` costs only the checks. Downloads are cached outside the work tree
(`~/.m2`, the Go module cache, `SHOPSTREAM_CACHE_DIR`).

Parts install in parallel, and other stacks on the machine may install at the
same time, but apt, Maven and Go each keep machine-wide state (dpkg's lock,
`~/.m2`, the Go module cache, and the cache folder their results go to): each
tool runs under a lock file of its own (`flock`), so installs that share one
take turns, across threads and processes. Each long step is announced through
`InstallProgress`, so the caller can say what is being done and for how long.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path


class InstallError(RuntimeError):
    pass


@dataclass
class InstallProgress:
    """What one part's install is doing now (None when nothing long), and since when."""

    step: str | None = None
    since: float = 0.0


_progress: ContextVar[InstallProgress | None] = ContextVar("install_progress", default=None)
_lock_dir: ContextVar[Path | None] = ContextVar("install_lock_dir", default=None)


def run_install(install: Callable[[], None], progress: InstallProgress,
                lock_dir: Path) -> None:
    """Call `install()` with its steps reported to `progress`, its locks under `lock_dir`."""
    _progress.set(progress)
    _lock_dir.set(lock_dir)
    install()


@contextmanager
def step(what: str) -> Iterator[None]:
    """Announce a long step (a download, a build) for as long as it lasts."""
    progress = _progress.get()
    if progress is None:
        yield
        return
    progress.step, progress.since = what, time.monotonic()
    try:
        yield
    finally:
        progress.step = None


@contextmanager
def machine_lock(name: str) -> Iterator[None]:
    """Hold the machine-wide lock `name` (a file lock: other processes wait too)."""
    lock_dir = _lock_dir.get()
    if lock_dir is None:
        raise RuntimeError("machine_lock outside run_install: no lock folder")
    _shared_folder(lock_dir)
    handle = os.open(lock_dir / f"{name}.lock", os.O_RDONLY | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            with step(f"waiting for another install to release the {name} lock"):
                fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # releases the lock


def _shared_folder(path: Path) -> None:
    """Make `path`, writable by every user (as /tmp is), unless it is there."""
    try:
        path.mkdir(parents=True)
    except FileExistsError:
        return
    path.chmod(0o1777)


def run_checked(command: list[str], *, env: dict[str, str] | None = None, what: str,
                input: str | None = None) -> None:
    """Run `command` to its end, its standard input `input` (or nothing); fail with its output."""
    result = subprocess.run(
        command,
        env={**os.environ, **(env or {})},
        **({"stdin": subprocess.DEVNULL} if input is None else {"input": input}),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()[-30:]
        raise InstallError(f"installing {what} failed ({' '.join(command)}):\n" + "\n".join(output))


_apt_updated = False
# apt-get waits this long for dpkg's own lock, should something outside shopstream hold it.
DPKG_LOCK_TIMEOUT_S = 600


def debian_packages(packages: dict[str, str]) -> None:
    """Install Debian packages, given as {executable it provides: package name}."""
    if not _missing(packages):
        return
    with machine_lock("apt"):
        missing = _missing(packages)  # another install may have brought them meanwhile
        if missing:
            _apt_install(missing)


def _missing(packages: dict[str, str]) -> list[str]:
    return [pkg for exe, pkg in packages.items() if not find_executable(exe)]


def _apt_install(missing: list[str]) -> None:
    global _apt_updated
    if os.geteuid() != 0:
        raise InstallError(
            f"the Debian packages {', '.join(missing)} are missing; install them with "
            f"`sudo apt-get install {' '.join(missing)}` or run as root"
        )
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    apt_get = ["apt-get", "-o", f"DPkg::Lock::Timeout={DPKG_LOCK_TIMEOUT_S}"]
    if not _apt_updated:
        with step("the Debian package lists (apt-get update)"):
            run_checked([*apt_get, "update", "-qq"], env=env, what="the Debian package lists")
        _apt_updated = True
    # The packages' own service scripts are not used; policy-rc.d may refuse them.
    with step(f"Debian packages {', '.join(missing)}"):
        run_checked([*apt_get, "install", "-y", "-qq", "--no-install-recommends", *missing],
                    env=env, what=", ".join(missing))


def find_executable(name: str) -> str | None:
    """Find a program on PATH or where Debian's servers install it.

    Those are the sbin folders and, for PostgreSQL's server programs (`initdb`,
    `postgres`), `/usr/lib/postgresql/<version>/bin`, the newest version first.
    """
    return (shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin:/usr/local/sbin")
            or shutil.which(name, path=os.pathsep.join(map(str, _postgresql_bin_dirs()))))


def _postgresql_bin_dirs() -> list[Path]:
    versions = [path for path in Path("/usr/lib/postgresql").glob("*/bin")
                if path.parent.name.isdigit()]
    return sorted(versions, key=lambda path: int(path.parent.name), reverse=True)


def maven_libraries(pom: Path, target: Path) -> Path:
    """Copy the runtime dependencies of `pom` into `target` once."""
    marker = target / ".complete"
    if marker.exists():
        return target
    if not shutil.which("mvn"):
        raise InstallError("Maven (mvn) is needed to fetch the Java servers; install `maven`")
    with machine_lock("maven"):
        if not marker.exists():
            target.mkdir(parents=True, exist_ok=True)
            with step(f"Maven artifacts of {target.name}"):
                run_checked(
                    ["mvn", "-B", "-q", "-f", str(pom), "dependency:copy-dependencies",
                     "-DincludeScope=runtime", f"-DoutputDirectory={target}"],
                    what=f"the Maven artifacts of {pom.name}",
                )
            marker.write_text(pom.read_text())
    return target


def maven_package(pom: Path, target: Path) -> Path:
    """Build a small Maven project of ours into `target` (its jar and dependencies) once."""
    marker = target / ".complete"
    if marker.exists() and marker.read_text() == _tree_digest(pom.parent):
        return target
    if not shutil.which("mvn"):
        raise InstallError("Maven (mvn) is needed to build the Java servers; install `maven`")
    with machine_lock("maven"):
        digest = _tree_digest(pom.parent)
        if not (marker.exists() and marker.read_text() == digest):
            target.mkdir(parents=True, exist_ok=True)
            with step(f"building {target.name} with Maven"):
                run_checked(["mvn", "-B", "-q", "-f", str(pom), "package",
                             f"-Des.libdir={target}"],
                            what=f"the Maven project {pom.parent.name}")
            marker.write_text(digest)
    return target


def _tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "target" not in path.relative_to(folder).parts:
            digest.update(str(path.relative_to(folder)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def go_binary(
    module: str,
    version: str,
    binary: str,
    bin_dir: Path,
    *,
    package: str = ".",
    extra_files: dict[str, str] | None = None,
) -> Path:
    """Build `module@version` from its source into `bin_dir/<binary>-<version>` once.

    The module's source is copied out of the Go module cache so that files its
    release build generates (`extra_files`, e.g. a version stamp) can be written
    before `go build`.
    """
    target = bin_dir / f"{binary}-{version}"
    if target.exists():
        return target
    if not shutil.which("go"):
        raise InstallError(f"Go is needed to build {binary}; install `golang`")
    with machine_lock("go"):
        if not target.exists():
            with step(f"{binary} {version} from the Go module proxy"):
                _go_build(module, version, target, package, extra_files or {})
    return target


def _go_build(module: str, version: str, target: Path, package: str,
              extra_files: dict[str, str]) -> None:
    download = subprocess.run(
        ["go", "mod", "download", "-json", f"{module}@{version}"],
        capture_output=True, text=True, stdin=subprocess.DEVNULL,
    )
    if download.returncode != 0:
        raise InstallError(f"downloading {module}@{version} failed:\n{download.stdout}{download.stderr}")
    source = Path(json.loads(download.stdout)["Dir"])
    build_dir = target.parent / f".build-{target.name}"
    shutil.rmtree(build_dir, ignore_errors=True)
    shutil.copytree(source, build_dir)
    for path in build_dir.rglob("*"):
        path.chmod(path.stat().st_mode | 0o200)
    for relative, content in extra_files.items():
        (build_dir / relative).write_text(content)
    run_checked(["go", "build", "-C", str(build_dir), "-buildvcs=false", "-mod=mod", "-o",
                 str(target), package], what=f"{module}@{version}")
    shutil.rmtree(build_dir, ignore_errors=True)
