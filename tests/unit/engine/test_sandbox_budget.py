"""Diagram expressions run within a time and memory budget: a huge number, a huge sequence or an endless
loop is refused quickly with a Chinese error, in deployed diagrams the error names the element and nothing
is saved, and the worker thread stays healthy."""
from __future__ import annotations

import re
import sys
import time
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from engine import clock, sandbox
from engine.deploy import Bundle, DeployError, TaskRules, build_parser, deploy_bundle
from engine.runtime import EngineError, ExpressionRefused, Runtime
from engine.sandbox import (
    ExpressionBudgetExceeded,
    ExpressionError,
    Limits,
    RestrictedEnvironment,
    compile_expression,
    compile_script,
)
from engine.scheduler import run_due_timers
from engine.tables import Base, HumanTask, Instance, PendingTimer
from engine.tryrun import try_run

RULES = TaskRules(form_exists=lambda key: True)
# Generous against a loaded machine: the limits stop these within about 0.1 s, the old sandbox never did.
WITHIN = 2.0


@pytest.fixture
def env() -> RestrictedEnvironment:
    return RestrictedEnvironment()


def refused(env: RestrictedEnvironment, source: str, data: dict | None = None, script: bool = False,
            reason: str = "表达式超出运行限制") -> ExpressionBudgetExceeded:
    started = time.monotonic()
    with pytest.raises(ExpressionBudgetExceeded, match=reason) as caught:
        if script:
            env.execute(source, dict(data or {}))
        else:
            env.evaluate(source, dict(data or {}))
    assert time.monotonic() - started < WITHIN
    return caught.value


@pytest.mark.parametrize("expression", [
    "10**10**7",
    "[0]*(10**9)",
    "'a'*10**10",
    "2<<10**10",
    "pow(10, 10**7)",
    "sum(range(10**12))",
    "[x for x in range(10**9)]",
    "f'{1:>999999999}'",
    "'%0999999999d' % 1",
    "'%*d' % (10**9, 1)",
])
def test_constant_monsters_are_refused(env, expression):
    refused(env, expression)


@pytest.mark.parametrize(("expression", "data"), [
    ("10 ** n", {"n": 10**7}),
    ("base * base", {"base": 2**4000}),
    ("1 << n", {"n": 10**10}),
    ("pow(3, n, n + 2)", {"n": 2**4000}),
    ("[0] * n", {"n": 10**9}),
    ("text * n", {"text": "ab", "n": 10**9}),
    ("text.ljust(n)", {"text": "a", "n": 10**9}),
    ("str.ljust(text, n)", {"text": "a", "n": 10**9}),
    ("list(map(str.rjust, [text], [n]))", {"text": "a", "n": 10**9}),
    ("text.center(n)", {"text": "a", "n": 10**9}),
    ("text.zfill(n)", {"text": "1", "n": 10**9}),
    ("text.expandtabs(n)", {"text": "\t", "n": 10**9}),
    ("''.join([text] * 100000)", {"text": "a" * 100_000}),
    ("text.replace('a', text)", {"text": "a" * 1000}),
    ("(1).to_bytes(n, 'big')", {"n": 10**9}),
    ("int(text, 2)", {"text": "1" * 100_000}),
    ("int(amount)", {"amount": Decimal("1e999999999")}),
    ("round(amount)", {"amount": Decimal("1e999999999")}),
    ("amount.as_integer_ratio()", {"amount": Decimal("1e999999999")}),
    ("f'{amount:f}'", {"amount": Decimal("1e999999999")}),
    ("f'{1:>{n}}'", {"n": 10**9}),
    ("sum([[0] * 100000] * 100000, [])", {}),
    ("range(n)", {"n": 10**12}),
])
def test_one_call_that_would_compute_or_allocate_too_much_is_refused_before_it_runs(env, expression, data):
    refused(env, expression, data)


@pytest.mark.parametrize(("source", "script"), [
    ("[1 for a in range(1000) for b in range(1000) for c in range(1000)]", False),
    ("sum(x for x in range(99999) for y in range(99999))", False),
    ("(lambda f: f(f, 40))(lambda f, n: n if n < 2 else f(f, n - 1) + f(f, n - 2))", False),
    ("while True:\n    pass", True),
    ("def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\nx = fib(40)", True),
    ("def ones():\n    while True:\n        yield 1\nx = sum(ones())", True),
])
def test_python_level_loops_and_recursion_stop_within_the_budget(env, source, script):
    refused(env, source, script=script)


