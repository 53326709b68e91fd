"""Deploy diagrams: safe XML parse, validation, one version per (process key, content hash),
parsed specs cached per version."""
from __future__ import annotations

import ast
import hashlib
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.spiff.parser import SpiffBpmnParser
from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from . import clock
from .contract import BundleFacts, Contract, Problem, emits_in, user_tasks_in
from .layout import missing_di
from .sandbox import ExpressionError, compile_expression, compile_script
from .tables import ProcessCurrent, ProcessVersion, TrailEntry

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
DMN_NS_PREFIX = "https://www.omg.org/spec/DMN/"

# External entities and network access off; a DOCTYPE is refused outright below.
_SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


class DeployError(ValueError):
    """A diagram refused at deploy time; the message names the file and the element id."""

    def __init__(self, message: str, problems: list[Problem] | None = None):
        super().__init__(message)
        self.problems = problems or []  # per element, for a designer to pin on the canvas


def _pinned(filename: str, element: str, message: str) -> DeployError:
    """A refusal pinned to one element, for a designer to highlight it on the canvas."""
    return DeployError(f"{filename}：元素 {element}：{message}", [Problem(element, message)])


@dataclass(frozen=True)
class TaskRules:
    """What the application tells the deployer about its world."""

    form_exists: Callable[[str], bool]
    role_exists: Callable[[str], bool] = lambda role: True
    contract: Contract | None = None  # the application's judgement of each process's events, forms and roles
    # A form travelling with the diagrams: form key -> the file name it has in a bundle, and its check
    form_file: Callable[[str], str] | None = None
    check_file: Callable[[str, bytes], list[Problem]] | None = None


def parse_xml(source: bytes, filename: str) -> etree._Element:
    try:
        tree = etree.fromstring(source, parser=_SAFE_PARSER).getroottree()
    except etree.XMLSyntaxError as exc:
        raise DeployError(f"{filename}：XML 无法解析（{exc}）") from None
    if tree.docinfo.doctype:
        raise DeployError(f"{filename}：不允许 DOCTYPE 声明（外部实体已禁用）")
    return tree.getroot()


def _owner_id(node: etree._Element) -> str:
    while node is not None:
        if node.get("id"):
            return node.get("id")
        node = node.getparent()
    return "?"


def _check_bpmn_expressions(root: etree._Element, filename: str) -> None:
    eval_tags = [
        f"{{{BPMN_NS}}}conditionExpression", f"{{{BPMN_NS}}}timeDate", f"{{{BPMN_NS}}}timeDuration",
        f"{{{BPMN_NS}}}timeCycle", f"{{{BPMN_NS}}}loopCondition", f"{{{BPMN_NS}}}completionCondition",
        f"{{{BPMN_NS}}}loopCardinality",
    ]
    exec_tags = [f"{{{BPMN_NS}}}script", f"{{{SPIFF_NS}}}preScript", f"{{{SPIFF_NS}}}postScript"]
    for tag, compiler in [(t, compile_expression) for t in eval_tags] + [(t, compile_script) for t in exec_tags]:
        for node in root.iter(tag):
            text = (node.text or "").strip()
            if not text:
                continue
            try:
                compiler(text)
            except ExpressionError as exc:
                raise _pinned(filename, _owner_id(node), f"表达式无法在沙箱中编译：{exc}") from None


def _check_dmn_expressions(root: etree._Element, filename: str) -> None:
    ns = root.nsmap.get(None, "")
    for node in root.iter(f"{{{ns}}}text"):
        text = (node.text or "").strip()
        parent = node.getparent()
        if not text or text == "-" or parent is None:
            continue
        kind = etree.QName(parent).localname
        # Input entries are unary tests glued to the input ("? in (...)", "> 5", "'a'").
        if kind == "inputEntry":
            if "?" in text:
                text = text.replace("?", "cell_value")
            elif text[:1] in "<>=!" or text.startswith(("in ", "not ")):
                text = f"cell_value {text}"
        try:
            compile_expression(text)
        except ExpressionError as exc:
            raise _pinned(filename, _owner_id(node), f"决策表单元格无法在沙箱中编译：{exc}") from None


