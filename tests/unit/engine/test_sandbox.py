"""Every diagram expression runs in the restricted environment; the known escapes are blocked."""
from __future__ import annotations

import pytest

from engine.sandbox import ExpressionError, RestrictedEnvironment


@pytest.fixture
def env() -> RestrictedEnvironment:
    return RestrictedEnvironment({"double": lambda x: 2 * x})


def test_ordinary_expressions_work(env):
    assert env.evaluate("amount * 2 + 1", {"amount": 3}) == 7
    assert env.evaluate("f'P{days}D'", {"days": 3}) == "P3D"
    assert env.evaluate("form['decision'] in ('a', 'b')", {"form": {"decision": "a"}})
    assert env.evaluate("double(sum(x for x in [1, 2]))", {}) == 6


def test_scripts_assign_task_data_and_leave_no_globals(env):
    data = {"n": 1}
    env.execute("n += 1\nitems = [i for i in range(3)]\nd = {}\nd['k'] = n", data)
    assert data == {"n": 2, "items": [0, 1, 2], "d": {"k": 2}}


def test_import_is_blocked(env):
    with pytest.raises(ExpressionError):
        env.evaluate("__import__('os').system('true')", {})
    with pytest.raises(ExpressionError):
        env.execute("import os", {})


def test_open_is_not_available(env):
    with pytest.raises(NameError):
        env.evaluate("open('/etc/passwd').read()", {})


def test_subclasses_walk_is_blocked(env):
    with pytest.raises(ExpressionError):
        env.evaluate("().__class__.__base__.__subclasses__()", {})


def test_attribute_walks_to_os_and_sys_are_blocked(env):
    for attack in ["double.__globals__['os']", "env.__init__.__globals__", "(lambda: 0).__code__",
                   "[].__class__.__mro__[-1]"]:
        with pytest.raises(ExpressionError):
            env.evaluate(attack, {"env": env})
    with pytest.raises(Exception):  # noqa: B017 - getattr is not a builtin here, format() is refused
        env.evaluate("getattr(double, '__globals__')", {})
    with pytest.raises(NotImplementedError):
        env.evaluate("'{0.__globals__}'.format(double)", {})


def test_task_data_may_not_shadow_a_function(env):
    with pytest.raises(ValueError):
        env.execute("x = 1", {"double": 3})