def test_slow_steps_stop_on_cpu_time(env):
    refused(env, "sum(len(sorted(big)) for i in range(99999))", {"big": list(range(100_000))}, reason="运行时间超过")


def test_the_step_count_is_a_limit_of_its_own():
    env = RestrictedEnvironment(limits=Limits(seconds=60, steps=10_000))
    assert env.evaluate("sum(1 for i in range(9999))", {}) == 9999
    refused(env, "sum(1 for i in range(10001))", reason="循环或调用超过 10,000 次")


def test_memory_growth_is_a_limit_of_its_own():
    env = RestrictedEnvironment(limits=Limits(seconds=60, memory=16 * 2**20))
    refused(env, "[text + str(i) for i in range(99999)]", {"text": "a" * 99_000}, reason="内存增长超过 16 MB")


def test_growth_step_by_step_is_refused_at_the_size_limit(env):
    for script in ["s = 'a'\nfor i in range(100):\n    s = s + s", "s = [0]\nfor i in range(100):\n    s += s",
                   "s = [0]\nfor i in range(100):\n    s *= 2", "s = [0]\nfor i in range(100):\n    s.extend(s)",
                   "x = 1\nfor i in range(100):\n    x <<= 1000", "x = 3\nfor i in range(100):\n    x **= 2",
                   "s = [0]\nfor i in range(100):\n    s = [*s, *s]"]:
        refused(env, script, script=True)


def test_a_refusal_the_code_catches_is_raised_again(env):
    refused(env, "try:\n    x = 10 ** n\nexcept ValueError:\n    x = 0", {"n": 10**7}, script=True)
    refused(env, "try:\n    while True:\n        pass\nexcept Exception:\n    pass\nwhile True:\n    pass", script=True)


def test_legitimate_expressions_still_work(env):
    data = {"days": 3, "amount": Decimal("1234.5"), "names": ["甲", "乙"], "items": [{"code": "a"}, {"code": "b"}],
            "form": {"decision": "accept"}, "title": "项目"}
    assert env.evaluate("f'P{days}D'", data) == "P3D"
    assert env.evaluate("f'{amount:.2f}万元'", data) == "1234.50万元"
    assert env.evaluate("f'{title!r:>8}'", data) == "    '项目'"
    assert env.evaluate("'%s-%03d' % (title, days)", data) == "项目-003"
    assert env.evaluate("'、'.join(names)", data) == "甲、乙"
    assert env.evaluate("'、'.join(i['code'] for i in items)", data) == "a、b"
    assert env.evaluate("'a'.ljust(3, '.') + 'x'.zfill(3) + 'ab'.replace('a', 'aa')", data) == "a..00xaab"
    assert env.evaluate("sum([amount, Decimal('0.5')]) * 2", data) == Decimal("2470.0")
    assert env.evaluate("int('42') + int(amount) + round(Decimal('2.5')) + int('ff', 16)", data) == 42 + 1234 + 2 + 255
    assert env.evaluate("isinstance(days, int) and not isinstance(title, int) and issubclass(bool, int)", data)
    assert env.evaluate("int.from_bytes(b'\\x01\\x00', 'big')", data) == 256
    assert env.evaluate("2 ** 100 + 10 ** 1000 // 10 ** 999 + (1 << 64) + pow(2, 10, 7) + 3 * 4", data) \
        == 2**100 + 10 + 2**64 + 2 + 12
    assert env.evaluate("[0] * 3 + list(range(3)) + sorted(names, key=lambda n: n)", data) == [0, 0, 0, 0, 1, 2, "乙", "甲"]
    assert env.evaluate("sum([[1], [2]], [])", data) == [1, 2]
    assert env.evaluate("form['decision'] in ('accept', 'reject') and 1.5 ** 2 > 2", data)
    script = ("n = 0\nwhile n < 5:\n    n += 1\nitems_seen = [i['code'] for i in items]\n"
              "alias = items_seen\nitems_seen += ['c']\nmore = alias\ndef double(x):\n    return x * 2\nd = double(n)")
    scope = dict(data)
    env.execute(script, scope)
    assert (scope["n"], scope["items_seen"], scope["more"], scope["d"]) == (5, ["a", "b", "c"], ["a", "b", "c"], 10)


