"""Where the config's clients and the database's meet: the file wins, nothing is lost silently."""

from __future__ import annotations

from maildesk.core.config import Client, Contact, settings_from_toml

CONFIG = """
[policies.default]
[policies.gold]

[[clients]]
id = "acme"
name = "Acme"
contacts = [{ email = "boss@acme.example", authorised = true }]
"""


def test_database_clients_join_the_file_and_the_file_wins() -> None:
    base = settings_from_toml(CONFIG, "test.toml")
    extra = (
        Client(id="acme", name="Acme from the database"),
        Client(
            id="beta",
            name="Beta",
            policy="gold",
            contacts=(Contact(email="boss@acme.example"), Contact(email="jan@beta.example")),
        ),
        Client(id="gamma", name="Gamma", policy="platinum"),
    )
    merged, problems = base.with_clients(extra)
    assert [c.id for c in merged.clients] == ["acme", "beta", "gamma"]
    assert merged.client("acme") == base.client("acme"), "the file's acme, not the database's"
    found = merged.contact("boss@acme.example")
    assert found is not None and found[0].id == "acme", "the file's contact stays the file's"
    jan = merged.contact("jan@beta.example")
    assert jan is not None and jan[0].id == "beta"
    assert merged.policy_for("beta")[0] == "gold"
    assert merged.policy_for("gamma")[0] == "default", "an unknown policy falls back"
    assert len(problems) == 3 and any("platinum" in p for p in problems)
    assert base.contact("jan@beta.example") is None, "the base settings are unchanged"
