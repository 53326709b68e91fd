"""The process studio's use cases (政策人员): see each process with its versions, edit a diagram file as a
shared draft, validate it, deploy it with a reason, and make an earlier version current again.

What a policy officer edits is a *file* (filing.bpmn, item.bpmn, item_determination.dmn …). A process version
is a bundle: its own BPMN plus every file it calls. Deploying a file therefore makes a new version of every
process whose current bundle holds it (item.bpmn: 审批, 核准, 阶段, 报建), all in one transaction, or none.
Running instances keep the version they started on.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from engine import clock, migration
from engine.contract import Problem, user_tasks_in
from engine.deploy import (
    BPMN_NS,
    Bundle,
    DeployError,
    build_parser,
    bundles_from_files,
    deploy_bundle,
    parse_xml,
    set_current,
    validate_bundle,
)
from engine.diff import Change, bundle_changes, file_changes
from engine.tables import Instance, ProcessCurrent, ProcessDraft, ProcessVersion
from engine.tryrun import TryRun
from engine.tryrun import try_run as run_in_memory

from ..extensions import db
from ..models import User
from . import ServiceError, forbid, not_found, studio_log, use_case
from .platform import form_references, runtime, task_rules

STUDIO_ROLES = frozenset({"policy", "admin"})
LOG_AREA = "processes"  # studio_change.area of deploys, roll backs and migrations
MAX_FILE_BYTES = 2 * 1024 * 1024  # the largest diagram today is ~40 KB
REASON_LIMIT = 500


def require_studio(user: User) -> None:
    if not user.roles & STUDIO_ROLES:
        raise forbid("流程设计仅限政策人员和系统管理员")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# ---- what is deployed -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class DeployedFile:
    filename: str
    content: str
    processes: tuple[str, ...]  # the processes whose current bundle holds it
    deployed_at: datetime

    @property
    def digest(self) -> str:
        return _digest(self.content)

    @property
    def is_decision_table(self) -> bool:
        return self.filename.endswith(".dmn")

    @property
    def is_form(self) -> bool:
        return self.filename.endswith(".yaml")


def _current_versions() -> list[ProcessVersion]:
    return list(db.session.scalars(select(ProcessVersion).join(
        ProcessCurrent, ProcessCurrent.version_id == ProcessVersion.id).order_by(ProcessVersion.process_key)))


def deployed_files() -> dict[str, DeployedFile]:
    """Every file of every current version; a file held by several processes shows its newest deployment."""
    found: dict[str, DeployedFile] = {}
    users: dict[str, list[str]] = {}
    for version in sorted(_current_versions(), key=lambda v: v.deployed_at):
        for name, content in [(version.filename, version.bpmn_source), *version.dmn_sources]:
            users.setdefault(name, []).append(version.process_key)
            found[name] = DeployedFile(name, content, (), version.deployed_at)
    return {name: DeployedFile(name, f.content, tuple(sorted(set(users[name]))), f.deployed_at)
            for name, f in sorted(found.items())}


@dataclass(frozen=True)
class ProcessRow:
    key: str
    name: str
    filename: str
    current: ProcessVersion
    versions: int
    running: int


def _process_name(source: str, key: str) -> str:
    root = parse_xml(source.encode(), "")
    node = next((p for p in root.iter(f"{{{BPMN_NS}}}process") if p.get("id") == key), None)
    return (node.get("name") if node is not None else None) or key


def processes(user: User) -> list[ProcessRow]:
    require_studio(user)
    counts = dict(db.session.execute(select(ProcessVersion.process_key, func.count(ProcessVersion.id))
                                     .group_by(ProcessVersion.process_key)).all())
    running = dict(db.session.execute(select(Instance.process_key, func.count(Instance.id))
                                      .where(Instance.status == "running").group_by(Instance.process_key)).all())
    return [ProcessRow(v.process_key, _process_name(v.bpmn_source, v.process_key), v.filename, v,
                       counts.get(v.process_key, 0), running.get(v.process_key, 0)) for v in _current_versions()]


@dataclass(frozen=True)
class VersionRow:
    version: ProcessVersion
    running: int
    completed: int
    current: bool


def versions(user: User, process_key: str) -> tuple[str, list[VersionRow]]:
    require_studio(user)
    rows = list(db.session.scalars(select(ProcessVersion).where(ProcessVersion.process_key == process_key)
                                   .order_by(ProcessVersion.version.desc())))
    if not rows:
        raise not_found("流程不存在")
    current = db.session.get(ProcessCurrent, process_key)
    tally = db.session.execute(select(Instance.process_version_id, Instance.status, func.count(Instance.id))
                               .where(Instance.process_key == process_key)
                               .group_by(Instance.process_version_id, Instance.status)).all()
    by = {(version_id, status): n for version_id, status, n in tally}
    return _process_name(rows[0].bpmn_source, process_key), [
        VersionRow(v, by.get((v.id, "running"), 0), by.get((v.id, "completed"), 0),
                   current is not None and current.version_id == v.id) for v in rows]


def version_source(user: User, process_key: str, number: int) -> tuple[ProcessVersion, dict[str, str]]:
    """A version and its files by name, to view it read-only."""
    require_studio(user)
    version = _version(process_key, number)
    return version, _files(version)


# ---- drafts -------------------------------------------------------------------------------------------
def deployed_file(filename: str) -> DeployedFile:
    found = deployed_files().get(filename)
    if found is None:
        raise not_found("该流程文件未部署")
    return found


def draft_of(user: User, filename: str) -> tuple[DeployedFile, ProcessDraft | None]:
    require_studio(user)
    return deployed_file(filename), db.session.scalar(select(ProcessDraft).where(ProcessDraft.filename == filename))


def _checked_source(filename: str, content: str) -> str:
    if not content.strip():
        raise ServiceError("流程文件内容为空", 422, {"content": "「流程文件」不能为空"})
    if len(content.encode()) > MAX_FILE_BYTES:
        raise ServiceError("流程文件过大", 422, {"content": f"「流程文件」不能超过 {MAX_FILE_BYTES // 1024 // 1024} MB"})
    if filename.endswith(".yaml"):
        return content  # a form: its own checks run in validate and deploy (forms.form_problems)
    try:
        parse_xml(content.encode(), filename)
    except DeployError as exc:
        raise ServiceError(str(exc), 422, {"content": str(exc)}) from None
    return content


@use_case
def save_draft(user: User, filename: str, content: str, revision: int | None) -> ProcessDraft:
    """Save the shared draft. `revision`: the draft revision the editor loaded (None: it started from the
    deployed file); a draft saved by someone else since is refused, never overwritten."""
    require_studio(user)
    deployed = deployed_file(filename)
    content = _checked_source(filename, content)
    draft = db.session.scalar(select(ProcessDraft).where(ProcessDraft.filename == filename))
    if draft is None:
        if revision is not None:
            raise ServiceError("该草稿已被他人部署或放弃，请重新打开后再修改", 409)
        draft = ProcessDraft(filename=filename, content=content, base_hash=deployed.digest, author=user.display_name)
        db.session.add(draft)
    else:
        if revision != draft.revision:
            raise ServiceError(f"该草稿已由{draft.author}于其后保存，请重新打开以免覆盖他人的修改", 409)
        draft.content, draft.author, draft.updated_at = content, user.display_name, clock.utcnow_naive()
    try:
        db.session.flush()
    except StaleDataError:
        raise ServiceError("该草稿刚刚被他人保存，请重新打开后再修改", 409) from None
    return draft


@use_case
def discard_draft(user: User, filename: str) -> None:
    require_studio(user)
    draft = db.session.scalar(select(ProcessDraft).where(ProcessDraft.filename == filename))
    if draft is None:
        raise not_found("没有该文件的草稿")
    db.session.delete(draft)


# ---- validate and deploy ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Finding:
    file: str
    process: str
    element: str
    message: str


def _affected(filename: str, content: str) -> list[Bundle]:
    """The bundles of the processes holding the file, with the draft laid over the deployed files."""
    deployed = deployed_files()
    holders = set(deployed[filename].processes) if filename in deployed else set()
    files = {name: f.content.encode() for name, f in deployed.items()}
    files[filename] = content.encode()
    bundles = []
    for bundle in bundles_from_files(files, form_references):
        try:
            keys = _process_ids(bundle)
        except DeployError:
            keys = set()
        if bundle.filename == filename or keys & holders:
            bundles.append(bundle)
    return bundles


def _process_ids(bundle: Bundle) -> set[str]:
    root = parse_xml(bundle.bpmn, bundle.filename)
    return {p.get("id") for p in root.iter(f"{{{BPMN_NS}}}process") if p.get("isExecutable") == "true"}


def _findings(bundle: Bundle, exc: DeployError, edited: str) -> list[Finding]:
    """The refusal as findings, on the edited file when the message is about it (a form carried by the bundle)."""
    problems = exc.problems or [Problem("", str(exc))]
    file = edited if str(exc).startswith(f"{edited}：") else bundle.filename
    return [Finding(file, bundle.filename.rsplit(".", 1)[0], p.element, p.message) for p in problems]


def validate(user: User, filename: str, content: str) -> list[Finding]:
    """Everything deploy checks — safe XML, parse, sandboxed compile of every expression, forms, roles, layout
    and the case-kind contract — for every process the file is part of; nothing is written."""
    require_studio(user)
    deployed_file(filename)
    try:
        content = _checked_source(filename, content)
    except ServiceError as exc:
        return [Finding(filename, "", "", exc.message)]
    rules = task_rules()
    findings: list[Finding] = []
    for bundle in _affected(filename, content):
        try:
            validate_bundle(bundle, rules)
        except DeployError as exc:
            findings.extend(_findings(bundle, exc, filename))
    return list(dict.fromkeys(findings))


def compare(user: User, filename: str, content: str) -> list[Change]:
    """What the edited content changes against the deployed file, element by element (or field by field for a
    form): the designer's 对比, for diagrams, decision tables and forms alike."""
    require_studio(user)
    deployed = deployed_file(filename)
    return file_changes(filename, deployed.content, _checked_source(filename, content))


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("请填写原因", 422, {"reason": "请填写「部署原因」，说明本次修改的依据和内容"})
    if len(reason) > REASON_LIMIT:
        raise ServiceError("原因过长", 422, {"reason": f"「部署原因」不能超过{REASON_LIMIT}字"})
    return reason