def test_the_worker_stays_healthy_and_its_tracer_is_kept(env):
    calls: list[str] = []

    def tracer(frame, event, arg):
        calls.append(event)

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        refused(env, "while True:\n    pass", script=True)
        assert sys.gettrace() is tracer
    finally:
        sys.settrace(previous)
    assert sandbox._current.get() is None
    assert env.evaluate("sum(x * x for x in range(10))", {}) == 285
    refused(env, "10 ** n", {"n": 10**7})
    assert env.evaluate("sum(x for x in range(99999))", {}) == 99999 * 99998 // 2


def test_deploy_refuses_constant_monsters_naming_the_element(session):
    for source in ["10**10**7 > 0", "[0] * (10**9)", "f'{x:>999999999}'", "len(range(10**12))"]:
        with pytest.raises(ExpressionError, match="表达式超出运行限制"):
            compile_expression(source)
    with pytest.raises(ExpressionError, match="表达式超出运行限制"):
        compile_script("x = 'a' * 10**10")
    compile_expression("10 ** n > 0")  # depends on data: decided when it runs
    with pytest.raises(DeployError, match=r"f_big.*表达式超出运行限制"):
        deploy_bundle(session, Bundle("big.bpmn", _diagram("10**10**7 &gt; 0").encode(), []), RULES)


def _diagram(condition: str, script: str = "checked = True", wait: str = "") -> str:
    """start → (a timer of `wait`) → script task prepare → user task fill → gateway gw_size: `condition` or not."""
    first = "wait" if wait else "prepare"
    timer = f"""
    <bpmn:intermediateCatchEvent id="wait"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f0</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>{wait}</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="wait" targetRef="prepare" />""" if wait else ""
    source = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
  xmlns:di="http://www.omg.org/spec/DD/20100524/DI"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">
  <bpmn:process id="budget_probe" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="{first}" />{timer}
    <bpmn:scriptTask id="prepare" name="准备">
      <bpmn:incoming>{"f0" if wait else "f1"}</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="prepare" targetRef="fill" />
    <bpmn:userTask id="fill" name="填报">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formKey" value="f" /><spiffworkflow:property name="candidateRole" value="r" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f3" sourceRef="fill" targetRef="gw_size" />
    <bpmn:exclusiveGateway id="gw_size" name="规模判断" default="f_small">
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f_big</bpmn:outgoing><bpmn:outgoing>f_small</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="f_big" sourceRef="gw_size" targetRef="e_big">
      <bpmn:conditionExpression>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_small" sourceRef="gw_size" targetRef="e_small" />
    <bpmn:endEvent id="e_big"><bpmn:incoming>f_big</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="e_small"><bpmn:incoming>f_small</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
