// The form editor. Two views of one form file: 逐项编辑 (a card per field, for policy staff) and the YAML source
// (for experts). The server converts between them (/form-model, /form-yaml), so the YAML stays the one format
// that is saved, validated and deployed; the preview on the right is drawn by the server from that YAML with the
// real form template. Save, validate and deploy are shared with the diagram editors (common.js).
import { fetchText, postJSON, setStatus, wireEditor } from './common.js';

const CHOICE_TYPES = ['choice', 'radio', 'multichoice'];
const LENGTH_TYPES = ['string', 'text'];
const SYNC_DELAY = 400;

let uid = 0;
const nextId = (prefix) => `${prefix}-${++uid}`;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (key in node && typeof value !== 'string') node[key] = value;
    else node.setAttribute(key, value === true ? '' : value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

function labelled(text, control, hint) {
  const id = control.id || nextId('fm');
  control.id = id;
  return el('div', { class: 'fm-row' }, el('label', { for: id, text }), control,
    hint ? el('p', { class: 'hint', text: hint }) : null);
}

function move(list, index, by) {
  const target = index + by;
  if (target < 0 || target >= list.length) return;
  [list[index], list[target]] = [list[target], list[index]];
}

// The keys the editor keeps without offering them, as a sentence an officer reads.
function describeExtra(key, value) {
  if (key === 'required_if' && value && typeof value === 'object') {
    return Object.entries(value).map(([other, allowed]) =>
      `当字段 ${other} 选为 ${[].concat(allowed).join('、')} 时必填`).join('；');
  }
  if (key === 'from_project') return `由项目信息带出（${value}），申请人不填写`;
  if (key === 'column') return `存入数据库列 ${value}：最多字数不能超过该列的长度`;
  return `${key}: ${JSON.stringify(value)}`;
}

function openFormEditor(root) {
  const source = root.querySelector('#form-source');
  const preview = root.querySelector('.studio-form-preview');
  const board = root.querySelector('#form-structured');
  const tabs = { structured: root.querySelector('#tab-structured'), source: root.querySelector('#tab-source') };
  const panes = { structured: board, source: root.querySelector('#form-source-pane') };
  const csrf = root.dataset.csrf;
  const listeners = [];
  const marks = new Map(); // field name → class names from the validation findings, kept across redraws
  const known = new Set(); // names in the deployed form (processes read answers by them): renaming needs a confirmation
  const unlocked = new Set(); // fields (objects) whose name may be edited
  const open = new Set(); // fields (objects) whose card is expanded
  let view = 'structured';
  let model = null;
  let vocabulary = { types: [], sources: [], rules: [] };
  let timer = null;
  let syncing = Promise.resolve();
  let failure = null; // the last refusal of the structured edit, until an edit converts again

  const changed = () => listeners.forEach((callback) => callback());

  // ---- preview and YAML -------------------------------------------------------------------------------------
  let previewTimer = null;
  const redraw = async () => {
    const { ok, data } = await postJSON(root.dataset.previewUrl, { content: source.value }, csrf);
    if (ok) {
      preview.innerHTML = data.html; // rendered by our own template, every value escaped there
      applyMarks();
    } else setStatus(root, data.message || '预览失败', 'error');
  };
  source.addEventListener('input', () => {
    changed();
    clearTimeout(previewTimer);
    previewTimer = setTimeout(redraw, SYNC_DELAY);
  });

  // The model → YAML conversion, one at a time, the last edit winning.
  const convert = async () => {
    timer = null;
    const { ok, data } = await postJSON(root.dataset.yamlUrl, { model, content: source.value }, csrf);
    board.querySelectorAll('.fm-invalid').forEach((node) => node.classList.remove('fm-invalid'));
    board.querySelectorAll('[aria-invalid]').forEach((node) => node.removeAttribute('aria-invalid'));
    if (!ok) {
      failure = data.message || '无法更新表单';
      showRefusal(data.errors || {});
      setStatus(root, failure, 'error');
      return;
    }
    failure = null;
    if (source.value !== data.content) {
      source.value = data.content;
      await redraw();
    }
    setStatus(root, '有未保存的修改');
  };
  const flush = () => {
    clearTimeout(timer);
    syncing = syncing.then(convert, convert);
    return syncing;
  };
  const edited = () => {
    changed();
    clearTimeout(timer);
    timer = setTimeout(flush, SYNC_DELAY);
  };
  const current = async () => {
    if (view === 'structured') {
      if (timer) await flush();
      await syncing;
      if (failure) throw new Error(`请先改正：${failure}`);
    }
    return source.value;
  };

  // A refusal names a path such as sections.0.fields.2.label: mark that card and input.
  function showRefusal(errors) {
    for (const path of Object.keys(errors)) {
      const parts = path.split('.');
      const card = parts[0] === 'sections' && parts[2] === 'fields'
        ? board.querySelector(`[data-path="${CSS.escape(parts.slice(0, 4).join('.'))}"]`)
        : board.querySelector(`[data-path="${CSS.escape(parts.slice(0, 2).join('.'))}"]`);
      const target = card || board.querySelector(`[data-path="${CSS.escape(parts[0])}"]`);
      if (!target) continue;
      target.classList.add('fm-invalid');
      if (target.tagName === 'DETAILS') target.open = true;
      const prop = parts[0] === 'sections' && parts[2] === 'fields' ? parts[4] : parts[parts.length - 1];
      const input = target.querySelector(`[data-prop="${CSS.escape(prop || '')}"]`);
      if (input) input.setAttribute('aria-invalid', 'true');
    }
  }

  // ---- findings: the field's card and its place in the preview ----------------------------------------------
  const inPreview = (name) => preview.querySelector(`[data-field="${CSS.escape(name)}"]`);
  const card = (name) => board.querySelector(`.fm-field[data-name="${CSS.escape(name)}"]`);
  function applyMarks() {
    for (const [name, classes] of marks) {
      // every card of that name: a duplicate name marks both fields
      const cards = board.querySelectorAll(`.fm-field[data-name="${CSS.escape(name)}"]`);
      for (const node of [inPreview(name), ...cards]) if (node) classes.forEach((c) => node.classList.add(c));
    }
  }

  // ---- the structured view ----------------------------------------------------------------------------------
  function render() {
    if (!model) return;
    // Buttons and type changes redraw the cards: the focus goes back to the same place (path and property).
    const active = board.contains(document.activeElement) ? document.activeElement : null;
    const place = active?.closest('[data-path]')?.dataset.path;
    const prop = active?.dataset.prop;
    board.replaceChildren(formHead(), ...model.sections.map(sectionBox),
      el('button', { type: 'button', class: 'secondary fm-add-section', text: '＋ 添加分节', onclick: addSection }),
      rulesBox());
    applyMarks();
    if (place && prop) board.querySelector(`[data-path="${CSS.escape(place)}"] [data-prop="${CSS.escape(prop)}"]`)?.focus();
  }

  function formHead() {
    const title = el('input', { value: model.title, 'data-prop': 'title', maxlength: '100', id: 'fm-form-title' });
    title.addEventListener('input', () => { model.title = title.value; edited(); });
    return el('div', { class: 'fm-head', 'data-path': 'title' },
      labelled('表单标题', title),
      el('p', { class: 'hint' }, `表单标识 ${model.key}（与文件名一致，不可修改）。`,
        model.extends ? `本表单先显示表单 ${model.extends} 的全部字段，这里只编辑其后增加的分节和字段。` : ''));
  }

  function sectionBox(section, index) {
    const path = `sections.${index}`;
    const title = el('input', { value: section.title, 'data-prop': 'title', maxlength: '100' });
    title.addEventListener('input', () => { section.title = title.value; edited(); });
    const count = model.sections.length;
    const actions = el('div', { class: 'fm-actions' },
      el('button', { type: 'button', class: 'secondary', text: '上移分节', disabled: index === 0,
        onclick: () => { move(model.sections, index, -1); render(); edited(); } }),
      el('button', { type: 'button', class: 'secondary', text: '下移分节', disabled: index === count - 1,
        onclick: () => { move(model.sections, index, 1); render(); edited(); } }),
      el('button', { type: 'button', class: 'secondary', text: '删除分节', disabled: count === 1,
        onclick: () => removeSection(index) }));
    return el('section', { class: 'fm-section', 'data-path': path, 'aria-label': `第${index + 1}节 ${section.title}` },
      el('div', { class: 'fm-section-head' }, labelled(`第${index + 1}节 分节标题`, title), actions),
      el('ol', { class: 'fm-fields' }, ...section.fields.map((field, j) => fieldCard(section, field, index, j))),
      el('button', { type: 'button', class: 'secondary', text: '＋ 添加字段', onclick: () => addField(section) }));
  }

  // The line a folded card shows: 显示名称, 字段名, 类型, 必填.
  function summary(field) {
    const type = vocabulary.types.find(([code]) => code === field.type);
    return [el('span', { class: 'fm-label', text: field.label || '（未填显示名称）' }), ' ',
      el('span', { class: 'mono fm-name', text: field.name }), ' ',
      el('span', { class: 'tag', text: type ? type[1] : field.type }),
      field.required ? el('span', { class: 'tag fm-required', text: '必填' }) : ''];
  }

  function fieldCard(section, field, si, fi) {
    const path = `sections.${si}.fields.${fi}`;
    const body = el('div', { class: 'fm-body' }, ...fieldInputs(section, field, si, fi));
    const details = el('details', { class: 'fm-field', 'data-path': path, 'data-name': field.name, open: open.has(field) },
      el('summary', {}, ...summary(field)), body);
    details.addEventListener('toggle', () => { if (details.open) open.add(field); else open.delete(field); });
    return el('li', {}, details);
  }

  function fieldInputs(section, field, si, fi) {
    const fields = section.fields;
    const retitle = () => {
      const details = board.querySelector(`[data-path="sections.${si}.fields.${fi}"]`);
      details.querySelector(':scope > summary').replaceChildren(...summary(field));
      details.dataset.name = field.name;
    };

    // 字段名: free for a new field; an existing one is read by conditions and decision tables.
    const isNew = !known.has(field.name) || unlocked.has(field);
    const name = el('input', { value: field.name, 'data-prop': 'name', class: 'mono', maxlength: '40',
      readOnly: !isNew, autocomplete: 'off', spellcheck: false });
    name.addEventListener('input', () => { field.name = name.value.trim(); retitle(); edited(); });
    const rename = isNew ? null : el('button', { type: 'button', class: 'link fm-rename', text: '修改字段名',
      onclick: () => {
        if (!window.confirm(`流程中的条件和决策表按字段名「${field.name}」读取答案，改名后须同步修改它们，否则会出错。确定修改字段名吗？`)) return;
        unlocked.add(field);
        name.readOnly = false;
        rename.remove();
        name.focus();
      } });
    const nameRow = labelled('字段名', name, isNew
      ? '小写英文字母、数字和下划线，以字母开头，例如 land_area；流程中的条件和决策表用它读取答案'
      : '已有字段：流程和决策表可能按此名读取答案，一般不要修改');
    if (rename) nameRow.append(rename);

    const label = el('input', { value: field.label, 'data-prop': 'label', maxlength: '200' });
    label.addEventListener('input', () => { field.label = label.value; retitle(); edited(); });

    const type = el('select', { 'data-prop': 'type' },
      ...vocabulary.types.map(([code, text]) => el('option', { value: code, text: `${text}（${code}）`, selected: code === field.type })));
    if (!vocabulary.types.some(([code]) => code === field.type)) {
      type.prepend(el('option', { value: field.type, text: `${field.type}（不存在，请重新选择）`, selected: true }));
    }
    type.addEventListener('change', () => {
      field.type = type.value;
      if (CHOICE_TYPES.includes(field.type)) {
        if (field.type === 'radio') field.source = null;
        if (!field.choices.length && !field.source) field.choices = [['option_1', '选项一'], ['option_2', '选项二']];
      } else {
        field.choices = [];
        field.source = null;
      }
      render();
      edited();
    });

    const required = el('input', { type: 'checkbox', checked: field.required, 'data-prop': 'required' });
    required.addEventListener('change', () => { field.required = required.checked; retitle(); edited(); });
    const requiredRow = el('div', { class: 'fm-row fm-check' }, el('label', {}, required, ' 必填'));

    const help = el('textarea', { 'data-prop': 'help', rows: '2', maxlength: '1000' });
    help.value = field.help;
    help.addEventListener('input', () => { field.help = help.value; edited(); });

    const rows = [labelled('显示名称', label), nameRow, labelled('类型', type), requiredRow];
    if (CHOICE_TYPES.includes(field.type) || field.choices.length || field.source) rows.push(choicesBox(field));
    if (LENGTH_TYPES.includes(field.type) || field.max_length !== null) {
      const length = el('input', { type: 'number', min: '1', max: '100000', step: '1', inputmode: 'numeric',
        value: field.max_length ?? '', 'data-prop': 'max_length' });
      length.addEventListener('input', () => {
        const text = length.value.trim();
        field.max_length = text === '' ? null : (/^\d+$/.test(text) ? Number(text) : text);
        edited();
      });
      rows.push(labelled('最多字数', length, '留空：单行文字最多 200 字，多行文字最多 4000 字'));
    }
    rows.push(labelled('填写说明', help, '显示在输入框下方，告诉申请人怎样填写'));
    const extras = Object.entries(field.extra || {});
    if (extras.length) {
      rows.push(el('div', { class: 'fm-row fm-extra' }, el('span', { class: 'fm-extra-title', text: '其他设置（只读，请在 YAML 源文件中修改）' }),
        el('ul', {}, ...extras.map(([key, value]) => el('li', {}, el('code', { text: key }), '：', describeExtra(key, value))))));
    }
    rows.push(el('div', { class: 'fm-actions' },
      el('button', { type: 'button', class: 'secondary', text: '上移', disabled: fi === 0,
        onclick: () => { move(fields, fi, -1); render(); edited(); } }),
      el('button', { type: 'button', class: 'secondary', text: '下移', disabled: fi === fields.length - 1,
        onclick: () => { move(fields, fi, 1); render(); edited(); } }),
      el('button', { type: 'button', class: 'secondary fm-delete', text: '删除字段',
        onclick: () => {
          if (!window.confirm(`删除字段「${field.label}」（${field.name}）吗？流程中的条件或决策表如读取该字段，须一并修改。`)) return;
          fields.splice(fi, 1);
          open.delete(field);
          render();
          edited();
        } })));
    return rows;
  }

  function choicesBox(field) {
    const listed = !field.source;
    const group = nextId('fm-mode');
    const modes = field.type === 'radio' ? null : el('div', { class: 'fm-modes', role: 'radiogroup', 'aria-label': '选项方式' },
      el('label', {}, el('input', { type: 'radio', name: group, checked: listed, onchange: () => {
        field.source = null;
        if (!field.choices.length) field.choices = [['option_1', '选项一'], ['option_2', '选项二']];
        render();
        edited();
      } }), ' 自行列出选项'),
      el('label', {}, el('input', { type: 'radio', name: group, checked: !listed, onchange: () => {
        field.choices = [];
        field.source = vocabulary.sources[0][0];
        render();
        edited();
      } }), ' 使用平台数据（选项来源）'));
    const box = el('fieldset', { class: 'fm-choices', 'data-prop': 'choices' }, el('legend', { text: '选项' }), modes);
    if (!listed) {
      const select = el('select', { 'data-prop': 'source' },
        ...vocabulary.sources.map(([code, text]) => el('option', { value: code, text: `${text}（${code}）`, selected: code === field.source })));
      if (!vocabulary.sources.some(([code]) => code === field.source)) {
        select.prepend(el('option', { value: field.source, text: `${field.source}（不存在，请重新选择）`, selected: true }));
      }
      select.addEventListener('change', () => { field.source = select.value; edited(); });
      box.append(labelled('选项来源', select, '选项随平台的参考数据表变化'));
      return box;
    }
    const table = el('ol', { class: 'fm-choice-rows' }, ...field.choices.map((row, k) => {
      const value = el('input', { value: String(row[0]), class: 'mono', maxlength: '100', 'aria-label': `第${k + 1}个选项的值` });
      const text = el('input', { value: row[1], maxlength: '200', 'aria-label': `第${k + 1}个选项的显示文字` });
      value.addEventListener('input', () => { row[0] = value.value; edited(); });
      text.addEventListener('input', () => { row[1] = text.value; edited(); });
      return el('li', {}, el('span', { class: 'fm-choice-cell' }, el('span', { class: 'fm-choice-head', text: '值' }), value),
        el('span', { class: 'fm-choice-cell' }, el('span', { class: 'fm-choice-head', text: '显示文字' }), text),
        el('button', { type: 'button', class: 'secondary', text: '删除', 'aria-label': `删除第${k + 1}个选项`,
          onclick: () => { field.choices.splice(k, 1); render(); edited(); } }));
    }));
    box.append(el('p', { class: 'hint', text: '「值」是保存和流程判断用的英文或数字（如 yes），「显示文字」是申请人看到的文字（如 是）' }), table,
      el('button', { type: 'button', class: 'secondary', text: '＋ 添加选项', onclick: () => {
        const n = field.choices.length + 1;
        field.choices.push([`option_${n}`, `选项${n}`]);
        render();
        edited();
      } }));
    return box;
  }

  function rulesBox() {
    const listed = new Map(vocabulary.rules);
    const names = [...vocabulary.rules.map(([code]) => code), ...model.rules.filter((r) => !listed.has(r))];
    return el('fieldset', { class: 'fm-rules', 'data-path': 'rules' }, el('legend', { text: '跨字段规则' }),
      el('p', { class: 'hint', text: '勾选后，提交表单时由平台按规则检查几个字段之间的关系' }),
      ...names.map((code) => {
        const box = el('input', { type: 'checkbox', checked: model.rules.includes(code), 'data-rule': code });
        box.addEventListener('change', () => {
          model.rules = box.checked ? [...model.rules, code] : model.rules.filter((r) => r !== code);
          edited();
        });
        return el('label', { class: 'fm-rule' }, box, ' ', listed.get(code) || '（未登记的规则）', ' ', el('code', { text: code }));
      }));
  }

  function uniqueName() {
    const names = new Set(model.sections.flatMap((s) => s.fields.map((f) => f.name)));
    let n = 1;
    while (names.has(`field_${n}`)) n += 1;
    return `field_${n}`;
  }

  function addField(section) {
    const field = { name: uniqueName(), label: '新字段', type: 'string', required: false, help: '', max_length: null,
      choices: [], source: null, extra: {} };
    section.fields.push(field);
    open.add(field);
    render();
    edited();
    const node = card(field.name);
    node.scrollIntoView({ block: 'center' });
    node.querySelector('[data-prop="label"]').select();
  }

  function addSection() {
    model.sections.push({ title: `第${model.sections.length + 1}节`, fields: [], extra: {} });
    render();
    edited();
  }

  function removeSection(index) {
    const section = model.sections[index];
    if (section.fields.length && !window.confirm(`删除分节「${section.title}」及其中 ${section.fields.length} 个字段吗？`)) return;
    model.sections.splice(index, 1);
    render();
    edited();
  }

  // ---- the two views ----------------------------------------------------------------------------------------
  async function load() {
    const { ok, data } = await postJSON(root.dataset.modelUrl, { content: source.value }, csrf);
    if (!ok) return data.message || '无法逐项显示该表单';
    // the cards open before (by field name) stay open when the officer comes back from the YAML
    const opened = new Set([...open].map((f) => f.name));
    model = data.model;
    vocabulary = { types: data.types, sources: data.sources, rules: data.rules };
    unlocked.clear();
    open.clear();
    model.sections.forEach((s) => s.fields.forEach((f) => { if (opened.has(f.name)) open.add(f); }));
    render();
    return null;
  }

  function show(which) {
    view = which;
    for (const key of Object.keys(tabs)) {
      const on = key === which;
      tabs[key].setAttribute('aria-selected', String(on));
      tabs[key].tabIndex = on ? 0 : -1;
      panes[key].hidden = !on;
    }
  }

  async function switchTo(which) {
    if (which === view) return;
    if (which === 'source') {
      if (timer) await flush();
      await syncing;
      if (failure) return setStatus(root, `请先改正：${failure}`, 'error');
      return show('source');
    }
    const problem = await load();
    if (problem) return setStatus(root, `无法切换到逐项编辑：${problem}`, 'error');
    show('structured');
  }
  tabs.structured.addEventListener('click', () => switchTo('structured'));
  tabs.source.addEventListener('click', () => switchTo('source'));
  root.querySelector('.form-views').addEventListener('keydown', (event) => {
    if (event.key !== 'ArrowLeft' && event.key !== 'ArrowRight') return;
    const next = view === 'structured' ? 'source' : 'structured';
    switchTo(next).then(() => tabs[view].focus());
  });

  wireEditor(root, {
    has: (name) => Boolean(inPreview(name) || card(name)),
    xml: current,
    onChange: (callback) => listeners.push(callback),
    select(name) {
      const node = view === 'structured' ? card(name) : null;
      if (node) {
        node.open = true;
        node.scrollIntoView({ block: 'center' });
        node.querySelector('input, select, textarea')?.focus();
      } else inPreview(name)?.scrollIntoView({ block: 'center' });
    },
    mark(name, className) {
      marks.set(name, [...(marks.get(name) || []), className]);
      applyMarks();
    },
    clearMarks(prefix) {
      for (const [name, classes] of marks) {
        const kept = classes.filter((c) => !c.startsWith(prefix));
        if (kept.length) marks.set(name, kept); else marks.delete(name);
      }
      root.querySelectorAll(`[class*="${prefix}"]`).forEach((node) => {
        [...node.classList].filter((c) => c.startsWith(prefix)).forEach((c) => node.classList.remove(c));
      });
    }
  });

  // The names the deployed form has: those the processes and decision tables may read.
  const deployedNames = async () => {
    const { ok, data } = await postJSON(root.dataset.modelUrl, { content: await fetchText(root.dataset.deployedUrl) }, csrf);
    if (!ok) throw new Error(data.message);
    data.model.sections.forEach((s) => s.fields.forEach((f) => known.add(f.name)));
  };
  let unknown = false; // the deployed form unreadable: every name the page opens with counts as used
  deployedNames().catch(() => { unknown = true; }).then(load).then((problem) => {
    if (unknown && model) {
      model.sections.forEach((s) => s.fields.forEach((f) => known.add(f.name)));
      render();
    }
    if (problem) {
      show('source');
      setStatus(root, `该表单暂时无法逐项编辑，已打开 YAML 源文件：${problem}`, 'error');
    }
  });
}

const editor = document.querySelector('#studio-editor[data-kind="form"]');
if (editor) openFormEditor(editor);
