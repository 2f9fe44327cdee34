"""``Settings.client``: indexed by id once, never stale after a copy, never in the way of ==."""

from __future__ import annotations

import threading

from maildesk.core.config import Settings, settings_from_toml

CONFIG = "".join(f'[[clients]]\nid = "c{i:05d}"\nname = "Client {i}"\n' for i in range(2000))


def _settings() -> Settings:
    return settings_from_toml(CONFIG, "test")


def test_finds_each_client_and_none_for_an_unknown_id() -> None:
    settings = _settings()
    assert all(settings.client(c.id) is c for c in settings.clients)
    assert settings.client("nobody") is None
    assert settings.policy_for("c00042") == ("default", settings.policies["default"])


def test_a_copy_with_other_clients_does_not_reuse_the_index() -> None:
    settings = _settings()
    assert settings.client("c00001") is not None  # builds the index
    fewer = settings.model_copy(update={"clients": settings.clients[2:]})
    assert fewer.client("c00001") is None
    assert fewer.client("c00002") is fewer.clients[0]
    assert settings.client("c00001") is settings.clients[1]


def test_looking_up_leaves_settings_equal() -> None:
    looked_up, fresh = _settings(), _settings()
    looked_up.client("c00007")
    assert looked_up == fresh


def test_threads_see_a_whole_index() -> None:
    settings = _settings()
    wrong: list[str] = []

    def look() -> None:
        for c in settings.clients[::7]:
            if settings.client(c.id) is not c:
                wrong.append(c.id)

    threads = [threading.Thread(target=look) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []


DOMAINS = """
[[clients]]
id = "first"
name = "First"
domains = ["shared.example", "first.example"]
match_domain = true
contacts = [{ email = "Boss@First.example", authorised = true }]

[[clients]]
id = "second"
name = "Second"
domains = ["shared.example", "second.example"]
match_domain = true
contacts = [{ email = "it@second.example" }]

[[clients]]
id = "listed"
name = "Listed only"
domains = ["listed.example"]
"""


def test_contacts_and_domains_are_found_as_the_config_orders_them() -> None:
    settings = settings_from_toml(DOMAINS, "test")
    found = settings.contact("boss@first.example")
    assert found is not None and found[0].id == "first" and found[1].authorised
    found = settings.contact("it@second.example")
    assert found is not None and found[0].id == "second" and not found[1].authorised
    assert settings.contact("stranger@second.example") is None
    shared = settings.client_for_domain("shared.example")
    assert shared is not None and shared.id == "first"  # the first in the config wins
    second = settings.client_for_domain("second.example")
    assert second is not None and second.id == "second"
    assert settings.client_for_domain("listed.example") is None  # match_domain is off


def test_a_copy_without_a_client_forgets_its_contacts_and_domains() -> None:
    settings = settings_from_toml(DOMAINS, "test")
    assert settings.contact("boss@first.example") is not None  # builds the index
    fewer = settings.model_copy(update={"clients": settings.clients[1:]})
    assert fewer.contact("boss@first.example") is None
    shared = fewer.client_for_domain("shared.example")
    assert shared is not None and shared.id == "second"
