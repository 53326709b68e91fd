"""Diagram layout (engine/layout.py): every shipped diagram can be opened in a modeler, deploy refuses one that
cannot, and writing the layout never changes what the engine runs."""
from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
from lxml import etree
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from engine.deploy import Bundle, DeployError, TaskRules, build_parser, bundles_from_dir, deploy_bundle
from engine.layout import BPMN, BPMNDI, DC, DI, DMNDI, LayoutError, layout, missing_di
from tests.unit.engine.conftest import PROCESSES

FILES = sorted([*PROCESSES.glob("*.bpmn"), *PROCESSES.glob("*.dmn")])
BPMN_FILES = [p for p in FILES if p.suffix == ".bpmn"]
RULES = TaskRules(form_exists=lambda key: True)
SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))

# A loop back to review (a back edge), two lanes in a pool, a boundary timer: what the shipped files lack.
LOOP_IN_LANES = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:collaboration id="c"><bpmn:participant id="pool" name="备案机关" processRef="p" /></bpmn:collaboration>
  <bpmn:process id="p" isExecutable="true">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="lane_a" name="企业"><bpmn:flowNodeRef>s</bpmn:flowNodeRef><bpmn:flowNodeRef>fix</bpmn:flowNodeRef>
      </bpmn:lane>
      <bpmn:lane id="lane_b" name="办理人员"><bpmn:flowNodeRef>review</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>gw</bpmn:flowNodeRef><bpmn:flowNodeRef>e</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>late</bpmn:flowNodeRef><bpmn:flowNodeRef>warn</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>warn_end</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="s" name="提交" />
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="review" />
    <bpmn:userTask id="review" name="审核" />
    <bpmn:boundaryEvent id="late" name="届满" cancelActivity="false" attachedToRef="review">
      <bpmn:timerEventDefinition><bpmn:timeDate>due_at</bpmn:timeDate></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f_late" sourceRef="late" targetRef="warn" />
    <bpmn:scriptTask id="warn" name="提醒"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f_warn" sourceRef="warn" targetRef="warn_end" />
    <bpmn:endEvent id="warn_end" name="已提醒" />
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="gw" />
    <bpmn:exclusiveGateway id="gw" name="通过？" default="f_ok" />
    <bpmn:sequenceFlow id="f_ok" name="是" sourceRef="gw" targetRef="e" />
    <bpmn:sequenceFlow id="f_back" name="否" sourceRef="gw" targetRef="fix">
      <bpmn:conditionExpression>not ok</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:userTask id="fix" name="补正" />
    <bpmn:sequenceFlow id="f_fixed" sourceRef="fix" targetRef="review" />
    <bpmn:endEvent id="e" name="完成" />
  </bpmn:process>
</bpmn:definitions>"""

# A data object read by a task, and an event sub-process (no incoming flow): both drawn, below the main flow.
DATA_AND_EVENT_SUB = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:message id="m" name="withdraw" />
  <bpmn:process id="p" isExecutable="true">
    <bpmn:dataObject id="obj" />
    <bpmn:dataObjectReference id="materials" name="申请材料" dataObjectRef="obj" />
    <bpmn:startEvent id="s" name="收件" />
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="check" />
    <bpmn:userTask id="check" name="审查">
      <bpmn:property id="check_in" />
      <bpmn:dataInputAssociation id="read"><bpmn:sourceRef>materials</bpmn:sourceRef>
        <bpmn:targetRef>check_in</bpmn:targetRef></bpmn:dataInputAssociation>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="e" />
    <bpmn:endEvent id="e" name="办结" />
    <bpmn:subProcess id="on_withdraw" triggeredByEvent="true" name="企业撤回时">
      <bpmn:startEvent id="ws" name="收到撤回"><bpmn:messageEventDefinition messageRef="m" /></bpmn:startEvent>
      <bpmn:sequenceFlow id="wf" sourceRef="ws" targetRef="we" />
      <bpmn:endEvent id="we" name="已撤回" />
    </bpmn:subProcess>
  </bpmn:process>
</bpmn:definitions>"""


