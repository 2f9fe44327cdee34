"""How recorded work time becomes billed time, as the support contracts say.

Staff record the time they actually worked; the contract decides what the
client pays for it. Two rules cover the contracts maildesk serves:

* a billing unit, where every started unit is due: with a 15-minute unit
  20 minutes bill as 30; with "every started half hour is due" 31 minutes bill
  as 60;
* a minimum per intervention, such as one hour for every intervention after a
  maintenance subscription is cancelled.

Quoted work is then capped: "if the work took less than quoted only the actual
time is billed, if more only the quoted time". The cap applies to the rounded
amount, so a 2 h quote with 2 h 40 min worked bills 2 h, and 1 h 10 min worked
on it bills 1 h 30 min under a half-hour unit.

No work means nothing billed: zero raw minutes bill zero, whatever the minimum.
Everything is integer minutes, like the rest of the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Rounding", "cap_to_quote"]


def _check_int(name: str, value: object) -> int:
    """``value`` if it is a true int (not a bool), else a TypeError."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int of minutes, not {type(value).__name__}")
    return value


@dataclass(frozen=True)
class Rounding:
    """A contract's billing rule: a unit (every started one is due) and a minimum.

    ``minimum`` must be a multiple of ``unit`` so that every billed amount is a
    whole number of units; a contract whose minimum is not would be ambiguous,
    and refusing it here surfaces that when the configuration is loaded.
    """

    unit: int = 1
    minimum: int = 0

    def __post_init__(self) -> None:
        if _check_int("unit", self.unit) < 1:
            raise ValueError(f"the billing unit must be at least 1 minute, not {self.unit}")
        if _check_int("minimum", self.minimum) < 0:
            raise ValueError(f"the minimum cannot be negative, got {self.minimum}")
        if self.minimum % self.unit:
            raise ValueError(
                f"the minimum ({self.minimum} min) must be a multiple of the unit ({self.unit} min)"
            )

    def bill(self, raw_minutes: int) -> int:
        """Billed minutes for ``raw_minutes`` of recorded work."""
        if _check_int("raw_minutes", raw_minutes) < 0:
            raise ValueError(f"worked time cannot be negative, got {raw_minutes}")
        if raw_minutes == 0:
            return 0
        rounded = -(-raw_minutes // self.unit) * self.unit
        return max(rounded, self.minimum)


def cap_to_quote(billed: int, quoted_minutes: int | None) -> int:
    """``billed`` limited to the quoted time, if the work was quoted."""
    if _check_int("billed", billed) < 0:
        raise ValueError(f"billed time cannot be negative, got {billed}")
    if quoted_minutes is None:
        return billed
    if _check_int("quoted_minutes", quoted_minutes) < 0:
        raise ValueError(f"a quote cannot be negative, got {quoted_minutes}")
    return min(billed, quoted_minutes)
