"""Document sets as Python ints (bit n set = document n is in the set): building and walking them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from kms.search.engine.constants import _BITS


def _mask_from_ids(ids: Iterable[int], size: int) -> int:
    bits = bytearray((size >> 3) + 1)
    for docnum in ids:
        bits[docnum >> 3] |= _BITS[docnum & 7]
    return int.from_bytes(bits, "little")


def _iter_mask(mask: int) -> Iterator[int]:
    data = mask.to_bytes((mask.bit_length() >> 3) + 1, "little")
    for index, byte in enumerate(data):
        if byte:
            base = index << 3
            for bit in range(8):
                if byte & _BITS[bit]:
                    yield base + bit
