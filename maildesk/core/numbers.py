"""Ticket numbers and the subject tag that carries them (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class NumberFormat:
    """How a ticket number is written and tagged in subjects."""

    number_format: str = "{year}-{seq:06d}"
    subject_tag: str = "[#{number}]"

    def scope(self, year: int) -> str:
        """The counter a number is drawn from: one per year when the year is in the number."""
        return str(year) if "{year" in self.number_format else "all"

    def number(self, year: int, seq: int) -> str:
        return self.number_format.format(year=year, seq=seq)

    def tag(self, number: str) -> str:
        return self.subject_tag.format(number=number)

    def tagged_subject(self, number: str, subject: str) -> str:
        """``subject`` with the ticket's tag in front, once."""
        tag = self.tag(number)
        if tag in subject:
            return subject
        return f"{tag} {subject}".strip()

    def _tag_pattern(self) -> re.Pattern[str]:
        number = re.escape(self.number_format)
        number = re.sub(r"\\\{year[^}]*\\\}", r"\\d{4}", number)
        number = re.sub(r"\\\{seq[^}]*\\\}", r"\\d+", number)
        prefix, _, suffix = self.subject_tag.partition("{number}")
        return re.compile(re.escape(prefix) + f"({number})" + re.escape(suffix))

    def find_numbers(self, subject: str) -> list[str]:
        """Every ticket number tagged in ``subject``, in order."""
        return self._tag_pattern().findall(subject)
