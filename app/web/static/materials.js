// Uploads on the declaration page (enterprise/declaration.html) without leaving the page: a material's upload form
// is posted in the background with a progress bar, and only that material's row (or the 其他材料 box) is taken
// from the page the server answers with. What the applicant typed or ticked elsewhere (the 承诺 tick, the
// 补正说明) stays as it was. A listed material's file goes up as soon as it is chosen (its 上传 button is hidden:
// one action, not two); 其他材料 keeps its button, since its name is typed first. Without script the same forms
// post normally with their buttons and the page reloads at the material.
(function () {
  if (!window.XMLHttpRequest || !window.FormData || !window.DOMParser) return;
  document.documentElement.classList.add('js-upload');

  function targetOf(form) {
    var row = form.closest('tr[id^="material-"]');
    if (row) return row;
    return form.closest('article[id="extras"]');
  }

  function say(form, text) {
    var status = form.querySelector('.upload-status');
    if (status) status.textContent = text;
  }

  document.addEventListener('change', function (event) {
    var input = event.target;
    if (input.type !== 'file' || !input.files || !input.files.length) return;
    var form = input.form;
    if (form && form.classList.contains('upload') && form.hasAttribute('data-material')) upload(form);
  });

  document.addEventListener('submit', function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains('upload') || !targetOf(form)) return;
    event.preventDefault();
    upload(form);
  });

  // A file chosen before this script ran (a fast hand on a slow page) goes up now instead of being forgotten.
  document.querySelectorAll('form.upload[data-material] input[type=file]').forEach(function (input) {
    if (input.files && input.files.length) upload(input.form);
  });

  function enable(form) {
    form.querySelectorAll('button, input[type=file]').forEach(function (el) { el.disabled = false; });
  }

  function upload(form) {
    var target = targetOf(form);
    if (!target || form.getAttribute('aria-busy') === 'true') return;
    form.setAttribute('aria-busy', 'true');
    var button = form.querySelector('button');
    var bar = form.querySelector('progress');
    var xhr = new XMLHttpRequest();
    xhr.open('POST', form.action);
    xhr.setRequestHeader('X-Requested-With', 'XMLHttpRequest');
    xhr.upload.addEventListener('progress', function (e) {
      if (bar && e.lengthComputable) { bar.hidden = false; bar.value = Math.round(e.loaded * 100 / e.total); }
    });
    xhr.addEventListener('load', function () {
      var doc = new DOMParser().parseFromString(xhr.responseText, 'text/html');
      var fresh = doc.getElementById(target.id);
      form.removeAttribute('aria-busy');
      if (!fresh || (xhr.status >= 500)) {
        enable(form);
        if (bar) bar.hidden = true;
        say(form, '上传失败（' + xhr.status + '），请重试');
        return;
      }
      var general = doc.querySelector('.flash.error[role="alert"]:not(.error-summary)');
      target.replaceWith(fresh);
      var status = fresh.querySelector('.upload-status');
      var ok = xhr.status < 400;
      if (status) {
        status.textContent = ok ? '已上传' : (fresh.querySelector('.error-text') ? '' : (general ? general.textContent : '上传失败'));
      }
      var focusable = fresh.querySelector(ok ? 'a' : 'input[type=file]');
      if (focusable) focusable.focus();
    });
    xhr.addEventListener('error', function () {
      form.removeAttribute('aria-busy');
      enable(form);
      if (bar) bar.hidden = true;
      say(form, '网络错误，文件未上传，请重试');
    });
    var data = new FormData(form);  // before the file box is disabled: a disabled box is not sent
    var input = form.querySelector('input[type=file]');
    if (input) input.disabled = true;  // no second choice while this one goes up (the row is replaced after)
    if (button) button.disabled = true;
    say(form, '正在上传…');
    xhr.send(data);
  }
})();
