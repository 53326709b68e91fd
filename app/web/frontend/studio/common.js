// What the BPMN and the DMN designer pages share: loading sources, saving the draft with its revision,
// validating on the server (the same checks as deploy) and pinning each finding to its element.

export async function fetchText(url) {
  const response = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/xml' } });
  if (!response.ok) throw new Error(`读取流程文件失败（${response.status}）`);
  return response.text();
}

export async function postJSON(url, body, csrf) {
  const response = await fetch(url, {
    method: 'POST', credentials: 'same-origin', body: JSON.stringify(body),
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRFToken': csrf }
  });
  const data = await response.json().catch(() => ({ message: `服务器返回 ${response.status}` }));
  return { ok: response.ok, status: response.status, data };
}

export function setStatus(root, text, kind = '') {
  const node = root.querySelector('.studio-status');
  if (!node) return;
  node.textContent = text;
  node.className = `studio-status ${kind}`;
}

export function listItem(text, element, adapter) {
  const li = document.createElement('li');
  li.textContent = text;
  if (element && adapter.has(element)) {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'link';
    button.textContent = '定位';
    button.addEventListener('click', () => adapter.select(element));
    li.append(' ', button);
  }
  return li;
}

export function showFindings(root, findings, adapter) {
  const section = root.querySelector('.studio-findings');
  const list = section.querySelector('ul');
  list.replaceChildren();
  adapter.clearMarks('studio-problem');
  for (const f of findings) {
    const where = f.element ? `元素 ${f.element}${f.name ? `「${f.name}」` : ''}` : '';
    const file = f.file && f.file !== root.dataset.filename ? `${f.file} ` : '';
    list.append(listItem(`${file}${where}${where ? '：' : ''}${f.message}`, f.file === root.dataset.filename ? f.element : '', adapter));
    if (f.element && f.file === root.dataset.filename) adapter.mark(f.element, 'studio-problem');
  }
  section.hidden = findings.length === 0;
}

const shown = (value) => (value === '' ? '（空）' : value);

// The server's element-by-element comparison (engine/diff.py) as a list, each row locating its element.
export function showChanges(root, changes, adapter) {
  const section = root.querySelector('.studio-diff');
  const list = section.querySelector('ul');
  adapter.clearMarks('diff-');
  list.replaceChildren(...changes.map((c) => {
    const text = c.before === null ? `${c.label}：${c.after}`
      : c.after === null ? `${c.label}：${c.before}` : `${c.label}：${shown(c.before)} → ${shown(c.after)}`;
    if (c.field) adapter.mark(c.field, c.before === null ? 'diff-added' : 'diff-changed');
    return listItem(text, c.field, adapter);
  }));
  if (!changes.length) list.append(Object.assign(document.createElement('li'), { textContent: '与已部署版本相同' }));
  section.hidden = false;
  setStatus(root, `与已部署版本相比：${changes.length} 处修改`, 'ok');
}

export function wireEditor(root, adapter) {
  const csrf = root.dataset.csrf;
  let revision = root.dataset.revision ? Number(root.dataset.revision) : null;
  let dirty = false;
  adapter.onChange(() => {
    dirty = true;
    setStatus(root, '有未保存的修改');
  });
  window.addEventListener('beforeunload', (event) => {
    if (dirty) event.preventDefault();
  });

  const actions = {
    async save() {
      const content = await adapter.xml();
      const { ok, data } = await postJSON(root.dataset.saveUrl, { content, revision }, csrf);
      if (!ok) return setStatus(root, data.message || '保存失败', 'error');
      const first = revision === null;
      revision = data.revision;
      dirty = false;
      setStatus(root, data.message, 'ok');
      if (first) window.location.reload(); // the deploy form appears once a draft exists
    },
    async validate() {
      setStatus(root, '正在校验…');
      const content = await adapter.xml();
      const { ok, data } = await postJSON(root.dataset.validateUrl, { content }, csrf);
      if (!ok) return setStatus(root, data.message || '校验失败', 'error');
      showFindings(root, data.findings, adapter);
      setStatus(root, data.ok ? '校验通过：可以保存草稿并部署' : `校验未通过：${data.findings.length} 处问题`,
        data.ok ? 'ok' : 'error');
    },
    async compare() {
      setStatus(root, '正在对比…');
      const { ok, data } = await postJSON(root.dataset.compareUrl, { content: await adapter.xml() }, csrf);
      if (!ok) return setStatus(root, data.message || '对比失败', 'error');
      showChanges(root, data.changes, adapter);
      // a diagram marks added, changed and moved elements on its canvas (bpmn-js-differ); others mark by id
      if (adapter.markChanges) await adapter.markChanges(await fetchText(root.dataset.deployedUrl));
    },
    async tryrun() {
      const box = root.querySelector('.studio-tryrun');
      let sample;
      try {
        sample = JSON.parse(box.querySelector('#tryrun-sample').value);
      } catch (error) {
        return setStatus(root, `示例数据不是有效的 JSON：${error.message}`, 'error');
      }
      setStatus(root, '正在试运行…');
      const content = await adapter.xml();
      const process = box.querySelector('#tryrun-process').value;
      const { ok, data } = await postJSON(box.dataset.tryrunUrl, { content, process, sample }, csrf);
      if (!ok) return setStatus(root, data.message || '试运行失败', 'error');
      showRun(root, box, data, adapter);
    }
  };
  const box = root.querySelector('.studio-tryrun');
  if (box) {
    const process = box.querySelector('#tryrun-process');
    const load = async () => {
      const response = await fetch(`${box.dataset.sampleUrl}?process=${encodeURIComponent(process.value)}`,
        { credentials: 'same-origin', headers: { Accept: 'application/json' } });
      if (response.ok) box.querySelector('#tryrun-sample').value = JSON.stringify(await response.json(), null, 2);
    };
    box.addEventListener('toggle', () => { if (box.open && !box.querySelector('#tryrun-sample').value) load(); });
    process.addEventListener('change', load);
  }
  root.querySelectorAll('[data-action]').forEach((button) => {
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        await actions[button.dataset.action]();
      } catch (error) {
        setStatus(root, error.message || String(error), 'error');
      } finally {
        button.disabled = false;
      }
    });
  });
}

const STEP_WORDS = { task: '办理', timer: '定时器到期', event: '发出事件', error: '出错' };

function showRun(root, box, run, adapter) {
  const list = box.querySelector('.studio-tryrun-steps');
  list.replaceChildren();
  adapter.clearMarks('tryrun-');
  run.path.forEach((id) => adapter.mark(id, 'tryrun-path'));
  for (const step of run.steps) {
    const d = step.detail || {};
    let text = `${STEP_WORDS[step.kind] || step.kind}：${step.name || step.element}`;
    if (step.kind === 'task') text += `（表单 ${d.form || '无'}，角色 ${d.role || '无'}${d.due ? `，期限 ${d.due}` : ''}）`;
    if (step.kind === 'timer') text += `（到期 ${d.due}）`;
    if (step.kind === 'event') text += ` ${JSON.stringify(d)}`;
    if (step.kind === 'error') text += `：${d.message}`;
    list.append(listItem(text, step.kind === 'event' ? '' : step.element, adapter));
  }
  const end = document.createElement('li');
  end.textContent = run.finished ? '流程结束' : `未结束：${run.stopped}`;
  list.append(end);
  setStatus(root, run.finished ? `试运行完成：经过 ${run.path.length} 个环节，已在图中标出` : `试运行停止：${run.stopped}`,
    run.finished ? 'ok' : 'error');
}
