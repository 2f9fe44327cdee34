"""Who gets the staff notices of a contract: the ``[policies.NAME.notices]`` block.

A notice per client mail to every staff member is most of a busy helpdesk's outgoing
mail (1,854 of 3,221 mails at 2,000 inbound in the benchmark), so each contract says
who gets which notice. The default is what a provider would pick: a new ticket goes to
whoever is on duty (the ``oncall`` rota, which answers at every hour, not only out of
hours), a client's reply to the person holding the ticket; without a rota or an
assignee, to all staff, so that no client mail goes unseen.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

Audience = Literal["all", "assignee", "oncall", "team", "none"]
"""``all``: every staff member; ``assignee``: the ticket's assignee (unassigned: all
staff); ``oncall``: the person on call at that moment by the rota and its overrides
(no rota: all staff); ``team``: the ``team`` address; ``none``: nobody."""


class NoticesConfig(BaseModel):
    """Who is told of a client's mail: on a new ticket, and on a reply to an open one."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    new_ticket: Audience = "oncall"
    client_reply: Audience = "assignee"
    team: str | None = None

    @model_validator(mode="after")
    def _team_named(self) -> NoticesConfig:
        if self.team is not None:
            if "@" not in self.team.strip().strip("@"):
                raise ValueError(f"team: {self.team!r} is not an email address")
            object.__setattr__(self, "team", self.team.strip().lower())
        for key, value in (("new_ticket", self.new_ticket), ("client_reply", self.client_reply)):
            if value == "team" and self.team is None:
                raise ValueError(f'{key} = "team" needs a team address (team = "...")')
        return self