def _without_di(source: bytes) -> bytes:
    root = etree.fromstring(source)
    for el in [c for c in root if c.tag in (f"{{{BPMNDI}}}BPMNDiagram", f"{{{DMNDI}}}DMNDI")]:
        root.remove(el)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _unordered(node):
    """SpiffWorkflow lists a node's outgoing flows by the diagram's y coordinate (all 0 without DI): compare sets."""
    if isinstance(node, dict):
        return {k: sorted(map(repr, _unordered(v))) if k in ("outputs", "inputs", "cond_task_specs") else _unordered(v)
                for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [_unordered(v) for v in node]
    return node


def _spec_graph(bundle: Bundle) -> dict:
    parser, process_ids = build_parser(bundle)
    return {pid: _unordered((SERIALIZER.registry.convert(parser.get_spec(pid)),
                             {k: SERIALIZER.registry.convert(v) for k, v in parser.get_subprocess_specs(pid).items()}))
            for pid in process_ids}


# ---- every shipped diagram is drawn, and the check notices when it is not

@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_flow_element_of_a_shipped_diagram_has_its_shape_or_edge(path: Path):
    assert missing_di(etree.parse(str(path)).getroot()) == []


def test_a_removed_shape_or_edge_is_missing():
    root = etree.parse(str(PROCESSES / "filing.bpmn")).getroot()
    for el in list(root.iter(f"{{{BPMNDI}}}BPMNShape", f"{{{BPMNDI}}}BPMNEdge")):
        if el.get("bpmnElement") in ("review", "f_review_return"):
            el.getparent().remove(el)
    assert missing_di(root) == ["review", "f_review_return"]


def test_a_dmn_decision_without_its_shape_is_missing():
    root = etree.parse(str(PROCESSES / "tender_required.dmn")).getroot()
    for el in list(root.iter(f"{{{DMNDI}}}DMNShape")):
        el.getparent().remove(el)
    assert missing_di(root) == ["tender_required"]


# ---- deploy refuses what a modeler could not show

def test_deploy_refuses_a_diagram_without_layout_naming_file_and_elements(session):
    source = _without_di((PROCESSES / "cancellation.bpmn").read_bytes())
    with pytest.raises(DeployError, match=r"cancellation\.bpmn：元素 start、f_mode、mode_gw 等 11 个 "
                                          r"缺少图形布局（BPMN DI），请在流程设计器中打开并保存") as refused:
        deploy_bundle(session, Bundle("cancellation.bpmn", source, []), RULES)
    assert "f_revoke_end" in [p.element for p in refused.value.problems]


def test_deploy_refuses_an_included_decision_table_without_layout(session):
    declaration = next(b for b in bundles_from_dir(PROCESSES) if b.filename == "declaration.bpmn")
    includes = [(n, _without_di(c) if n == "tender_required.dmn" else c) for n, c in declaration.includes]
    with pytest.raises(DeployError, match="tender_required.dmn：元素 tender_required 缺少图形布局（DMN DI）"):
        deploy_bundle(session, Bundle(declaration.filename, declaration.bpmn, includes), RULES)


# ---- the layout changes nothing but the diagram

@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_layout_is_deterministic_and_stable(path: Path):
    bare = _without_di(path.read_bytes())
    once = layout(bare)
    assert layout(bare) == once and layout(once) == once
    assert missing_di(etree.fromstring(once)) == []


@pytest.mark.parametrize("name", [p.name for p in BPMN_FILES])
def test_layout_keeps_the_spec_graph_identical(name: str):
    """Every task spec, script, condition, timer, property and message the same, with or without a diagram."""
    bundle = next(b for b in bundles_from_dir(PROCESSES) if b.filename == name)
    bare = Bundle(bundle.filename, _without_di(bundle.bpmn), [(n, _without_di(c)) for n, c in bundle.includes])
    relaid = Bundle(bundle.filename, layout(bare.bpmn), [(n, layout(c)) for n, c in bare.includes])
    assert _spec_graph(relaid) == _spec_graph(bare) == _spec_graph(bundle)


def test_a_relayout_rewrites_only_the_diagram():
    original = (PROCESSES / "filing.bpmn").read_text(encoding="utf-8")
    moved = re.sub(r'(bpmnElement="review">\s*<dc:Bounds x=")\d+', r"\g<1>5", original)
    assert moved != original
    relaid = layout(moved.encode()).decode()
    assert relaid == original  # the shape is back where the layout puts it; every other byte kept
    head = original.split("<bpmndi:BPMNDiagram")[0]
    assert relaid.startswith(head) and "<bpmn:script>" in head


def test_layout_refuses_what_is_not_a_diagram():
    with pytest.raises(LayoutError, match="DOCTYPE"):
        layout(b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "y">]><d/>')
    with pytest.raises(LayoutError, match="不是 BPMN 2.0 或 DMN 1.3 文件"):
        layout(b"<html/>")


# ---- readable: shapes apart, edges around shapes, loops and lanes drawn

def _geometry(root: etree._Element):
    bounds = {}
    for shape in root.iter(f"{{{BPMNDI}}}BPMNShape"):
        b = shape.find(f"{{{DC}}}Bounds")
        bounds[shape.get("bpmnElement")] = tuple(float(b.get(k)) for k in ("x", "y", "width", "height"))
    edges = {e.get("bpmnElement"): [(float(w.get("x")), float(w.get("y"))) for w in e.iter(f"{{{DI}}}waypoint")]
             for e in root.iter(f"{{{BPMNDI}}}BPMNEdge")}
    elements = {el.get("id"): el for el in root.iter(etree.Element) if etree.QName(el).namespace == BPMN}
    return bounds, edges, elements


def _ancestors(el: etree._Element) -> set[str]:
    return {a.get("id") for a in el.iterancestors() if a.get("id")}


def _inside(a, b) -> bool:
    return b[0] <= a[0] and b[1] <= a[1] and a[0] + a[2] <= b[0] + b[2] and a[1] + a[3] <= b[1] + b[3]


def _overlap(a, b, margin: float = 0) -> bool:
    return (a[0] + margin < b[0] + b[2] and b[0] + margin < a[0] + a[2]
            and a[1] + margin < b[1] + b[3] and b[1] + margin < a[1] + a[3])


def _segment_box(p, q):
    return (min(p[0], q[0]), min(p[1], q[1]), abs(p[0] - q[0]) or 0.01, abs(p[1] - q[1]) or 0.01)


def _problems(source: bytes) -> list[str]:
    bounds, edges, elements = _geometry(etree.fromstring(source))
    problems = []
    flow_nodes = [i for i in bounds if etree.QName(elements[i]).localname not in ("participant", "lane")]
    for a, b in itertools.combinations(flow_nodes, 2):
        ea, eb = elements[a], elements[b]
        related = a in _ancestors(eb) or b in _ancestors(ea) or eb.get("attachedToRef") == a or ea.get("attachedToRef") == b
        if not related and _overlap(bounds[a], bounds[b]):
            problems.append(f"{a} overlaps {b}")
    for flow_id, points in edges.items():
        flow = elements[flow_id]
        if flow.get("sourceRef") is None:  # a data association: its ends are child elements
            continue
        ends = {flow.get("sourceRef"), flow.get("targetRef")} | _ancestors(flow)
        ends |= {elements[e].get("attachedToRef") for e in list(ends) if e in elements}
        for node in flow_nodes:
            if node in ends or _inside(bounds[node], bounds[flow.get("sourceRef")]):
                continue
            if any(_overlap(_segment_box(p, q), bounds[node], margin=1) for p, q in zip(points, points[1:], strict=False)):
                problems.append(f"{flow_id} crosses {node}")
    return problems


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_shipped_layouts_keep_shapes_apart_and_edges_off_shapes(path: Path):
    assert _problems(path.read_bytes()) == []


def test_a_loop_runs_below_the_shapes_and_lanes_hold_their_nodes():
    source = layout(LOOP_IN_LANES.encode())
    assert missing_di(etree.fromstring(source)) == []
    assert _problems(source) == []
    bounds, edges, _ = _geometry(etree.fromstring(source))
    lowest_node = max(y + h for key, (x, y, w, h) in bounds.items() if key not in ("pool", "lane_a", "lane_b"))
    loop = edges["f_fixed"]  # fix → review closes the cycle review → gw → fix: the back edge
    assert max(y for _, y in loop) > lowest_node, "the back edge runs round below every shape"
    assert loop[-1][0] < loop[0][0], "and comes back to the left"
    assert all(_inside(_segment_box(p, q), bounds["pool"]) for p, q in zip(loop, loop[1:], strict=False))
    for lane, members in (("lane_a", ("s", "fix")), ("lane_b", ("review", "gw", "e", "warn", "warn_end"))):
        assert all(_inside(bounds[m], bounds[lane]) for m in members), lane
    assert _inside(bounds["lane_a"], bounds["pool"]) and _inside(bounds["lane_b"], bounds["pool"])
    review, late = bounds["review"], bounds["late"]
    assert late[1] + late[3] / 2 == review[1] + review[3], "the boundary event sits on its host's bottom border"


def test_data_objects_and_event_sub_processes_are_drawn_below_the_flow():
    source = layout(DATA_AND_EVENT_SUB.encode())
    assert missing_di(etree.fromstring(source)) == []
    assert _problems(source) == []
    bounds, edges, _ = _geometry(etree.fromstring(source))
    flow_bottom = max(bounds[n][1] + bounds[n][3] for n in ("s", "check", "e"))
    assert bounds["materials"][1] > flow_bottom and bounds["on_withdraw"][1] > flow_bottom
    assert _inside(bounds["ws"], bounds["on_withdraw"]) and "read" in edges