def _check_user_tasks(specs: Iterable[Any], filename: str, rules: TaskRules, included: set[str]) -> None:
    for spec in specs:
        for task_spec in spec.task_specs.values():
            if not getattr(task_spec, "manual", False):
                continue
            props = task_spec.extensions.get("properties", {}) if hasattr(task_spec, "extensions") else {}
            element = task_spec.bpmn_id
            form_key = props.get("formKey")
            if not form_key:
                raise _pinned(filename, element, "用户任务没有表单（formKey）")
            carried = rules.form_file is not None and rules.form_file(form_key) in included
            if not carried and not rules.form_exists(form_key):
                raise _pinned(filename, element, f"用户任务的表单 {form_key} 在 forms/ 中不存在")
            role = props.get("candidateRole") or task_spec.lane
            if not role:
                raise _pinned(filename, element, "用户任务没有候选角色（泳道或 candidateRole 属性）")
            if not rules.role_exists(role):
                raise _pinned(filename, element, f"用户任务的候选角色 {role} 不存在")


def candidate_role(task_spec: Any) -> str:
    props = task_spec.extensions.get("properties", {})
    return props.get("candidateRole") or task_spec.lane or ""


@dataclass
class Bundle:
    """One BPMN file plus what it uses: the DMN files its business rule tasks call and the BPMN files
    of the processes its call activities call (e.g. the shared per-item handling). A change to any of
    them makes a new version, so a running instance never meets a changed callee."""

    filename: str
    bpmn: bytes
    includes: list[tuple[str, bytes]]

    @property
    def content_hash(self) -> str:
        digest = hashlib.sha256(self.bpmn)
        for name, content in sorted(self.includes):
            digest.update(name.encode())
            digest.update(content)
        return digest.hexdigest()


def build_parser(bundle: Bundle) -> tuple[SpiffBpmnParser, list[str]]:
    parser = SpiffBpmnParser()
    root = parse_xml(bundle.bpmn, bundle.filename)
    try:
        for name, content in bundle.includes:
            if name.endswith(".dmn"):
                parser.add_dmn_xml(parse_xml(content, name), filename=name)
            elif name.endswith(".bpmn"):
                parser.add_bpmn_xml(parse_xml(content, name), filename=name)
        parser.add_bpmn_xml(root, filename=bundle.filename)
        process_ids = [p.get("id") for p in root.iter(f"{{{BPMN_NS}}}process") if p.get("isExecutable") == "true"]
    except Exception as exc:  # the parser raises several unrelated types
        raise DeployError(f"{bundle.filename}：BPMN 无法解析（{exc}）") from None
    return parser, process_ids


def validate_bundle(bundle: Bundle, rules: TaskRules) -> list[str]:
    """Parse and check everything; returns the executable process ids. Raises DeployError."""
    root = parse_xml(bundle.bpmn, bundle.filename)
    _check_bpmn_expressions(root, bundle.filename)
    for name, content in bundle.includes:
        if name.endswith(".dmn"):
            _check_dmn_expressions(parse_xml(content, name), name)
        elif name.endswith(".bpmn"):
            _check_bpmn_expressions(parse_xml(content, name), name)
        elif rules.check_file is not None and (problems := rules.check_file(name, content)):
            raise DeployError(f"{name}：" + "；".join(p.message for p in problems), problems)
    diagrams = [(n, c) for n, c in bundle.includes if n.endswith((".bpmn", ".dmn"))]
    for name, tree in [(bundle.filename, root), *((n, parse_xml(c, n)) for n, c in diagrams)]:
        if missing := missing_di(tree):  # policy staff read and edit the diagram: every element must be drawn
            more, kind = (f" 等 {len(missing)} 个" if len(missing) > 3 else ""), ("DMN" if name.endswith(".dmn") else "BPMN")
            raise DeployError(f"{name}：元素 {'、'.join(missing[:3])}{more} 缺少图形布局（{kind} DI），"
                              "请在流程设计器中打开并保存", [Problem(m, "缺少图形布局") for m in missing])
    parser, process_ids = build_parser(bundle)
    if not process_ids:
        raise DeployError(f"{bundle.filename}：没有可执行流程（isExecutable=\"true\"）")
    for pid in process_ids:
        try:
            spec = parser.get_spec(pid)
            subs = parser.get_subprocess_specs(pid)
        except Exception as exc:
            raise DeployError(f"{bundle.filename}：流程 {pid} 无法解析（{exc}）") from None
        _check_user_tasks([spec, *subs.values()], bundle.filename, rules, {n for n, _ in bundle.includes})
        _check_timer_specs([spec, *subs.values()], bundle.filename)
        if rules.contract is not None:
            roots = [root, *(parse_xml(c, n) for n, c in bundle.includes if n.endswith(".bpmn"))]
            facts = BundleFacts(pid, tuple(emits_in(roots)), tuple(user_tasks_in([spec, *subs.values()])))
            problems = rules.contract(facts)
            if problems:
                raise DeployError(f"{bundle.filename}：" + "；".join(f"元素 {p.element}：{p.message}" for p in problems),
                                  problems)
    return process_ids


