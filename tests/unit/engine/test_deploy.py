"""Deploy refuses broken diagrams with the element id, and versions by content."""
from __future__ import annotations

import pytest

from engine.deploy import Bundle, DeployError, TaskRules, bundles_from_dir, deploy_bundle
from engine.layout import layout
from engine.tables import ProcessVersion
from tests.unit.engine.conftest import PROCESSES

RULES = TaskRules(form_exists=lambda key: key != "missing_form")

TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
{doctype}<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="task_1" />
    <bpmn:userTask id="task_1" name="审核">
      <bpmn:extensionElements><spiffworkflow:properties>{props}</spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="task_1" targetRef="script_1" />
    <bpmn:scriptTask id="script_1"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f3" sourceRef="script_1" targetRef="e" />
    <bpmn:endEvent id="e"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>"""
GOOD_PROPS = '<spiffworkflow:property name="formKey" value="f" /><spiffworkflow:property name="candidateRole" value="r" />'


def bundle(props: str = GOOD_PROPS, script: str = "x = 1", doctype: str = "") -> Bundle:
    source = TEMPLATE.format(props=props, script=script, doctype=doctype).encode()
    # Deploy refuses a diagram without DI, so the template gets one; not the DOCTYPE case, which deploy must refuse.
    return Bundle("t.bpmn", source if doctype else layout(source), [])


def test_shipped_diagrams_deploy_once_per_content(session):
    for b in bundles_from_dir(PROCESSES):
        first = deploy_bundle(session, b, RULES)
        again = deploy_bundle(session, b, RULES)
        assert [v.id for v in first] == [v.id for v in again]
    assert session.query(ProcessVersion).filter_by(process_key="filing").count() == 1


def test_changed_content_is_a_new_version(session):
    v1 = deploy_bundle(session, bundle(script="x = 1"), RULES)[0]
    v2 = deploy_bundle(session, bundle(script="x = 2"), RULES)[0]
    assert (v1.version, v2.version) == (1, 2)


@pytest.mark.parametrize(("kwargs", "element", "message"), [
    ({"props": '<spiffworkflow:property name="candidateRole" value="r" />'}, "task_1", "用户任务没有表单"),
    ({"props": '<spiffworkflow:property name="formKey" value="f" />'}, "task_1", "用户任务没有候选角色"),
    ({"props": '<spiffworkflow:property name="formKey" value="missing_form" />'
               '<spiffworkflow:property name="candidateRole" value="r" />'}, "task_1", "missing_form 在 forms/ 中不存在"),
    ({"script": "import os"}, "script_1", "沙箱"),
    ({"script": "x = ().__class__.__base__"}, "script_1", "沙箱"),
])
def test_refusals_name_the_element(session, kwargs, element, message):
    """The message names the element, and the refusal carries it for the studio to highlight on the canvas."""
    with pytest.raises(DeployError, match=f"元素 {element}：.*{message}") as refused:
        deploy_bundle(session, bundle(**kwargs), RULES)
    assert [p.element for p in refused.value.problems] == [element]


def test_unparseable_and_entity_documents_are_refused(session):
    with pytest.raises(DeployError, match="XML 无法解析"):
        deploy_bundle(session, Bundle("bad.bpmn", b"<bpmn:definitions", []), RULES)
    xxe = '<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
    with pytest.raises(DeployError, match="DOCTYPE"):
        deploy_bundle(session, bundle(doctype=xxe), RULES)


def test_running_instance_stays_on_its_version(session, runtime):
    from sqlalchemy import select

    from engine.tables import HumanTask

    deploy_bundle(session, bundle(script="x = 1"), RULES)
    old = runtime.start(session, "p", {}, "u").instance
    deploy_bundle(session, bundle(script="x = 2"), RULES)
    new = runtime.start(session, "p", {}, "u").instance
    assert old.process_version_id != new.process_version_id
    task = session.scalar(select(HumanTask).where(HumanTask.instance_id == old.id))
    runtime.claim(session, task.id, "u")
    outcome = runtime.complete(session, old.id, task.task_id, "u", {})
    assert outcome.workflow.data["x"] == 1 and outcome.instance.status == "completed"
