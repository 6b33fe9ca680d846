"""Document sets as Python ints (bit n set = document n is in the set): building and walking them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from kms.search.engine.constants import BITS


def mask_from_ids(ids: Iterable[int], size: int) -> int:
    """The set of ``ids`` (docnums below ``size``) as a bit mask."""
    bits = bytearray((size >> 3) + 1)
    for docnum in ids:
        bits[docnum >> 3] |= BITS[docnum & 7]
    return int.from_bytes(bits, "little")


def iter_mask(mask: int) -> Iterator[int]:
    """The docnums in ``mask``, in increasing order."""
    data = mask.to_bytes((mask.bit_length() >> 3) + 1, "little")
    for index, byte in enumerate(data):
        if byte:
            base = index << 3
            for bit in range(8):
                if byte & BITS[bit]:
                    yield base + bit
