// The decision-table designer (dmn-js modeler: the decision requirements diagram and each decision table) and
// the read-only view of a version's decision tables.
import 'dmn-js/dist/assets/diagram-js.css';
import 'dmn-js/dist/assets/dmn-js-shared.css';
import 'dmn-js/dist/assets/dmn-js-drd.css';
import 'dmn-js/dist/assets/dmn-js-decision-table.css';
import 'dmn-js/dist/assets/dmn-js-decision-table-controls.css';
import 'dmn-js/dist/assets/dmn-js-literal-expression.css';
import 'dmn-js/dist/assets/dmn-font/css/dmn.css';
import './studio-canvas.css';

import { fetchText, setStatus, wireEditor } from './common.js';
import chineseTranslate from './translate.js';

const translate = { translate: ['value', chineseTranslate] };
// dmn-js gives each view its own options and replaces `common.additionalModules` with the view's own list, so
// the Chinese words go to every view by name.
const inChinese = {
  drd: { additionalModules: [translate] },
  decisionTable: { additionalModules: [translate] },
  literalExpression: { additionalModules: [translate] }
};

function openTable(dmn) {
  const table = dmn.getViews().find((view) => view.type === 'decisionTable');
  return table ? dmn.open(table) : Promise.resolve();
}

function adapterFor(modeler, root) {
  const listeners = [];
  const attach = () => {
    const viewer = modeler.getActiveViewer();
    if (viewer) listeners.forEach((callback) => viewer.on('elements.changed', callback));
  };
  modeler.on('views.changed', attach);
  const cell = (id) => root.querySelector(`[data-element-id="${CSS.escape(id)}"]`);
  return {
    has: (id) => Boolean(cell(id)),
    xml: async () => (await modeler.saveXML({ format: true })).xml,
    onChange(callback) {
      listeners.push(callback);
      attach();
    },
    select(id) {
      const node = cell(id);
      if (node) node.scrollIntoView({ block: 'center' });
    },
    mark(id, className) {
      const node = cell(id);
      if (node) node.classList.add(className);
    },
    clearMarks(prefix) {
      root.querySelectorAll(`[class*="${prefix}"]`).forEach((node) => {
        [...node.classList].filter((c) => c.startsWith(prefix)).forEach((c) => node.classList.remove(c));
      });
    }
  };
}

async function openEditor(root) {
  const { default: DmnModeler } = await import('dmn-js/lib/Modeler');
  const modeler = new DmnModeler({
    container: root.querySelector('#studio-canvas'),
    ...inChinese
  });
  const { warnings } = await modeler.importXML(await fetchText(root.dataset.sourceUrl));
  await openTable(modeler);
  root.querySelector('#studio-properties').hidden = true; // decision tables are edited in place
  if (warnings.length) setStatus(root, `打开时有 ${warnings.length} 处警告：${warnings[0].message}`, 'error');
  else setStatus(root, '已打开：点击单元格直接修改，右键可增删规则和列');
  wireEditor(root, adapterFor(modeler, root));
  window.studioModeler = modeler;
}

function wireVersionTables(bpmnViewer) {
  const links = document.querySelectorAll('[data-file-url][data-file-kind="dmn"]');
  if (!links.length) return;
  const container = document.createElement('div');
  container.className = 'studio-canvas studio-dmn-view';
  container.hidden = true;
  bpmnViewer.after(container);
  let viewer = null; // loaded on the first click: most version pages are looked at as a flow
  document.addEventListener('studio:show-bpmn', () => { container.hidden = true; });
  links.forEach((link) => {
    link.addEventListener('click', async (event) => {
      event.preventDefault();
      document.querySelectorAll('[data-file-url]').forEach((other) => other.removeAttribute('aria-current'));
      link.setAttribute('aria-current', 'page');
      bpmnViewer.hidden = true;
      container.hidden = false;
      if (!viewer) {
        const { default: DmnViewer } = await import('dmn-js/lib/Viewer');
        viewer = new DmnViewer({ container, ...inChinese });
      }
      await viewer.importXML(await fetchText(link.dataset.fileUrl));
      await openTable(viewer);
    });
  });
}

const editor = document.querySelector('#studio-editor[data-kind="dmn"]');
if (editor) openEditor(editor).catch((error) => setStatus(editor, error.message, 'error'));
const versionViewer = document.querySelector('#studio-viewer');
if (versionViewer) wireVersionTables(versionViewer);