@use_case
def deploy_draft(user: User, filename: str, reason: str) -> list[ProcessVersion]:
    """Deploy the file's draft: a new current version of every process holding it, or nothing at all."""
    require_studio(user)
    reason = _reason(reason)
    draft = db.session.scalar(select(ProcessDraft).where(ProcessDraft.filename == filename))
    if draft is None:
        raise ServiceError("没有该文件的草稿，请先在设计器中修改并保存", 409)
    rules = task_rules()
    bundles = _affected(filename, draft.content)
    findings: list[Finding] = []
    for bundle in bundles:
        try:
            validate_bundle(bundle, rules)
        except DeployError as exc:
            findings.extend(_findings(bundle, exc, filename))
    if findings:
        raise ServiceError("校验未通过，未部署：" + "；".join(
            f"{f.file} 元素 {f.element}：{f.message}" if f.element else f"{f.file}：{f.message}" for f in findings[:5]), 422)
    before = deployed_files()[filename].content
    done = []
    for bundle in bundles:
        done.extend(deploy_bundle(db.session, bundle, rules, user.actor, reason=reason, make_current=True))
    db.session.delete(draft)
    made = "、".join(f"{v.process_key} v{v.version}" for v in done)
    studio_log.record(user, LOG_AREA, filename, "deploy", reason, [
        *(c.as_entry() for c in file_changes(filename, before, draft.content)),
        studio_log.diff_entry("", "生效的流程版本", None, made or "（内容与已有版本相同，未产生新版本）")])
    return done


