"""The bundle's container: a BagIt-style zip written deterministically, and its check.

Layout (BagIt 1.0, zipped)::

    bagit.txt  bag-info.txt  manifest-sha256.txt  tagmanifest-sha256.txt  data/...

``manifest-sha256.txt`` lists the SHA-256 of every file under ``data/``, in
``sha256sum`` format, so ``sha256sum -c manifest-sha256.txt`` works after unzip.
``tagmanifest-sha256.txt`` covers the three tag files, so editing the manifest
itself is caught too.

The *payload hash* is the SHA-256 of the manifest lines of every payload file
except ``data/audit-entry.json``. The audit entry is written after the payload
is hashed and quotes that hash; it then gets its own manifest line. This breaks
the circle (an entry cannot contain the hash of a manifest that lists the entry)
and lets anyone match a bundle to the fund's audit log.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import tempfile
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ground.errors import InputRefused

__all__ = [
    "AUDIT_ENTRY",
    "VerifyResult",
    "verify_bundle",
    "write_bag",
    "manifest_text",
    "payload_hash",
    "sha256_hex",
    "read_manifest",
]

AUDIT_ENTRY = "data/audit-entry.json"
# Zip entries carry this date so two bundles of the same payload are byte-identical.
_FIXED_DATE = (1980, 1, 1, 0, 0, 0)
_BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"


@dataclass(frozen=True)
class VerifyResult:
    """What :func:`verify_bundle` found.

    ``changed``, ``missing`` and ``added`` name bundle paths; ``problems`` holds
    other reasons the bundle is not intact (tag files, payload hash).
    """

    path: Path
    checked: int
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    payload_sha256: str | None = None

    @property
    def ok(self) -> bool:
        return not (self.changed or self.missing or self.added or self.problems)

    def lines(self) -> list[str]:
        """Human-readable report, one finding per line."""
        if self.ok:
            return [f"intact: {self.checked} files match the manifest; payload sha256 {self.payload_sha256}"]
        out = [f"changed: {p}" for p in self.changed]
        out += [f"missing: {p}" for p in self.missing]
        out += [f"added: {p}" for p in self.added]
        out += [f"problem: {p}" for p in self.problems]
        return out


def sha256_hex(data: bytes) -> str:
    """SHA-256 of ``data`` as 64 lowercase hex digits.

    Parameters
    ----------
    data : bytes
    """
    return hashlib.sha256(data).hexdigest()


def manifest_text(files: Mapping[str, bytes]) -> str:
    """``sha256sum``-style lines for ``files`` (bundle path -> bytes), sorted by path.

    Parameters
    ----------
    files : mapping of str to bytes
    """
    return "".join(f"{sha256_hex(files[name])}  {name}\n" for name in sorted(files))


def payload_hash(manifest: str) -> str:
    """SHA-256 of the manifest lines of every payload file except the audit entry.

    Parameters
    ----------
    manifest : str
        The text of ``manifest-sha256.txt``.
    """
    kept = [line for line in manifest.splitlines(keepends=True) if not line.rstrip("\n").endswith("  " + AUDIT_ENTRY)]
    return sha256_hex("".join(kept).encode("utf-8"))


def read_manifest(text: str) -> dict[str, str]:
    """Parse ``sha256sum`` lines into path -> hex digest.

    Parameters
    ----------
    text : str
    """
    out: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64:
            raise InputRefused(f"manifest line {number}: expected '<sha256>  <path>', got {line[:80]!r}")
        out[name.lstrip("*")] = digest.lower()
    return out


def write_bag(out_zip: str | Path, payload: Mapping[str, bytes], bag_info: Mapping[str, str]) -> Path:
    """Write a zipped bag atomically: temp file (0600) in the target folder, then rename.

    Temporary files an earlier, killed write to the same target left are removed first.

    Parameters
    ----------
    out_zip : path
        Target file; replaced if present.
    payload : mapping
        Paths relative to ``data/`` (``"graph/ring.graphml"``) -> bytes.
    bag_info : mapping
        ``bag-info.txt`` fields, written in the given order; keep them free of
        the export time so bundles stay reproducible.

    Returns
    -------
    Path
        ``out_zip``.
    """
    out_zip = Path(out_zip)
    files = {f"data/{name}": data for name, data in payload.items()}
    manifest = manifest_text(files).encode("utf-8")
    # No Payload-Oxum (optional in BagIt): the audit entry's size varies, and
    # bag-info.txt should stay the same for two exports of the same ring.
    info_bytes = "".join(f"{k}: {v}\n" for k, v in bag_info.items()).encode("utf-8")
    tags = {"bagit.txt": _BAGIT_TXT, "bag-info.txt": info_bytes, "manifest-sha256.txt": manifest}
    tags["tagmanifest-sha256.txt"] = manifest_text(tags).encode("utf-8")
    entries = {**tags, **files}
    out_zip.parent.mkdir(parents=True, exist_ok=True)
    # A killed export leaves its temporary file; the next export to the same target removes it.
    for stale in out_zip.parent.glob(f".{glob.escape(out_zip.name)}.*.tmp"):
        stale.unlink(missing_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out_zip.name}.", suffix=".tmp", dir=out_zip.parent)
    try:
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w") as zf:
            for name in sorted(entries):
                zi = zipfile.ZipInfo(name, date_time=_FIXED_DATE)
                zi.compress_type = zipfile.ZIP_DEFLATED
                zi.external_attr = 0o644 << 16
                zf.writestr(zi, entries[name])
        os.replace(tmp_name, out_zip)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return out_zip


def verify_bundle(path: str | Path) -> VerifyResult:
    """Check a bundle against its own manifests; needs no Shabaka store.

    Every ``data/`` file is hashed and compared with ``manifest-sha256.txt``;
    the tag files with ``tagmanifest-sha256.txt``; and the payload hash quoted
    in ``data/audit-entry.json`` with the one recomputed from the manifest.

    Parameters
    ----------
    path : path
        The bundle zip.

    Returns
    -------
    VerifyResult
        ``.ok`` is True when nothing changed, went missing or was added.

    Raises
    ------
    InputRefused
        The file is not a zip or has no ``manifest-sha256.txt``.
    """
    path = Path(path)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputRefused(f"{path}: not a readable zip bundle ({exc})") from None
    with zf:
        names = [n for n in zf.namelist() if not n.endswith("/")]
        contents: dict[str, bytes | None] = {}
        for name in names:
            try:
                contents[name] = zf.read(name)
            except (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error):
                contents[name] = None  # damaged member: reported as changed
    if contents.get("manifest-sha256.txt") is None:
        raise InputRefused(f"{path}: no readable manifest-sha256.txt; not a Shabaka bundle")
    changed: list[str] = []
    missing: list[str] = []
    problems: list[str] = []
    manifest_str = contents["manifest-sha256.txt"].decode("utf-8", errors="replace")
    expected = read_manifest(manifest_str)
    tag_expected: dict[str, str] = {}
    if contents.get("tagmanifest-sha256.txt") is None:
        missing.append("tagmanifest-sha256.txt")
    else:
        tag_expected = read_manifest(contents["tagmanifest-sha256.txt"].decode("utf-8", errors="replace"))
    for name, digest in sorted({**expected, **tag_expected}.items()):
        if name not in contents:
            missing.append(name)
        elif contents[name] is None or sha256_hex(contents[name]) != digest:
            changed.append(name)
    listed = set(expected) | set(tag_expected) | {"tagmanifest-sha256.txt"}
    added = sorted(n for n in contents if n not in listed)
    payload = payload_hash(manifest_str)
    entry_bytes = contents.get(AUDIT_ENTRY)
    if entry_bytes is None:
        if AUDIT_ENTRY not in missing and AUDIT_ENTRY not in changed:
            problems.append(f"{AUDIT_ENTRY} absent: the bundle cannot be matched to an audit log entry")
    else:
        try:
            quoted = json.loads(entry_bytes)["params"]["payload_sha256"]
        except (ValueError, KeyError, TypeError):
            quoted = None
        if quoted != payload:
            problems.append(f"payload sha256 {payload} differs from the one in {AUDIT_ENTRY} ({quoted})")
    return VerifyResult(path=path, checked=len(expected) + len(tag_expected), changed=changed, missing=missing,
                        added=added, problems=problems, payload_sha256=payload)
