"""WebSocket upgrades and frames (gen_ws.py)."""

import gen_ws
from hostile import report


def test_upgrades(world):
    cases = gen_ws.upgrades(world)
    failures = gen_ws.check_upgrades(world, cases)
    world.assert_alive()
    assert not failures, report("websocket upgrade", len(cases), failures)


def test_frames(world):
    cases = gen_ws.frames(world)
    failures = gen_ws.check_ws(world, "websocket frames", cases)
    world.assert_alive()
    assert not failures, report("websocket frame", len(cases), failures)


def test_v2_frames(world):
    cases = gen_ws.v2_errors(world)
    failures = gen_ws.check_ws(world, "castera.v2 frames", cases)
    world.assert_alive()
    assert not failures, report("castera.v2 frame", len(cases), failures)