def _check_timer_specs(specs: Iterable[Any], filename: str) -> None:
    for spec in specs:
        for task_spec in spec.task_specs.values():
            if isinstance(task_spec, CatchingEvent):
                expr = getattr(task_spec.event_definition, "expression", None)
                if expr:
                    try:
                        compile_expression(expr)
                    except ExpressionError as exc:
                        raise _pinned(filename, task_spec.bpmn_id, f"定时器的表达式无法编译：{exc}") from None
                    problem = _timer_literal_problem(task_spec.event_definition, expr)
                    if problem:
                        raise _pinned(filename, task_spec.bpmn_id, problem)


def _nonempty_duration(text: str) -> dict[str, Any]:
    parsed = TimerEventDefinition.parse_iso_duration(text)
    if not parsed:  # "P" parses to nothing
        raise ValueError(text)
    return parsed


_TIMER_KINDS = ((CycleTimerEventDefinition, "循环（如 \"R3/PT24H\"）", TimerEventDefinition.parse_iso_recurring_interval),
                (DurationTimerEventDefinition, "时长（如 \"P3D\"、\"PT2H\"）", _nonempty_duration),
                (TimeDateEventDefinition, "日期时间（如 \"2027-01-01T09:00:00+08:00\"）", TimerEventDefinition.get_datetime))


