// 审批账号申请 and 申请进度查询 (issue 13): the unit picker narrows the departments to the chosen region, the
// permission table follows the chosen unit (its type's catalogue items), and 获取验证码 posts the phone and counts
// down. Loaded as a file: the Content-Security-Policy runs no inline script. Without it the pages still work
// (one grouped unit list; the table is the server's for the unit last submitted).
(function () {
  'use strict';

  function csrf(form) {
    var input = form && form.querySelector('input[name=csrf_token]');
    return input ? input.value : '';
  }

  // 地区 → 所属单位: only the chosen region's departments (optgroups carry data-region)
  document.querySelectorAll('select[data-region-filter]').forEach(function (regionSelect) {
    var units = document.getElementById(regionSelect.getAttribute('data-region-filter'));
    function filter() {
      var code = regionSelect.value;
      units.querySelectorAll('optgroup').forEach(function (group) {
        var show = !code || group.getAttribute('data-region') === code;
        group.hidden = !show;
        group.disabled = !show;
      });
      var chosen = units.options[units.selectedIndex];
      if (chosen && chosen.parentNode.disabled) { units.value = ''; units.dispatchEvent(new Event('change')); }
    }
    regionSelect.addEventListener('change', filter);
    filter();
  });

  // 所属单位 → 事项权限: rebuild the table from /staff/apply/items
  var unit = document.querySelector('select[data-items-url]');
  var table = document.getElementById('permissions');
  var hint = document.getElementById('reviewer-hint');
  function cell(row, text, label) {
    var td = document.createElement('td');
    if (label) td.setAttribute('data-label', label);
    td.textContent = text;
    row.appendChild(td);
    return td;
  }
  function box(row, name, code, itemName, text) {
    var td = cell(row, '');
    var label = document.createElement('label');
    label.className = 'radio';
    var input = document.createElement('input');
    input.type = 'checkbox';
    input.name = name;
    input.value = code;
    input.setAttribute('aria-label', itemName + ' ' + text);
    label.appendChild(input);
    label.appendChild(document.createTextNode(' ' + text));
    td.appendChild(label);
  }
  function empty(body, text) {
    var row = document.createElement('tr');
    row.className = 'empty';
    cell(row, text).colSpan = 4;
    body.appendChild(row);
  }
  if (unit && table) {
    var lister = document.getElementById('list-items');  // the no-script way to the same list
    if (lister) lister.remove();
    unit.addEventListener('change', function () {
      var body = table.tBodies[0];
      if (!unit.value) {
        body.textContent = '';
        empty(body, '请先选择所属单位：这里列出该单位类型可办理的事项');
        if (hint) hint.textContent = '';
        return;
      }
      fetch(unit.getAttribute('data-items-url') + '?department_id=' + encodeURIComponent(unit.value),
            {headers: {Accept: 'application/json'}})
        .then(function (response) { return response.json(); })
        .then(function (data) {
          body.textContent = '';
          (data.items || []).forEach(function (item) {
            var row = document.createElement('tr');
            row.setAttribute('data-code', item.code);
            cell(row, item.name, '事项');
            cell(row, item.stage, '阶段');
            box(row, 'accept', item.code, item.name, '受理');
            box(row, 'handle', item.code, item.name, '办理');
            body.appendChild(row);
          });
          if (!(data.items || []).length) empty(body, '该单位类型（' + (data.dept_type || '') + '）目前没有可申请的事项');
          if (hint) hint.textContent = data.department ? data.department + '（' + data.dept_type + '）：由' + data.reviewer + '审核' : '';
        })
        .catch(function () { if (hint) hint.textContent = '事项列表加载失败，请刷新页面后重试'; });
    });
  }

  // 获取验证码: POST the phone, then count down before another may be asked for
  document.querySelectorAll('button[data-send-code]').forEach(function (button) {
    var status = document.getElementById('code-status');
    var text = button.textContent;
    function countdown(seconds) {
      button.disabled = true;
      var left = seconds;
      button.textContent = left + '秒后重新获取';
      var timer = setInterval(function () {
        left -= 1;
        if (left <= 0) { clearInterval(timer); button.disabled = false; button.textContent = text; return; }
        button.textContent = left + '秒后重新获取';
      }, 1000);
    }
    button.addEventListener('click', function () {
      var phone = document.getElementById(button.getAttribute('data-phone'));
      var body = new FormData();
      body.append('csrf_token', csrf(button.form));
      body.append('phone', phone ? phone.value : '');
      fetch(button.getAttribute('data-send-code'), {method: 'POST', body: body, headers: {Accept: 'application/json'}})
        .then(function (response) { return response.json().then(function (data) { return {ok: response.ok, data: data}; }); })
        .then(function (result) {
          status.textContent = result.data.message || '';
          status.className = result.ok ? 'ok-text' : 'error-text';
          if (result.ok) countdown(result.data.wait || 60);
        })
        .catch(function () { status.textContent = '发送失败，请稍后重试'; status.className = 'error-text'; });
    });
  });
})();
