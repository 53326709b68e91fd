"""建设地点 = the region's full name + the 详细地址 typed at 领码 (issue 14 §4).

Most people type the address as they would on an envelope (「江门市江海区高新区…」) although 建设地点（区县） already
says 广东省江门市江海区, and every page then read 「广东省江门市江海区江门市江海区高新区…」. The repeated region
names are taken off the front of the typed address, once, here: when the project is saved and when a location is
shown (rows saved before this rule existed).
"""
from __future__ import annotations

from collections.abc import Sequence

# Between region names or after them people type spaces or commas.
_SEPARATORS = " \u3000,，、"


def _match_chain(address: str, names: Sequence[str], start: int) -> int:
    """How many characters of `address` are names[start], names[start+1], … in order (0: none)."""
    position = 0
    for name in names[start:]:
        rest = address[position:].lstrip(_SEPARATORS)
        skipped = len(address) - position - len(rest)
        if not name or not rest.startswith(name):
            break
        position += skipped + len(name)
    return position


def strip_region_prefix(address: str, region_names: Sequence[str]) -> str:
    """The address without the region names it repeats at its start.

    `region_names`: from the top down to the project's region, e.g. ["广东省", "江门市", "江海区"]. A run of those
    names in their order, starting at any level (「广东省江门市江海区」, 「江门市江海区」, 「江门市」, 「江海区」), is
    removed, also when typed twice; the rest is kept as typed. Only whole names count: 「江海路」 stays.
    """
    text = address.strip()
    while True:
        longest = max((_match_chain(text, region_names, i) for i in range(len(region_names))), default=0)
        if not longest:
            return text
        text = text[longest:].lstrip(_SEPARATORS)


def full_location(region_full_name: str, region_names: Sequence[str], address: str) -> str:
    """「广东省江门市江海区」 + 「高新区金瓯路288号」, the region named once."""
    return f"{region_full_name}{strip_region_prefix(address or '', region_names)}"