DIAGRAM
</bpmn:definitions>"""
    return source.replace("DIAGRAM", _drawing(source))


def _drawing(source: str) -> str:
    """A shape for every node and an edge for every flow, in a row: deploy wants every element drawn."""
    nodes = re.findall(r'<bpmn:(?:startEvent|intermediateCatchEvent|scriptTask|userTask|exclusiveGateway|endEvent) '
                       r'id="(\w+)"', source)
    flows = re.findall(r'<bpmn:sequenceFlow id="(\w+)"', source)
    shapes = "".join(f'<bpmndi:BPMNShape id="{n}_di" bpmnElement="{n}"><dc:Bounds x="{100 + 150 * i}" y="100" '
                     f'width="100" height="80" /></bpmndi:BPMNShape>' for i, n in enumerate(nodes))
    edges = "".join(f'<bpmndi:BPMNEdge id="{f}_di" bpmnElement="{f}"><di:waypoint x="{200 + 150 * i}" y="140" />'
                    f'<di:waypoint x="{250 + 150 * i}" y="140" /></bpmndi:BPMNEdge>' for i, f in enumerate(flows))
    return (f'<bpmndi:BPMNDiagram id="diagram"><bpmndi:BPMNPlane id="plane" bpmnElement="budget_probe">'
            f"{shapes}{edges}</bpmndi:BPMNPlane></bpmndi:BPMNDiagram>")


def test_a_refused_gateway_condition_names_the_element_and_saves_nothing(session, runtime):
    deploy_bundle(session, Bundle("probe.bpmn", _diagram("10 ** (10 ** digits) &gt; 0").encode(), []), RULES)
    instance = runtime.start(session, "budget_probe", {}, "u").instance
    session.commit()
    human = session.scalar(select(HumanTask).where(HumanTask.instance_id == instance.id))
    runtime.claim(session, human.id, "u")
    session.commit()
    state, revision = instance.state, instance.revision

    started = time.monotonic()
    with pytest.raises(ExpressionRefused) as caught:
        runtime.complete(session, instance.id, human.task_id, "u", {"digits": 7})
    assert time.monotonic() - started < WITHIN
    message = str(caught.value)
    assert isinstance(caught.value, EngineError) and caught.value.status == 500
    assert "gw_size（规模判断）" in message and "表达式超出运行限制" in message and "10 ** (10 ** digits) > 0" in message
    assert "本次操作未保存" in message
    session.rollback()  # what the use case does; it releases the row lock
    stored = session.get(Instance, instance.id)
    session.refresh(stored)
    assert (stored.state, stored.revision, stored.status) == (state, revision, "running")
    assert session.scalar(select(HumanTask.task_id).where(HumanTask.instance_id == instance.id)) == human.task_id

    # The same worker, the same instance: the next request works.
    outcome = runtime.complete(session, instance.id, human.task_id, "u", {"digits": 2})
    session.commit()
    assert outcome.workflow.is_completed() and outcome.workflow.data["checked"] is True


def test_the_studio_try_run_stops_at_the_refused_condition_naming_it(runtime):
    parser, _ = build_parser(Bundle("probe.bpmn", _diagram("10 ** (10 ** digits) &gt; 0").encode(), []))
    started = time.monotonic()
    run = try_run(parser.get_spec("budget_probe"), parser.get_subprocess_specs("budget_probe"), runtime.script_engine,
                  {"digits": 7}, {"f": {}})
    assert time.monotonic() - started < WITHIN
    assert not run.finished and run.steps[-1].kind == "error" and run.steps[-1].element == "gw_size"
    assert "gw_size" in run.stopped and "表达式超出运行限制（计算量过大" in run.stopped
    assert "10 ** (10 ** digits)" in run.stopped


def test_a_refused_script_at_start_creates_no_instance(session, runtime):
    deploy_bundle(session, Bundle("probe.bpmn", _diagram("False", script="x = [0] * size").encode(), []), RULES)
    with pytest.raises(ExpressionRefused, match=r"流程环节 prepare（准备）：表达式超出运行限制（结果过大") as caught:
        runtime.start(session, "budget_probe", {"size": 10**9}, "u")
    assert "x = [0] * size" in str(caught.value)
    session.rollback()
    assert session.scalar(select(Instance.id)) is None


@contextmanager
def _timer_store(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'timers.db'}")
    Base.metadata.create_all(engine)

    @contextmanager
    def scope():
        with Session(engine) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    try:
        yield scope
    finally:
        engine.dispose()
        clock.reset()


def test_a_refused_expression_in_the_timer_thread_is_recorded_naming_the_element(tmp_path):
    timer = _diagram("False", script="x = 10 ** size", wait='"PT1H"')
    runtime = Runtime()
    with _timer_store(tmp_path) as scope:
        with scope() as session:
            deploy_bundle(session, Bundle("timer.bpmn", timer.encode(), []), RULES)
            instance_id = runtime.start(session, "budget_probe", {"size": 10**7}, "u").instance.id
        with scope() as session:
            state = session.get(Instance, instance_id).state
        clock.advance(timedelta(hours=2))
        started = time.monotonic()
        assert run_due_timers(runtime, scope, budget=0) == 0
        assert time.monotonic() - started < WITHIN
        with scope() as session:
            failed = session.scalar(select(PendingTimer))
            assert failed.attempts == 1 and failed.bpmn_id == "wait"
            assert "流程环节 prepare（准备）：表达式超出运行限制" in failed.last_error
            assert session.get(Instance, instance_id).state == state
    assert RestrictedEnvironment().evaluate("sum(range(10))", {}) == 45
