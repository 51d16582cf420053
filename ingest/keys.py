"""The duplicate check on (claim_id, line_no), with fingerprints instead of a SQLite index.

Every loaded line's key is reduced to a 128-bit fingerprint: two independent 64-bit
mixes (splitmix64 finaliser) of the claim id's bytes, its length and the line number,
computed with NumPy over the Arrow buffers, without a Python object per line. Two keys
are the same when both halves are equal. Ids are at most 64 characters
(``MAX_ID_CHARS``); the chance that two different keys share 128 bits among the 230
million lines of a national decade is about 1e-22, far below a disk error.

- Each committed batch keeps its fingerprints sorted in ``keys.npy`` beside its Parquet
  parts (:func:`write_key_file`), memory-mapped when a later file is checked against it.
- The file being loaded keeps its own in a few sorted runs (:class:`FileKeys`, merged
  like a log-structured tree: O(log chunks) runs), 16 bytes per line plus its line
  number, so "already seen in this file at line N" is reported as before.

SQLite's ``claim_keys`` index cost one B-tree insert per line (about a third of the
ingest time of a national week, and more as the table grew); the fingerprints cost a
few NumPy passes per chunk.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from ground.files import open_private

__all__ = ["KEY_FILE", "FileKeys", "fingerprints", "write_key_file", "read_key_file", "find_in"]

#: Name of a batch's fingerprint file inside its folder.
KEY_FILE = "keys.npy"

_SEEDS = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xD1B54A32D192ED03))
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def fingerprints(claim_id: pa.Array | pa.ChunkedArray, line_no: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two 64-bit halves of each key's fingerprint.

    Parameters
    ----------
    claim_id : Arrow string array
        Claim ids, no nulls (validated lines).
    line_no : ndarray
        Line numbers, same length.

    Returns
    -------
    (h1, h2) : two uint64 arrays
    """
    if isinstance(claim_id, pa.ChunkedArray):
        claim_id = claim_id.combine_chunks() if claim_id.num_chunks != 1 else claim_id.chunk(0)
    if claim_id.type != pa.string():
        claim_id = claim_id.cast(pa.string())
    n = len(claim_id)
    if n == 0:
        return np.zeros(0, np.uint64), np.zeros(0, np.uint64)
    offsets = np.frombuffer(claim_id.buffers()[1], dtype=np.int32)[claim_id.offset:claim_id.offset + n + 1]
    data = claim_id.buffers()[2]
    data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    lengths = (offsets[1:] - offsets[:-1]).astype(np.int64)
    tail = np.uint64(0) + (lengths.astype(np.uint64) << np.uint64(32)) + np.asarray(line_no).astype(np.uint64)
    h1 = _mix(tail ^ _SEEDS[0])
    h2 = _mix(tail ^ _SEEDS[1])
    words = _words(data, offsets, lengths)
    for word in range(words.shape[1]):
        value = words[:, word]
        # only the words a key has: its fingerprint must not depend on the longest key beside it
        has = lengths > word * 8
        if has.all():
            h1, h2 = _mix(h1 ^ value), _mix(h2 ^ (value + _SEEDS[1]))
        else:
            h1 = np.where(has, _mix(h1 ^ value), h1)
            h2 = np.where(has, _mix(h2 ^ (value + _SEEDS[1])), h2)
    return h1, h2