@use_case
def make_current(user: User, process_key: str, number: int, reason: str) -> ProcessVersion:
    """Roll back (or forward): new instances start on `number`; running ones keep theirs."""
    require_studio(user)
    reason = _reason(reason)
    version = db.session.scalar(select(ProcessVersion).where(ProcessVersion.process_key == process_key,
                                                             ProcessVersion.version == number))
    if version is None:
        raise not_found("该流程版本不存在")
    current = db.session.get(ProcessCurrent, process_key)
    if current is not None and current.version_id == version.id:
        raise ServiceError(f"v{number} 已是当前版本", 409)
    previous = db.session.get(ProcessVersion, current.version_id) if current is not None else None
    set_current(db.session, version, user.actor, reason)
    changes = bundle_changes(_files(previous) if previous else {}, _files(version))
    studio_log.record(user, LOG_AREA, process_key, "rollback", reason, [
        studio_log.diff_entry("", "当前版本", f"v{previous.version}" if previous else None, f"v{version.version}"),
        *(c.as_entry() for c in changes)])
    return version


def _files(version: ProcessVersion) -> dict[str, str]:
    return {version.filename: version.bpmn_source, **dict(version.dmn_sources)}


def version_changes(user: User, process_key: str, number: int, against: int | None = None
                    ) -> tuple[ProcessVersion, ProcessVersion | None, list[Change]]:
    """What version `number` changed against `against` (default: the version before it), element by element;
    the first version is compared with nothing."""
    require_studio(user)
    version = _version(process_key, number)
    if against is None:
        base = db.session.scalar(select(ProcessVersion).where(
            ProcessVersion.process_key == process_key, ProcessVersion.version < number)
            .order_by(ProcessVersion.version.desc()).limit(1))
    else:
        base = _version(process_key, against)
    return version, base, bundle_changes(_files(base) if base else {}, _files(version))


