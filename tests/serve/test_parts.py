"""The server's pure parts: stop strings, address rules, settings, JSON round trips."""

from __future__ import annotations

import pytest

from workbench.core.errors import InputError
from workbench.core.protocol import LoadPlan, ModelLoaded, PoolChanged, PoolEntryView, PoolSnapshot
from workbench.core.types import Family, ModelKind
from workbench.serve.settings import ServeSettings, check_settings, is_loopback
from workbench.serve.stops import StopScanner
from workbench.serve.urlguard import is_public
from workbench.serve.wire import event_from, event_json, plan_from, plan_json


def scan(stops: list[str], pieces: list[str]) -> tuple[str, bool]:
    scanner = StopScanner(stops)
    out = "".join(scanner.feed(p) for p in pieces) + scanner.flush()
    return out, scanner.hit


def test_a_stop_string_split_over_pieces_is_never_sent() -> None:
    assert scan(["END"], ["abc E", "N", "D more"]) == ("abc ", True)


def test_a_near_miss_is_released_in_full() -> None:
    assert scan(["END"], ["abc E", "N", "x"]) == ("abc ENx", False)
    assert scan(["END"], ["tail E"]) == ("tail E", False)


def test_the_earliest_of_several_stops_wins() -> None:
    assert scan(["b", "zz"], ["a zz b"]) == ("a ", True)


def test_without_stops_text_passes_through() -> None:
    assert scan([], ["a", "b"]) == ("ab", False)


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "10.1.2.3", "192.168.0.9", "172.16.5.5", "169.254.169.254",
                "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "100.64.0.1", "0.0.0.0"],
)  # fmt: skip
def test_internal_addresses_are_not_public(address: str) -> None:
    assert not is_public(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700::1111", "8.8.8.8"])
def test_global_addresses_are_public(address: str) -> None:
    assert is_public(address)


def test_a_non_loopback_host_needs_a_key() -> None:
    check_settings(ServeSettings(host="127.0.0.1"))
    check_settings(ServeSettings(host="::1"))
    check_settings(ServeSettings(host="0.0.0.0", api_key="k"))
    assert is_loopback("localhost") and not is_loopback("0.0.0.0")
    with pytest.raises(InputError, match=r"refusing to listen on 0\.0\.0\.0 without --api-key"):
        check_settings(ServeSettings(host="0.0.0.0"))
    with pytest.raises(InputError, match="without --api-key"):
        check_settings(ServeSettings(host="192.168.1.10"))


def _snapshot() -> PoolSnapshot:
    entry = PoolEntryView("m/1", "one", ModelKind.TEXT, Family.LLAMA, "ready", True, 1, 100,
                          90, 5.0, load_seconds=1.5, cache_bytes=7)  # fmt: skip
    return PoolSnapshot((entry,), 1000, 3, 97, 90, None, 7)


def test_pool_events_and_plans_survive_the_wire() -> None:
    snapshot = _snapshot()
    name, data = event_json(PoolChanged(12, snapshot))
    assert name == "pool" and data["entries"][0]["total_bytes"] == 97
    assert event_from(name, data) == PoolChanged(None, snapshot)
    name, data = event_json(ModelLoaded(3, "m/1", 90, 1.5))
    assert event_from(name, data) == ModelLoaded(None, "m/1", 90, 1.5)
    plan = LoadPlan("m/2", False, False, ("m/1",), 500, 400, "pinned: one", 2.0, ("m/1",))
    assert plan_from(plan_json(plan)) == plan


def test_serve_refuses_a_public_address_without_a_key(capsys, tmp_path, monkeypatch) -> None:
    from workbench.cli import main

    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path))
    assert main(["serve", "--host", "0.0.0.0", "--port", "0"]) == 2
    assert "refusing to listen on 0.0.0.0 without --api-key" in capsys.readouterr().err


def test_the_guard_refuses_names_that_resolve_inside() -> None:
    from workbench.serve.urlguard import GuardedBackend, RefusedAddress

    with pytest.raises(RefusedAddress, match="localhost resolves to"):
        GuardedBackend().connect_tcp("localhost", 80, timeout=2)


def test_image_fetch_is_guarded_unless_allowed(image_site: str) -> None:
    from workbench.core.errors import ImageError, ImageTooLarge
    from workbench.serve.urlguard import fetch_image

    url = f"{image_site}/red.png"
    with pytest.raises(ImageError, match="loopback, private or link-local"):
        fetch_image(url, 1_000_000, 5, allow_private=False)
    assert fetch_image(url, 1_000_000, 5, allow_private=True).startswith(b"\x89PNG")
    with pytest.raises(ImageTooLarge, match="is over the 10 B limit"):
        fetch_image(url, 10, 5, allow_private=True)


def test_the_guarded_transport_fetches_what_the_guard_lets_through(
    image_site: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workbench.core.errors import ImageTooLarge
    from workbench.serve import urlguard

    checked: list[str] = []

    def public_for_this_test(address: str) -> bool:  # the local site stands for a public one
        checked.append(address)
        return True

    monkeypatch.setattr(urlguard, "is_public", public_for_this_test)
    url = f"{image_site}/red.png"
    assert urlguard.fetch_image(url, 1_000_000, 5, allow_private=False).startswith(b"\x89PNG")
    assert checked == ["127.0.0.1"]  # the connection went through the guard's check
    with pytest.raises(ImageTooLarge, match="is over the 10 B limit"):
        urlguard.fetch_image(url, 10, 5, allow_private=False)
