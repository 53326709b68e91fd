"""What changed between two versions of a process bundle, element by element, in words a policy officer reads.

The studio stores this with every deploy and roll back (the trail must say *what* changed, not only that
something did), and shows it for any two versions. Elements are matched by id, so a renamed task is one
change, not a removal and an addition; layout (DI) changes are summed up in one line, since moving a shape
changes nothing a case does. Forms (YAML) are compared field by field.
"""
from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import yaml
from lxml import etree

from .deploy import DeployError, parse_xml

VALUE_LIMIT = 300  # characters of a before/after value kept (a whole script is not needed to see it changed)
ENTRY_LIMIT = 200  # changes kept per comparison; the rest are counted

DI_NAMESPACES = {
    "http://www.omg.org/spec/BPMN/20100524/DI", "http://www.omg.org/spec/DD/20100524/DC",
    "http://www.omg.org/spec/DD/20100524/DI", "https://www.omg.org/spec/DMN/20191111/DMNDI/",
    "http://www.omg.org/spec/DMN/20180521/DC/", "http://www.omg.org/spec/DMN/20180521/DI/",
}

TYPE_LABELS = {
    "process": "流程", "userTask": "用户任务", "scriptTask": "脚本任务", "serviceTask": "服务任务",
    "businessRuleTask": "决策任务", "callActivity": "调用子流程", "subProcess": "子流程", "task": "任务",
    "manualTask": "人工任务", "sendTask": "发送任务", "receiveTask": "接收任务",
    "startEvent": "开始事件", "endEvent": "结束事件", "boundaryEvent": "边界事件",
    "intermediateCatchEvent": "中间捕获事件", "intermediateThrowEvent": "中间抛出事件",
    "exclusiveGateway": "排他网关", "parallelGateway": "并行网关", "inclusiveGateway": "包容网关",
    "eventBasedGateway": "事件网关", "sequenceFlow": "连线", "lane": "泳道", "laneSet": "泳道组",
    "message": "消息", "signal": "信号", "error": "错误", "escalation": "升级", "dataObject": "数据对象",
    "decision": "决策", "decisionTable": "决策表", "input": "输入列", "output": "输出列", "rule": "规则",
    "inputEntry": "条件", "outputEntry": "结果", "inputExpression": "输入表达式", "definitions": "文件",
    "timerEventDefinition": "定时器", "messageEventDefinition": "消息定义",
}
PART_LABELS = {
    "name": "名称", "sourceRef": "起点", "targetRef": "终点", "attachedToRef": "所附任务",
    "calledElement": "调用的流程", "default": "默认分支", "hitPolicy": "命中策略", "label": "列名",
    "cancelActivity": "中断任务", "isExecutable": "可执行", "typeRef": "类型", "messageRef": "消息",
    "conditionExpression": "条件", "script": "脚本", "documentation": "说明", "description": "说明",
    "timeDate": "定时", "timeDuration": "定时", "timeCycle": "定时", "loopCondition": "循环条件",
    "completionCondition": "完成条件", "loopCardinality": "循环次数", "text": "内容",
    "preScript": "前置脚本", "postScript": "后置脚本", "calledDecisionId": "调用的决策表",
    "instructionsForEndUser": "办理说明", "messageVariable": "消息变量",
    "formKey": "表单", "candidateRole": "办理角色", "assigneeVar": "办理人变量", "dueVar": "期限变量",
    "remindVar": "提醒变量", "scopeVar": "部门/地区变量", "titleVar": "标题变量",
    "loopDataInputRef": "多实例输入", "loopDataOutputRef": "多实例输出", "isSequential": "顺序执行",
}
SKIPPED_PARTS = {"incoming", "outgoing"}  # restated by each flow's sourceRef/targetRef
SHAPES = {"BPMNShape", "BPMNEdge", "DMNShape", "DMNEdge"}


@dataclass(frozen=True)
class Change:
    """One difference: `where` an element id or a form field name ("" for the file), `label` what it is in
    Chinese, `before` None for an addition, `after` None for a removal (the shape of studio_change.diff)."""

    file: str
    where: str
    label: str
    before: str | None
    after: str | None

    def as_entry(self) -> dict[str, Any]:
        entry = asdict(self)
        entry["field"] = entry.pop("where")  # the key studio_change.diff rows use
        return entry