def change_log(user: User, page: int = 1) -> studio_log.HistoryPage:
    """The studio's deploys, roll backs and migrations, newest first, with their diffs."""
    require_studio(user)
    return studio_log.history(LOG_AREA, page=page)


def element_names(content: str) -> dict[str, str]:
    """Element id → its name, to show findings by the names a policy officer reads."""
    try:
        root = parse_xml(content.encode(), "")
    except DeployError:
        return {}
    return {n.get("id"): n.get("name") for n in root.iter(etree.Element) if n.get("id") and n.get("name")}


def drafts(user: User) -> dict[str, ProcessDraft]:
    require_studio(user)
    return {d.filename: d for d in db.session.scalars(select(ProcessDraft))}


def actor_names(actors: set[str]) -> dict[str, str]:
    """Trail actors (user ids as text, or "system") → the names people read."""
    ids = {int(a) for a in actors if a.isdigit()}
    names = dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all()) if ids else {}
    names = {str(k): v for k, v in names.items()}
    return {a: names.get(a, "系统（随平台发布）" if a == "system" else a) for a in actors}


def designer_options() -> dict[str, list[tuple[str, str]]]:
    """What the properties panel offers to choose from: the task forms and the candidate roles."""
    from ..models import Role
    from .platform import forms

    registry = forms()
    return {"forms": [(key, registry.get(key).title) for key in registry.keys()],
            "roles": [(r.code, r.name) for r in db.session.scalars(select(Role).order_by(Role.code))]}


