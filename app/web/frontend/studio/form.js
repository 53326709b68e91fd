// The form editor: YAML on the left, the page the applicant or reviewer will see on the right, redrawn by the
// server (the real form template) as the officer types; save, validate and deploy as for diagrams.
import { postJSON, setStatus, wireEditor } from './common.js';

function openFormEditor(root) {
  const source = root.querySelector('#form-source');
  const preview = root.querySelector('.studio-form-preview');
  const listeners = [];
  let timer = null;
  const redraw = async () => {
    const { ok, data } = await postJSON(root.dataset.previewUrl, { content: source.value }, root.dataset.csrf);
    if (ok) preview.innerHTML = data.html; // rendered by our own template, every value escaped there
    else setStatus(root, data.message || '预览失败', 'error');
  };
  source.addEventListener('input', () => {
    listeners.forEach((callback) => callback());
    clearTimeout(timer);
    timer = setTimeout(redraw, 400);
  });
  const field = (name) => preview.querySelector(`[data-field="${CSS.escape(name)}"]`);
  wireEditor(root, {
    has: (name) => Boolean(field(name)),
    xml: async () => source.value,
    onChange: (callback) => listeners.push(callback),
    select(name) {
      const node = field(name);
      if (node) node.scrollIntoView({ block: 'center' });
    },
    mark(name, className) {
      const node = field(name);
      if (node) node.classList.add(className);
    },
    clearMarks(prefix) {
      preview.querySelectorAll(`[class*="${prefix}"]`).forEach((node) => {
        [...node.classList].filter((c) => c.startsWith(prefix)).forEach((c) => node.classList.remove(c));
      });
    }
  });
}

const editor = document.querySelector('#studio-editor[data-kind="form"]');
if (editor) openFormEditor(editor);