def _local(tag: Any) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _short(text: str | None) -> str | None:
    if text is None:
        return None
    text = " ".join(text.split())
    return text if len(text) <= VALUE_LIMIT else text[:VALUE_LIMIT] + "…"


def _geometry(shape: etree._Element) -> tuple:
    """Where a shape or edge is drawn, as numbers: a modeler that writes the same place differently (another
    prefix, 100 for 100.0) has not moved it."""
    def number(value: str) -> float | str:
        try:
            return round(float(value), 1)
        except ValueError:
            return value

    return tuple((_local(n.tag), tuple(sorted((k, number(v)) for k, v in n.attrib.items() if "}" not in k)))
                 for n in shape.iter(etree.Element))


def _delta(before: str | None, after: str | None) -> tuple[str | None, str | None]:
    """Two values as shown: of a script or other text of several lines, only the lines that differ."""
    if before is None or after is None or ("\n" not in before and "\n" not in after):
        return _short(before), _short(after)
    old, new = before.splitlines(), after.splitlines()
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    removed, added = [], []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op != "equal":
            removed.extend(f"第{n + 1}行 {old[n].strip()}" for n in range(i1, i2))
            added.extend(f"第{n + 1}行 {new[n].strip()}" for n in range(j1, j2))
    return _short(" / ".join(removed) or "（无）"), _short(" / ".join(added) or "（无）")


def _is_di(node: etree._Element) -> bool:
    return isinstance(node.tag, str) and etree.QName(node).namespace in DI_NAMESPACES


def _parts(node: etree._Element) -> dict[str, str]:
    """An element's own content, as part label → text: its attributes, and the id-less children below it
    (conditions, scripts, timers, properties), stopping at any child that is an element of its own."""
    parts = {k: v for k, v in node.attrib.items() if k != "id" and "}" not in k}
    if node.text and node.text.strip() and not len(node):
        parts["text"] = node.text.strip()

    def walk(parent: etree._Element, prefix: str) -> None:
        seen: dict[str, int] = {}
        for child in parent:
            local = _local(child.tag)
            if not local or local in SKIPPED_PARTS or child.get("id") or _is_di(child):
                continue
            key = child.get("name") if local == "property" and child.get("name") else local
            seen[key] = seen.get(key, 0) + 1
            path = f"{prefix}{key}" + (f"#{seen[key]}" if seen[key] > 1 else "")
            if child.get("value") is not None:
                parts[path] = child.get("value")
            text = (child.text or "").strip()
            if text:
                parts[path] = text
            for attr, value in child.attrib.items():
                if attr not in ("name", "value", "id") and "}" not in attr:
                    parts[f"{path}@{attr}"] = value
            walk(child, "" if local in ("extensionElements", "properties") else f"{path}/")

    walk(node, "")
    return parts


def _part_label(path: str) -> str:
    last = path.rsplit("/", 1)[-1]
    attr = None
    if "@" in last:
        last, attr = last.split("@", 1)
    words = PART_LABELS.get(last.split("#", 1)[0], last)
    return f"{words}（{PART_LABELS.get(attr, attr)}）" if attr else words


