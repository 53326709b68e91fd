// The BPMN designer (bpmn-js modeler with our properties panel), the read-only version viewer and the
// comparison with the deployed version (bpmn-js-differ). The heavy parts are imported when a page needs them
// (esbuild splits them into chunks): a version page loads the viewer only, the differ loads on 对比.
import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import 'bpmn-js/dist/assets/bpmn-font/css/bpmn.css';
import '@bpmn-io/properties-panel/dist/assets/properties-panel.css';
import './studio-canvas.css';

import { fetchText, setStatus, wireEditor } from './common.js';
import spiffworkflow from './spiffworkflow.json';
import { translateModule } from './translate.js';

const moddleExtensions = { spiffworkflow };

function adapterFor(modeler, root) {
  const canvas = modeler.get('canvas');
  const registry = modeler.get('elementRegistry');
  const marked = new Map();
  return {
    has: (id) => Boolean(registry.get(id)),
    xml: async () => (await modeler.saveXML({ format: true })).xml,
    onChange: (callback) => modeler.on('commandStack.changed', callback),
    select(id) {
      const element = registry.get(id);
      if (!element) return;
      modeler.get('selection').select(element);
      canvas.scrollToElement(element);
    },
    mark(id, className) {
      if (!registry.get(id)) return;
      canvas.addMarker(id, className);
      marked.set(`${id} ${className}`, [id, className]);
    },
    clearMarks(prefix) {
      for (const [key, [id, className]] of marked) {
        if (className.startsWith(prefix)) {
          if (registry.get(id)) canvas.removeMarker(id, className);
          marked.delete(key);
        }
      }
    },
    async markChanges(deployedXml) {
      const [{ BpmnModdle }, { diff }] = await Promise.all([import('bpmn-moddle'), import('bpmn-js-differ')]);
      const moddle = new BpmnModdle(moddleExtensions);
      const [{ rootElement: before }, { rootElement: after }] = await Promise.all([
        moddle.fromXML(deployedXml), moddle.fromXML(await this.xml())]);
      const changes = diff(before, after);
      for (const id of Object.keys(changes._added)) this.mark(id, 'diff-added');
      for (const id of Object.keys(changes._changed)) this.mark(id, 'diff-changed');
      for (const id of Object.keys(changes._layoutChanged)) if (!changes._changed[id] && !changes._added[id]) this.mark(id, 'diff-layout');
    }
  };
}

async function openEditor(root) {
  const options = JSON.parse(root.dataset.options || '{}');
  const [{ default: BpmnModeler }, { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule }, { default: spiffPropertiesModule }] =
    await Promise.all([import('bpmn-js/lib/Modeler'), import('bpmn-js-properties-panel'), import('./provider.js')]);
  const modeler = new BpmnModeler({
    container: root.querySelector('#studio-canvas'),
    propertiesPanel: { parent: root.querySelector('#studio-properties') },
    additionalModules: [BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, spiffPropertiesModule(options), translateModule],
    moddleExtensions
  });
  const { warnings } = await modeler.importXML(await fetchText(root.dataset.sourceUrl));
  modeler.get('canvas').zoom('fit-viewport');
  if (warnings.length) setStatus(root, `打开时有 ${warnings.length} 处警告：${warnings[0].message}`, 'error');
  else setStatus(root, '已打开');
  wireEditor(root, adapterFor(modeler, root));
  window.studioModeler = modeler; // for the browser tests and the console
}

async function openViewer(root) {
  const { default: NavigatedViewer } = await import('bpmn-js/lib/NavigatedViewer');
  const viewer = new NavigatedViewer({ container: root, additionalModules: [translateModule], moddleExtensions });
  const show = async (url) => {
    await viewer.importXML(await fetchText(url));
    viewer.get('canvas').zoom('fit-viewport');
  };
  await show(root.dataset.sourceUrl);
  document.querySelectorAll('[data-file-url][data-file-kind="bpmn"]').forEach((link) => {
    link.addEventListener('click', (event) => {
      event.preventDefault();
      document.querySelectorAll('[data-file-url]').forEach((other) => other.removeAttribute('aria-current'));
      link.setAttribute('aria-current', 'page');
      root.hidden = false;
      document.dispatchEvent(new CustomEvent('studio:show-bpmn'));
      show(link.dataset.fileUrl);
    });
  });
  window.studioViewer = viewer;
}

const editor = document.querySelector('#studio-editor[data-kind="bpmn"]');
const viewer = document.querySelector('#studio-viewer');
if (editor) openEditor(editor).catch((error) => setStatus(editor, error.message, 'error'));
if (viewer) openViewer(viewer).catch((error) => { viewer.textContent = error.message; });