def _timer_literal_problem(definition: Any, expr: str) -> str | None:
    """A timer written as a literal is checked now; one computed from data (due_at, f"P{days}D") only when it
    runs, which the try-run shows."""
    try:
        value = ast.literal_eval(expr.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    for kind, words, parse in _TIMER_KINDS:
        if isinstance(definition, kind):
            if not isinstance(value, str):
                return f"定时器须写成带引号的 ISO 8601 {words}"
            try:
                parse(value)
            except Exception:  # the parsers raise several unrelated types
                return f"定时器 {value!r} 不是有效的 ISO 8601 {words}"
    return None


def _uses(root: etree._Element) -> tuple[set[str], set[str]]:
    """Decision ids and process ids a BPMN file calls."""
    decisions = {n.text.strip() for n in root.iter(f"{{{SPIFF_NS}}}calledDecisionId") if n.text}
    processes = {n.get("calledElement") for n in root.iter(f"{{{BPMN_NS}}}callActivity") if n.get("calledElement")}
    return decisions, processes


def bundles_from_dir(directory: Path) -> list[Bundle]:
    return bundles_from_files({p.name: p.read_bytes() for p in [*directory.glob("*.dmn"), *directory.glob("*.bpmn")]})


References = Callable[[str, bytes], Iterable[str]]


def bundles_from_files(files: dict[str, bytes], references: References | None = None) -> list[Bundle]:
    """One bundle per BPMN file with every file it calls, from a set of files (a folder, or the studio's
    deployed files with a draft laid over one of them). `references(name, content)`: the other files a file
    needs that the engine cannot see (the application's task forms), followed like called processes."""
    files = dict(sorted(files.items()))
    roots = {name: parse_xml(content, name) for name, content in files.items() if name.endswith((".bpmn", ".dmn"))}
    owner: dict[str, str] = {}  # decision or process id -> file
    for name, root in roots.items():
        for node in root.iter(etree.Element):  # elements only, not comments
            if etree.QName(node).localname in ("decision", "process") and node.get("id"):
                owner[node.get("id")] = name
    bundles = []
    for name in sorted(n for n in files if n.endswith(".bpmn")):
        included: set[str] = set()
        pending = [name]
        while pending:  # callees may call further processes and decisions
            current = pending.pop()
            targets = set()
            if current.endswith(".bpmn"):
                decisions, processes = _uses(roots[current])
                targets = {owner.get(ref) for ref in decisions | processes}
            if references is not None:
                targets |= {ref for ref in references(current, files[current]) if ref in files}
            for target in targets:
                if target and target != name and target not in included:
                    included.add(target)
                    if not target.endswith(".dmn"):
                        pending.append(target)
        bundles.append(Bundle(name, files[name], [(f, files[f]) for f in sorted(included)]))
    return bundles


class SpecCache:
    """Parsed specs per deployed version (parsing costs milliseconds; a version never changes). Keyed by the
    database too: one process may serve several databases (the test suite does), whose version ids differ."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._specs: dict[tuple[str, int], tuple[Any, dict[str, Any]]] = {}

    @staticmethod
    def _key(session: Session | None, version_id: int) -> tuple[str, int]:
        return (str(session.get_bind().url) if session is not None else "", version_id)

    def get(self, version: ProcessVersion) -> tuple[Any, dict[str, Any]]:
        key = self._key(object_session(version), version.id)
        with self._lock:
            hit = self._specs.get(key)
        if hit:
            return hit
        bundle = Bundle(version.filename, version.bpmn_source.encode(),
                        [(name, src.encode()) for name, src in version.dmn_sources])
        parser, _ = build_parser(bundle)
        specs = (parser.get_spec(version.process_key), parser.get_subprocess_specs(version.process_key))
        with self._lock:
            self._specs[key] = specs
        return specs

    def get_by_id(self, session: Session, version_id: int) -> tuple[Any, dict[str, Any]]:
        """The hot path of every load: no query unless this process has not parsed the version yet."""
        with self._lock:
            hit = self._specs.get(self._key(session, version_id))
        if hit:
            return hit
        version = session.get(ProcessVersion, version_id)
        if version is None:
            raise DeployError(f"流程版本 {version_id} 不存在")
        return self.get(version)


def deploy_bundle(session: Session, bundle: Bundle, rules: TaskRules, actor: str = "system",
                  reason: str | None = None, make_current: bool = False) -> list[ProcessVersion]:
    """Store a new version for each process whose content changed; unchanged files add nothing. A new
    version becomes current; an existing one only with `make_current` (the studio deploying content that
    an earlier version already had), so re-running the CLI deploy never undoes a roll back."""
    process_ids = validate_bundle(bundle, rules)
    digest = bundle.content_hash
    result = []
    for pid in process_ids:
        existing = session.scalar(select(ProcessVersion).where(
            ProcessVersion.process_key == pid, ProcessVersion.content_hash == digest))
        if existing:
            if make_current or current_version(session, pid) is None:
                set_current(session, existing, actor, reason)
            result.append(existing)
            continue
        last = session.scalar(select(func.max(ProcessVersion.version)).where(ProcessVersion.process_key == pid))
        version = ProcessVersion(
            process_key=pid, version=(last or 0) + 1, content_hash=digest, filename=bundle.filename,
            bpmn_source=bundle.bpmn.decode(), dmn_sources=[[n, c.decode()] for n, c in bundle.includes],
            deployed_by=actor, reason=reason,
        )
        session.add(version)
        session.flush()
        session.add(TrailEntry(actor=actor, action="deploy", detail={
            "process_key": pid, "version": version.version, "hash": digest[:12], "file": bundle.filename,
            "reason": reason}))
        set_current(session, version, actor, None)
        result.append(version)
    return result


def current_version(session: Session, process_key: str) -> ProcessVersion | None:
    """The version new instances start on."""
    return session.scalar(select(ProcessVersion).join(ProcessCurrent, ProcessCurrent.version_id == ProcessVersion.id)
                          .where(ProcessCurrent.process_key == process_key))


def set_current(session: Session, version: ProcessVersion, actor: str, reason: str | None) -> None:
    """Make `version` the one new instances start on; `reason` given: a deliberate switch (roll back or
    forward), trailed as such."""
    row = session.get(ProcessCurrent, version.process_key)
    before = row.version_id if row is not None else None
    if row is None:
        row = ProcessCurrent(process_key=version.process_key, version_id=version.id)
        session.add(row)
    row.version_id, row.changed_by, row.changed_at = version.id, actor, clock.utcnow_naive()
    if reason is not None and before != version.id:
        previous = session.get(ProcessVersion, before) if before else None
        session.add(TrailEntry(actor=actor, action="make_current", detail={
            "process_key": version.process_key, "version": version.version,
            "from_version": previous.version if previous else None, "reason": reason}))
    session.flush()


def latest_version(session: Session, process_key: str) -> ProcessVersion | None:
    return session.scalar(select(ProcessVersion).where(ProcessVersion.process_key == process_key)
                          .order_by(ProcessVersion.version.desc()).limit(1))