class _Xml:
    """One parsed diagram file: its elements by id (DI left out) and a fingerprint of its layout."""

    def __init__(self, text: str, filename: str):
        self.root = parse_xml(text.encode(), filename)
        self.elements = {n.get("id"): n for n in self.root.iter(etree.Element)
                         if n.get("id") and not _is_di(n) and _local(n.tag) != "definitions"}
        self.layout = {n.get("id"): _geometry(n) for n in self.root.iter(etree.Element)
                       if _is_di(n) and _local(n.tag) in SHAPES and n.get("id")}
        self._inputs: list[str] | None = None

    def describe(self, node: etree._Element) -> str:
        kind = _local(node.tag)
        name = node.get("name") or node.get("label")
        if kind in ("inputEntry", "outputEntry"):
            rule = node.getparent()
            column = self._column(rule, node)
            return f"{self.describe(rule)} · {column}"
        if kind == "rule":
            rules = node.getparent().findall("{*}rule")
            number = rules.index(node) + 1 if node in rules else "?"
            text = (node.findtext("{*}description") or "").strip()
            return f"规则 {number}" + (f"「{text[:24]}{'…' if len(text) > 24 else ''}」" if text else "")
        label = TYPE_LABELS.get(kind, kind)
        return f"{label}「{name}」" if name else label

    def summary(self, node: etree._Element) -> str:
        """An added or removed element in one line: a rule its conditions other than "any" and its result, a
        column its expression, anything else its own settings."""
        kind = _local(node.tag)
        if kind == "rule":
            return "；".join(f"{self._column(node, entry)} {(entry.findtext('{*}text') or '').strip()}"
                            for entry in [*node.findall("{*}inputEntry"), *node.findall("{*}outputEntry")]
                            if (entry.findtext("{*}text") or "").strip() not in ("-", ""))
        if kind == "input":
            return f"表达式：{(node.findtext('{*}inputExpression/{*}text') or '').strip()}"
        return _summary(_parts(node))

    def _column(self, rule: etree._Element, entry: etree._Element) -> str:
        table = rule.getparent()
        if _local(entry.tag) == "outputEntry":
            outputs = [o.get("label") or o.get("name") or "结果" for o in table.findall("{*}output")]
            index = rule.findall("{*}outputEntry").index(entry)
            return f"结果「{outputs[index] if index < len(outputs) else index + 1}」"
        inputs = [i.get("label") or (i.findtext("{*}inputExpression/{*}text") or "").strip()
                  for i in table.findall("{*}input")]
        index = rule.findall("{*}inputEntry").index(entry)
        return f"条件「{inputs[index] if index < len(inputs) else index + 1}」"


def _within_added(node: etree._Element, other: _Xml) -> bool:
    """The element sits inside an element (with an id) the other side lacks: that one's line tells it."""
    parent = node.getparent()
    while parent is not None:
        if parent.get("id") and _local(parent.tag) != "definitions" and not _is_di(parent):
            return parent.get("id") not in other.elements
        parent = parent.getparent()
    return False


def _any_cell(node: etree._Element) -> bool:
    """A decision-table condition of "-" (any value) in a new column: every existing rule gets one."""
    return _local(node.tag) == "inputEntry" and (node.findtext("{*}text") or "").strip() in ("-", "")


def _summary(parts: dict[str, str]) -> str:
    """An added or removed element in one line: its own settings."""
    shown = [f"{_part_label(k)}：{v}" for k, v in parts.items() if k not in ("name", "label")]
    return "；".join(shown)


def xml_changes(filename: str, before: str, after: str) -> list[Change]:
    try:
        old, new = _Xml(before, filename), _Xml(after, filename)
    except DeployError as exc:
        return [Change(filename, "", "文件", "（无法解析）", str(exc))]
    changes: list[Change] = []
    for element_id, node in new.elements.items():
        was = old.elements.get(element_id)
        parts = _parts(node)
        if was is None:
            if _within_added(node, old) or _any_cell(node):
                continue  # told by the added rule's own line / a new column's "any" changes no rule
            changes.append(Change(filename, element_id, f"新增{new.describe(node)}", None,
                                  _short(new.summary(node)) or new.describe(node)))
            continue
        previous = _parts(was)
        for key in dict.fromkeys([*previous, *parts]):
            if previous.get(key) != parts.get(key):
                what = new.describe(node) if key == "text" else f"{new.describe(node)} · {_part_label(key)}"
                changes.append(Change(filename, element_id, what, *_delta(previous.get(key), parts.get(key))))
    for element_id, node in old.elements.items():
        if element_id not in new.elements and not _within_added(node, new) and not _any_cell(node):
            changes.append(Change(filename, element_id, f"删除{old.describe(node)}",
                                  _short(old.summary(node)) or old.describe(node), None))
    moved = sum(1 for k in set(old.layout) | set(new.layout) if old.layout.get(k) != new.layout.get(k))
    if moved:
        changes.append(Change(filename, "", "图形布局", None, f"{moved} 个图形或连线的位置有调整（不影响办理）"))
    return changes


# ---- forms ------------------------------------------------------------------------------------------
FIELD_PART_LABELS = {"label": "显示名称", "type": "类型", "required": "必填", "choices": "选项", "source": "选项来源",
                     "help": "填写说明", "max_length": "最多字数", "required_if": "条件必填",
                     "from_project": "取自项目", "column": "存储列", "section": "所在分组"}

