"""Diagram layout: writes BPMN DI (and DMN DI) so that a modeler (bpmn-js, Camunda Modeler) can show a diagram.

Run once per file: from then on the DI in the file is the source (policy staff move shapes in the modeler), so
nothing runs this at deploy. `python -m engine.layout FILE...` re-lays out a file: it rewrites only the DI and
keeps every other byte of the file (checked: the result must equal the input once the DI is removed).

The BPMN layout is layered, left to right, on a grid per container (process or expanded sub-process):
  - ranks (columns) are longest paths over the sequence flows without back edges (found by depth-first search);
    a boundary event's targets rank after its host;
  - rows: depth-first from the start events, the successor with the longest path ahead stays on its
    predecessor's row (the happy path is one straight line), other branches and boundary paths take the first
    row below whose cell and horizontal run are free of shapes, so edges never cross a shape;
  - waypoints are orthogonal: gateway branches leave from the gateway's bottom, joins run in the gaps between
    columns, back edges (loops) go round below the grid;
  - sub-processes are expanded, laid out inside first; boundary events sit on their host's bottom border;
    lanes are bands of rows, pools wrap their process.
DMN: the decision requirements graph in layers, required elements below the ones that need them.
"""
from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from html import escape
from pathlib import Path

from lxml import etree

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
DMN13 = "https://www.omg.org/spec/DMN/20191111/MODEL/"
DMNDI = "https://www.omg.org/spec/DMN/20191111/DMNDI/"
DMN_DC = "http://www.omg.org/spec/DMN/20180521/DC/"
DMN_DI = "http://www.omg.org/spec/DMN/20180521/DI/"

TASKS = {"task", "userTask", "scriptTask", "serviceTask", "businessRuleTask", "sendTask", "receiveTask",
         "manualTask", "callActivity"}
EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
GATEWAYS = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway"}
CONTAINERS = {"subProcess", "transaction", "adHocSubProcess"}
DATA = {"dataObjectReference", "dataStoreReference"}
FLOW_NODES = TASKS | EVENTS | GATEWAYS | CONTAINERS | DATA
DRD_ELEMENTS = {"decision": (180, 80), "inputData": (125, 45), "businessKnowledgeModel": (135, 46),
                "knowledgeSource": (100, 63)}

H_GAP = 90        # between columns: room for a flow's label
V_GAP = 60        # between rows: room for a boundary event and its label
SUB_PAD = (40, 50, 40, 45)   # left, top, right, bottom inside an expanded sub-process (its name sits top left)
PROCESS_PAD = (30, 50, 30, 45)
ORIGIN = (100, 60)
POOL_HEADER = 30
LOOP_CLEARANCE = 40          # from the lowest row to the first back edge running below it
LOOP_STEP = 16
BOUNDARY_SPACING = 130
LABEL_MAX_W = 90             # bpmn-js wraps external labels at 90 px, 11 px font
LABEL_LINE_H = 14

_SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


class LayoutError(ValueError):
    """The file cannot be laid out (not BPMN/DMN, a DOCTYPE, or a rewrite that would change the model)."""


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _kind(el: etree._Element) -> str:
    name = _local(el)
    if name in TASKS:
        return "task"
    if name in EVENTS:
        return "event"
    if name in GATEWAYS:
        return "gateway"
    if name in CONTAINERS:
        return "container"
    return name


def _text_width(text: str) -> float:
    return sum(11.0 if ord(ch) >= 0x2E80 else 6.5 for ch in text)


def _label_size(text: str) -> tuple[int, int]:
    width = _text_width(text)
    lines = max(1, math.ceil(width / (LABEL_MAX_W - 4)))
    return min(LABEL_MAX_W, math.ceil(width) + 4), lines * LABEL_LINE_H


# ---------------------------------------------------------------------------------------------------- geometry

@dataclass
class _Shape:
    element: str
    kind: str
    x: int
    y: int
    w: int
    h: int
    label: tuple[int, int, int, int] | None = None
    expanded: bool = False
    marker: bool = False
    horizontal: bool = False  # pools and lanes

    @property
    def cx(self) -> int:
        return self.x + self.w // 2

    @property
    def cy(self) -> int:
        return self.y + self.h // 2

    def moved(self, dx: int, dy: int) -> _Shape:
        label = None if self.label is None else (self.label[0] + dx, self.label[1] + dy, self.label[2], self.label[3])
        return replace(self, x=self.x + dx, y=self.y + dy, label=label)


@dataclass
class _Edge:
    element: str
    points: list[tuple[int, int]]
    label: tuple[int, int, int, int] | None = None

    def moved(self, dx: int, dy: int) -> _Edge:
        label = None if self.label is None else (self.label[0] + dx, self.label[1] + dy, self.label[2], self.label[3])
        return _Edge(self.element, [(x + dx, y + dy) for x, y in self.points], label)


@dataclass
class _Block:
    """A laid-out container: its size and its contents, relative to its top-left corner."""

    w: int
    h: int
    shapes: list[_Shape] = field(default_factory=list)
    edges: list[_Edge] = field(default_factory=list)
    lanes: list[tuple[str, int, int]] = field(default_factory=list)  # lane id, top, bottom

    def placed(self, dx: int, dy: int) -> tuple[list[_Shape], list[_Edge]]:
        return [s.moved(dx, dy) for s in self.shapes], [e.moved(dx, dy) for e in self.edges]