# ---- try it before deploy -----------------------------------------------------------------------------------
# What the use cases put into a new instance of each process (see their runtime().start calls), with sample
# values: a try-run starts from the same shape.
SAMPLE_START: dict[str, dict[str, Any]] = {
    "filing": {"applicant": "tryrun", "rounds": 0, "title": "示例项目", "application_id": 0},
    "approval": {"applicant": "tryrun", "project_kind": "approval", "title": "示例项目", "project_name": "示例项目",
                 "project_code": "2603-440704-04-01-424454", "declaration_id": 0, "stage": "立项"},
    "change": {"request_id": 0, "applicant": "tryrun", "department_id": 0, "region_code": "440704",
               "title": "示例项目（变更）", "time_limit": 5},
    "validity": {"permit_id": 0, "title": "示例项目", "lapse_at": "2028-03-10T00:00:00+08:00"},
    "progress": {"permit_id": 0, "project_id": 0, "applicant": "tryrun", "title": "示例项目",
                 "planned_end": "2027-12-31", "last_reported_year": None},
    "cancellation": {"permit_id": 0, "mode": "cancel", "reason": "示例原因", "actor_name": "示例用户"},
}
SAMPLE_START["authorisation"] = {**SAMPLE_START["approval"], "project_kind": "authorisation"}
SAMPLE_START["stage_application"] = {**SAMPLE_START["approval"], "stage": "可研"}
SAMPLE_START["construction_application"] = {**SAMPLE_START["approval"], "stage": "报建"}
SAMPLE_START["extension"] = {**SAMPLE_START["change"], "title": "示例项目（延期）"}


def _sample_value(field: Any) -> Any:
    from .platform import choices

    if field.choices:
        return field.choices[0][0]
    if field.source:
        options = choices(field.source)
        return options[0][0] if options else ""
    return {"checkbox": True, "date": clock.now().date().isoformat(), "integer": 1, "money": "100",
            "multichoice": [], "mobile": "13800138000"}.get(field.type, "示例")


def sample_inputs(user: User, filename: str, process_key: str) -> dict[str, Any]:
    """The start data and, per form the process's user tasks use, sample answers: the first choice of every
    choice (受理, 通过 …), a sample value otherwise. The policy officer edits them before a try-run."""
    from .platform import forms

    require_studio(user)
    bundle = _bundle_for(filename, deployed_file(filename).content, process_key)
    spec, subs = _specs(bundle, process_key)
    registry = forms()
    answers: dict[str, dict[str, Any]] = {}
    for task in user_tasks_in([spec, *subs.values()]):
        if task.form_key and registry.exists(task.form_key) and task.form_key not in answers:
            form = registry.get(task.form_key)
            answers[task.form_key] = {f.name: _sample_value(f) for _, fields in form.sections for f in fields if f.input}
    return {"start": SAMPLE_START.get(process_key, {}), "answers": answers}


def _bundle_for(filename: str, content: str, process_key: str) -> Bundle:
    for bundle in _affected(filename, content):
        if process_key in _process_ids(bundle):
            return bundle
    raise ServiceError(f"流程 {process_key} 不使用 {filename}", 404)


def _specs(bundle: Bundle, process_key: str) -> tuple[Any, dict[str, Any]]:
    parser, _ = build_parser(bundle)
    try:
        return parser.get_spec(process_key), parser.get_subprocess_specs(process_key)
    except Exception as exc:  # the parser raises several unrelated types
        raise ServiceError(f"流程无法解析：{exc}", 422) from None


def try_run(user: User, filename: str, content: str, process_key: str, start: Any, answers: Any) -> TryRun:
    """Run the edited file in memory (engine/tryrun.py): nothing is written, no real case is touched."""
    require_studio(user)
    shaped = isinstance(start, dict) and isinstance(answers, dict) and all(isinstance(v, dict) for v in answers.values())
    if not shaped:
        raise ServiceError("示例数据格式有误", 422,
                           {"sample": "「示例数据」须为 {\"start\": {…}, \"answers\": {表单: {…}}}"})
    content = _checked_source(filename, content)
    bundle = _bundle_for(filename, content, process_key)
    try:
        validate_bundle(bundle, task_rules())
    except DeployError as exc:
        raise ServiceError(f"校验未通过，无法试运行：{exc}", 422) from None
    spec, subs = _specs(bundle, process_key)
    return run_in_memory(spec, subs, runtime().script_engine, start, answers)


# ---- moving running instances between versions --------------------------------------------------------------
@dataclass(frozen=True)
class MigrationRow:
    instance: Instance
    problem: str | None  # None: can move