def _words(data: np.ndarray, offsets: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Each id's bytes as little-endian 64-bit words, zero-padded to the longest id: (n, words) uint64.

    Ids of one length are copied as one block (a reshape when they lie side by side, as a
    file's ids of one width do), not gathered byte by byte.
    """
    n = len(lengths)
    longest = int(lengths.max())
    out = np.zeros((n, (longest + 7) // 8 * 8), dtype=np.uint8)
    first = int(offsets[0])
    if longest and (lengths == longest).all():
        out[:, :longest] = data[first:first + n * longest].reshape(n, longest)
    else:
        for length in np.unique(lengths).tolist():
            if length:
                rows = np.flatnonzero(lengths == length)
                out[rows, :length] = data[offsets[rows][:, None].astype(np.int64) + np.arange(length)]
    return out.view("<u8")


class FileKeys:
    """The fingerprints of the file being loaded, with the line of each, in sorted runs."""

    def __init__(self) -> None:
        self._runs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def __len__(self) -> int:
        return sum(len(run[0]) for run in self._runs)

    def find(self, h1: np.ndarray, h2: np.ndarray) -> np.ndarray:
        """For each key, the file line it was first seen at, or -1.

        Parameters
        ----------
        h1, h2 : ndarray of uint64
        """
        found = np.full(len(h1), -1, dtype=np.int64)
        for run_h1, run_h2, run_line in self._runs:
            pos = find_in(run_h1, run_h2, h1, h2)
            hit = pos >= 0
            found[hit] = np.where(found[hit] >= 0, found[hit], run_line[pos[hit]])
        return found

    def add(self, h1: np.ndarray, h2: np.ndarray, lines: np.ndarray) -> None:
        """Add keys (none already present) with their file lines.

        Parameters
        ----------
        h1, h2 : ndarray of uint64
        lines : ndarray of int
        """
        if not len(h1):
            return
        order = np.argsort(h1, kind="stable")
        self._runs.append((h1[order], h2[order], np.asarray(lines, dtype=np.int64)[order]))
        # merge while the last run is at least half its neighbour: O(log n) runs, O(n log n) work
        while len(self._runs) > 1 and len(self._runs[-2][0]) <= 2 * len(self._runs[-1][0]):
            b, a = self._runs.pop(), self._runs.pop()
            h = np.concatenate([a[0], b[0]])
            order = np.argsort(h, kind="stable")
            self._runs.append((h[order], np.concatenate([a[1], b[1]])[order], np.concatenate([a[2], b[2]])[order]))

    def sorted_keys(self) -> np.ndarray:
        """All keys as a (2, n) uint64 array sorted by the first half (the key file's content)."""
        if not self._runs:
            return np.zeros((2, 0), np.uint64)
        h1 = np.concatenate([run[0] for run in self._runs])
        h2 = np.concatenate([run[1] for run in self._runs])
        order = np.argsort(h1, kind="stable")
        return np.stack([h1[order], h2[order]])


def write_key_file(folder: Path, keys: np.ndarray) -> Path:
    """Save sorted fingerprints (from :meth:`FileKeys.sorted_keys`) as ``folder/keys.npy``.

    Parameters
    ----------
    folder : Path
        The batch's (temporary) folder.
    keys : ndarray
        (2, n) uint64.
    """
    path = folder / KEY_FILE
    with open_private(path, "wb") as handle:
        np.save(handle, np.ascontiguousarray(keys, dtype=np.uint64))
    return path


def read_key_file(path: Path) -> np.ndarray:
    """A batch's fingerprints, memory-mapped (pages are read only where a search lands).

    Parameters
    ----------
    path : Path
    """
    keys = np.load(path, mmap_mode="r")
    if keys.ndim != 2 or keys.shape[0] != 2 or keys.dtype != np.uint64:
        raise ValueError(f"{path}: not a key file (shape {keys.shape}, dtype {keys.dtype})")
    return keys


def find_in(sorted_h1: np.ndarray, sorted_h2: np.ndarray, h1: np.ndarray, h2: np.ndarray) -> np.ndarray:
    """Position in the sorted keys of each (h1, h2), or -1.

    Parameters
    ----------
    sorted_h1, sorted_h2 : ndarray of uint64
        Keys sorted by ``sorted_h1``.
    h1, h2 : ndarray of uint64
        Keys to look for.
    """
    out = np.full(len(h1), -1, dtype=np.int64)
    if not len(sorted_h1) or not len(h1):
        return out
    if len(h1) > 1 and not (h1[1:] >= h1[:-1]).all():
        # binary searches for sorted keys each start where the last ended: several times faster
        # than random ones over a file's millions of keys, whose pages then stay in cache
        order = np.argsort(h1, kind="stable")
        out[order] = find_in(sorted_h1, sorted_h2, h1[order], h2[order])
        return out
    pos = np.searchsorted(sorted_h1, h1)
    inside = pos < len(sorted_h1)
    candidate = np.flatnonzero(inside)
    candidate = candidate[np.asarray(sorted_h1[pos[candidate]]) == h1[candidate]]
    direct = np.asarray(sorted_h2[pos[candidate]]) == h2[candidate]
    out[candidate[direct]] = pos[candidate[direct]]
    for i in candidate[~direct].tolist():
        # equal first halves are rare (1 in 2^64 per pair): walk the equal range
        j = int(pos[i])
        while j < len(sorted_h1) and sorted_h1[j] == h1[i]:
            if sorted_h2[j] == h2[i]:
                out[i] = j
                break
            j += 1
    return out


def _mix(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))