def _flow_label(name: str | None, points: list[tuple[int, int]]) -> tuple[int, int, int, int] | None:
    """Above the first horizontal run long enough to read it by (else the longest), starting just after its bend."""
    if not name:
        return None
    w, h = _label_size(name)
    runs = [(a, b) for a, b in zip(points, points[1:], strict=False) if a[1] == b[1] and a[0] != b[0]]
    if not runs:
        (x0, y0), (x1, y1) = points[0], points[1]
        return (max(x0, x1) + 6, (y0 + y1) // 2 - h // 2, w, h)
    run = next((r for r in runs if abs(r[1][0] - r[0][0]) >= 40), max(runs, key=lambda r: abs(r[1][0] - r[0][0])))
    (x0, y), (x1, _) = run
    if x1 > x0:
        return (x0 + 8, y - h - 3, w, h)
    return (x0 - 8 - w, y + 4, w, h)  # a back edge running left, below the grid: label under the line


# ---------------------------------------------------------------------------------------------------- BPMN grid

class _ContainerLayout:
    """Lays out the direct children of one process or sub-process (see the module docstring)."""

    def __init__(self, el: etree._Element, pad: tuple[int, int, int, int], lanes: list[etree._Element]):
        self.el = el
        self.pad = pad
        kids = [c for c in el if isinstance(c.tag, str) and etree.QName(c).namespace == BPMN]
        self.order = {c.get("id"): i for i, c in enumerate(kids)}
        self.boundaries = [c for c in kids if _local(c) == "boundaryEvent"]
        self.event_subs = [c for c in kids if _local(c) in CONTAINERS and c.get("triggeredByEvent") == "true"]
        self.data = [c for c in kids if _local(c) in DATA]
        self.nodes = [c for c in kids if _local(c) in FLOW_NODES - DATA - {"boundaryEvent"} and c not in self.event_subs]
        self.node_ids = [n.get("id") for n in self.nodes]
        self.by_id = {c.get("id"): c for c in kids}
        self.host_of = {b.get("id"): b.get("attachedToRef") for b in self.boundaries}
        self.flows = [c for c in kids if _local(c) == "sequenceFlow" and c.get("sourceRef") and c.get("targetRef")]
        self.inner = {c.get("id"): layout_container(c) for c in self.nodes + self.event_subs if _local(c) in CONTAINERS}
        self.lane_ids = [lane.get("id") for lane in lanes]
        self.lane_of: dict[str, int] = {}
        for index, lane in enumerate(lanes):
            for ref in lane.iter(f"{{{BPMN}}}flowNodeRef"):
                self.lane_of.setdefault((ref.text or "").strip(), index)

    def size(self, node_id: str) -> tuple[int, int]:
        if node_id in self.inner:
            return self.inner[node_id].w, self.inner[node_id].h
        kind = _kind(self.by_id[node_id])
        if kind in ("task", "event", "gateway"):
            return {"task": (100, 80), "event": (36, 36), "gateway": (50, 50)}[kind]
        return {"dataObjectReference": (36, 50), "dataStoreReference": (50, 50)}.get(kind, (100, 80))

    # ---- graph

    def _graph(self) -> None:
        nodes = set(self.node_ids)
        self.succ: dict[str, list[tuple[str, etree._Element, bool]]] = {n: [] for n in self.node_ids}
        self.pred: dict[str, list[str]] = {n: [] for n in self.node_ids}
        for flow in self.flows:
            source, target = flow.get("sourceRef"), flow.get("targetRef")
            from_boundary = source in self.host_of
            source = self.host_of.get(source, source)
            if source in nodes and target in nodes:
                self.succ[source].append((target, flow, from_boundary))
                self.pred[target].append(source)
        # Back edges: depth-first from the start events (then from anything unvisited), in document order.
        self.back: set[int] = set()
        state: dict[str, int] = {}
        starts = sorted(self.node_ids, key=lambda n: (_local(self.by_id[n]) != "startEvent", bool(self.pred[n]),
                                                      self.order[n]))
        for root in starts:
            if root in state:
                continue
            state[root] = 1
            stack = [(root, iter(self.succ[root]))]
            while stack:
                node, it = stack[-1]
                step = next(it, None)
                if step is None:
                    state[node] = 2
                    stack.pop()
                    continue
                target, flow, _ = step
                if state.get(target) == 1:
                    self.back.add(id(flow))
                elif target not in state:
                    state[target] = 1
                    stack.append((target, iter(self.succ[target])))
        forward = {n: [t for t, f, _ in self.succ[n] if id(f) not in self.back] for n in self.node_ids}
        indegree = {n: 0 for n in self.node_ids}
        for n in self.node_ids:
            for t in forward[n]:
                indegree[t] += 1
        self.rank = {n: 0 for n in self.node_ids}
        ready = [n for n in self.node_ids if indegree[n] == 0]
        topo = []
        while ready:
            ready.sort(key=lambda n: self.order[n])
            node = ready.pop(0)
            topo.append(node)
            for t in forward[node]:
                self.rank[t] = max(self.rank[t], self.rank[node] + 1)
                indegree[t] -= 1
                if indegree[t] == 0:
                    ready.append(t)
        self.height = {n: 1 for n in self.node_ids}
        for node in reversed(topo):
            for t in forward[node]:
                self.height[node] = max(self.height[node], self.height[t] + 1)
        has_forward_in = {t for n in self.node_ids for t in forward[n]}
        self.roots = [n for n in starts if n not in has_forward_in]

    def _ordered_successors(self, node: str) -> list[tuple[str, etree._Element, bool]]:
        regular = [s for s in self.succ[node] if not s[2] and id(s[1]) not in self.back]
        if regular:  # the default flow, else the longest way ahead, stays on this row
            default = self.by_id[node].get("default")
            main = min(regular, key=lambda s: (s[1].get("id") != default, -self.height[s[0]], self.order[s[1].get("id")]))
            others = sorted((s for s in regular if s is not main),
                            key=lambda s: (self.rank[s[0]], self.order[s[1].get("id")]))
            regular = [main, *others]
        hosts = [b.get("id") for b in self.boundaries if b.get("attachedToRef") == node]
        from_boundaries = sorted((s for s in self.succ[node] if s[2] and id(s[1]) not in self.back),
                                 key=lambda s: (hosts.index(s[1].get("sourceRef")), self.order[s[1].get("id")]))
        return regular + from_boundaries

    # ---- rows

    def _rows_between(self, a: tuple[int, int], b: tuple[int, int]) -> list[tuple[int, int]]:
        """Row keys after a up to and including b, in either direction (rows are ordered (lane, row) pairs)."""
        rows = {(cell[1], cell[2]) for cell in self.cells} | {(cell[1], cell[2]) for cell in self.edge_cells} | {b}
        return sorted(r for r in rows if (a < r <= b if a < b else b <= r < a))

    def _vertical_free(self, column: int, a: tuple[int, int], b: tuple[int, int]) -> bool:
        """No shape in the column's cells from row a (exclusive) to row b (inclusive)."""
        return all((column, *row) not in self.cells for row in self._rows_between(a, b))

    def _row_for(self, target: str, source: str | None, row: tuple[int, int], vertical: bool) -> tuple[int, int]:
        """The first row at or below `row` (within the target's lane) whose cell is free and whose horizontal run from
        the source is free of shapes; first also asking that the source's column be free down to it."""
        column = self.rank[target]
        lane = row[0]
        limit = max([r for (_, ln, r) in self.cells if ln == lane], default=0) + 2
        for need_vertical in ([True, False] if vertical else [False]):
            for r in range(row[1], limit + 1):
                key = (lane, r)
                if (column, *key) in self.cells or (column, *key) in self.edge_cells:
                    continue
                if source is not None:
                    run = range(self.rank[source] + 1, column)
                    if any((c, *key) in self.cells for c in run):
                        continue
                    if need_vertical and not self._vertical_free(self.rank[source], self.row[source], key):
                        continue
                return key
        return (lane, limit + 1)

    def _place(self, node: str, key: tuple[int, int]) -> None:
        self.row[node] = key
        self.cells[(self.rank[node], *key)] = node
        # Keep the row free in front of it for the joins from predecessors already placed.
        for pred in self.pred[node]:
            if pred in self.row and self.rank[pred] < self.rank[node]:
                run = [(c, *key) for c in range(self.rank[pred] + 1, self.rank[node])]
                if not any(cell in self.cells for cell in run):
                    self.edge_cells.update(run)

    def _reserve(self, source: str, target: str, vertical: bool) -> None:
        key = self.row[target]
        for c in range(self.rank[source] + 1, self.rank[target]):
            self.edge_cells.add((c, *key))
        if vertical and self._vertical_free(self.rank[source], self.row[source], key):
            for row in self._rows_between(self.row[source], key):
                self.edge_cells.add((self.rank[source], *row))

    def _assign_rows(self) -> None:
        self.row: dict[str, tuple[int, int]] = {}
        self.cells: dict[tuple[int, int, int], str] = {}
        self.edge_cells: set[tuple[int, int, int]] = set()

        def visit(node: str) -> None:
            row_taken = False  # the first successor placed from here keeps this row
            for target, _flow, from_boundary in self._ordered_successors(node):
                if target in self.row:
                    continue
                lane = self.lane_of.get(target, 0)
                if lane != self.row[node][0]:
                    pref = (lane, 0)
                else:
                    pref = (lane, self.row[node][1] + (0 if not row_taken and not from_boundary else 1))
                row_taken = row_taken or not from_boundary
                vertical = from_boundary or _kind(self.by_id[node]) == "gateway"
                self._place(target, self._row_for(target, node, pref, vertical))
                self._reserve(node, target, vertical)
                visit(target)

        for root in self.roots + self.node_ids:
            if root not in self.row:
                lane = self.lane_of.get(root, 0)
                self._place(root, self._row_for(root, None, (lane, 0), False))
                visit(root)

    # ---- coordinates and edges

    def layout(self) -> _Block:
        self._graph()
        self._assign_rows()
        left, top, right, bottom = self.pad
        columns = max(self.rank.values(), default=-1) + 1
        col_w = [0] * columns
        for n in self.node_ids:
            col_w[self.rank[n]] = max(col_w[self.rank[n]], self.size(n)[0])
        col_x, x = [], left
        for w in col_w:
            col_x.append(x)
            x += w + H_GAP
        grid_right = x - H_GAP if columns else left
        rows = sorted({self.row[n] for n in self.node_ids} | {(lane, 0) for lane in range(len(self.lane_ids))})
        row_h = {r: 0 for r in rows}
        for n in self.node_ids:
            row_h[self.row[n]] = max(row_h[self.row[n]], self.size(n)[1])
        row_y, y = {}, top
        for r in rows:
            row_h[r] = row_h[r] or 80
            row_y[r] = y
            y += row_h[r] + V_GAP
        grid_bottom = y - V_GAP if rows else top
        self.col_x, self.col_w, self.row_y, self.row_h = col_x, col_w, row_y, row_h

        # Small shapes are centred on the widest small shape of their column, not on a sub-process beside them.
        slot_w = [0] * columns
        for n in self.node_ids:
            if n not in self.inner:
                slot_w[self.rank[n]] = max(slot_w[self.rank[n]], self.size(n)[0])
        shapes: dict[str, _Shape] = {}
        nested: list[_Shape] = []
        nested_edges: list[_Edge] = []
        for n in self.node_ids:
            w, h = self.size(n)
            c, r = self.rank[n], self.row[n]
            x = col_x[c] + (col_w[c] - w) // 2 if n in self.inner else col_x[c] + (slot_w[c] - w) // 2
            shape = _Shape(n, _kind(self.by_id[n]), x, row_y[r] + (row_h[r] - h) // 2, w, h)
            self._decorate(shape)
            shapes[n] = shape
            if n in self.inner:
                inner_shapes, inner_edges = self.inner[n].placed(shape.x, shape.y)
                nested += inner_shapes
                nested_edges += inner_edges
        for host, group in self._boundaries_by_host().items():
            self._attach(shapes[host], group, shapes)

        loops = [f for f in self.flows if id(f) in self.back]
        edges = []
        for flow in self.flows:
            source, target = flow.get("sourceRef"), flow.get("targetRef")
            if source not in shapes or target not in shapes:
                continue
            if id(flow) in self.back:
                y_loop = grid_bottom + LOOP_CLEARANCE + LOOP_STEP * loops.index(flow)
                points = self._loop(shapes[source], shapes[target], y_loop)
            else:
                points = self._route(flow, shapes[source], shapes[target])
            edges.append(_Edge(flow.get("id"), _clean(points), None))
            edges[-1].label = _flow_label(flow.get("name"), edges[-1].points)

        self._free_gateway_labels(shapes, edges)
        height = grid_bottom + (LOOP_CLEARANCE + LOOP_STEP * (len(loops) - 1) if loops else 0)
        width = max([grid_right] + [x + 20 - right for e in edges for x, _ in e.points])  # loops turn in the gap
        if self.data:  # right under the flow, so their associations cross nothing
            height, width = self._place_data(shapes, edges, height, width)
        extra = [self.inner[s.get("id")] for s in self.event_subs]
        if extra:
            x, y = left, height + V_GAP
            for sub_el, block in zip(self.event_subs, extra, strict=True):
                shape = _Shape(sub_el.get("id"), "container", x, y, block.w, block.h, expanded=True)
                shapes[shape.element] = shape
                inner_shapes, inner_edges = block.placed(x, y)
                nested += inner_shapes
                nested_edges += inner_edges
                x += block.w + H_GAP
            width = max(width, x - H_GAP)
            height = y + max(b.h for b in extra)

        ordered = [shapes[c.get("id")] for c in self.el if isinstance(c.tag, str) and c.get("id") in shapes]
        block = _Block(width + right, height + bottom, ordered + nested, edges + nested_edges)
        if self.lane_ids:
            bands = []
            for index, lane_id in enumerate(self.lane_ids):
                lane_rows = [r for r in rows if r[0] == index]
                first, last = lane_rows[0], lane_rows[-1]
                bands.append((lane_id, row_y[first] - V_GAP // 2, row_y[last] + row_h[last] + V_GAP // 2))
            bands[0] = (bands[0][0], 0, bands[0][2])
            bands[-1] = (bands[-1][0], bands[-1][1], block.h)
            block.lanes = bands
        return block

    def _decorate(self, shape: _Shape) -> None:
        el = self.by_id[shape.element]
        if shape.kind == "container":
            shape.expanded = True
        if _local(el) == "exclusiveGateway":
            shape.marker = True
        name = el.get("name")
        if name and shape.kind in ("event", "gateway", "dataObjectReference", "dataStoreReference"):
            w, h = _label_size(name)
            if shape.kind == "gateway":  # above: branches leave from the bottom
                shape.label = (shape.cx - w // 2, shape.y - 6 - h, w, h)
            else:
                shape.label = (shape.cx - w // 2, shape.y + shape.h + 5, w, h)

    @staticmethod
    def _free_gateway_labels(shapes: dict[str, _Shape], edges: list[_Edge]) -> None:
        """A gateway's label sits above it unless a branch leaves or joins there: then below, else to the left."""
        ends = {p for e in edges for p in (e.points[0], e.points[-1])}
        for shape in shapes.values():
            if shape.kind != "gateway" or shape.label is None or (shape.cx, shape.y) not in ends:
                continue
            _, _, w, h = shape.label
            if (shape.cx, shape.y + shape.h) not in ends:
                shape.label = (shape.cx - w // 2, shape.y + shape.h + 5, w, h)
            else:
                shape.label = (shape.x - 6 - w, shape.y - h, w, h)

    def _boundaries_by_host(self) -> dict[str, list[etree._Element]]:
        hosts: dict[str, list[etree._Element]] = {}
        for b in self.boundaries:
            if b.get("attachedToRef") in self.node_ids:
                hosts.setdefault(b.get("attachedToRef"), []).append(b)
        return hosts

    def _attach(self, host: _Shape, group: list[etree._Element], shapes: dict[str, _Shape]) -> None:
        """On the host's bottom border, from the right (their paths run to the right and down); label to the left."""
        count = len(group)
        for i, b in enumerate(group):
            if count * BOUNDARY_SPACING + 40 <= host.w:
                cx = host.x + host.w - 60 - i * BOUNDARY_SPACING
            else:
                cx = host.x + host.w * (count - i) // (count + 1)
            shape = _Shape(b.get("id"), "event", cx - 18, host.y + host.h - 18, 36, 36)
            if b.get("name"):
                w, h = _label_size(b.get("name"))
                shape.label = (cx - 10 - w, host.y + host.h + 22, w, h)
            shapes[shape.element] = shape

    def _gap_after(self, column: int) -> int:
        return self.col_x[column] + self.col_w[column] + H_GAP // 2

    def _gap_before(self, column: int) -> int:
        return self.col_x[column] - H_GAP // 2

    def _run_free(self, columns: Iterable[int], row: tuple[int, int]) -> bool:
        return not any((c, *row) in self.cells for c in columns)

    def _route(self, flow: etree._Element, s: _Shape, t: _Shape) -> list[tuple[int, int]]:
        source, target = flow.get("sourceRef"), flow.get("targetRef")
        if source in self.host_of:  # down from the boundary event, then right
            host = self.host_of[source]
            if self._vertical_free(self.rank[host], self.row[host], self.row[target]) or t.cy <= s.y + s.h:
                return [(s.cx, s.y + s.h), (s.cx, t.cy), (t.x, t.cy)]
            channel = self.row_y[self.row[host]] + self.row_h[self.row[host]] + V_GAP // 2
            gap = self._gap_after(self.rank[host])
            return [(s.cx, s.y + s.h), (s.cx, channel), (gap, channel), (gap, t.cy), (t.x, t.cy)]
        rs, rt = self.row[source], self.row[target]
        cs, ct = self.rank[source], self.rank[target]
        between = range(cs + 1, ct)
        if rs == rt:
            if self._run_free(between, rs):
                return [(s.x + s.w, s.cy), (t.x, t.cy)]
            channel = self.row_y[rs] + self.row_h[rs] + V_GAP // 2
            return [(s.x + s.w, s.cy), (self._gap_after(cs), s.cy), (self._gap_after(cs), channel),
                    (self._gap_before(ct), channel), (self._gap_before(ct), t.cy), (t.x, t.cy)]
        down = rt > rs
        if s.kind == "gateway" and self._run_free(between, rt) and self._vertical_free(cs, rs, rt):
            return [(s.cx, s.y + s.h if down else s.y), (s.cx, t.cy), (t.x, t.cy)]
        if t.kind == "gateway" and self._run_free(between, rs) and self._vertical_free(ct, rt, rs):
            return [(s.x + s.w, s.cy), (t.cx, s.cy), (t.cx, t.y if down else t.y + t.h)]
        if self._run_free(between, rt):
            gap = self._gap_after(cs)
            return [(s.x + s.w, s.cy), (gap, s.cy), (gap, t.cy), (t.x, t.cy)]
        if self._run_free(between, rs):
            gap = self._gap_before(ct)
            return [(s.x + s.w, s.cy), (gap, s.cy), (gap, t.cy), (t.x, t.cy)]
        channel = self.row_y[max(rs, rt)] - V_GAP // 2  # the gap just above the lower row: no shape lies there
        return [(s.x + s.w, s.cy), (self._gap_after(cs), s.cy), (self._gap_after(cs), channel),
                (self._gap_before(ct), channel), (self._gap_before(ct), t.cy), (t.x, t.cy)]

    def _loop(self, s: _Shape, t: _Shape, y_loop: int) -> list[tuple[int, int]]:
        """A back edge: out to the right, round below the grid, in from the left."""
        source = s.element
        start = [(s.cx, s.y + s.h)] if source in self.host_of else \
            [(s.x + s.w, s.cy), (self._gap_after(self.rank[source]), s.cy)]
        x_out = start[-1][0]
        x_in = self._gap_before(self.rank[t.element])
        return [*start, (x_out, y_loop), (x_in, y_loop), (x_in, t.cy), (t.x, t.cy)]

    def _place_data(self, shapes: dict[str, _Shape], edges: list[_Edge], height: int, width: int) -> tuple[int, int]:
        """Data object and store references in a row below, under the first activity that reads or writes them."""
        users: dict[str, str] = {}
        associations: list[tuple[etree._Element, str, str]] = []
        for el in self.el.iter(f"{{{BPMN}}}dataInputAssociation", f"{{{BPMN}}}dataOutputAssociation"):
            activity = el.getparent().get("id")
            refs = [(r.text or "").strip() for r in el if _local(r) in ("sourceRef", "targetRef")]
            for ref in refs:
                if ref in {d.get("id") for d in self.data} and activity in shapes:
                    users.setdefault(ref, activity)
                    associations.append((el, ref, activity))
        y = height + V_GAP
        x_next = self.pad[0]
        for d in self.data:
            w, h = self.size(d.get("id"))
            user = shapes.get(users.get(d.get("id"), ""))
            x = max(x_next, user.cx - w // 2 if user else x_next)
            shape = _Shape(d.get("id"), _local(d), x, y, w, h)
            self._decorate(shape)
            shapes[shape.element] = shape
            x_next = x + w + 60
        for el, ref, activity in associations:
            if el.get("id"):
                d, a = shapes[ref], shapes[activity]
                edges.append(_Edge(el.get("id"), [(d.cx, d.y), (d.cx, a.y + a.h)] if d.cx >= a.x and d.cx <= a.x + a.w
                                   else [(d.cx, d.y), (d.cx, a.cy), (a.x + a.w, a.cy)]))
        return y + 50 + 2 * LABEL_LINE_H + 10, max(width, x_next - 60)


def _clean(points: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Drops repeated and collinear middle points."""
    out: list[tuple[int, int]] = []
    for p in points:
        if out and out[-1] == p:
            continue
        if len(out) >= 2 and (out[-2][0] == out[-1][0] == p[0] or out[-2][1] == out[-1][1] == p[1]):
            out[-1] = p
            continue
        out.append(p)
    return out


def layout_container(el: etree._Element, lanes: list[etree._Element] | None = None) -> _Block:
    pad = PROCESS_PAD if _local(el) == "process" else SUB_PAD
    return _ContainerLayout(el, pad, lanes or []).layout()


def _lanes_of(process: etree._Element) -> list[etree._Element]:
    lane_set = process.find(f"{{{BPMN}}}laneSet")
    return [] if lane_set is None else lane_set.findall(f"{{{BPMN}}}lane")


def _bpmn_planes(root: etree._Element) -> list[tuple[str, list[_Shape], list[_Edge]]]:
    """One plane per collaboration (pools stacked), else one per process."""
    processes = {p.get("id"): p for p in root.findall(f"{{{BPMN}}}process")}
    planes = []
    collaboration = root.find(f"{{{BPMN}}}collaboration")
    if collaboration is not None:
        shapes: list[_Shape] = []
        edges: list[_Edge] = []
        x, y = ORIGIN
        drawn: set[str] = set()
        participants = collaboration.findall(f"{{{BPMN}}}participant")
        blocks = {p.get("id"): layout_container(processes[p.get("processRef")], _lanes_of(processes[p.get("processRef")]))
                  for p in participants if p.get("processRef") in processes}
        pool_w = max([b.w for b in blocks.values()] + [600]) + POOL_HEADER
        for participant in participants:
            block = blocks.get(participant.get("id"))
            if block is None:  # a black-box pool
                shapes.append(_Shape(participant.get("id"), "pool", x, y, pool_w, 60, horizontal=True))
                y += 60 + 40
                continue
            drawn.add(participant.get("processRef"))
            shapes.append(_Shape(participant.get("id"), "pool", x, y, pool_w, block.h, horizontal=True))
            for lane_id, top, bottom in block.lanes:
                shapes.append(_Shape(lane_id, "lane", x + POOL_HEADER, y + top, pool_w - POOL_HEADER, bottom - top,
                                     horizontal=True))
            inner_shapes, inner_edges = block.placed(x + POOL_HEADER, y)
            shapes += inner_shapes
            edges += inner_edges
            y += block.h + 40
        by_id = {s.element: s for s in shapes}
        for flow in collaboration.findall(f"{{{BPMN}}}messageFlow"):
            s, t = by_id.get(flow.get("sourceRef")), by_id.get(flow.get("targetRef"))
            if s and t:
                down = t.cy > s.cy
                sy, ty = (s.y + s.h, t.y) if down else (s.y, t.y + t.h)
                mid = (sy + ty) // 2
                edges.append(_Edge(flow.get("id"), _clean([(s.cx, sy), (s.cx, mid), (t.cx, mid), (t.cx, ty)]),
                                   _flow_label(flow.get("name"), [(s.cx, mid), (t.cx, mid)])))
        planes.append((collaboration.get("id"), shapes, edges))
        processes = {k: v for k, v in processes.items() if k not in drawn}
    for pid, process in processes.items():
        block = layout_container(process, _lanes_of(process))
        shapes, edges = block.placed(*ORIGIN)
        if block.lanes:  # lanes without a pool: still drawn as bands
            shapes = [_Shape(lane_id, "lane", ORIGIN[0] - POOL_HEADER, ORIGIN[1] + top, block.w + POOL_HEADER,
                             bottom - top, horizontal=True) for lane_id, top, bottom in block.lanes] + shapes
        planes.append((pid, shapes, edges))
    return planes


# ---------------------------------------------------------------------------------------------------- DMN

def _href(el: etree._Element) -> str:
    return (el.get("href") or "").lstrip("#")


def _drd(root: etree._Element) -> tuple[list[_Shape], list[_Edge]]:
    """Layers bottom-up: input data and knowledge at the bottom, each decision above what it requires."""
    elements = [el for el in root if _local(el) in DRD_ELEMENTS and el.get("id")]
    ids = {el.get("id") for el in elements}
    requires: dict[str, list[tuple[str, str | None]]] = {el.get("id"): [] for el in elements}
    for el in elements:
        for req in el:
            if _local(req) not in ("informationRequirement", "knowledgeRequirement", "authorityRequirement"):
                continue
            for ref in req:
                if _href(ref) in ids:
                    requires[el.get("id")].append((_href(ref), req.get("id")))
    level: dict[str, int] = {}

    def depth(node: str, trail: frozenset[str] = frozenset()) -> int:
        if node not in level:
            below = [depth(r, trail | {node}) for r, _ in requires[node] if r not in trail]
            level[node] = 1 + max(below) if below else 0
        return level[node]

    for el in elements:
        depth(el.get("id"))
    top_level = max(level.values(), default=0)
    shapes: dict[str, _Shape] = {}
    next_x: dict[int, int] = {}
    for el in elements:
        node = el.get("id")
        w, h = DRD_ELEMENTS[_local(el)]
        x = next_x.get(level[node], ORIGIN[0])
        y = ORIGIN[1] + (top_level - level[node]) * 160 + (80 - h) // 2
        shapes[node] = _Shape(node, _local(el), x, y, w, h)
        next_x[level[node]] = x + w + 60
    edges = []
    for el in elements:
        for ref, req_id in requires[el.get("id")]:
            if req_id:
                s, t = shapes[ref], shapes[el.get("id")]
                mid = (s.y + t.y + t.h) // 2
                edges.append(_Edge(req_id, _clean([(s.cx, s.y), (s.cx, mid), (t.cx, mid), (t.cx, t.y + t.h)])))
    return list(shapes.values()), edges


# ---------------------------------------------------------------------------------------------------- writing

def _bounds(prefix: str, x: int, y: int, w: int, h: int) -> str:
    return f'<{prefix}:Bounds x="{x}" y="{y}" width="{w}" height="{h}" />'


def _unique(base: str, taken: set[str]) -> str:
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    taken.add(name)
    return name


def _model_ids(root: etree._Element) -> set[str]:
    """Ids outside the diagram interchange (the old DI's ids are free again: it is replaced)."""
    return {el.get("id") for el in root.iter(etree.Element) if el.get("id")
            and not any(etree.QName(a).namespace in (BPMNDI, DMNDI) for a in el.iterancestors(etree.Element))
            and etree.QName(el).namespace not in (BPMNDI, DMNDI, DC, DI, DMN_DC, DMN_DI)}


def _bpmn_di_text(root: etree._Element, p: dict[str, str], kept: list[str]) -> str:
    taken = _model_ids(root)
    di, dc, wp = p[BPMNDI], p[DC], p[DI]
    lines = []
    planes = _bpmn_planes(root)
    for index, (element, shapes, edges) in enumerate(planes):
        lines.append(f'  <{di}:BPMNDiagram id="{escape(_unique(f"BPMNDiagram_{element}", taken))}">')
        lines.append(f'    <{di}:BPMNPlane id="{escape(_unique(f"BPMNPlane_{element}", taken))}" '
                     f'bpmnElement="{escape(element)}">')
        for s in shapes:
            attrs = f'id="{escape(_unique(f"{s.element}_di", taken))}" bpmnElement="{escape(s.element)}"'
            if s.horizontal:
                attrs += ' isHorizontal="true"'
            if s.expanded:
                attrs += ' isExpanded="true"'
            if s.marker:
                attrs += ' isMarkerVisible="true"'
            lines.append(f"      <{di}:BPMNShape {attrs}>")
            lines.append(f"        {_bounds(dc, s.x, s.y, s.w, s.h)}")
            if s.label:
                lines.append(f"        <{di}:BPMNLabel>{_bounds(dc, *s.label)}</{di}:BPMNLabel>")
            lines.append(f"      </{di}:BPMNShape>")
        for e in edges:
            lines.append(f'      <{di}:BPMNEdge id="{escape(_unique(f"{e.element}_di", taken))}" '
                         f'bpmnElement="{escape(e.element)}">')
            lines += [f'        <{wp}:waypoint x="{x}" y="{y}" />' for x, y in e.points]
            if e.label:
                lines.append(f"        <{di}:BPMNLabel>{_bounds(dc, *e.label)}</{di}:BPMNLabel>")
            lines.append(f"      </{di}:BPMNEdge>")
        if index == 0:
            lines += [f"      {k}" for k in kept]
        lines.append(f"    </{di}:BPMNPlane>")
        lines.append(f"  </{di}:BPMNDiagram>")
    return "\n".join(lines)


def _dmn_di_text(root: etree._Element, p: dict[str, str]) -> str:
    taken = _model_ids(root)
    di, dc, wp = p[DMNDI], p[DMN_DC], p[DMN_DI]
    shapes, edges = _drd(root)
    diagram = _unique("DMNDiagram_" + (root.get("id") or "drd"), taken)
    lines = [f"  <{di}:DMNDI>", f'    <{di}:DMNDiagram id="{escape(diagram)}">']
    for s in shapes:
        lines.append(f'      <{di}:DMNShape id="{escape(_unique(f"DMNShape_{s.element}", taken))}" '
                     f'dmnElementRef="{escape(s.element)}">')
        lines.append(f"        {_bounds(dc, s.x, s.y, s.w, s.h)}")
        lines.append(f"      </{di}:DMNShape>")
    for e in edges:
        lines.append(f'      <{di}:DMNEdge id="{escape(_unique(f"DMNEdge_{e.element}", taken))}" '
                     f'dmnElementRef="{escape(e.element)}">')
        lines += [f'        <{wp}:waypoint x="{x}" y="{y}" />' for x, y in e.points]
        lines.append(f"      </{di}:DMNEdge>")
    lines += [f"    </{di}:DMNDiagram>", f"  </{di}:DMNDI>"]
    return "\n".join(lines)


def _parse(source: bytes) -> etree._Element:
    try:
        tree = etree.fromstring(source, parser=_SAFE_PARSER).getroottree()
    except etree.XMLSyntaxError as exc:
        raise LayoutError(f"XML 无法解析（{exc}）") from None
    if tree.docinfo.doctype:
        raise LayoutError("不允许 DOCTYPE 声明")
    return tree.getroot()


def _start_tag_end(text: str, root: etree._Element) -> tuple[int, int]:
    """Where the root's start tag begins and where its closing '>' is."""
    qname = f"{root.prefix}:{_local(root)}" if root.prefix else _local(root)
    match = re.compile(rf"<{re.escape(qname)}[\s/>]").search(text)
    if not match:
        raise LayoutError("找不到根元素的起始标签")
    quote = None
    for i in range(match.end() - 1, len(text)):
        ch = text[i]
        if quote:
            quote = None if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == ">":
            return match.start(), i
    raise LayoutError("根元素的起始标签不完整")


def _declare(text: str, root: etree._Element, wanted: list[tuple[str, str]]) -> tuple[str, dict[str, str]]:
    """Prefixes for the DI namespaces: the ones the root already declares, else new declarations on the root."""
    declared = {uri: prefix for prefix, uri in root.nsmap.items() if prefix}
    prefixes, additions = {}, []
    for preferred, uri in wanted:
        if uri in declared:
            prefixes[uri] = declared[uri]
            continue
        prefix, n = preferred, 1
        while prefix in root.nsmap or prefix in prefixes.values():
            n += 1
            prefix = f"{preferred}{n}"
        prefixes[uri] = prefix
        additions.append(f'xmlns:{prefix}="{uri}"')
    if additions:
        start, end = _start_tag_end(text, root)
        tag = text[start:end]
        if "\n" in tag:  # keep the one-attribute-per-line style
            last_line = tag.rsplit("\n", 1)[1]
            indent = "\n" + " " * (len(last_line) - len(last_line.lstrip()))
        else:
            indent = " "
        cut = end - 1 if text[end - 1] == "/" else end
        text = text[:cut] + "".join(indent + a for a in additions) + text[cut:]
    return text, prefixes


def _without_di(text: str, root: etree._Element, tags: list[str]) -> str:
    for el in [c for c in root if isinstance(c.tag, str) and c.tag in tags]:
        qname = f"{el.prefix}:{_local(el)}" if el.prefix else _local(el)
        pattern = re.compile(rf"[ \t]*<{re.escape(qname)}\b(?:[^>]*/>|.*?</{re.escape(qname)}>)[ \t]*\n?", re.S)
        text, count = pattern.subn("", text, count=1)
        if count != 1:
            raise LayoutError(f"无法移除原有的 {qname}")
    return text


def _insert_before_close(text: str, root: etree._Element, block: str) -> str:
    qname = f"{root.prefix}:{_local(root)}" if root.prefix else _local(root)
    close = text.rfind(f"</{qname}")
    if close < 0:
        raise LayoutError("找不到根元素的结束标签")
    head = text[:close].rstrip(" \t")
    if not head.endswith("\n"):
        head += "\n"
    return head + block + "\n" + text[close:]


def _model_signature(root: etree._Element) -> list[bytes]:
    """The file's model without its diagram: every element outside the DI, whitespace-only text ignored."""
    out = [repr(sorted(root.attrib.items())).encode()]
    for child in root:
        if isinstance(child.tag, str) and etree.QName(child).namespace in (BPMNDI, DMNDI) or \
                (isinstance(child.tag, str) and _local(child) == "DMNDI"):
            continue
        if not isinstance(child.tag, str):  # a comment or processing instruction
            out.append((child.text or "").encode())
            continue
        copy = etree.fromstring(etree.tostring(child))
        for el in copy.iter():
            if el.text is not None and not el.text.strip():
                el.text = None
            if el.tail is not None and not el.tail.strip():
                el.tail = None
        copy.tail = None
        out.append(etree.tostring(copy, method="c14n", exclusive=True))
    return out


def layout(source: bytes) -> bytes:
    """The same file with its diagram (re)written: BPMN DI for a .bpmn, DMN DI for a .dmn."""
    root = _parse(source)
    text = source.decode("utf-8")
    namespace = etree.QName(root).namespace or ""
    if namespace == BPMN:
        kept = _kept_di(root)
        text = _without_di(text, root, [f"{{{BPMNDI}}}BPMNDiagram"])
        text, prefixes = _declare(text, root, [("bpmndi", BPMNDI), ("dc", DC), ("di", DI)])
        block = _bpmn_di_text(root, prefixes, kept)
    elif namespace == DMN13:
        text = _without_di(text, root, [f"{{{DMNDI}}}DMNDI"])
        text, prefixes = _declare(text, root, [("dmndi", DMNDI), ("dc", DMN_DC), ("di", DMN_DI)])
        block = _dmn_di_text(root, prefixes)
    else:
        raise LayoutError(f"不是 BPMN 2.0 或 DMN 1.3 文件（根元素命名空间 {namespace}）")
    result = _insert_before_close(text, root, block).encode("utf-8")
    if _model_signature(_parse(result)) != _model_signature(root):
        raise LayoutError("重写图形布局会改变流程内容，已放弃")
    return result


def _kept_di(root: etree._Element) -> list[str]:
    """DI of what the layout does not draw (text annotations, groups, associations) is kept as it is."""
    drawn = set()
    for el in root.iter():
        if isinstance(el.tag, str) and etree.QName(el).namespace == BPMN and el.get("id") and (
                _local(el) in FLOW_NODES | {"sequenceFlow", "participant", "lane", "messageFlow", "process",
                                            "collaboration", "dataInputAssociation", "dataOutputAssociation"}):
            drawn.add(el.get("id"))
    kept = []
    for el in root.iter(f"{{{BPMNDI}}}BPMNShape", f"{{{BPMNDI}}}BPMNEdge"):
        if el.get("bpmnElement") not in drawn:
            copy = etree.fromstring(etree.tostring(el))
            copy.tail = None
            kept.append(etree.tostring(copy, encoding="unicode"))
    return kept


# ---------------------------------------------------------------------------------------------------- checking

def missing_di(root: etree._Element) -> list[str]:
    """Ids of the flow elements of every executable process (or the decisions, input data and knowledge of a DMN
    file) that have no shape or edge in the file's diagram."""
    namespace = etree.QName(root).namespace or ""
    if namespace == BPMN:
        shapes = {el.get("bpmnElement") for el in root.iter(f"{{{BPMNDI}}}BPMNShape")}
        edges = {el.get("bpmnElement") for el in root.iter(f"{{{BPMNDI}}}BPMNEdge")}
        missing = []
        for process in root.iter(f"{{{BPMN}}}process"):
            if process.get("isExecutable") != "true":
                continue
            for el in process.iter(etree.Element):
                if etree.QName(el).namespace != BPMN or not el.get("id"):
                    continue
                if (_local(el) in FLOW_NODES and el.get("id") not in shapes) or \
                        (_local(el) == "sequenceFlow" and el.get("id") not in edges):
                    missing.append(el.get("id"))
        return missing
    if namespace.startswith("https://www.omg.org/spec/DMN/") or namespace.startswith("http://www.omg.org/spec/DMN/"):
        shapes = {el.get("dmnElementRef") for el in root.iter(etree.Element)
                  if _local(el) == "DMNShape" and el.get("dmnElementRef")}
        return [el.get("id") for el in root if _local(el) in DRD_ELEMENTS and el.get("id") not in shapes]
    return []


# ---------------------------------------------------------------------------------------------------- command line

def layout_file(path: Path) -> bool:
    """Rewrites the file's DI; True when the file changed."""
    before = path.read_bytes()
    after = layout(before)
    if after != before:
        path.write_bytes(after)
    return after != before


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.layout",
                                     description="重新生成流程图（BPMN）或决策表（DMN）文件的图形布局，其余内容不变。"
                                                 "会覆盖政策人员在设计器中调整过的位置。")
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    for path in args.files:
        try:
            changed = layout_file(path)
        except (LayoutError, OSError, UnicodeDecodeError) as exc:
            print(f"{path}：{exc}", file=sys.stderr)
            return 1
        print(f"{path}：{'已重新生成图形布局' if changed else '图形布局无变化'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
