"""Install what a stack part needs: Debian packages, Maven artifacts, Go binaries.

Each installer does nothing when its result is already there, so a second
`stack up` costs only the checks. Downloads are cached outside the work tree
(`~/.m2`, the Go module cache, `SHOPSTREAM_CACHE_DIR`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path


class InstallError(RuntimeError):
    pass


def run_checked(command: list[str], *, env: dict[str, str] | None = None, what: str) -> None:
    result = subprocess.run(
        command,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()[-30:]
        raise InstallError(f"installing {what} failed ({' '.join(command)}):\n" + "\n".join(output))


_apt_updated = False


def debian_packages(packages: dict[str, str]) -> None:
    """Install Debian packages, given as {executable it provides: package name}."""
    global _apt_updated
    missing = [pkg for exe, pkg in packages.items() if not find_executable(exe)]
    if not missing:
        return
    if os.geteuid() != 0:
        raise InstallError(
            f"the Debian packages {', '.join(missing)} are missing; install them with "
            f"`sudo apt-get install {' '.join(missing)}` or run as root"
        )
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    if not _apt_updated:
        run_checked(["apt-get", "update", "-qq"], env=env, what="the Debian package lists")
        _apt_updated = True
    # The packages' own service scripts are not used; policy-rc.d may refuse them.
    run_checked(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
         env=env, what=", ".join(missing))


def find_executable(name: str) -> str | None:
    """Find a program on PATH or in the sbin folders Debian servers install to."""
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin:/usr/local/sbin")


def maven_libraries(pom: Path, target: Path) -> Path:
    """Copy the runtime dependencies of `pom` into `target` once."""
    marker = target / ".complete"
    if marker.exists():
        return target
    if not shutil.which("mvn"):
        raise InstallError("Maven (mvn) is needed to fetch the Java servers; install `maven`")
    target.mkdir(parents=True, exist_ok=True)
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
    target.mkdir(parents=True, exist_ok=True)
    run_checked(["mvn", "-B", "-q", "-f", str(pom), "package", f"-Des.libdir={target}"],
         what=f"the Maven project {pom.parent.name}")
    marker.write_text(_tree_digest(pom.parent))
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
    download = subprocess.run(
        ["go", "mod", "download", "-json", f"{module}@{version}"],
        capture_output=True, text=True, stdin=subprocess.DEVNULL,
    )
    if download.returncode != 0:
        raise InstallError(f"downloading {module}@{version} failed:\n{download.stdout}{download.stderr}")
    source = Path(json.loads(download.stdout)["Dir"])
    build_dir = bin_dir / f".build-{binary}-{version}"
    shutil.rmtree(build_dir, ignore_errors=True)
    shutil.copytree(source, build_dir)
    for path in build_dir.rglob("*"):
        path.chmod(path.stat().st_mode | 0o200)
    for relative, content in (extra_files or {}).items():
        (build_dir / relative).write_text(content)
    run_checked(["go", "build", "-C", str(build_dir), "-buildvcs=false", "-mod=mod", "-o", str(target), package],
         what=f"{module}@{version}")
    shutil.rmtree(build_dir, ignore_errors=True)
    return target