FIELD_TYPE_LABELS = {"string": "单行文字", "text": "多行文字", "money": "金额", "integer": "整数", "date": "日期",
                     "choice": "下拉选择", "radio": "单选", "checkbox": "勾选", "multichoice": "多选",
                     "uscc": "统一社会信用代码", "mobile": "手机号码", "project_code": "项目代码", "readonly": "只读",
                     "computed": "自动计算"}


def _form_fields(raw: Any) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(form-level settings, fields by name with their section): the shape app/formkit.py reads."""
    if not isinstance(raw, dict):
        raise ValueError("not a form")
    fields: dict[str, dict[str, Any]] = {}
    for section in raw.get("sections") or []:
        for field in section.get("fields") or []:
            shown = {**field, "section": section.get("title")}
            if field.get("type") in FIELD_TYPE_LABELS:
                shown["type"] = f"{FIELD_TYPE_LABELS[field['type']]}（{field['type']}）"
            fields[str(field.get("name"))] = shown
    top = {"title": raw.get("title"), "rules": raw.get("rules") or [], "extends": raw.get("extends"),
           "sections": [s.get("title") for s in raw.get("sections") or []]}
    return top, fields


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return "、".join("=".join(str(x) for x in v) if isinstance(v, (list, tuple)) else str(v) for v in value)
    if isinstance(value, dict):
        return "；".join(f"{k}：{_text(v)}" for k, v in value.items())
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


def form_changes(filename: str, before: str, after: str) -> list[Change]:
    try:
        old_top, old = _form_fields(yaml.safe_load(before))
        new_top, new = _form_fields(yaml.safe_load(after))
    except (yaml.YAMLError, ValueError, AttributeError, TypeError):
        return _line_changes(filename, before, after)
    changes = [Change(filename, "", {"title": "表单名称", "rules": "跨字段规则", "extends": "继承的表单",
                                     "sections": "分组"}[key], _short(_text(old_top[key])), _short(_text(new_top[key])))
               for key in old_top if old_top[key] != new_top[key]]
    for name, field in new.items():
        title = f"字段「{field.get('label') or name}」"
        if name not in old:
            settings = "；".join(f"{FIELD_PART_LABELS.get(k, k)}：{_text(v)}" for k, v in field.items()
                                if k not in ("name", "label"))
            changes.append(Change(filename, name, f"新增{title}", None, _short(settings)))
            continue
        for key in dict.fromkeys([*old[name], *field]):
            if key != "name" and old[name].get(key) != field.get(key):
                changes.append(Change(filename, name, f"{title} · {FIELD_PART_LABELS.get(key, key)}",
                                      _short(_text(old[name].get(key))), _short(_text(field.get(key)))))
    changes.extend(Change(filename, name, f"删除字段「{field.get('label') or name}」", _short(_text(field.get("type"))),
                          None) for name, field in old.items() if name not in new)
    return changes


def _line_changes(filename: str, before: str, after: str) -> list[Change]:
    lines = [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
             if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    return [Change(filename, "", "内容", _short(line[1:]) if line[0] == "-" else None,
                   _short(line[1:]) if line[0] == "+" else None) for line in lines]


# ---- bundles ------------------------------------------------------------------------------------------
def file_changes(filename: str, before: str | None, after: str | None) -> list[Change]:
    if before == after:
        return []
    if before is None:
        return [Change(filename, "", "新增文件", None, filename)]
    if after is None:
        return [Change(filename, "", "移除文件", filename, None)]
    if filename.endswith((".bpmn", ".dmn")):
        return xml_changes(filename, before, after)
    if filename.endswith((".yaml", ".yml")):
        return form_changes(filename, before, after)
    return _line_changes(filename, before, after)


def bundle_changes(before: Mapping[str, str], after: Mapping[str, str]) -> list[Change]:
    """Every change between two sets of files (filename → text), files in name order, capped at ENTRY_LIMIT
    with one closing line counting the rest."""
    changes: list[Change] = []
    for filename in sorted(set(before) | set(after)):
        changes.extend(file_changes(filename, before.get(filename), after.get(filename)))
    if len(changes) > ENTRY_LIMIT:
        rest = len(changes) - ENTRY_LIMIT + 1
        changes = [*changes[:ENTRY_LIMIT - 1], Change("", "", "其余", None, f"另有 {rest} 处修改未列出")]
    return changes
