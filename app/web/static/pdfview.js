// In-page PDF viewer of the case pages (pdf.js from npm, copied into static/vendor/pdfjs by `make frontend`).
// Loaded as a module with <script type="module" src>, so the Content-Security-Policy (script-src 'self') holds:
// the library and its worker are our own static files, no eval (isEvalSupported: false), no inline script.
//
//   <a href="…/attachments/7" data-pdf-view="申请报告.pdf">…</a>   opens that file in the viewer instead of
//                                                                  downloading it (the link still downloads
//                                                                  without JavaScript)
//   <button formaction="…/preview" data-pdf-preview>预览</button>    posts its form to the preview route and shows
//                                                                  the returned PDF (without JavaScript the
//                                                                  button's formtarget opens it in a new tab)
//   <section id="pdf-viewer" hidden>…</section>                    the viewer (reviewer/_pdf_viewer.html)
import * as pdfjsLib from './vendor/pdfjs/pdf.min.mjs';

const base = new URL('./vendor/pdfjs/', import.meta.url);
pdfjsLib.GlobalWorkerOptions.workerSrc = new URL('pdf.worker.min.mjs', base).href;

const viewer = document.getElementById('pdf-viewer');
if (viewer) {
  const title = viewer.querySelector('[data-pdf-title]');
  const pages = viewer.querySelector('[data-pdf-pages]');
  const status = viewer.querySelector('[data-pdf-status]');
  const download = viewer.querySelector('[data-pdf-download]');
  let current = null; // the loading task of the document shown, destroyed when another one opens
  let opener = null;

  const say = (text) => { status.textContent = text; };

  async function show(source, name, href) {
    if (current) { current.destroy(); current = null; }
    pages.replaceChildren();
    title.textContent = name;
    if (href) { download.href = href; download.hidden = false; } else { download.hidden = true; }
    viewer.hidden = false;
    viewer.dataset.state = 'loading';
    say('正在载入…');
    viewer.scrollIntoView({ block: 'start' });
    try {
      current = pdfjsLib.getDocument({
        ...source, isEvalSupported: false, cMapUrl: new URL('cmaps/', base).href, cMapPacked: true,
        standardFontDataUrl: new URL('standard_fonts/', base).href,
      });
      const pdf = await current.promise;
      const width = Math.max(pages.clientWidth - 2, 280);
      for (let n = 1; n <= pdf.numPages; n += 1) {
        const page = await pdf.getPage(n);
        const unscaled = page.getViewport({ scale: 1 });
        const scale = width / unscaled.width;
        const ratio = window.devicePixelRatio || 1;
        const viewport = page.getViewport({ scale: scale * ratio });
        const canvas = document.createElement('canvas');
        canvas.className = 'pdf-page';
        canvas.width = Math.floor(viewport.width);
        canvas.height = Math.floor(viewport.height);
        canvas.style.width = `${Math.floor(viewport.width / ratio)}px`;
        canvas.setAttribute('role', 'img');
        canvas.setAttribute('aria-label', `${name} 第 ${n} 页，共 ${pdf.numPages} 页`);
        pages.appendChild(canvas);
        await page.render({ canvas, canvasContext: canvas.getContext('2d'), viewport }).promise;
      }
      viewer.dataset.state = 'ready';
      viewer.dataset.pages = String(pdf.numPages);
      say(`共 ${pdf.numPages} 页`);
    } catch (error) {
      viewer.dataset.state = 'error';
      say(`无法在页面中显示该文件（${error && error.message ? error.message : error}），请下载后查看`);
    }
  }

  function close() {
    if (current) { current.destroy(); current = null; }
    viewer.hidden = true;
    pages.replaceChildren();
    viewer.dataset.state = 'closed';
    if (opener) opener.focus();
  }

  viewer.querySelector('[data-pdf-close]').addEventListener('click', close);
  document.addEventListener('keydown', (event) => { if (event.key === 'Escape' && !viewer.hidden) close(); });

  document.addEventListener('click', (event) => {
    const link = event.target.closest && event.target.closest('a[data-pdf-view]');
    if (link) {
      event.preventDefault();
      opener = link;
      show({ url: link.href }, link.dataset.pdfView || link.textContent.trim(), link.href);
      return;
    }
    const button = event.target.closest && event.target.closest('button[data-pdf-preview]');
    if (!button || !button.form) return;
    event.preventDefault();
    opener = button;
    const body = new FormData(button.form);
    say('正在生成预览…');
    fetch(button.formAction, { method: 'POST', body, credentials: 'same-origin',
                               headers: { Accept: 'application/json' } })
      .then(async (response) => {
        if (!response.ok) {
          viewer.hidden = false;
          viewer.dataset.state = 'error';
          title.textContent = button.dataset.pdfPreview || '预览';
          pages.replaceChildren();
          const text = (response.headers.get('Content-Type') || '').includes('json')
            ? (await response.json()).message : `预览失败（${response.status}）`;
          say(text || `预览失败（${response.status}）`);
          return;
        }
        const data = new Uint8Array(await response.arrayBuffer());
        await show({ data }, button.dataset.pdfPreview || '预览', null);
      })
      .catch(() => say('预览失败，请稍后重试'));
  });
}