def _version(process_key: str, number: int) -> ProcessVersion:
    version = db.session.scalar(select(ProcessVersion).where(ProcessVersion.process_key == process_key,
                                                             ProcessVersion.version == number))
    if version is None:
        raise not_found(f"流程 {process_key} 没有 v{number}")
    return version


def migration_plan(user: User, process_key: str, source: int, target: int) -> list[MigrationRow]:
    """The dry run: every running instance on `source`, with "can move" or the reason it cannot."""
    require_studio(user)
    from_version, to_version = _version(process_key, source), _version(process_key, target)
    if from_version.id == to_version.id:
        raise ServiceError("迁出和迁入的版本相同", 422, {"target": "请选择另一个目标版本"})
    rows = db.session.scalars(select(Instance).where(Instance.process_version_id == from_version.id,
                                                     Instance.status == "running").order_by(Instance.id))
    return [MigrationRow(row, migration.problem(runtime(), db.session, row, to_version)) for row in rows]


@use_case
def migrate_instance(user: User, process_key: str, instance_id: int, target: int, reason: str) -> Instance:
    """One instance, one transaction, one trail row; refused (nothing changed) when it cannot move."""
    require_studio(user)
    row = db.session.get(Instance, instance_id)
    if row is None or row.process_key != process_key:
        raise not_found("办件不存在")
    return migration.migrate(runtime(), db.session, instance_id, _version(process_key, target), user.actor,
                             _reason(reason))


def migrate_all(user: User, process_key: str, source: int, target: int, reason: str) -> tuple[int, list[str]]:
    """The real run: each instance that can move is moved in its own transaction; returns how many moved
    and the refusals of the others."""
    _reason(reason)
    moved, refused, entries = 0, [], []
    for row in migration_plan(user, process_key, source, target):
        if row.problem:
            refused.append(f"{row.instance.business_key or row.instance.id}：{row.problem}")
            continue
        try:
            migrate_instance(user, process_key, row.instance.id, target, reason)
            moved += 1
            case = row.instance.business_key or row.instance.id
            entries.append(studio_log.diff_entry(str(row.instance.id), f"办件 {case}",
                                                 f"v{source}", f"v{target}"))
        except ServiceError as exc:
            refused.append(exc.message)
    if entries or refused:
        _log_migration(user, process_key, reason, [
            *entries, *(studio_log.diff_entry("", "未迁移", text, None) for text in refused)])
    return moved, refused


@use_case
def _log_migration(user: User, process_key: str, reason: str, entries: list[dict[str, Any]]) -> None:
    studio_log.record(user, LOG_AREA, process_key, "migrate", _reason(reason), entries)


def current_steps(instance_ids: list[int]) -> dict[int, list[str]]:
    """The waiting steps of each instance, from the task projection (no workflow is loaded)."""
    from engine.tables import HumanTask

    steps: dict[int, list[str]] = {}
    if instance_ids:
        for task in db.session.scalars(select(HumanTask).where(HumanTask.instance_id.in_(instance_ids))):
            steps.setdefault(task.instance_id, []).append(task.name)
    return steps


def form_title(file: DeployedFile) -> str:
    from ..formkit import parse_form

    try:
        return parse_form(file.content).title
    except Exception:  # a broken form still lists, under its file name
        return file.filename


def preview_form(filename: str, content: str) -> tuple[Any, str]:
    """(the form as it would render, "") or (None, what is wrong): the editor's live preview."""
    from ..formkit import FormDef, form_problems, parse_form
    from .platform import CHOICE_SOURCES, RULES, forms

    if len(content.encode()) > MAX_FILE_BYTES:
        return None, "表单过大"
    problems = form_problems(filename, content, set(CHOICE_SOURCES), set(RULES))
    if problems:
        field, message = problems[0]
        return None, f"字段 {field}：{message}" if field else message
    form = parse_form(content)
    if form.extends:
        parent = forms().get(form.extends)
        form = FormDef(form.key, form.title, parent.sections + form.sections, parent.rules + form.rules)
    return form, ""
